"""Helpers shared by CLI commands: opening the workspace, JSON lines, progress bars that stay off pipes."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from idolguard.errors import IdolGuardError
from idolguard.workspace import Workspace

console = Console(stderr=True)


def home_option() -> Any:
    return typer.Option(None, "--home", envvar="IDOLGUARD_HOME", help="Workspace folder (default ~/.idolguard).")


_OPENED: list[Workspace] = []


def opened_workspaces() -> list[Workspace]:
    """Workspaces opened by the command now ending (taken: the list is emptied), for the CLI's after-command
    step (anchoring the ledger head when the command wrote)."""
    taken = list(_OPENED)
    _OPENED.clear()
    return taken


def open_workspace(home: Path | None, *, read_only: bool = False, signs: bool = False) -> Workspace:
    """Open the workspace or exit 4 with the reason. ``signs``: the command will record custody events, so
    the signing key (possibly outside the workspace, possibly passphrase-protected) is loaded now, before
    any work, instead of failing halfway through."""
    from idolguard.exit_codes import ExitCode

    try:
        ws = Workspace.open(home, read_only=read_only)
        if signs:
            ws.signing_key  # noqa: B018
        _OPENED.append(ws)
        return ws
    except IdolGuardError as exc:
        fail(str(exc), ExitCode.WORKSPACE)
        raise  # unreachable


def fail(message: str, code: int = 2) -> None:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def emit_json(obj: Any) -> None:
    from idolguard.display import json_line

    sys.stdout.write(json_line(obj) + "\n")
    sys.stdout.flush()


def interactive(json_mode: bool) -> bool:
    return not json_mode and sys.stdout.isatty() and sys.stderr.isatty()


class ScanProgress:
    """Two bars on a terminal (bytes ingested, items analysed); silent when piped or with --json."""

    def __init__(self, enabled: bool, total_bytes: int, total_files: int) -> None:
        self.enabled = enabled
        self._progress: Progress | None = None
        if enabled:
            self._progress = Progress(
                TextColumn("{task.description:<8}"),
                BarColumn(),
                TextColumn("{task.fields[files]}"),
                TimeRemainingColumn(),
                console=console,
            )
            self._ingest = self._progress.add_task("ingest", total=total_bytes or None, files="")
            self._analyze = self._progress.add_task("analyse", total=None, files="", visible=False)
            self._files_total = total_files
            self._files_done = 0
            self._bytes_done = 0
            self._bytes_total = total_bytes
            self._analysed = 0

    def __enter__(self) -> ScanProgress:
        if self._progress:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress:
            self._progress.stop()

    def ingested(self, size: int) -> None:
        if self._progress:
            self._files_done += 1
            self._bytes_done += size
            text = (
                f"{self._files_done}/{self._files_total} files, "
                f"{self._bytes_done / 1e6:.1f}/{self._bytes_total / 1e6:.1f} MB"
            )
            self._progress.update(self._ingest, advance=size, files=text)

    def analysis_started(self, total_items: int) -> None:
        if self._progress:
            self._analyze_total = total_items
            self._progress.update(self._analyze, total=total_items, visible=True, files=f"0/{total_items} items")

    def analysed(self, _sha256: str) -> None:
        if self._progress:
            self._analysed += 1
            self._progress.update(
                self._analyze, completed=self._analysed, files=f"{self._analysed}/{self._analyze_total} items"
            )


@contextmanager
def progress_bar(enabled: bool, description: str, total: float | None, *, as_bytes: bool = False) -> Iterator[Any]:
    """A Rich bar on a terminal; a no-op advance function otherwise (pipes and --json stay clean)."""
    if not enabled:
        yield lambda *_args, **_kwargs: None
        return
    columns: list[Any] = [TextColumn("{task.description}"), BarColumn()]
    columns.append(DownloadColumn() if as_bytes else MofNCompleteColumn())
    columns.append(TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(description, total=total)
        yield lambda amount=1: progress.advance(task, amount)
