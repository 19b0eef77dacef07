"""``idolguard capture [url] URL...``, ``capture list``, ``capture show ID`` and ``idolguard recheck``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from idolguard.cli_support import (
    N_,
    PANEL_INTAKE,
    emit_json,
    exit_for,
    fail,
    home_option,
    json_option,
    new_app,
    open_workspace,
    out,
    print_table,
    safe,
    shown_time,
    tell,
    tr,
    tr_error,
    tr_stored,
)
from idolguard.errors import IdolGuardError


class _UrlByDefault(TyperGroup):
    """``idolguard capture URL...`` keeps working next to ``capture list`` and ``capture show``: anything that
    is not a subcommand name is the URL list of ``capture url``."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["url", *args]
        return super().parse_args(ctx, args)


capture_app = new_app(
    "Preserve web pages as evidence (capture URL...), and list or show what was captured.", cls=_UrlByDefault
)


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    app.add_typer(capture_app, name="capture", rich_help_panel=PANEL_INTAKE)
    app.command("recheck", rich_help_panel=PANEL_INTAKE)(recheck)


@capture_app.command("url")
def capture(
    urls: list[str] = typer.Argument(..., help="Post or page URLs (http/https) to preserve."),
    json_out: bool = json_option("One JSON object per URL."),
    note: str = typer.Option(None, "--note", help="Why it is captured (recorded with the capture)."),
    screenshot: bool = typer.Option(True, "--screenshot/--no-screenshot", help="Render screenshot + PDF."),
    media: bool = typer.Option(True, "--media/--no-media", help="Download the page's images and videos."),
    analyze_media: bool = typer.Option(True, "--analyze/--no-analyze", help="Run scan analysis on media."),
    timeout: float = typer.Option(None, "--timeout", help="Seconds per URL (default: config, 120)."),
    report: Path = typer.Option(None, "--report", help="Write an HTML report of the captures and their media."),
    home: Path = home_option(),
) -> None:
    """Preserve web pages as evidence: page, media, screenshot, PDF, WACZ, manifest, trusted timestamp.

    The default subcommand: `idolguard capture URL` is `idolguard capture url URL`. A malformed URL is refused
    before anything is recorded (exit 2). Exits 1 when a URL was refused or nothing could be captured;
    partial captures exit 0 with their errors.
    """
    from idolguard.capture.errors import CaptureRefused
    from idolguard.capture.netpolicy import check_url_syntax
    from idolguard.capture.service import capture_urls
    from idolguard.capture.settings import CaptureSettings

    bad = []
    for url in urls:
        try:
            check_url_syntax(url)
        except CaptureRefused as exc:
            bad.append(str(exc))
    if bad:
        fail("{reasons} (nothing was captured or recorded)", reasons="; ".join(tr_error(b) for b in bad))
    ws = open_workspace(home)
    settings = CaptureSettings.from_workspace(ws, browser=screenshot, media=media, timeout_s=timeout)
    outcomes = capture_urls(ws, urls, settings, note=note, analyze_media=analyze_media)
    for outcome in outcomes:
        if json_out:
            emit_json(outcome.public())
            continue
        colour = {"ok": "green", "partial": "yellow"}.get(outcome.state, "red")
        out().print(
            f"[{colour}]{safe(tr(outcome.state))}[/] "
            + tr(
                "#{id} {url} -> {final} (HTTP {status}), {media} media, manifest {manifest}",
                id=outcome.capture_id,
                url=safe(outcome.url),
                final=safe(outcome.final_url or "-"),
                status=outcome.status or "-",
                media=len([m for m in outcome.media if m.sha256]),
                manifest=(outcome.manifest_sha256 or "-")[:16],
            )
        )
        if outcome.wacz_path:
            tell("  web archive: {path}", stdout=True, path=outcome.wacz_path)
        for index, error in enumerate(outcome.errors):  # each said from its template, else from its code
            code, params = outcome.error_codes.get(index, (None, {}))
            out().print(f"  [red]{safe(tr_stored(error, code, params))}[/]")
    if not json_out and outcomes:
        tell("details and file paths: idolguard capture show {id}", id=outcomes[-1].capture_id)
    if report is not None:
        _write_report(ws, outcomes, report)
    exit_for(sum(1 for o in outcomes if o.state in ("error", "refused")))


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
    tell("report: {path} (sha256 {digest}…)", path=dest.resolve(), digest=digest[:16])


@capture_app.command("list")
def capture_list(
    limit: int = typer.Option(0, "--limit", help="Only the N most recent captures (0 = all)."),
    json_out: bool = json_option("One JSON object per capture (ISO 8601 UTC times)."),
    home: Path = home_option(),
) -> None:
    """Captures made in this workspace, newest first: id, state, URL, when, media count."""
    from idolguard.capture.views import list_captures

    ws = open_workspace(home)
    rows = list_captures(ws, limit=limit or None)
    if json_out:
        for row in rows:
            emit_json(row)
        return
    print_table(
        "captures",
        ("id", "state", "captured", "HTTP", "media", "timestamps", "url"),
        [
            (
                r["id"],
                tr(r["state"]),
                shown_time(r["captured_at"], ws),
                r["http_status"],
                r["media"],
                f"{r['timestamps_ok']}/{r['timestamps']}",
                r["requested_url"],
            )
            for r in rows
        ],
    )


@capture_app.command("show")
def capture_show(
    capture_id: int = typer.Argument(..., help="Capture id (see `capture list`)."),
    export: Path = typer.Option(
        None,
        "--export",
        help="Also copy the screenshot, PDF, page, WARC/WACZ, manifest, TSA tokens and media into this new "
        "folder (recorded in the custody ledger).",
    ),
    reason: str = typer.Option(None, "--reason", help="Why the files are exported (recorded with --export)."),
    json_out: bool = json_option("The capture as one JSON object."),
    home: Path = home_option(),
) -> None:
    """One capture: what was asked and what answered, and where each preserved file is (screenshot, PDF,
    WACZ, manifest, RFC 3161 tokens, media items)."""
    from idolguard.capture.views import capture_detail, export_capture

    ws = open_workspace(home)
    try:
        detail = capture_detail(ws, capture_id)
    except IdolGuardError as exc:
        fail(exc)
    if export is not None:
        try:
            detail["exported"] = export_capture(ws, detail, export, reason)
        except IdolGuardError as exc:
            fail(exc)
    if json_out:
        emit_json(detail)
        return
    line = out()
    tell(
        "[bold]capture {id}[/] ({state}) {url}",
        stdout=True,
        id=detail["id"],
        state=tr(detail["state"]),
        url=detail["requested_url"],
    )
    tell(
        "  final URL   {url} (HTTP {status})",
        stdout=True,
        url=detail["final_url"] or "-",
        status=detail["http_status"] or "-",
    )
    tell(
        "  captured    {time} by {actor}",
        stdout=True,
        time=shown_time(detail["captured_at"], ws),
        actor=detail["actor"],
    )
    if detail["note"]:
        tell("  note        {note}", stdout=True, note=detail["note"])
    for art in detail["files"]:
        where = art["path"] or tr("(encrypted in the vault: use --export)")
        line.print(f"  {art['kind']:<11} {art['sha256'][:16]}  {safe(where)}")
    for m in detail["media"]:
        # why a file was not kept: said from its code (stored, or recognised in an older row's text), else as stored
        problem = tr_stored(m["error"] or "", m["error_code"], m["error_params"])
        status = m["item_sha256"][:16] if m["item_sha256"] else f"[red]{safe(problem)}[/]"
        line.print(tr("  media       {status}  {url}", status=status, url=safe(m["url"])))
    for error, found in zip(detail["errors"], detail["error_codes"], strict=True):
        # said from its code (stored, or recognised in an older row's text), else through the text templates
        code, params = (found["code"], found["params"]) if found else (None, None)
        line.print(f"  [red]{safe(tr_stored(str(error), code, params))}[/]")
    for path in detail.get("exported") or []:
        tell("exported {path}", path=path)


# States shown in tables and lines (translated; --json keeps the codes).
STATES = (N_("ok"), N_("partial"), N_("error"), N_("refused"), N_("live"), N_("changed"), N_("removed"), N_("blocked"))


def recheck(
    capture_ids: list[int] = typer.Argument(None, help="Capture ids to re-check (default: all)."),
    due: bool = typer.Option(False, "--due", help="Only captures not checked within capture.recheck_hours."),
    json_out: bool = json_option("One JSON object per capture."),
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
            out().print(
                f"#{result.capture_id} [{colour}]{safe(tr(result.state))}[/] HTTP {result.http_status or '-'} "
                f"{safe(result.url)}"
                + (
                    f"  ({safe(tr_stored(result.error, result.error_code, result.error_params))})"
                    if result.error
                    else ""
                )
            )
    if not json_out:
        tell("{n} capture(s) checked", n=len(results))
    exit_for(sum(1 for r in results if r.state == "error"))
