"""``idolguard incidents list|show|status``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from idolguard.cli_support import (
    N_,
    PANEL_CASEWORK,
    emit_json,
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
)
from idolguard.errors import IdolGuardError

incidents_app = new_app("Incidents: one abusive item and all its copies and sightings.")


class IncidentState(StrEnum):
    """Where an incident stands (the same states as ``incidents.models.INCIDENT_STATES``)."""

    open = "open"
    takedown_requested = "takedown_requested"
    removed = "removed"
    closed = "closed"


STATES = (N_("open"), N_("takedown_requested"), N_("removed"), N_("closed"))  # shown translated


@incidents_app.command("list")
def incidents_list(json_out: bool = json_option("One JSON object per incident."), home: Path = home_option()) -> None:
    """List incidents with their artists and spread (items, sightings, platforms, accounts, first/last seen)."""
    from idolguard.incidents.sync import sync
    from idolguard.incidents.views import list_incidents

    ws = open_workspace(home)
    sync(ws)
    rows = list_incidents(ws)
    if json_out:
        for row in rows:
            emit_json(row)
        return
    print_table(
        "incidents",
        ("id", "state", "artists", "items", "sightings", "platforms", "accounts", "first seen", "last seen"),
        [
            (
                r["id"],
                tr(r["state"]),
                ", ".join(r["artists"]),
                r["items"],
                r["sightings"],
                ", ".join(r["platforms"]),
                r["accounts"],
                shown_time(r["first_seen"], ws),
                shown_time(r["last_seen"], ws),
            )
            for r in rows
        ],
    )


@incidents_app.command("show")
def incidents_show(
    incident_id: int = typer.Argument(...),
    json_out: bool = json_option("The incident as one JSON object (ISO 8601 UTC times)."),
    chart: Path = typer.Option(None, "--chart", help="Also write the spread chart (SVG) here."),
    home: Path = home_option(),
) -> None:
    """Show one incident: artists, items, timeline of sightings, accounts, platforms."""
    from idolguard.incidents.sync import sync
    from idolguard.incidents.views import incident_detail, spread_chart_svg

    ws = open_workspace(home)
    sync(ws)
    try:
        detail = incident_detail(ws, incident_id)
    except IdolGuardError as exc:
        fail(exc)
    if chart is not None:
        from idolguard.cli_lang import current

        chart.write_text(spread_chart_svg(detail, current()), encoding="utf-8")  # in the CLI's language
    if json_out:
        emit_json(detail)
        return
    line = out()
    tell(
        "[bold]incident {id}[/] ({state}): {title}",
        stdout=True,
        id=detail["id"],
        state=tr(detail["state"]),
        title=_said(detail, "title"),
    )
    artists = ", ".join(detail["artists"]) or tr("none identified")
    if detail["possible_artists"]:
        artists += tr(" (possibly {names})", names=", ".join(detail["possible_artists"]))
    tell("artists: {names}", stdout=True, names=artists)
    tell(
        "first seen {first}, last seen {last}",
        stdout=True,
        first=shown_time(detail["first_seen"], ws),
        last=shown_time(detail["last_seen"], ws),
    )
    for item in detail["items"]:
        tell("  item {sha256}  {reason}", stdout=True, sha256=item["sha256"][:16], reason=_said(item, "reason"))
    for s in detail["sightings"]:
        where = s["source_url"] or "-"
        platform = s["platform"] or tr("unknown")
        line.print(f"  {shown_time(s['when'], ws)}  {safe(platform):<10} {safe(s['account'] or '-'):<20} {safe(where)}")
    if chart is not None:
        tell("chart: {path}", path=chart)


@incidents_app.command("status")
def incidents_status(
    incident_id: int = typer.Argument(..., help="Incident id (see `incidents list`)."),
    state: IncidentState = typer.Argument(..., help="The new state."),
    reason: str = typer.Option(None, "--reason", help="Why (recorded with the custody event)."),
    json_out: bool = json_option("The change as one JSON object."),
    home: Path = home_option(),
) -> None:
    """Set where an incident stands: open, takedown_requested, removed or closed (a custody event)."""
    from idolguard.incidents.sync import sync
    from idolguard.incidents.views import set_state

    ws = open_workspace(home)
    sync(ws)
    try:
        old = set_state(ws, incident_id, state.value, reason)
    except IdolGuardError as exc:
        fail(exc)
    if json_out:
        emit_json({"incident": incident_id, "from": old, "to": state.value, "changed": old != state.value})
    elif old == state.value:
        tell("incident {id} is already {state}", stdout=True, id=incident_id, state=tr(state.value))
    else:
        tell("incident {id}: {old} -> {new}", stdout=True, id=incident_id, old=tr(old), new=tr(state.value))


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    app.add_typer(incidents_app, name="incidents", rich_help_panel=PANEL_CASEWORK)


def _said(record: dict[str, Any], field: str) -> str:
    """A title or member reason the incidents area wrote as an English sentence, in the CLI's language from its
    code (``coded_text``); text a person wrote stays as written."""
    from idolguard.coded_text import said
    from idolguard.incidents.sync import MEMBER_REASONS, TITLES

    forms = {**MEMBER_REASONS, **TITLES}
    return said(record, field, lambda code: tr(forms[code]) if code in forms else None)
