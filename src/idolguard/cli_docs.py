"""Generate ``docs/CLI.md`` from the commands' own ``--help`` (so the reference cannot say what the CLI does not).

    python -m idolguard.cli_docs > docs/CLI.md      # regenerate
    python -m idolguard.cli_docs --check docs/CLI.md   # exit 1 when the file is out of date

``tests/cli/test_cli_docs.py`` runs the check, the way datasette's ``tests/test_docs.py`` keeps its CLI
reference honest. Help is rendered at a fixed width without colour, so the output does not depend on the
terminal it was generated in.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

WIDTH = 100
HEADER = """\
# IdolGuard command reference

Generated from `idolguard ... --help` by `python -m idolguard.cli_docs > docs/CLI.md`; do not edit by hand
(`tests/cli/test_cli_docs.py` fails when this file and the commands disagree). Exit codes, output
conventions and examples: see README.
"""


def _walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    commands = getattr(command, "commands", None) or {}
    for name in command.list_commands(None) if hasattr(command, "list_commands") else []:
        sub = commands.get(name)
        if sub is not None and not getattr(sub, "hidden", False):
            yield from _walk(sub, (*path, name))


def render() -> str:
    """The whole reference: one section per command and group, in the order ``--help`` lists them."""
    import typer.rich_utils as rich_utils
    from typer.main import get_command
    from typer.testing import CliRunner

    from idolguard.cli import app

    rich_utils.MAX_WIDTH = WIDTH
    rich_utils.FORCE_TERMINAL = False
    rich_utils.COLOR_SYSTEM = None
    runner = CliRunner()
    parts = [HEADER]
    # The reference is English whatever the generating machine's locale (``idolguard --lang ko ... --help``
    # shows the Korean).
    env = {"TERMINAL_WIDTH": str(WIDTH), "COLUMNS": str(WIDTH), "NO_COLOR": "1", "FORCE_COLOR": None}
    env |= {"IDOLGUARD_LANG": "en", "LC_ALL": None, "LC_MESSAGES": None, "LANG": None}
    for path, _command in _walk(get_command(app)):
        result = runner.invoke(app, [*path, "--help"], prog_name="idolguard", env=env, color=False)
        if result.exit_code != 0:
            raise RuntimeError(f"idolguard {' '.join(path)} --help exited {result.exit_code}: {result.output}")
        text = "\n".join(line.rstrip() for line in result.stdout.splitlines()).strip("\n")
        title = " ".join(("idolguard", *path))
        parts.append(f"{'#' * min(2 + len(path), 4)} `{title}`\n\n```text\n{text}\n```\n")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = render()
    if args[:1] == ["--check"]:
        target = Path(args[1] if len(args) > 1 else "docs/CLI.md")
        current = target.read_text(encoding="utf-8") if target.is_file() else ""
        if current != text:
            sys.stderr.write(f"{target} is out of date: run `python -m idolguard.cli_docs > {target}`\n")
            return 1
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
