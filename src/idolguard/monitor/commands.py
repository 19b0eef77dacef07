"""``idolguard watch add|list|pause|resume|remove|run``: scheduled monitoring of watched sources."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from idolguard.cli_support import (
    N_,
    PANEL_INTAKE,
    console,
    emit_json,
    fail,
    home_option,
    new_app,
    open_workspace,
    out,
    safe,
    tell,
    tr,
    tr_error,
)
from idolguard.exit_codes import ExitCode


class Kind(StrEnum):
    page = "page"
    feed = "feed"
    channel = "channel"
    telegram = "telegram"
    account = "account"


watch_app = new_app("Watch pages, feeds, channels and accounts on a schedule; capture what is new.")


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    app.add_typer(watch_app, name="watch", rich_help_panel=PANEL_INTAKE)


@watch_app.command("add")
def add(
    url: str = typer.Argument(..., help="The page, feed, channel or account URL to watch."),
    kind: Kind = typer.Option(
        Kind.page, "--kind", help="What the URL is (channel: yt-dlp playlists, t.me/s/ previews)."
    ),
    every: str = typer.Option("6h", "--every", help="How often to check (e.g. 30m, 6h, 1d)."),
    artist: str = typer.Option(None, "--artist", help="The artist this source concerns (recorded with finds)."),
    json_out: bool = typer.Option(False, "--json", help="Print the new source as JSON."),
    home: Path = home_option(),
) -> None:
    """Start watching a source; it is checked at once by the next ``watch run --due``."""
    from idolguard.monitor.service import WatchError, add_source, source_record

    ws = open_workspace(home)
    try:
        row = add_source(ws, url, kind.value, every, artist)
    except WatchError as exc:
        fail(exc, ExitCode.USAGE)
        return
    if json_out:
        emit_json(source_record(row))
    else:
        tell(
            "watching #{id} {url} ({kind}, every {every})",
            stdout=True,
            id=row.id,
            url=row.url,
            kind=row.kind,
            every=every,
        )


@watch_app.command("list")
def list_cmd(
    json_out: bool = typer.Option(False, "--json", help="One JSON object per source."),
    home: Path = home_option(),
) -> None:
    """Watched sources with their status: last run, checkpoint, items found, errors, deleted by source."""
    from idolguard.monitor.service import format_every, list_sources, source_record

    ws = open_workspace(home)
    rows = list_sources(ws)
    if json_out:
        for row in rows:
            emit_json(source_record(row))
        return
    for row in rows:
        status = tr("deleted by source") if row.source_status == "gone" else tr(row.source_status)
        last = row.last_run_at.strftime("%Y-%m-%d %H:%M UTC") if row.last_run_at else tr("never run")
        text = tr(
            "#{id} {kind} every {every} ({state}) {status}: {url} (last run {last}, {found} found)",
            id=row.id,
            kind=row.kind,
            every=format_every(row.every_s),
            state=tr(row.state),
            status=status,
            url=safe(row.url),
            last=last,
            found=row.items_found,
        )
        error = f" - {safe(tr_error(row.last_error))}" if row.last_error else ""
        out().print(text + error, highlight=False, soft_wrap=True)
    if not rows:
        tell("no watched sources")


# Source states and statuses, shown translated (--json keeps the codes).
STATES = (N_("active"), N_("paused"), N_("removed"), N_("new"), N_("ok"), N_("error"))


def _set_state(source_id: int, state: str, home: Path | None) -> None:
    from idolguard.monitor.service import WatchError, set_state

    ws = open_workspace(home)
    try:
        row = set_state(ws, source_id, state)
    except WatchError as exc:
        fail(exc, ExitCode.ITEMS_FAILED)
        return
    out().print(f"#{row.id} {safe(row.url)}: {safe(tr(state))}", highlight=False)


@watch_app.command("pause")
def pause(source_id: int = typer.Argument(...), home: Path = home_option()) -> None:
    """Stop checking a source (its history stays)."""
    _set_state(source_id, "paused", home)


@watch_app.command("resume")
def resume(source_id: int = typer.Argument(...), home: Path = home_option()) -> None:
    """Check a paused source again (due at once)."""
    _set_state(source_id, "active", home)


@watch_app.command("remove")
def remove(source_id: int = typer.Argument(...), home: Path = home_option()) -> None:
    """Stop watching a source for good; what it found and its custody events are kept."""
    _set_state(source_id, "removed", home)


@watch_app.command("run")
def run(
    source_ids: list[int] = typer.Argument(None, help="Sources to run (default: every active source)."),
    due: bool = typer.Option(False, "--due", help="Only sources whose interval has passed."),
    screenshot: bool = typer.Option(True, "--screenshot/--no-screenshot", help="Screenshot + PDF each capture."),
    analyze_media: bool = typer.Option(True, "--analyze/--no-analyze", help="Scan and match captured media."),
    json_out: bool = typer.Option(False, "--json", help="One JSON object per source run."),
    home: Path = home_option(),
) -> None:
    """Check sources now: new posts and media are captured, scanned and matched; seen ones are skipped.

    Exits 1 when a source failed (not reachable, not parseable); a source deleted by its owner is reported,
    not a failure.
    """
    from idolguard.monitor.service import run_sources

    ws = open_workspace(home)
    outcomes = run_sources(ws, source_ids or None, due_only=due, screenshot=screenshot, analyze_media=analyze_media)
    for outcome in outcomes:
        if json_out:
            emit_json(outcome.public())
            continue
        colour = {"ok": "green", "gone": "yellow"}.get(outcome.status, "red")
        status = tr("deleted by source") if outcome.status == "gone" else tr(outcome.status)
        counts = tr(
            "{new} new, {seen} seen, {deferred} deferred",
            new=outcome.new,
            seen=outcome.skipped_url + outcome.skipped_content,
            deferred=outcome.deferred,
        )
        out().print(
            f"#{outcome.source_id} [{colour}]{safe(status)}[/] {safe(outcome.url)}: {counts}",
            highlight=False,
            soft_wrap=True,
        )
        for error in outcome.errors[:5]:
            console.print(f"  [red]{safe(tr_error(error))}[/]", highlight=False, soft_wrap=True)
    if not json_out:
        tell("{n} source(s) run", n=len(outcomes))
    if any(o.status == "error" for o in outcomes):
        raise typer.Exit(ExitCode.ITEMS_FAILED)
