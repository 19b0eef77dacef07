"""``idolguard portal serve|worker|queue|decide``: the public report portal and its queue.

``portal serve`` runs the public app on its own port (default 127.0.0.1:8080; put it behind a TLS reverse
proxy and list the proxy in ``[portal] trusted_proxies``). The team app's ``serve --portal`` uses the same
``create_app`` once it exists.
"""

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
)
from idolguard.exit_codes import ExitCode


class Outcome(StrEnum):
    action_taken = "action_taken"
    not_actionable = "not_actionable"


# Link states and outcomes, shown translated (--json keeps the codes).
STATES = (N_("queued"), N_("captured"), N_("known"), N_("failed"), N_("action_taken"), N_("not_actionable"))

portal_app = new_app("The public link-report portal (separate app), its capture jobs and its queue.")


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    app.add_typer(portal_app, name="portal", rich_help_panel=PANEL_INTAKE)


@portal_app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8080, "--port", help="Port (separate from the team app's)."),
    workers: int = typer.Option(1, "--workers", help="Uvicorn worker processes."),
    home: Path = home_option(),
) -> None:
    """Run the public portal (form, JSON API, status pages)."""
    import os

    import uvicorn

    ws = open_workspace(home)
    from idolguard.portal.settings import artists_warning

    warning = artists_warning(ws)
    if warning:
        console.print(warning)
    ws.close()
    os.environ["IDOLGUARD_PORTAL_HOME"] = str(ws.home)
    os.environ.setdefault("IDOLGUARD_PORTAL_URL", f"http://{host}:{port}")
    uvicorn.run(
        "idolguard.portal.asgi:app",
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,  # no reporter addresses or status tokens in logs
        proxy_headers=False,  # X-Forwarded-For is read by the portal itself, only from trusted proxies
        server_header=False,
    )


@portal_app.command("worker")
def worker(
    once: bool = typer.Option(False, "--once", help="Run the queued jobs, then stop."),
    screenshot: bool = typer.Option(True, "--screenshot/--no-screenshot", help="Screenshot + PDF each capture."),
    analyze_media: bool = typer.Option(True, "--analyze/--no-analyze", help="Scan and match captured media."),
    home: Path = home_option(),
) -> None:
    """Capture reported links (SSRF-safe), scan and match their media, and put them in the triage data."""
    from idolguard.portal.jobs import run_worker

    ws = open_workspace(home)
    ran = run_worker(ws, once=once, screenshot=screenshot, analyze_media=analyze_media)
    tell("{n} job(s) run", n=ran)


@portal_app.command("queue")
def queue(
    limit: int = typer.Option(100, "--limit", help="How many links."),
    all_links: bool = typer.Option(False, "--all", help="Include decided links."),
    json_out: bool = typer.Option(False, "--json", help="One JSON object per link."),
    home: Path = home_option(),
) -> None:
    """Reported links in triage order (reporter trust, report count), with categories and capture state."""
    from idolguard.portal.jobs import triage_rows

    ws = open_workspace(home)
    rows = triage_rows(ws, limit=limit, include_decided=all_links)
    for row in rows:
        if json_out:
            emit_json(row)
        else:
            cats = ", ".join(f"{_category(k)} x{v}" for k, v in row["categories"].items())
            text = tr(
                "#{id} ({state}) {n} report(s) ({categories}) priority {priority}: {url}",
                id=row["link_id"],
                state=tr(row["state"]),
                n=row["report_count"],
                categories=safe(cats),
                priority=row["priority"],
                url=safe(row["url"]),
            )
            out().print(text, highlight=False, soft_wrap=True)


def _category(code: str) -> str:
    """A report category as the portal's form names it, in the command's language (``--json`` keeps the code):
    the queue said ``ai_deepfake`` even in Korean."""
    from idolguard.cli_lang import current
    from idolguard.portal.app import translate

    key = f"cat_{code}"
    label = translate(current(), key)
    return code if label == key else label  # a category the portal no longer offers: its code


@portal_app.command("decide")
def decide(
    link_id: int = typer.Argument(..., help="Link id (from portal queue)."),
    outcome: Outcome = typer.Argument(..., help="What the analysts decided."),
    home: Path = home_option(),
) -> None:
    """Record the outcome of a reported link; its reporters' status pages and trust scores follow."""
    from idolguard.portal.jobs import PortalError
    from idolguard.portal.jobs import decide as record

    ws = open_workspace(home)
    try:
        link = record(ws, link_id, outcome.value)
    except PortalError as exc:
        fail(exc, ExitCode.USAGE if "must be one of" in str(exc) else ExitCode.ITEMS_FAILED)
        return
    out().print(f"#{link.id} {safe(link.url)}: {safe(tr(outcome.value))}", highlight=False)
