"""``eval detector`` on real labelled data from ../shared/data (skipped where the shared data is absent)."""

from __future__ import annotations

import csv
import json

import pytest
from typer.testing import CliRunner

from tests.conftest import shared_data


@pytest.mark.shared
@pytest.mark.slow
def test_eval_detector_scores_a_sample_of_the_shared_dfdc_crops(tmp_path, monkeypatch):
    root = shared_data("deepfake-dev", "dfdc-faces")
    with (root / "labels.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    sample = [r for r in rows if r["label"] == "real"][:6] + [r for r in rows if r["label"] == "fake"][:6]
    labels = tmp_path / "labels.csv"
    with labels.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["path", "label"])
        writer.writeheader()
        writer.writerows({"path": r["path"], "label": r["label"]} for r in sample)
    monkeypatch.setenv("IDOLGUARD_HOME", str(tmp_path / "no-workspace"))  # the model's own calibration
    from idolguard.cli import app

    result = CliRunner().invoke(
        app,
        ["eval", "detector", "--labels", str(labels), "--root", str(root), "--json", "--plot", str(tmp_path / "r.png")],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in result.stdout.splitlines() if x.startswith("{")]
    per_file, summary = lines[:-1], lines[-1]["summary"]
    assert len(per_file) == 12 and summary["files"] == 12
    assert {p["label"] for p in per_file} == {"real", "fake"}
    scored = [p for p in per_file if p["manipulation_score"] is not None]
    assert len(scored) >= 10, "faces are found on (almost) every DFDC face crop"
    assert all(0.0 <= p["manipulation_score"] <= 1.0 for p in scored)
    assert summary["roc_auc"] is None or 0.0 <= summary["roc_auc"] <= 1.0
    assert (tmp_path / "r.png").stat().st_size > 0
