"""The contract every registered stage keeps (in the spirit of python-threatexchange's signal_type_test_helper):
a usable name and version, needs that exist, documented outputs, and a ``run`` that writes nothing."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from idolguard.db.models import LedgerEntry, StageResult
from idolguard.pipeline.registry import all_stages
from idolguard.pipeline.runner import Job, compute_item, item_record
from tests.conftest import astronaut

DOCS = Path(__file__).resolve().parents[2] / "docs" / "SCAN_JSON.md"
STAGES = list(all_stages())


def test_there_are_stages_to_check():
    assert {"probe", "signals", "match"} <= {s.name for s in STAGES}


@pytest.mark.parametrize("stage", STAGES, ids=lambda s: s.name)
def test_declaration(stage):
    names = {s.name for s in STAGES}
    assert re.fullmatch(r"[a-z][a-z0-9_]{0,31}", stage.name), "stage names are short snake_case identifiers"
    assert isinstance(stage.version, str) and 0 < len(stage.version) <= 32, "stage_results.version holds 32 chars"
    assert set(stage.needs) <= names, f"{stage.name} needs unknown stages {set(stage.needs) - names}"
    assert stage.name not in stage.needs
    assert stage.description, "a description is shown by `idolguard stages`"
    assert stage.media_types <= {"image", "video", "other"}
    assert len(set(stage.produces)) == len(stage.produces)


@pytest.mark.parametrize("stage", STAGES, ids=lambda s: s.name)
def test_produced_fields_are_documented(stage):
    """Every field a stage adds to ``scan --json`` is explained in docs/SCAN_JSON.md under the stage's name."""
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(rf"^## `{stage.name}`.*?(?=^## |\Z)", text, re.S | re.M)
    assert match, f"docs/SCAN_JSON.md has no '## `{stage.name}`' section"
    missing = [field for field in stage.produces if f"`{field}`" not in match.group(0)]
    assert missing == []


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file's size and mtime, except the SQLite files (reads touch them; the row counts cover them)."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith("idolguard.db")
    }


def test_run_is_pure_it_writes_nothing(workspace, tmp_path):
    """Every available stage runs on a real item (a benign face photo) through ``compute_item``, the function
    worker processes run; afterwards the workspace folder, the database and the original are unchanged."""
    from idolguard.intake.ingest import Ingestor
    from idolguard.pipeline.resources import load_resources
    from idolguard.pipeline.runner import analyze, resource_names, select_stages

    photo = tmp_path / "face.jpg"
    astronaut().save(photo, "JPEG", quality=90)
    [ingested] = list(Ingestor(workspace, None).ingest([photo]))
    analyze(workspace, [ingested.sha256], stage_names=["probe"])
    stages = [s.name for s in select_stages()]
    assert "faces" in stages or pytest.skip("face models unavailable")

    with workspace.sessions() as session:
        from idolguard.db.models import Item

        item = session.get(Item, ingested.sha256)
        record = item_record(item)
        counts_before = (
            session.execute(select(func.count(LedgerEntry.seq))).scalar_one(),
            session.execute(select(func.count(StageResult.id))).scalar_one(),
        )
    resources = load_resources(workspace, resource_names(select_stages()))  # the runner's part: it may write
    before = _tree(workspace.home)
    with workspace.vault.materialize(ingested.sha256) as path:
        original = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        job = Job(
            ingested.sha256,
            str(path),
            record["media_type"],
            record,
            {},
            stages,
            workspace.config.limits,
            dict(workspace.config.raw),
            resources=resources,
        )
        outcomes = compute_item(job)
        assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == original
    ran = {o.stage: o for o in outcomes}
    assert set(stages) <= set(ran), f"stages that did not run: {set(stages) - set(ran)}"
    for outcome in outcomes:
        assert outcome.status == "ok", (outcome.stage, outcome.error, outcome.output)
        json.dumps(outcome.output, allow_nan=False)  # strict JSON: storable in PostgreSQL JSONB
    assert ran["faces"].output["faces"], "the astronaut's face is found"
    with workspace.sessions() as session:
        counts_after = (
            session.execute(select(func.count(LedgerEntry.seq))).scalar_one(),
            session.execute(select(func.count(StageResult.id))).scalar_one(),
        )
    assert counts_after == counts_before, "a stage wrote to the database"
    assert _tree(workspace.home) == before, "a stage wrote into the workspace folder"
