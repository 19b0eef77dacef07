"""``idolguard capture`` and ``idolguard recheck``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from idolguard.cli_support import console, emit_json, home_option, open_workspace


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:

    app.command("capture")(capture)
    app.command("recheck")(recheck)


def capture(
    urls: list[str] = typer.Argument(..., help="Post or page URLs (http/https) to preserve."),
    json_out: bool = typer.Option(False, "--json", help="One JSON object per URL."),
    note: str = typer.Option(None, "--note", help="Why it is captured (recorded with the capture)."),
    screenshot: bool = typer.Option(True, "--screenshot/--no-screenshot", help="Render screenshot + PDF."),
    media: bool = typer.Option(True, "--media/--no-media", help="Download the page's images and videos."),
    analyze_media: bool = typer.Option(True, "--analyze/--no-analyze", help="Run scan analysis on media."),
    timeout: float = typer.Option(None, "--timeout", help="Seconds per URL (default: config, 120)."),
    report: Path = typer.Option(None, "--report", help="Write an HTML report of the captures and their media."),
    home: Path = home_option(),
) -> None:
    """Preserve web pages as evidence: page, media, screenshot, PDF, WACZ, manifest, trusted timestamp.

    Exits 1 when a URL was refused or nothing could be captured; partial captures exit 0 with their errors.
    """
    from idolguard.capture.service import capture_urls
    from idolguard.capture.settings import CaptureSettings

    ws = open_workspace(home)
    settings = CaptureSettings.from_workspace(ws, browser=screenshot, media=media, timeout_s=timeout)
    outcomes = capture_urls(ws, urls, settings, note=note, analyze_media=analyze_media)
    for outcome in outcomes:
        if json_out:
            emit_json(outcome.public())
            continue
        colour = {"ok": "green", "partial": "yellow"}.get(outcome.state, "red")
        console.print(
            f"[{colour}]{outcome.state}[/] #{outcome.capture_id} {outcome.url} -> {outcome.final_url or '-'} "
            f"(HTTP {outcome.status or '-'}), {len([m for m in outcome.media if m.sha256])} media, "
            f"manifest {(outcome.manifest_sha256 or '-')[:16]}",
            highlight=False,
            soft_wrap=True,
        )
        if outcome.wacz_path:
            console.print(f"  web archive: {outcome.wacz_path}", highlight=False)
        for error in outcome.errors:
            console.print(f"  [red]{error}[/]", highlight=False, soft_wrap=True)
    if report is not None:
        _write_report(ws, outcomes, report)
    if any(o.state in ("error", "refused") for o in outcomes):
        raise typer.Exit(1)


def _write_report(ws: Any, outcomes: list[Any], dest: Path) -> None:
    """One report section per capture manifest, followed by the media items it yielded."""
    from idolguard.pipeline.scan import item_object
    from idolguard.report.html import write_report

    objects = []
    for outcome in outcomes:
        shas = [outcome.manifest_sha256] + [m.sha256 for m in outcome.media]
        for sha in dict.fromkeys(s for s in shas if s):
            objects.append(item_object(ws, sha))
    digest = write_report(ws, objects, dest)
    console.print(f"report: {dest.resolve()} (sha256 {digest[:16]}…)", highlight=False)


def recheck(
    capture_ids: list[int] = typer.Argument(None, help="Capture ids to re-check (default: all)."),
    due: bool = typer.Option(False, "--due", help="Only captures not checked within capture.recheck_hours."),
    json_out: bool = typer.Option(False, "--json", help="One JSON object per capture."),
    home: Path = home_option(),
) -> None:
    """Re-request captured URLs and record whether each post is live, removed, blocked or changed."""
    from idolguard.capture.recheck import recheck_captures
    from idolguard.capture.settings import CaptureSettings

    ws = open_workspace(home)
    settings = CaptureSettings.from_workspace(ws)
    results = recheck_captures(ws, settings, ids=capture_ids or None, due_only=due)
    for result in results:
        record: dict[str, Any] = result.public()
        if json_out:
            emit_json(record)
        else:
            colour = {"live": "green", "changed": "yellow"}.get(result.state, "red")
            console.print(
                f"#{result.capture_id} [{colour}]{result.state}[/] HTTP {result.http_status or '-'} {result.url}"
                + (f"  ({result.error})" if result.error else ""),
                highlight=False,
                soft_wrap=True,
            )
    if not json_out:
        console.print(f"{len(results)} capture(s) checked")
