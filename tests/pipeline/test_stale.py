"""``idolguard analyze --stale``: items whose stored results come from an older stage version are counted
(dry run writes nothing), brought up to date through the runner (custody events once, nothing stored twice),
and items that cannot be read are reported and skipped. Real workspaces (SQLite and, with
IDOLGUARD_TEST_PG, PostgreSQL); a version bump is a new version of the test plug-in stage ``counting``."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from idolguard import registry
from idolguard.db.models import StageResult
from tests.cases.helpers import erase_by_decision
from tests.conftest import jpeg_bytes
from tests.pipeline.test_pipeline import counting  # noqa: F401 - the fixture

pytestmark = pytest.mark.usefixtures("counting")


def _bump_counting(monkeypatch: pytest.MonkeyPatch, version: str = "2") -> None:
    monkeypatch.setenv("IDOLGUARD_TEST_COUNTING_VERSION", version)
    import tests.pipeline.counting_stage as module

    importlib.reload(module)
    registry.reset()


def _scan_images(cli, folder: Path, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    folder.mkdir()
    for index in range(n):
        (folder / f"{index}.jpg").write_bytes(jpeg_bytes(index, size=(30 + index, 20)))
    objects = cli.json_lines("scan", folder, "--json", ok=False)  # exit 1: the test stage "broken" fails
    assert len(objects) == n and all(o["pixel_count"] for o in objects)
    PIXELS.update((o["sha256"], o["pixel_count"]) for o in objects)
    return sorted(o["sha256"] for o in objects)


PIXELS: dict[str, int] = {}


def _ledger(home: Path) -> list[dict]:
    return [json.loads(line) for line in (home / "ledger.jsonl").read_text().splitlines()]


def _rows(workspace) -> int:  # type: ignore[no-untyped-def]
    with workspace.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(StageResult)) or 0)


def test_stale_items_are_counted_then_brought_up_to_date_once(cli, tmp_path, home, workspace, monkeypatch):
    shas = _scan_images(cli, tmp_path / "imgs", 3)
    nothing = cli.json_lines("analyze", "--stale", "--dry-run", "--json")[0]
    assert nothing["stale_items"] == 0 and nothing["by_stage"] == []

    _bump_counting(monkeypatch)
    rows_before, events_before = _rows(workspace), len(_ledger(home))
    dry = cli.json_lines("analyze", "--stale", "--dry-run", "--json")[0]
    assert dry["dry_run"] is True and dry["stale_items"] == 3 and dry["runnable"] == 3
    by_stage = {(r["stage"], r["stored_version"]): r for r in dry["by_stage"]}
    assert by_stage[("counting", "1")]["current_version"] == "2" and by_stage[("counting", "1")]["items"] == 3
    # "dependent" keeps its version; its results were computed from counting v1: stale by its inputs
    assert by_stage[("dependent", "1")]["reason"] == "inputs" and by_stage[("dependent", "1")]["items"] == 3
    assert not any(r["stage"] == "broken" for r in dry["by_stage"]), "a current failure is not an older result"
    assert (_rows(workspace), len(_ledger(home))) == (rows_before, events_before), "the dry run wrote nothing"
    text = cli("analyze", "--stale", "--dry-run").stdout
    assert "3 item(s) analysed by older stage versions" in " ".join(text.split())
    listed = {r["stage"]: r for r in cli.json_lines("stages", "--json")}
    assert listed["counting"]["outdated"] == 3 and listed["probe"]["outdated"] == 0
    assert "3 item(s) were analysed by older stage versions: run `idolguard analyze --stale`" in " ".join(
        cli("stages").output.split()
    )

    # Until re-analysed, the item's current view has no counting result; the view with older results marks it.
    from idolguard.pipeline.scan import item_objects

    current = item_objects(workspace, [(shas[0], None, False)])[0]
    assert "pixel_count" not in current and "counting" not in current["stages"]
    older = item_objects(workspace, [(shas[0], None, False)], older=True)[0]
    assert older["pixel_count"] == PIXELS[shas[0]] and older["older_stages"]["counting"] == {
        "stored": "1",
        "current": "2",
    }
    assert "counting" not in older["stages"], "an older result is never listed as a current one"

    first = cli.json_lines("analyze", "--stale", "--limit", "2", "--json")[0]
    assert first["analysed"] == 2 and first["still_stale"] == 0 and first["skipped"] == []
    again = cli.json_lines("analyze", "--stale", "--json")[0]  # continues with the item the limit left
    assert again["stale_items"] == 1 and again["analysed"] == 1
    done = cli.json_lines("analyze", "--stale", "--json")[0]
    assert done["stale_items"] == 0 and done["analysed"] == 0 and done["stored"] == 0
    assert {r["stage"]: r for r in cli.json_lines("stages", "--json")}["counting"]["outdated"] == 0

    events = [e for e in _ledger(home)[events_before:] if e["action"] == "pipeline.analyse"]
    per_item = {sha: sorted(e["details"]["stage"] for e in events if e["item"] == sha) for sha in shas}
    # counting v2 and dependent (fed counting v2) once per item; the current failure of "broken" not retried
    assert per_item == {sha: ["counting", "dependent"] for sha in shas}
    with workspace.sessions() as session:
        versions = session.execute(
            select(StageResult.item_sha256, StageResult.version).where(StageResult.stage == "counting")
        ).all()
    assert sorted(v for _, v in versions) == ["1"] * 3 + ["2"] * 3, "older results are kept, new ones stored once"
    obj = item_objects(workspace, [(shas[0], None, False)], older=True)[0]
    assert obj["stages"]["counting"] == "2" and obj["pixel_count"] == PIXELS[shas[0]] and not obj.get("older_stages")
    assert cli("verify").exit_code == 0


def test_erased_and_missing_items_are_reported_and_skipped(cli, tmp_path, home, workspace, monkeypatch):
    shas = _scan_images(cli, tmp_path / "imgs", 3)
    erased, missing, fine = shas
    erase_by_decision(cli, monkeypatch, erased)
    monkeypatch.setenv("IDOLGUARD_ACTOR", "tester@idolguard")
    assert not workspace.vault.has(erased)
    _bump_counting(monkeypatch)

    dry = cli.json_lines("analyze", "--stale", "--dry-run", "--json")[0]
    assert dry["stale_items"] == 3 and dry["runnable"] == 2
    assert dry["skipped"] == [{"sha256": erased, "reason": "erased"}]
    result = cli.json_lines("analyze", "--stale", "--json")[0]  # erased only: not a failure
    assert result["analysed"] == 2 and result["skipped"] == [{"sha256": erased, "reason": "erased"}]
    assert cli("verify").exit_code == 0

    _bump_counting(monkeypatch, "3")
    workspace.vault.path_for(missing).unlink()  # lost outside IdolGuard: verify reports it too
    run = cli("analyze", "--stale", "--json", ok=False)
    assert run.exit_code == 1
    report = json.loads(run.stdout)
    assert {s["sha256"]: s["reason"] for s in report["skipped"]} == {erased: "erased", missing: "missing"}
    assert report["analysed"] == 1
    with workspace.sessions() as session:
        current = set(
            session.scalars(
                select(StageResult.item_sha256).where(StageResult.stage == "counting", StageResult.version == "3")
            )
        )
    assert current == {fine}
    text = " ".join(cli("analyze", "--stale", ok=False).output.split())
    assert f"{missing[:12]}: skipped, its vault object is missing" in text
    assert "1 item(s) skipped: their originals were erased by a destruction decision" in text


def test_unknown_stage_and_missing_stale_flag_are_usage_errors(cli):
    assert cli("analyze", ok=False).exit_code == 2
    refused = cli("analyze", "--stale", "--stage", "nope", ok=False)
    assert refused.exit_code == 2 and "unknown stage nope" in " ".join(refused.output.split())


def test_stored_versions_compare_as_numbers_not_strings() -> None:
    """With equal times the newer version wins: "10" is newer than "7" (as strings it sorts first)."""
    from datetime import UTC, datetime

    from idolguard.pipeline.runner import version_key
    from idolguard.pipeline.stale import StoredRow, _newer

    assert version_key("10") > version_key("7") and version_key("6-next") > version_key("6")
    when = datetime(2026, 12, 3, tzinfo=UTC)
    ten, seven = StoredRow("faces", "10", "ok", {}, None, when), StoredRow("faces", "7", "ok", {}, None, when)
    assert _newer(ten, seven) and not _newer(seven, ten)
