"""Areas: one declaration per area, read by one registry; a third-party stage is one file + one entry point."""

from __future__ import annotations

import ast
import textwrap
import warnings
from pathlib import Path

import pytest

from idolguard import registry
from idolguard.pipeline.registry import all_stages, import_problems
from tests.conftest import jpeg_bytes
from tests.plugins import install_plugin, uninstall_plugins

SRC = Path(__file__).resolve().parents[2] / "src" / "idolguard"

TOY_STAGE = textwrap.dedent(
    '''
    """A complete third-party stage: this file and one entry point are all it takes."""
    from idolguard.area import Area
    from idolguard.pipeline.stage import Stage


    class BrightnessStage(Stage):
        name = "toy_brightness"
        version = "1"
        needs = ("probe",)
        produces = ("toy_pixels",)
        media_types = frozenset({"image"})
        description = "width x height, from the probe"

        def run(self, ctx):
            return {"toy_pixels": ctx.inputs["probe"]["width"] * ctx.inputs["probe"]["height"]}


    AREA = Area(name="toy", description="toy plug-in", stages=(BrightnessStage,))
    '''
)


@pytest.fixture
def toy_plugin(tmp_path, monkeypatch):
    install_plugin(
        tmp_path / "site",
        monkeypatch,
        "idolguard-toy",
        {"idolguard.areas": {"toy": "toy_brightness:AREA"}},
        files={"toy_brightness.py": TOY_STAGE},
    )
    yield
    uninstall_plugins(("toy_brightness",))


def test_builtin_areas_declare_everything_they_contribute():
    areas = {a.name: a for a in registry.all_areas()}
    assert {"core", "faces", "gallery", "detect", "signals", "incidents", "capture"} <= set(areas)
    assert list(areas)[0] == "core"
    stage_names = {s.name for s in all_stages()}
    assert {"probe", "signals", "match"} <= stage_names
    sections = [name for name, _render in registry.report_sections()]
    ours = ["Faces", "manipulation", "matches", "capture"]
    assert [name for name in sections if name in ours] == ours, "in their declared order"
    models = registry.import_models()
    assert "idolguard.db.models" in models and "idolguard.capture.models" in models


def test_a_toy_stage_needs_one_file_and_one_entry_point(toy_plugin, cli, tmp_path):
    assert "toy_brightness" in {s.name for s in all_stages()}
    (tmp_path / "a.jpg").write_bytes(jpeg_bytes(3, size=(40, 30)))
    obj = cli.json_lines("scan", tmp_path / "a.jpg", "--json")[0]
    assert obj["toy_pixels"] == 1200
    assert obj["stages"]["toy_brightness"] == "1"
    listing = cli("stages").output
    assert "toy_brightness" in listing


def test_legacy_stage_entry_points_still_work_with_a_warning(tmp_path, monkeypatch, cli):
    install_plugin(
        tmp_path / "site",
        monkeypatch,
        "idolguard-legacy",
        {"idolguard.stages": {"legacy": "legacy_stage:BrightnessStage"}},
        files={"legacy_stage.py": TOY_STAGE.replace("toy_brightness", "legacy_pixels").replace("AREA =", "_ =")},
    )
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            names = {s.name for s in all_stages()}
        assert "legacy_pixels" in names
        assert any(issubclass(w.category, DeprecationWarning) and "idolguard.areas" in str(w.message) for w in caught)
        (tmp_path / "b.jpg").write_bytes(jpeg_bytes(4, size=(20, 10)))
        assert cli.json_lines("scan", tmp_path / "b.jpg", "--json")[0]["toy_pixels"] == 200
    finally:
        uninstall_plugins(("legacy_stage",))


def test_a_broken_plugin_is_reported_and_loses_only_itself(tmp_path, monkeypatch):
    install_plugin(
        tmp_path / "site",
        monkeypatch,
        "idolguard-broken",
        {"idolguard.areas": {"broken": "broken_area:AREA"}},
        files={
            "broken_area.py": "from idolguard.area import Area\n"
            "AREA = Area(name='broken', stages=('broken_area_missing_dependency:Stage',))\n"
        },
    )
    try:
        names = {s.name for s in all_stages()}
        assert "probe" in names
        problems = import_problems()
        assert "broken_area_missing_dependency:Stage" in problems
        assert "No module named" in problems["broken_area_missing_dependency:Stage"]
    finally:
        uninstall_plugins(("broken_area",))


def test_a_report_written_without_the_cli_has_every_section(workspace, tmp_path):
    """Sections used to register on import of the CLI modules, so a library call lost faces and capture."""
    import subprocess
    import sys

    script = textwrap.dedent(
        """
        import sys
        from idolguard.report.html import _item_context
        import idolguard.registry as r
        print(",".join(name for name, _ in r.report_sections()))
        print("idolguard.cli" in sys.modules, "idolguard.faces.cli" in sys.modules)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    assert {"Faces", "manipulation", "matches", "capture"} <= set(out[0].split(","))
    assert out[1:] == ["False", "False"], "the CLI modules were not imported"


def _imports_with_side_effects(path: Path) -> list[str]:
    """``import x  # noqa: F401`` lines at module level: the old way of registering by import."""
    found = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            line = path.read_text(encoding="utf-8").splitlines()[node.lineno - 1]
            if "F401" in line and "register" in line:
                found.append(f"{path}:{node.lineno}")
    return found


def test_nothing_registers_by_import_side_effect():
    offenders = []
    for path in SRC.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if "register_section" in text or "COMMAND_MODULES" in text:
            offenders.append(str(path))
        offenders.extend(_imports_with_side_effects(path))
    assert offenders == []


def test_signals_code_does_not_import_incidents():
    """The old cycle: ``signals.stage`` imported ``incidents.report`` (which imports signals) to register a
    report section. Only the ``bank`` command module, a front door like ``cli.py``, may call into incidents."""
    offenders = []
    for path in (SRC / "signals").rglob("*.py"):
        if path.name == "cli.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            offenders.extend(f"{path.name}: {n}" for n in names if n.startswith("idolguard.incidents"))
    assert offenders == []
