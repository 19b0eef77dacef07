"""The item page in Korean: the manipulation explanation, the custody log (a readable list in the reader's
time zone, no raw JSON, never the submitter's local path) and the C2PA summary come from the catalog."""

from __future__ import annotations

import html
import re

from idolguard.web import explain
from idolguard.web.i18n import translator

from .conftest import STRONG, make_user, page_csrf, sign_in
from .seed import seed


def custody_table(page: str) -> str:
    return page.split('id="custody-log"', 1)[1].split("</table>", 1)[0]


def test_korean_item_page_explains_in_korean_and_hides_paths(client, app_ws, tmp_path):
    s = seed(app_ws, tmp_path / "submitter-jimin-private")
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG), lang="ko")
    csrf = page_csrf(client)
    client.post(f"/items/{s.suspect}/comment", data={"csrf": csrf, "text": "확인 필요"})
    page = client.get(f"/items/{s.suspect}")
    assert page.status_code == 200
    text = html.unescape(page.text)

    # Manipulation: the explanation is rebuilt from the stored fields, in Korean.
    from idolguard.pipeline.scan import item_object

    obj = item_object(app_ws, s.suspect)
    lines = explain.manipulation_lines(obj, translator("ko"))
    assert lines, "the suspect (a face) has an explanation"
    assert all(line in text for line in lines)
    assert "점수" in text or "얼굴" in text
    assert obj["verdict_reason"] not in text  # the stored English sentence is not shown

    # The custody log: Korean labels, local time (KST), no JSON, no local path anywhere on the page.
    log = custody_table(page.text)
    assert "증거 보관소에 보존됨" in log and "분석" in log and "KST" in log
    assert "{" not in log and '"' not in html.unescape(re.sub(r"<[^>]+>", "", log))
    assert "submitter-jimin-private" not in text and str(tmp_path) not in text
    assert "source_path" not in text and "intake.ingest" not in re.sub(r'title="[^"]*"', "", log)
    # The comment shows with a local time too.
    assert re.search(r"확인 필요", text) and "KST" in text.split('id="comment-list"', 1)[1].split("</ul>", 1)[0]

    # C2PA: readable key fields with Korean labels, never the raw summary.
    assert "콘텐츠 자격 증명(C2PA)" in text
    assert "content_credentials" not in text and '"present"' not in text


def test_explanations_cover_bands_and_families():
    ko, en = translator("ko"), translator("en")
    obj = {
        "media_type": "image",
        "manipulation": {
            "thresholds": {"likely": 0.8, "uncertain": 0.5},
            "families": {
                "face_swap": {"score": 0.62, "verdict": "uncertain", "false_positive_rate": {"rate": 0.031}},
                "synthetic_image": {"score": 0.91, "verdict": "likely_manipulated", "thresholds": {"likely": 0.9}},
            },
            "deciding_family": "synthetic_image",
        },
        "content_credentials": {"present": True, "signature_valid": True, "ai_generated": True},
    }
    english = explain.manipulation_lines(obj, en)
    assert english[0].startswith("Content Credentials with a valid signature")
    assert "between the thresholds 0.50 and 0.80" in english[1] and "3.1% of held-out real idol photos" in english[1]
    assert "at or above the 'likely' threshold 0.90" in english[2]
    assert english[3].startswith("The verdict follows the more severe detector")
    korean = explain.manipulation_lines(obj, ko)
    assert len(korean) == 4 and "0.50 이상 0.80 미만" in korean[1] and "가능성 높음" in korean[2]  # [lo, hi)
    assert not any("; " in line for line in korean) and "; " in english[1]  # no English semicolon in Korean
    assert not any(k == e for k, e in zip(korean, english, strict=True))
    # No face: said so; a too-small face: said so.
    assert "얼굴이 발견되지 않아" in explain.manipulation_lines({"media_type": "image"}, ko)[0]
    small = {"media_type": "image", "faces": [{}], "manipulation": {"faces": [{"status": "insufficient_resolution"}]}}
    assert explain.manipulation_lines(small, ko) == ["얼굴이 너무 작아 판정할 수 없습니다."]
    rows = dict(explain.c2pa_rows({"present": True, "signature_valid": False, "signer": "ACME CA"}, ko, "Asia/Seoul"))
    assert rows["서명 유효"] == "아니요" and rows["서명자"] == "ACME CA"
