"""How a copy matched its bank entry (a match's ``transform``: ``flip_horizontal``...) and the bank's kind are
said in the reader's language on the item page and in the HTML report (both printed the matcher's codes), with
one wording for both (the report's catalog)."""

from __future__ import annotations

from PIL import Image

from tests.signals.helpers import photo, save_jpeg

from .conftest import STRONG, make_user, sign_in


def test_a_mirrored_copy_is_said_to_be_mirrored_in_korean(cli, app_ws, new_client, tmp_path):  # type: ignore[no-untyped-def]
    from idolguard.pipeline.scan import item_object, scan_paths
    from idolguard.report.html import render_report
    from idolguard.web.triage import sync_reviews

    original = save_jpeg(photo(), tmp_path / "original.jpg", quality=95)
    cli("bank", "create", "abuse", "--kind", "known_abuse")
    cli("bank", "add", "abuse", original)
    mirrored = save_jpeg(photo().transpose(Image.Transpose.FLIP_LEFT_RIGHT), tmp_path / "mirrored.jpg", quality=60)
    sha = scan_paths(app_ws, [mirrored])[0]["sha256"]
    sync_reviews(app_ws, [sha])
    obj = item_object(app_ws, sha)
    assert [m["transform"] for m in obj["matches"]] == ["flip_horizontal"]
    user = make_user(app_ws, "ana", "analyst", password=STRONG)

    korean = sign_in(new_client(), user, lang="ko").get(f"/items/{sha}").text
    assert "<td>좌우 반전</td>" in korean and "<td>flip_horizontal</td>" not in korean
    english = sign_in(new_client(), user, lang="en").get(f"/items/{sha}").text
    assert "<td>mirrored left to right</td>" in english

    report = render_report(app_ws, [dict(obj)], lang="ko")  # the matches table (the raw fields JSON keeps codes)
    assert "<td>좌우 반전</td>" in report and "<td>확인된 악용물</td>" in report
    assert "<td>flip_horizontal</td>" not in report and "<td>known_abuse</td>" not in report
    assert "<td>mirrored left to right</td>" in render_report(app_ws, [dict(obj)], lang="en")
