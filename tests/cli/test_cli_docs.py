"""docs/CLI.md is generated from ``--help``; this fails when a command changes and the reference does not."""

from __future__ import annotations

from pathlib import Path

from idolguard.cli_docs import render

DOC = Path(__file__).resolve().parents[2] / "docs" / "CLI.md"


def test_cli_reference_matches_the_commands():
    current = DOC.read_text(encoding="utf-8")
    assert current == render(), "docs/CLI.md is out of date: run `python -m idolguard.cli_docs > docs/CLI.md`"


def test_cli_reference_covers_every_command():
    from typer.main import get_command

    from idolguard.cli import app

    text = DOC.read_text(encoding="utf-8")
    root = get_command(app)
    for name, command in root.commands.items():
        assert f"`idolguard {name}`" in text, name
        for sub in getattr(command, "commands", {}) or {}:
            assert f"`idolguard {name} {sub}`" in text, (name, sub)
