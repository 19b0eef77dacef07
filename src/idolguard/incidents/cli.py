"""``idolguard incidents list|show|chart``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from idolguard.cli_support import console, emit_json, fail, home_option, open_workspace
from idolguard.errors import IdolGuardError

incidents_app = typer.Typer(help="Incidents: one abusive item and all its copies and sightings.", no_args_is_help=True)


@incidents_app.command("list")
def incidents_list(json_out: bool = typer.Option(False, "--json"), home: Path = home_option()) -> None:
    """List incidents with their spread (items, sightings, platforms, accounts, first/last seen)."""
    from idolguard.incidents.sync import sync
    from idolguard.incidents.views import list_incidents

    ws = open_workspace(home)
    sync(ws)
    rows = list_incidents(ws)
    if json_out:
        for row in rows:
            emit_json(row)
        return
    table = Table(title="incidents")
    for column in ("id", "state", "items", "sightings", "platforms", "accounts", "first seen", "last seen"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["state"],
            str(r["items"]),
            str(r["sightings"]),
            ", ".join(r["platforms"]),
            str(r["accounts"]),
            r["first_seen"] or "-",
            r["last_seen"] or "-",
        )
    from rich.console import Console

    Console().print(table)


@incidents_app.command("show")
def incidents_show(
    incident_id: int = typer.Argument(...),
    json_out: bool = typer.Option(False, "--json"),
    chart: Path = typer.Option(None, "--chart", help="Also write the spread chart (SVG) here."),
    home: Path = home_option(),
) -> None:
    """Show one incident: items, timeline of sightings, accounts, platforms."""
    from idolguard.incidents.sync import sync
    from idolguard.incidents.views import incident_detail, spread_chart_svg

    ws = open_workspace(home)
    sync(ws)
    try:
        detail = incident_detail(ws, incident_id)
    except IdolGuardError as exc:
        fail(str(exc))
        return
    if chart is not None:
        chart.write_text(spread_chart_svg(detail), encoding="utf-8")
    if json_out:
        emit_json(detail)
        return
    console.print(f"[bold]incident {detail['id']}[/] ({detail['state']}): {detail['title']}", highlight=False)
    console.print(f"first seen {detail['first_seen']}, last seen {detail['last_seen']}", highlight=False)
    for item in detail["items"]:
        console.print(f"  item {item['sha256'][:16]}  {item['reason']}", highlight=False)
    for s in detail["sightings"]:
        where = s["source_url"] or "-"
        console.print(f"  {s['when']}  {s['platform'] or '-':<10} {s['account'] or '-':<20} {where}", highlight=False)


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    app.add_typer(incidents_app, name="incidents")
