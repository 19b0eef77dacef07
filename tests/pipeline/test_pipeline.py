"""Stage plug-ins: outputs stored per (item, stage, version), reused on re-runs, redone when a version changes."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from idolguard import registry
from idolguard.db.models import DerivedObject, StageResult
from idolguard.pipeline.registry import order_stages
from tests.conftest import jpeg_bytes
from tests.plugins import install_plugin, uninstall_plugins


@pytest.fixture
def counting(monkeypatch, tmp_path):
    """The counting stages installed as a third-party area through the ``idolguard.areas`` entry point."""
    counter = tmp_path / "runs.txt"
    counter.write_text("")
    monkeypatch.setenv("IDOLGUARD_TEST_COUNTER", str(counter))
    install_plugin(
        tmp_path / "site",
        monkeypatch,
        "counting-area",
        {"idolguard.areas": {"counting": "tests.pipeline.counting_stage:AREA"}},
    )
    yield counter
    monkeypatch.delenv("IDOLGUARD_TEST_COUNTING_VERSION", raising=False)
    import tests.pipeline.counting_stage as module

    importlib.reload(module)  # class attributes were read from the environment at import
    uninstall_plugins()


def _runs(counter: Path) -> list[str]:
    return counter.read_text().split()


def test_rescan_reuses_unchanged_stage_versions(cli, tmp_path, counting, workspace, monkeypatch):
    (tmp_path / "a.jpg").write_bytes(jpeg_bytes(1, size=(40, 30)))
    first = cli.json_lines("scan", tmp_path / "a.jpg", "--json", ok=False)[0]  # exit 1: stage "broken" failed
    assert first["pixel_count"] == 1200 and first["doubled"] == 2400
    ours = {k: v for k, v in first["stages"].items() if k in {"probe", "counting", "dependent", "broken"}}
    assert ours == {"probe": "2", "counting": "1", "dependent": "1", "broken": "1"}
    assert first["stage_errors"]["broken"].startswith("internal error in stage broken")
    assert sorted(_runs(counting)) == ["broken", "counting", "dependent"]
    events = [json.loads(x) for x in (workspace.home / "ledger.jsonl").read_text().splitlines()]
    probe_events = [e for e in events if e["action"] == "analysis" and e["details"]["stage"] == "probe"]

    second = cli.json_lines("scan", tmp_path / "a.jpg", "--json", ok=False)[0]
    assert second["pixel_count"] == 1200 and second["duplicate"]
    # ok outputs were reused; only the failed stage was retried
    assert sorted(_runs(counting)) == ["broken", "broken", "counting", "dependent"]

    # A new version of "counting" re-runs it and what depends on it is fed the new output.
    monkeypatch.setenv("IDOLGUARD_TEST_COUNTING_VERSION", "2")
    import tests.pipeline.counting_stage as module

    importlib.reload(module)
    registry.reset()
    third = cli.json_lines("scan", tmp_path / "a.jpg", "--json", ok=False)[0]
    assert third["stages"]["counting"] == "2"
    assert _runs(counting).count("counting") == 2
    # ... and "dependent" (same version) re-runs by itself: its stored result recorded counting v1 as input.
    assert _runs(counting).count("dependent") == 2
    assert third["doubled"] == 2400 and third["stages"]["dependent"] == "1"
    fourth = cli.json_lines("scan", tmp_path / "a.jpg", "--json", ok=False)[0]
    assert _runs(counting).count("dependent") == 2 and fourth["doubled"] == 2400, "now current: reused"
    with workspace.sessions() as session:
        versions = (
            session.execute(
                select(StageResult.version).where(StageResult.stage == "counting").order_by(StageResult.version)
            )
            .scalars()
            .all()
        )
        derived = session.execute(select(DerivedObject)).scalars().all()
    assert versions == ["1", "2"], "old outputs are kept, not overwritten"
    assert len(derived) == 1 and workspace.vault.read_bytes(derived[0].sha256).startswith(b"derived-")
    analysis = [json.loads(x) for x in (workspace.home / "ledger.jsonl").read_text().splitlines()]
    stage_events = [e["details"]["stage"] for e in analysis if e["action"] == "analysis"]
    assert stage_events.count("counting") == 2 and stage_events.count("probe") == len(probe_events) == 1


def test_parallel_workers_give_the_same_results(cli, tmp_path, counting):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for index in range(6):
        (folder / f"{index}.jpg").write_bytes(jpeg_bytes(index, size=(30 + index, 20)))
    objects = cli.json_lines("scan", folder, "--json", "--workers", "2", ok=False)  # stage "broken" fails
    assert sorted(o["pixel_count"] for o in objects) == sorted((30 + i) * 20 for i in range(6))
    # The resource reached the worker processes exactly as it reaches an in-process stage.
    assert {o["home_seen"] for o in objects} == {str(cli.home.resolve())}


def test_a_stage_that_needs_a_resource_and_gets_none_fails_loudly(tmp_path, counting):
    from idolguard.pipeline.runner import analyze_files

    (tmp_path / "a.jpg").write_bytes(jpeg_bytes(2, size=(10, 10)))
    [result] = analyze_files(None, [tmp_path / "a.jpg"], ["dependent"])
    assert result.outputs["counting"]["pixel_count"] == 100
    assert "dependent" not in result.outputs
    assert "needs the workspace's 'counting_home'" in result.errors["dependent"]


def test_dependency_order_and_cycles():
    class Stub:
        def __init__(self, name, needs=()):
            self.name, self.needs = name, needs

    ordered = order_stages([Stub("c", ("b",)), Stub("b", ("a",)), Stub("a")])
    assert [s.name for s in ordered] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="cycle"):
        order_stages([Stub("x", ("y",)), Stub("y", ("x",))])


def test_outputs_are_made_strict_json():
    import numpy as np

    from idolguard.pipeline.runner import json_safe

    cleaned = json_safe(
        {
            "bbox": [float("-inf"), np.float32(1.5), np.int64(3)],
            "score": float("nan"),
            "arr": np.arange(3),
            "nested": ({"x": np.inf},),
        }
    )
    assert cleaned == {"bbox": [None, 1.5, 3], "score": None, "arr": [0, 1, 2], "nested": [{"x": None}]}
    assert json.dumps(cleaned, allow_nan=False)
