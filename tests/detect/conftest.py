"""Skip model-dependent tests with a reason when the detector model is missing (e.g. before a training run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from idolguard.detect.detector import default_model_path

NEEDS_MODEL = {"test_detector.py", "test_cli.py"}
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    path = default_model_path()
    if path.is_file() and path.with_suffix(".json").is_file():
        return
    skip = pytest.mark.skip(reason=f"detector model {path} is missing (train it: see docs/BENCHMARKS.md)")
    for item in items:
        if item.path.parent == HERE and item.path.name in NEEDS_MODEL:
            item.add_marker(skip)
