"""Custody actions are a closed, documented set (issue #11, section 7)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from idolguard.evidence.actions import LEGACY_NAMES, Action, parse_action, writable

DOC = Path(__file__).resolve().parents[2] / "docs" / "EVIDENCE.md"


def _documented() -> tuple[set[str], set[str]]:
    """(current names, older names) from the table in docs/EVIDENCE.md "Custody actions"."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("### Custody actions", 1)[1].split("\n### ", 1)[0]
    current, older = set(), set()
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        older.update(re.findall(r"`([a-z_.]+)`", cells[-1]))
    for line in text.splitlines():  # the main table and the areas' own tables ("Monitoring custody events"...)
        if line.startswith("| `"):
            first = line.strip("|").split("|")[0]
            current.update(name for name in re.findall(r"`([a-z_]+\.[a-z_]+)`", first))
    return current, older


def test_every_action_is_documented() -> None:
    current, _older = _documented()
    missing = sorted(a.value for a in Action if a.value not in current)
    assert not missing, f"document these custody actions in docs/EVIDENCE.md: {missing}"
    unknown = sorted(current - {a.value for a in Action})
    assert not unknown, f"docs/EVIDENCE.md lists actions that do not exist: {unknown}"


def test_every_older_name_is_documented_with_its_meaning() -> None:
    _current, older = _documented()
    assert set(LEGACY_NAMES) <= older, sorted(set(LEGACY_NAMES) - older)


def test_names_follow_area_verb() -> None:
    for action in Action:
        assert re.fullmatch(r"[a-z]+\.[a-z_]+", action.value), action


def test_old_names_stay_readable_and_writers_refuse_anything_else() -> None:
    assert parse_action("ingest") is Action.INTAKE_INGEST and parse_action("capture_done") is Action.CAPTURE_FINISH
    assert parse_action("intake.ingest") is Action.INTAKE_INGEST and parse_action("made.up") is None
    assert writable("gallery.enrol") is Action.GALLERY_ENROL
    for refused in ("ingest", "note", "made.up"):
        with pytest.raises(ValueError, match="not in idolguard.evidence.actions.Action"):
            writable(refused)


def test_every_writer_in_the_code_names_a_closed_set_action() -> None:
    """Every action name written in the code (as an enum member or a literal) is in the closed set."""
    src = Path(__file__).resolve().parents[2] / "src" / "idolguard"
    values = {a.value for a in Action}
    unknown = []
    for path in src.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"ledger\.append\(\s*\"([^\"]+)\"", text):
            if match.group(1) not in values:
                unknown.append(f"{path.relative_to(src)}: {match.group(1)}")
        for match in re.finditer(r"Action\.([A-Z_]+)", text):
            assert hasattr(Action, match.group(1)), f"{path.relative_to(src)}: Action.{match.group(1)}"
    assert not unknown, unknown
