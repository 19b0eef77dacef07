"""The admin verify page says a coded finding in the page's language from the web catalogs (KO/EN), with its
values, and shows warnings at all (an official collection whose artist is gone is a warning, not a problem)."""

from __future__ import annotations

from idolguard.evidence.verify import Finding

from .conftest import STRONG, make_user, page_csrf, sign_in

KOREAN = "더 이상 등록되어 있지 않은 아티스트 #4242의 공식 컬렉션입니다. 해시 0개가"
ENGLISH = "official collection of artist #4242, who is no longer enrolled: its 0 hash(es)"


def _orphaned_collection(ws) -> None:  # type: ignore[no-untyped-def]
    """An official collection bank naming an artist id nobody has (what `artists remove` left before it refused)."""
    from idolguard.signals.banks import create_bank

    description = "Official media of Gone Star (artist #4242): source-face attribution (artists official add)"
    create_bank(ws, "official.Gone_Star", "negative", description=description)


def _verify(client) -> str:  # type: ignore[no-untyped-def]
    page = client.post("/admin/verify", data={"csrf": page_csrf(client, "/admin/verify"), "objects": "1"})
    assert page.status_code == 200, page.text[:500]
    return " ".join(page.text.split())


def test_verify_page_says_the_orphaned_collection_warning_in_korean_and_english(app_ws, new_client):  # type: ignore[no-untyped-def]
    from idolguard.evidence.verify import verify_workspace

    _orphaned_collection(app_ws)
    warning = next(w for w in verify_workspace(app_ws).as_dict()["warnings"] if w.get("code"))
    assert warning["code"] == Finding.OFFICIAL_ORPHANED
    assert warning["params"] == {"artist_id": 4242, "hashes": 0, "bank": "official.Gone_Star"}
    admin = make_user(app_ws, "boss", "admin", password=STRONG)

    korean = _verify(sign_in(new_client(), admin, lang="ko"))
    assert 'id="verify-result" class="ok"' in korean, "a warning is no problem: the workspace is intact"
    assert "경고: 1건" in korean
    assert KOREAN in korean and "`idolguard bank remove official.Gone_Star --reason ...`로 정리하세요" in korean
    assert "no longer enrolled" not in korean

    english = _verify(sign_in(new_client(), admin, lang="en"))
    assert "Warnings: 1" in english and ENGLISH in english
    assert "retire it with `idolguard bank remove official.Gone_Star --reason ...`" in english
    assert "등록되어" not in english
