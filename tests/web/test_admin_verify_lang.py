"""The admin verify page says a coded finding in the page's language from the web catalogs (KO/EN), with its
values, and shows warnings at all (an official collection whose artist is gone is a warning, not a problem)."""

from __future__ import annotations

import re

from idolguard.evidence.verify import Finding

from .conftest import STRONG, make_user, page_csrf, sign_in

HANGUL = re.compile(r"[\uac00-\ud7a3]")

KOREAN = "더 이상 등록되어 있지 않은 아티스트 #4242의 공식 컬렉션입니다. 해시 0개가"
ENGLISH = "official collection of artist #4242, who is no longer enrolled: its 0 hash(es)"


def _orphaned_collection(ws) -> None:  # type: ignore[no-untyped-def]
    """An official collection bank naming an artist id nobody has (what `artists remove` left before it refused)."""
    from idolguard.signals.banks import new_bank

    description = "Official media of Gone Star (artist #4242): source-face attribution (artists official add)"
    # ``bank create`` refuses official. names: made here as `artists official add` does
    with ws.write() as (session, ledger):
        new_bank(session, ledger, ws.actor, "official.Gone_Star", "negative", description=description)


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


def test_verify_page_says_every_kind_of_finding_in_korean(app_ws, new_client, tmp_path):  # type: ignore[no-untyped-def]
    """Problems and warnings that were English on the Korean page: a missing vault object (its kind, "item",
    said as a word of the catalog), a stage result edited in the database, and a cached preview left of an object
    gone from the vault (the preview warning)."""
    from PIL import Image
    from sqlalchemy import select

    from idolguard.db.models import StageResult
    from idolguard.pipeline.scan import scan_paths

    for name, colour in (("a.jpg", (200, 10, 10)), ("b.jpg", (10, 200, 10))):
        Image.new("RGB", (64, 48), colour).save(tmp_path / name, "JPEG")
    gone, edited = (o["sha256"] for o in scan_paths(app_ws, [tmp_path / "a.jpg", tmp_path / "b.jpg"]))
    app_ws.vault.path_for(gone).unlink()
    with app_ws.sessions() as session:
        row = session.scalars(
            select(StageResult).where(StageResult.item_sha256 == edited, StageResult.stage == "probe")
        ).one()
        row.error = "tampered"
        session.commit()
    stray = app_ws.preview_cache / "blur" / f"{'ab' * 32}.png"
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"not a real preview")
    admin = make_user(app_ws, "boss", "admin", password=STRONG)

    korean = _verify(sign_in(new_client(), admin, lang="ko"))
    assert "자료이(가) 증거 보관소에 없습니다(삭제되었을 수 있음)" in korean
    assert "분석 단계의 오류 문구가 분석 기록과 다릅니다" in korean
    assert f"증거 보관소에서 사라진 객체의 캐시된 미리 보기(blur/{'ab' * 32}.png)가 남아 있습니다" in korean
    for english in ("missing from the vault", "differs from its analysis event", "a cached preview", "deleted?"):
        assert english not in korean, english

    english = _verify(sign_in(new_client(), admin, lang="en"))
    assert "item missing from the vault (deleted?)" in english
    assert f"a cached preview (blur/{'ab' * 32}.png) remains of an object gone from the vault" in english
    assert not HANGUL.search(english.split("<main", 1)[-1].split("</main>", 1)[0])
