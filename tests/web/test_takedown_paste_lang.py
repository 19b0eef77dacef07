"""The takedown "fields to paste" view gives our own words (yes/no, preservation records, the default
reasons) in the notice's language, whatever the page's language; what people typed is pasted as typed."""

from __future__ import annotations

import html
import re

from .conftest import STRONG, make_user, sign_in
from .seed import seed

URL = "https://example.invalid/post/1"


def paste_values(page: str) -> dict[str, str]:
    return {
        name: html.unescape(value) for name, value in re.findall(r'data-field="([a-z_]+)">([^<]*)</textarea>', page)
    }


def test_paste_values_follow_the_notice_language(client, app_ws, tmp_path):
    from idolguard.capture.models import Capture, CaptureMedia
    from idolguard.cases.service import add_to_case, open_case
    from idolguard.intake.ingest import Ingestor, SightingInfo
    from idolguard.takedowns.notices import DraftOptions, draft

    s = seed(app_ws, tmp_path / "media")
    list(Ingestor(app_ws, SightingInfo(source_url=URL, platform="x")).ingest([s.folder / "suspect.jpg"]))
    with app_ws.sessions() as session, session.begin():
        capture = Capture(requested_url=URL, state="ok", actor="test")
        session.add(capture)
        session.flush()
        session.add(CaptureMedia(capture_id=capture.id, url=URL + ".jpg", via="img", item_sha256=s.suspect))
        capture_id = capture.id
    number = open_case(app_ws, "paste", s.artist)
    add_to_case(app_ws, number, [s.suspect, f"capture:{capture_id}"])
    common = dict(to="abuse@host.test", reporter_name="김담당", reporter_email="legal@agency.test", again=True)
    [korean] = draft(
        app_ws,
        DraftOptions(
            number,
            "web_host",
            "dmca_512c3",
            lang="ko",
            affirm=("good_faith", "accuracy"),  # the sender's statements are never assumed
            signature="/김담당/",
            copyrighted_work="공식 뮤직비디오",
            **common,
        ),
    )
    [english] = draft(
        app_ws, DraftOptions(number, "web_host", "eu_dsa_16", lang="en", affirm=("good_faith",), **common)
    )

    sign_in(client, make_user(app_ws, "cora", "counsel", password=STRONG), lang="ko")
    ko = paste_values(client.get(f"/takedowns/{korean}").text)
    assert ko["good_faith"] == "예" and ko["accuracy_under_perjury"] == "예"
    assert ko["captures"].startswith(f"보존 기록 {capture_id}: {URL}") and "capture " not in ko["captures"]
    assert "성적 허위영상물" in ko["substantiation"] and "deepfake of the person" not in ko["substantiation"]
    assert ko["reporter_name"] == "김담당" and ko["signature"] == "/김담당/"  # typed values as typed
    # An English notice on the Korean page: its values stay English, the page's labels Korean.
    page = client.get(f"/takedowns/{english}").text
    en = paste_values(page)
    assert en["good_faith"] == "yes" and en["captures"].startswith(f"capture {capture_id} of {URL}")
    assert en["substantiation"].startswith("The material is a non-consensual sexual deepfake")
    assert "붙여넣을 항목" in page and "선의 진술" in page  # the page itself is Korean
