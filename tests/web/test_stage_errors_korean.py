"""A failed analysis stage is said in the reader's language: the runner stores the error's code and values
beside its English text (``pipeline.runner.ERROR_KEY`` and the custody event's ``error_code``), and the item
page (its list of failed steps and its custody log), the admin ledger and the HTML report say it from their
catalogs. Results stored before the codes keep showing their stored text."""

from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from idolguard.db.models import LedgerEntry, StageResult
from idolguard.error_messages import MESSAGES
from idolguard.errors import ErrorCode
from idolguard.web.i18n import translator

from .conftest import STRONG, make_user, sign_in

HANGUL = re.compile(r"[\uac00-\ud7a3]")
KO = translator("ko")


def _store(ws, path: Path) -> str:  # type: ignore[no-untyped-def]
    from idolguard.pipeline.scan import scan_paths
    from idolguard.web.triage import sync_reviews

    sha = scan_paths(ws, [path])[0]["sha256"]
    assert sha
    sync_reviews(ws, [sha])
    return str(sha)


def _truncated_jpeg(folder: Path) -> Path:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 10, 10)).save(buffer, "JPEG")
    path = folder / "cut.jpg"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    return path


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_a_damaged_file_is_explained_in_korean_on_the_item_page(client, app_ws, tmp_path):
    sha = _store(app_ws, _truncated_jpeg(tmp_path))
    with app_ws.sessions() as session:
        row = session.scalars(
            select(StageResult).where(StageResult.item_sha256 == sha, StageResult.stage == "probe")
        ).one()
        assert row.status == "error" and row.error.startswith("corrupt or truncated image")  # the text stays
        assert row.output["_error"] == {"code": "media.corrupt", "params": {}}
        event = session.scalars(
            select(LedgerEntry).where(LedgerEntry.item_sha256 == sha, LedgerEntry.action == "pipeline.analyse")
        ).one()
        assert event.details["error_code"] == "media.corrupt" and event.details["error"] == row.error
        english = row.error

    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG), lang="ko")
    page = client.get(f"/items/{sha}")
    assert page.status_code == 200
    korean = KO(MESSAGES[ErrorCode.MEDIA_CORRUPT])
    assert HANGUL.search(korean)
    failed = _text(page.text.split('id="stage-errors">', 1)[1].split("</ul>", 1)[0])
    assert failed == f"파일 검사: {korean}", failed
    assert "실패한 분석 단계" in page.text
    custody = _text(page.text.split('id="custody-log"', 1)[1].split("</table>", 1)[0])
    assert f"오류: {korean}" in custody, custody
    text = _text(page.text)
    assert english not in text and "truncated" not in text.lower() and "Truncated" not in text


@pytest.fixture
def crashed_item(app_ws, tmp_path, monkeypatch: pytest.MonkeyPatch) -> str:  # type: ignore[no-untyped-def]
    """An item whose ``signals`` stage crashed (a bug, here injected: no real stage fails on demand), its
    exception naming a private path that must never reach a reader; returns its SHA-256."""
    from idolguard.signals.stage import SignalsStage

    def crash(self, ctx):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom in /srv/private/model.bin")

    monkeypatch.setattr(SignalsStage, "run", crash)
    path = tmp_path / "red.jpg"
    Image.new("RGB", (64, 48), (200, 10, 10)).save(path, "JPEG")
    return _store(app_ws, path)


def test_an_internal_stage_failure_is_said_in_korean_and_its_details_stay_out(
    client, new_client, app_ws, crashed_item: str
):
    """A stage that crashes stores the code of an internal error: pages say it in Korean, without the
    exception's English or its traceback."""
    sha = crashed_item
    admin = make_user(app_ws, "boss", "admin", password=STRONG)
    sign_in(client, admin, lang="ko")
    page = client.get(f"/items/{sha}")
    korean = KO(MESSAGES[ErrorCode.STAGE_INTERNAL])
    assert korean.startswith("이 분석 단계는 내부 오류로 중단되었습니다")
    failed = _text(page.text.split('id="stage-errors">', 1)[1].split("</ul>", 1)[0])
    assert failed == f"해시 계산: {korean}", failed
    text = _text(page.text)
    assert "boom" not in text and "RuntimeError" not in text and "internal error in stage" not in text
    # The admin's ledger view says it from the code too, without listing the code and values as raw fields.
    ledger = client.get("/admin/ledger").text
    pairs = _text(" ".join(re.findall(r'<dl class="pairs">(.*?)</dl>', ledger, flags=re.S)))
    assert korean in pairs and "internal error in stage" not in pairs and "error code" not in pairs, pairs

    # English readers get the English message, never Korean.
    english = sign_in(new_client(), admin, lang="en").get(f"/items/{sha}")
    shown = _text(english.text.split('id="stage-errors">', 1)[1].split("</ul>", 1)[0])
    assert shown == f"hashes: {MESSAGES[ErrorCode.STAGE_INTERNAL]}" and not HANGUL.search(shown)


def test_the_html_report_says_stage_failures_in_its_language(app_ws, crashed_item: str):
    from idolguard.pipeline.scan import item_object
    from idolguard.report.html import render_report

    obj = dict(item_object(app_ws, crashed_item))
    assert obj["stage_error_codes"]["signals"] == {"code": "stage.internal", "params": {}}
    assert obj["error_code"] == "stage.internal" and obj["error"].startswith("signals: internal error in stage")

    korean = _text(render_report(app_ws, [obj], lang="ko"))
    assert KO(MESSAGES[ErrorCode.STAGE_INTERNAL]) in korean
    assert "internal error in stage" not in korean and "boom" not in korean
    english = _text(render_report(app_ws, [obj], lang="en"))  # English: the stored text, as the CLI says it
    assert "internal error in stage signals" in english and not HANGUL.search(english)


def test_results_stored_before_the_codes_keep_their_text(app_ws, tmp_path):
    """A stored result is evidence and never rewritten: one without a code shows its stored text (a probe
    refusal of a known form is still recognised and translated, as the upload job page does)."""
    from idolguard.web import explain

    old = {"stage_errors": {"faces": "detector exploded"}, "stage_error_codes": {}}
    assert explain.stage_problems(old, KO) == [("얼굴 검출", "detector exploded")]
    recognised = {"stage_errors": {"probe": "corrupt or truncated image: Truncated File Read"}}
    [(step, why)] = explain.stage_problems(recognised, KO)
    assert step == "파일 검사" and why == KO(MESSAGES[ErrorCode.MEDIA_CORRUPT]), why
    # A custody event stored before the codes: its text (paths taken out), in either language.
    details = {"stage": "faces", "status": "error", "error": "cannot open /srv/x/y.onnx"}
    assert explain.event_error(details, KO) == "cannot open …"
    assert json.dumps(details)  # untouched


def test_a_reveal_reason_chosen_in_english_reads_in_korean():
    """A reveal's listed reason is stored as ``code: label`` in the revealer's language; the custody log says the
    label in the reader's language (it showed the English label to a Korean reader)."""
    from types import SimpleNamespace

    from idolguard.web import explain

    entry = SimpleNamespace(
        seq=7,
        ts="2026-11-01T10:00:00+00:00",
        actor="web:mina",
        action="web.reveal",
        details={"user": "mina", "reason": "identity_check: identity check"},
    )
    [row] = explain.custody_rows([entry], KO, "Asia/Seoul")
    assert "사유: 신원 확인" in row["details"] and "identity check" not in row["details"], row["details"]
    [row] = explain.custody_rows([entry], translator("en"), "UTC")
    assert "reason: identity check" in row["details"]
    typed = SimpleNamespace(**{**entry.__dict__, "details": {"user": "mina", "reason": "제보 확인"}})
    assert "제보 확인" in explain.custody_rows([typed], translator("en"), "UTC")[0]["details"]  # typed: as typed
