"""Read-side of incidents: members, sightings, timeline, accounts, and the spread chart.

Sightings are read live from the core table, so the timeline always reflects every submission of every copy.
A sighting's time is when it was seen (``seen_at``, as given at intake) or, if unknown, when it was recorded.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select

from idolguard.coded_text import recognised
from idolguard.db.models import Item, Sighting, StageResult
from idolguard.errors import ErrorCode, IdolGuardError
from idolguard.evidence.actions import Action
from idolguard.incidents.models import Incident, IncidentMember
from idolguard.incidents.sync import MEMBER_REASONS, TITLES
from idolguard.signals.models import BankEntry, EntryHit
from idolguard.workspace import Workspace


def _when(sighting: Sighting) -> datetime:
    return sighting.seen_at or sighting.recorded_at


def _in_the_wild(sighting: Sighting) -> bool:
    """A sighting records where a copy was seen; a file submitted for another purpose (a reference added to a
    bank with ``bank add``) is custody, not spread, so it stays out of timelines, counts and charts."""
    return not (sighting.extra or {}).get("purpose")


def _artists(session: Any, shas: list[str]) -> dict[str, list[str]]:
    """The protected artists the faces stage identified in the incident's items (``match``) and those it
    only found ``possible``: an incident carries its artist(s) for scoping, cases and notices."""
    matched: set[str] = set()
    possible: set[str] = set()
    if shas:
        outputs = session.execute(
            select(StageResult.output).where(
                StageResult.item_sha256.in_(shas), StageResult.stage == "faces", StageResult.status == "ok"
            )
        ).scalars()
        for output in outputs:
            for face in (output or {}).get("faces") or []:
                name = face.get("artist")
                if name and face.get("decision") == "match":
                    matched.add(name)
                elif name and face.get("decision") == "possible":
                    possible.add(name)
    return {"artists": sorted(matched), "possible_artists": sorted(possible - matched)}


def _member_ids(session: Any, incident_id: int) -> list[int]:
    """The incident and every incident merged into it (members keep their original incident id)."""
    ids = {incident_id}
    frontier = [incident_id]
    while frontier:
        current = frontier.pop()
        merged = session.execute(select(Incident.id).where(Incident.merged_into == current)).scalars().all()
        for other in merged:
            if other not in ids:
                ids.add(other)
                frontier.append(other)
    return sorted(ids)


def incident_detail(ws: Workspace, incident_id: int) -> dict[str, Any]:
    with ws.sessions() as session:
        incident = session.get(Incident, incident_id)
        if incident is None:
            raise IdolGuardError(
                f"no incident {incident_id}", code=ErrorCode.RECORD_UNKNOWN, ref=f"incident:{incident_id}"
            )
        if incident.merged_into is not None:
            raise IdolGuardError(
                f"incident {incident_id} was merged into incident {incident.merged_into}",
                code=ErrorCode.INCIDENT_MERGED,
                id=incident_id,
                into=incident.merged_into,
            )
        ids = _member_ids(session, incident_id)
        members = (
            session.execute(
                select(IncidentMember, Item)
                .join(Item, Item.sha256 == IncidentMember.item_sha256)
                .where(IncidentMember.incident_id.in_(ids))
                .order_by(IncidentMember.added_at)
            )
            .tuples()
            .all()
        )
        shas = [m.item_sha256 for m, _ in members]
        sightings = (
            session.execute(select(Sighting).where(Sighting.item_sha256.in_(shas)).order_by(Sighting.id))
            .scalars()
            .all()
            if shas
            else []
        )
        sightings = [s for s in sightings if _in_the_wild(s)]
        artists = _artists(session, shas)
        entries = sorted(
            set(session.execute(select(EntryHit.entry_id).where(EntryHit.item_sha256.in_(shas))).scalars().all())
        )
        banked = session.execute(select(BankEntry.id).where(BankEntry.source_item.in_(shas))).scalars().all()
    rows = [
        {
            "id": s.id,
            "item": s.item_sha256,
            "source_url": s.source_url,
            "platform": s.platform,
            "account": s.account,
            "seen_at": s.seen_at.isoformat() if s.seen_at else None,
            "recorded_at": s.recorded_at.isoformat(),
            "when": _when(s).isoformat(),
        }
        for s in sorted(sightings, key=_when)
    ]
    accounts = Counter((s.platform or "unknown", s.account) for s in sightings if s.account)
    platforms: dict[str, dict[str, Any]] = {}
    for s in sightings:
        name = s.platform or "unknown"
        entry = platforms.setdefault(name, {"sightings": 0, "first_seen": _when(s), "last_seen": _when(s)})
        entry["sightings"] += 1
        entry["first_seen"] = min(entry["first_seen"], _when(s))
        entry["last_seen"] = max(entry["last_seen"], _when(s))
    times = [_when(s) for s in sightings]
    return {
        "id": incident.id,
        "title": incident.title,
        **recognised("title", incident.title, TITLES),
        "state": incident.state,
        **artists,
        "created_at": incident.created_at.isoformat(),
        "merged": [i for i in ids if i != incident_id],
        "items": [
            {
                "sha256": m.item_sha256,
                "media_type": item.media_type,
                "reason": m.reason,
                **recognised("reason", m.reason, MEMBER_REASONS),  # its code and values, for other languages
                "added_at": m.added_at.isoformat(),
            }
            for m, item in members
        ],
        "bank_entries": sorted(set(entries) | set(banked)),
        "first_seen": min(times).isoformat() if times else None,
        "last_seen": max(times).isoformat() if times else None,
        "sightings": rows,
        "platforms": {
            k: {**v, "first_seen": v["first_seen"].isoformat(), "last_seen": v["last_seen"].isoformat()}
            for k, v in sorted(platforms.items())
        },
        "accounts": [{"platform": p, "account": a, "sightings": n} for (p, a), n in accounts.most_common()],
    }


def list_incidents(ws: Workspace) -> list[dict[str, Any]]:
    with ws.sessions() as session:
        ids = (
            session.execute(select(Incident.id).where(Incident.merged_into.is_(None)).order_by(Incident.id))
            .scalars()
            .all()
        )
    out = []
    for incident_id in ids:
        detail = incident_detail(ws, incident_id)
        out.append(
            {
                "id": detail["id"],
                "title": detail["title"],
                **recognised("title", detail["title"], TITLES),
                "state": detail["state"],
                "artists": detail["artists"],
                "items": len(detail["items"]),
                "sightings": len(detail["sightings"]),
                "platforms": sorted(detail["platforms"]),
                "accounts": len(detail["accounts"]),
                "first_seen": detail["first_seen"],
                "last_seen": detail["last_seen"],
            }
        )
    return out


def incident_of_item(ws: Workspace, sha256: str) -> int | None:
    from idolguard.incidents.sync import _incident_of_item

    with ws.sessions() as session:
        return _incident_of_item(session, sha256)


def spread_chart_svg(detail: dict[str, Any], lang: str | None = None) -> str:
    """Cumulative sightings over time, one line per platform, as SVG; its title, axis label and an unknown
    platform in ``lang`` (``ko``/``en``; default the report being rendered), Korean letters drawn with a Hangul
    font (``report.charts``)."""
    from matplotlib.ticker import MaxNLocator

    from idolguard.report import charts

    text = charts.words(lang)
    series: dict[str, list[datetime]] = defaultdict(list)
    for row in detail["sightings"]:
        series[row["platform"] or text["unknown_platform"]].append(datetime.fromisoformat(row["when"]))
    with charts.figure(7, 3, dpi=100) as figure:
        axes = figure.add_subplot()
        for platform, times in sorted(series.items()):
            times.sort()
            axes.step(times, range(1, len(times) + 1), where="post", marker="o", label=f"{platform} ({len(times)})")
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # sightings are counted: no 0.5 ticks
        most = max((len(times) for times in series.values()), default=1)
        # Counts start at 0 (one sighting each would otherwise zoom to 0.95-1.05); headroom keeps the top points
        # clear of the legend in the upper left.
        axes.set_ylim(0, most + max(1, round(most * 0.5)))
        axes.set_ylabel(text["cumulative_sightings"])
        axes.set_title(text["spread_title"].format(id=detail["id"]))
        axes.grid(alpha=0.3)
        if series:
            axes.legend(loc="upper left", fontsize=8)
            moments = [t for times in series.values() for t in times]
            charts.set_date_ticks(axes, min(moments), max(moments))
        figure.autofmt_xdate()
        figure.tight_layout()
        return charts.svg(figure)


def set_state(ws: Workspace, incident_id: int, state: str, reason: str | None = None) -> str:
    """Move an incident to ``state`` (a custody event naming the old and new state); returns the old state."""
    from idolguard.incidents.models import INCIDENT_STATES

    if state not in INCIDENT_STATES:
        raise IdolGuardError(
            f"incident state must be one of {', '.join(INCIDENT_STATES)}",
            code=ErrorCode.INCIDENT_STATE,
            choices=", ".join(INCIDENT_STATES),
        )
    with ws.write() as (session, ledger):
        incident = session.get(Incident, incident_id)
        if incident is None:
            raise IdolGuardError(
                f"no incident {incident_id} (see `idolguard incidents list`)",
                code=ErrorCode.RECORD_UNKNOWN,
                ref=f"incident:{incident_id}",
            )
        if incident.merged_into is not None:
            raise IdolGuardError(
                f"incident {incident_id} was merged into incident {incident.merged_into}",
                code=ErrorCode.INCIDENT_MERGED,
                id=incident_id,
                into=incident.merged_into,
            )
        old = incident.state
        if old != state:
            incident.state = state
            ledger.append(
                Action.INCIDENT_STATUS, details={"incident": incident_id, "from": old, "to": state, "reason": reason}
            )
    return old
