"""The item page says why a face was capped at ``possible`` (``review_reason``) in the reader's language, from
the web catalogs (``labels.en.po``, ``ko.po``), never as the raw code. Real face pipeline."""

from __future__ import annotations

import html
from pathlib import Path

from tests.conftest import astronaut
from tests.faces.helpers import jpeg
from tests.faces.test_reembed import _enrol, _make_legacy

from .conftest import STRONG, make_user, sign_in


def _scanned_under_old_references(app_ws, cli, tmp_path: Path) -> dict:  # type: ignore[no-untyped-def]
    """An artist enrolled, her references turned back into the old kind, and a repost of her photo scanned:
    the face is capped at ``possible`` with ``reference_embedding_mismatch``."""
    _enrol(cli, tmp_path)
    _make_legacy(app_ws)
    media = tmp_path / "media"
    media.mkdir()
    (media / "repost.jpg").write_bytes(jpeg(astronaut().resize((400, 400)), quality=60))
    return dict(cli.json_lines("scan", media, "--json")[0])


def test_item_page_says_why_a_face_is_only_possible(app_ws, client, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    obj = _scanned_under_old_references(app_ws, cli, tmp_path)
    assert obj["faces"][0].get("review_reason") == "reference_embedding_mismatch"
    sign_in(client, make_user(app_ws, "root", "admin", password=STRONG), lang="ko")
    page = html.unescape(client.get(f"/items/{obj['sha256']}").text)
    assert "다르게 임베딩되어" in page and "reference_embedding_mismatch" not in page
    sign_in(client, make_user(app_ws, "eve", "admin", password=STRONG), lang="en", timezone="UTC")
    page = html.unescape(client.get(f"/items/{obj['sha256']}").text)
    assert "embedded otherwise than the thresholds" in page and "reference_embedding_mismatch" not in page


def test_triage_queue_says_why_a_row_is_only_possible(app_ws, client, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from idolguard.web.triage import sync_reviews

    obj = _scanned_under_old_references(app_ws, cli, tmp_path)
    sync_reviews(app_ws, [obj["sha256"]])
    sign_in(client, make_user(app_ws, "root", "admin", password=STRONG), lang="ko")
    queue = html.unescape(client.get("/triage").text).split('id="queue"')[1].split("</table>")[0]
    assert "Eileen Collins" in queue and "다르게 임베딩되어" in queue
    assert "reference_embedding_mismatch" not in queue
    # once the references are re-embedded the reason is gone (read from the current gallery, not stored)
    cli("artists", "reembed")
    queue = html.unescape(client.get("/triage").text).split('id="queue"')[1].split("</table>")[0]
    assert "다르게 임베딩되어" not in queue
