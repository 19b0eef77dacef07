"""Bank changes racing a scan: between computing a match and storing it (review s8, findings 1 and 2).

The race is made real: ``runner.persist_batch`` is wrapped so that, before the batch holding the scan's match is
stored, the bank change another process could make meanwhile is committed (its own transaction, the real code).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from idolguard.db.models import DerivedObject, StageResult
from idolguard.pipeline import runner
from idolguard.signals.bank_changes import delete_bank
from idolguard.signals.models import Bank, BankEntry, EntryHit
from idolguard.workspace import Workspace
from tests.conftest import astronaut
from tests.signals.helpers import other_photo, photo, save_jpeg


def _stored(ws: Workspace, sha: str, stage: str) -> list[dict[str, Any]]:
    with ws.sessions() as session:
        return list(
            session.execute(
                select(StageResult.output).where(StageResult.item_sha256 == sha, StageResult.stage == stage)
            ).scalars()
        )


def _hits(ws: Workspace) -> list[tuple[int, str]]:
    with ws.sessions() as session:
        return [tuple(r) for r in session.execute(select(EntryHit.entry_id, EntryHit.item_sha256)).all()]


def _entries_of(ws: Workspace, bank: str) -> dict[int, str | None]:
    with ws.sessions() as session:
        rows = session.execute(
            select(BankEntry.id, BankEntry.source_item)
            .join(Bank, Bank.id == BankEntry.bank_id)
            .where(Bank.name == bank)
        )
        return {entry_id: item for entry_id, item in rows.tuples()}


def _before_storing(monkeypatch: pytest.MonkeyPatch, stage: str, change: Any) -> list[Any]:
    """Run ``change(ws, outputs)`` once, just before the first batch in which ``stage`` found something is stored."""
    real = runner.persist_batch
    seen: list[Any] = []

    def racing(ws: Workspace, batch: list[Any]) -> list[str]:
        outputs = [o.output for _sha, outs in batch for o in outs if o.stage == stage and o.status == "ok"]
        if not seen and any(out.get(stage if stage != "match" else "matches") for out in outputs):
            seen.append(outputs)
            change(ws, outputs)
        return real(ws, batch)

    monkeypatch.setattr(runner, "persist_batch", racing)
    return seen


def test_a_match_to_a_deleted_entry_whose_id_a_new_entry_took_is_not_folded_onto_it(  # type: ignore[no-untyped-def]
    cli, workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 1: the scan matched the copy to bank ``abuse``; meanwhile ``abuse`` is deleted (nothing recorded
    against it yet) and a new bank gets an unrelated picture, whose entries take the freed ids on SQLite. The
    stored match must not be folded onto the new entry (a hit, and the copy in an incident with the unrelated
    picture): the entry is compared by what the match recorded (bank, kind, signal type, source item)."""
    original = save_jpeg(other_photo(), tmp_path / "original.jpg", quality=95)
    copy = save_jpeg(other_photo(), tmp_path / "copy.jpg", quality=60)
    unrelated = save_jpeg(photo(), tmp_path / "unrelated.jpg", quality=95)
    cli("bank", "create", "abuse", "--kind", "known_abuse")
    cli("bank", "add", "abuse", original)

    def replace_bank(ws: Workspace, outputs: list[dict[str, Any]]) -> None:
        delete_bank(ws, "abuse", force=True, reason="withdrawn while a scan ran")
        cli("bank", "create", "other", "--kind", "known_abuse")
        cli("bank", "add", "other", unrelated)

    seen = _before_storing(monkeypatch, "match", replace_bank)
    scanned = cli.json_lines("scan", copy, "--json")[0]
    assert seen, "the bank change ran between matching and storing"
    matched = {m["entry"] for out in seen[0] for m in out["matches"]}
    other = _entries_of(workspace, "other")
    if workspace.config.db_url.startswith("sqlite"):
        assert matched <= set(other), "SQLite handed the matched ids to the new bank's entries (the race's case)"
    # what is stored names no entry of the new bank; the copy matches nothing there
    stored = _stored(workspace, scanned["sha256"], "match")
    assert all(m["entry"] not in other for out in stored for m in out.get("matches", []))
    assert scanned["matches"] == []
    cli("bank", "list")  # folds stored matches into hits and incidents
    assert _hits(workspace) == []
    assert cli.json_lines("incidents", "list", "--json") == []
    assert cli("verify").exit_code == 0


def test_a_stored_match_naming_a_reused_entry_id_is_not_folded(cli, workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Finding 1, the fold's own check (results stored before the runner compared entries): a stored match row
    whose entry id now holds an entry of another source item is said in the log and not recorded as a hit."""
    original = save_jpeg(other_photo(), tmp_path / "original.jpg", quality=95)
    copy = save_jpeg(other_photo(), tmp_path / "copy.jpg", quality=60)
    cli("bank", "create", "abuse", "--kind", "known_abuse")
    cli("bank", "add", "abuse", original)
    scanned = cli.json_lines("scan", copy, "--json")[0]
    assert scanned["matches"]
    with workspace.write() as (session, _ledger):  # the row as an id reuse would make it: another source item
        row = session.execute(
            select(StageResult).where(StageResult.item_sha256 == scanned["sha256"], StageResult.stage == "match")
        ).scalar_one()
        row.output = {**row.output, "matches": [{**m, "source_item": "0" * 64} for m in row.output["matches"]]}
    cli("bank", "list")
    assert _hits(workspace) == []
    assert cli.json_lines("incidents", "list", "--json") == []


def test_a_match_refused_for_a_deleted_bank_is_matched_again_at_once_keeping_the_other_bank(  # type: ignore[no-untyped-def]
    cli, workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 2: the copy matched banks ``x`` and ``y`` (duplicates); ``x`` is deleted before the match is
    stored, so the output naming it is refused. The item is matched again at once against the banks as they
    are: the match to ``y`` is stored, recorded as a hit and the copy joins an incident, with no later scan."""
    original = save_jpeg(other_photo(), tmp_path / "original.jpg", quality=95)
    copy = save_jpeg(other_photo(), tmp_path / "copy.jpg", quality=60)
    for bank in ("x", "y"):
        cli("bank", "create", bank, "--kind", "known_abuse")
        cli("bank", "add", bank, original)
    seen = _before_storing(
        monkeypatch, "match", lambda ws, _o: delete_bank(ws, "x", force=True, reason="a duplicate of y")
    )
    scanned = cli.json_lines("scan", copy, "--json")[0]
    assert seen and {m["bank"] for out in seen[0] for m in out["matches"]} == {"x", "y"}
    assert {m["bank"] for m in scanned.get("matches", [])} == {"y"}
    stored = _stored(workspace, scanned["sha256"], "match")
    assert len(stored) == 1 and {m["bank"] for m in stored[0]["matches"]} == {"y"}
    cli("bank", "list")
    y = _entries_of(workspace, "y")
    hits = _hits(workspace)
    assert hits and all(entry in y and item == scanned["sha256"] for entry, item in hits)
    incidents = cli.json_lines("incidents", "list", "--json")
    assert len(incidents) == 1 and incidents[0]["items"] == 2  # the banked original and the copy
    assert cli("verify").exit_code == 0


def test_a_refused_attribution_leaves_no_vault_object_without_a_record(  # type: ignore[no-untyped-def]
    cli, workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 2, the derived files: a face copied from an official photo is attributed and its aligned pair
    made; the official bank is deleted before the result is stored. The result naming it is refused, the item
    attributed again at once (now to nothing), and the pair of the refused result was never put in the vault:
    no derived object without its record."""
    from idolguard.faces.detector import get_detector
    from idolguard.faces.models import ModelUnavailable

    try:
        get_detector()
    except ModelUnavailable as exc:
        pytest.skip(f"face detector model unavailable: {exc}")
    from PIL import Image

    official = save_jpeg(astronaut(), tmp_path / "official.jpg", quality=95)
    head = astronaut().crop((120, 0, 360, 260)).resize((216, 234), Image.Resampling.BICUBIC).rotate(3)
    canvas = other_photo((640, 480))
    canvas.paste(head, (300, 120))
    collage = save_jpeg(canvas, tmp_path / "collage.jpg", quality=80)
    cli("bank", "create", "official", "--kind", "negative")
    cli("bank", "add", "official", official)
    seen = _before_storing(
        monkeypatch,
        "source_attribution",
        lambda ws, _o: delete_bank(ws, "official", force=True, reason="collection withdrawn"),
    )
    scanned = cli.json_lines("scan", collage, "--json")[0]
    assert seen, "the delete ran between attributing and storing"
    pairs = [r["pair_sha256"] for out in seen[0] for r in out["source_attribution"]]
    assert pairs
    assert scanned["source_attribution"] == []
    assert [out["source_attribution"] for out in _stored(workspace, scanned["sha256"], "source_attribution")] == [[]]
    for pair in pairs:
        assert not workspace.vault.has(pair), "the refused result's pair was not written"
    with workspace.sessions() as session:
        kinds = session.execute(select(DerivedObject.kind, func.count()).group_by(DerivedObject.kind)).all()
    assert "attribution_pair" not in dict(kinds)
    result = cli("verify")
    assert result.exit_code == 0 and "not referenced" not in result.output
