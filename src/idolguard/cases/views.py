"""Read side of cases: everything a case covers, resolved live from the records it links.

A case links records; this module expands them (an incident brings its items, a capture its media and
manifest, a sighting its item), then gathers the sightings, captures and accounts of those items. Nothing
is copied, so a new sighting of a case item shows up in the case at once.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from idolguard.capture.models import Capture, CaptureCheck, CaptureMedia
from idolguard.cases.accounts import account_detail
from idolguard.cases.models import (
    Account,
    Case,
    CaseAssignee,
    CaseFiling,
    CaseLink,
    CaseNote,
    DestroyedObject,
)
from idolguard.cases.service import get_case
from idolguard.db.models import Item, LedgerEntry, Sighting
from idolguard.db.session import in_chunks
from idolguard.incidents.models import Incident, IncidentMember
from idolguard.workspace import Workspace


def _when(s: Sighting) -> datetime:
    return s.seen_at or s.recorded_at


def _incident_tree(session: Session, incident_id: int) -> list[int]:
    ids, frontier = {incident_id}, [incident_id]
    while frontier:
        current = frontier.pop()
        for other in session.execute(select(Incident.id).where(Incident.merged_into == current)).scalars():
            if other not in ids:
                ids.add(other)
                frontier.append(other)
    return sorted(ids)


def case_items(session: Session, case: Case) -> dict[str, list[str]]:
    """Item SHA-256 -> why it is in the case (e.g. ["linked"], ["incident 3"], ["capture 2 media"])."""
    links = session.execute(select(CaseLink).where(CaseLink.case_id == case.id).order_by(CaseLink.id)).scalars()
    why: dict[str, list[str]] = defaultdict(list)
    for link in links:
        if link.kind == "item":
            why[link.ref].append("linked")
        elif link.kind == "incident":
            ids = _incident_tree(session, int(link.ref))
            for sha in session.execute(
                select(IncidentMember.item_sha256).where(IncidentMember.incident_id.in_(ids))
            ).scalars():
                why[sha].append(f"incident {link.ref}")
        elif link.kind == "sighting":
            sha = session.execute(select(Sighting.item_sha256).where(Sighting.id == int(link.ref))).scalar_one()
            why[sha].append(f"sighting {link.ref}")
        elif link.kind == "capture":
            capture = session.get(Capture, int(link.ref))
            if capture is not None and capture.manifest_sha256:
                why[capture.manifest_sha256].append(f"capture {link.ref} manifest")
            for sha in session.execute(
                select(CaptureMedia.item_sha256).where(
                    CaptureMedia.capture_id == int(link.ref), CaptureMedia.item_sha256.is_not(None)
                )
            ).scalars():
                why[sha].append(f"capture {link.ref} media")
    return dict(why)


def case_captures(session: Session, case: Case, shas: list[str]) -> list[Capture]:
    ids = {
        int(r)
        for r in session.execute(
            select(CaseLink.ref).where(CaseLink.case_id == case.id, CaseLink.kind == "capture")
        ).scalars()
    }
    for chunk in in_chunks(shas):
        ids.update(
            session.execute(select(CaptureMedia.capture_id).where(CaptureMedia.item_sha256.in_(chunk))).scalars()
        )
        ids.update(session.execute(select(Capture.id).where(Capture.manifest_sha256.in_(chunk))).scalars())
    if not ids:
        return []
    return list(session.execute(select(Capture).where(Capture.id.in_(sorted(ids))).order_by(Capture.id)).scalars())


def _sightings(session: Session, shas: list[str]) -> list[Sighting]:
    rows: list[Sighting] = []
    for chunk in in_chunks(shas):
        rows.extend(session.execute(select(Sighting).where(Sighting.item_sha256.in_(chunk))).scalars())
    return sorted(rows, key=lambda s: (_when(s), s.id))


def origin_candidates(session: Session, incident_ids: list[int]) -> list[dict[str, Any]]:
    """Per incident: the earliest sighting by the platform's own time and the earliest capture, each with
    its evidence. First seen is not first posted: earlier copies may exist where nobody looked."""
    out = []
    for incident_id in incident_ids:
        ids = _incident_tree(session, incident_id)
        shas = list(
            session.execute(select(IncidentMember.item_sha256).where(IncidentMember.incident_id.in_(ids))).scalars()
        )
        sightings = _sightings(session, shas)
        dated = [s for s in sightings if s.seen_at is not None]
        by_platform_time = min(dated, key=lambda s: (s.seen_at, s.id)) if dated else None
        captures = case_captures_for_items(session, shas)
        by_capture = min(captures, key=lambda c: (c.captured_at, c.id)) if captures else None
        out.append(
            {
                "incident": incident_id,
                "by_platform_time": _sighting_evidence(by_platform_time),
                "by_capture_time": None
                if by_capture is None
                else {
                    "capture": by_capture.id,
                    "url": by_capture.final_url or by_capture.requested_url,
                    "captured_at": by_capture.captured_at.isoformat(),
                    "post_time": (by_capture.context or {}).get("published")
                    or (by_capture.context or {}).get("post_time"),
                    "evidence": f"capture {by_capture.id} (manifest {str(by_capture.manifest_sha256)[:16]}…)",
                },
                "earliest_recorded": _sighting_evidence(min(sightings, key=lambda s: (s.recorded_at, s.id)))
                if sightings
                else None,
                "caveat": "first seen is not first posted",
            }
        )
    return out


def case_captures_for_items(session: Session, shas: list[str]) -> list[Capture]:
    ids: set[int] = set()
    for chunk in in_chunks(shas):
        ids.update(
            session.execute(select(CaptureMedia.capture_id).where(CaptureMedia.item_sha256.in_(chunk))).scalars()
        )
    if not ids:
        return []
    return list(session.execute(select(Capture).where(Capture.id.in_(sorted(ids)))).scalars())


def _sighting_evidence(s: Sighting | None) -> dict[str, Any] | None:
    if s is None:
        return None
    return {
        "sighting": s.id,
        "item": s.item_sha256,
        "platform": s.platform,
        "account": s.account,
        "url": s.source_url,
        "seen_at": s.seen_at.isoformat() if s.seen_at else None,
        "recorded_at": s.recorded_at.isoformat(),
        "recorded_by": s.actor,
        "evidence": f"sighting {s.id} (custody event of its submission)",
    }


def case_detail(ws: Workspace, key: str) -> dict[str, Any]:
    with ws.sessions() as session:
        case = get_case(session, key)
        return detail_in_session(session, case)


def detail_in_session(session: Session, case: Case) -> dict[str, Any]:
    why = case_items(session, case)
    shas = sorted(why)
    items: dict[str, Item] = {}
    for chunk in in_chunks(shas):
        items.update({i.sha256: i for i in session.execute(select(Item).where(Item.sha256.in_(chunk))).scalars()})
    destroyed = {
        d.sha256: d
        for d in session.execute(select(DestroyedObject).where(DestroyedObject.case_id == case.id)).scalars()
    }
    sightings = _sightings(session, shas)
    captures = case_captures(session, case, shas)
    checks: dict[int, list[CaptureCheck]] = defaultdict(list)
    if captures:
        for check in session.execute(
            select(CaptureCheck)
            .where(CaptureCheck.capture_id.in_([c.id for c in captures]))
            .order_by(CaptureCheck.checked_at)
        ).scalars():
            checks[check.capture_id].append(check)
    links = list(session.execute(select(CaseLink).where(CaseLink.case_id == case.id).order_by(CaseLink.id)).scalars())
    account_ids = {int(link.ref) for link in links if link.kind == "account"}
    named = {((s.platform or "unknown").lower(), s.account) for s in sightings if s.account}
    if named:
        for account in session.execute(select(Account)).scalars():
            if (account.platform, account.handle) in named:
                account_ids.add(account.id)
    accounts = (
        [
            account_detail(session, a)
            for a in session.execute(select(Account).where(Account.id.in_(sorted(account_ids)))).scalars()
        ]
        if account_ids
        else []
    )
    recorded = {(a["platform"], a["handle"]) for a in accounts}
    unrecorded = sorted({pair for pair in named if pair not in recorded})
    incident_ids = [int(link.ref) for link in links if link.kind == "incident"]
    return {
        "id": case.id,
        "number": case.number,
        "title": case.title,
        "artist": case.artist,
        "status": case.status,
        "legal_hold": case.legal_hold,
        "retention_days": case.retention_days,
        "opened_at": case.opened_at.isoformat(),
        "opened_by": case.opened_by,
        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
        "destroyed_at": case.destroyed_at.isoformat() if case.destroyed_at else None,
        "links": [{"kind": link.kind, "ref": link.ref, "added_by": link.added_by} for link in links],
        "assignees": [
            {"person": a.person, "role": a.role}
            for a in session.execute(select(CaseAssignee).where(CaseAssignee.case_id == case.id)).scalars()
        ],
        "filings": [
            {"kind": f.kind, "reference": f.reference, "filed_on": f.filed_on, "body": f.body}
            for f in session.execute(
                select(CaseFiling).where(CaseFiling.case_id == case.id).order_by(CaseFiling.id)
            ).scalars()
        ],
        "notes": [
            {"id": n.id, "text": n.text, "author": n.author, "at": n.created_at.isoformat()}
            for n in session.execute(
                select(CaseNote).where(CaseNote.case_id == case.id).order_by(CaseNote.id)
            ).scalars()
        ],
        "items": [
            {
                "sha256": sha,
                "md5": items[sha].md5 if sha in items else None,
                "size": items[sha].size if sha in items else None,
                "media_type": items[sha].media_type if sha in items else None,
                "mime": items[sha].mime if sha in items else None,
                "original_name": items[sha].original_name if sha in items else None,
                "first_seen_at": items[sha].first_seen_at.isoformat() if sha in items else None,
                "why": why[sha],
                "destroyed": sha in destroyed,
            }
            for sha in shas
        ],
        "sightings": [
            {
                "id": s.id,
                "item": s.item_sha256,
                "platform": s.platform,
                "account": s.account,
                "url": s.source_url,
                "seen_at": s.seen_at.isoformat() if s.seen_at else None,
                "recorded_at": s.recorded_at.isoformat(),
                "actor": s.actor,
                "when": _when(s).isoformat(),
            }
            for s in sightings
        ],
        "captures": [
            {
                "id": c.id,
                "url": c.requested_url,
                "final_url": c.final_url,
                "state": c.state,
                "captured_at": c.captured_at.isoformat(),
                "actor": c.actor,
                "manifest_sha256": c.manifest_sha256,
                "screenshot_sha256": c.screenshot_sha256,
                "wacz_sha256": c.wacz_sha256,
                "artifacts": c.artifacts or {},
                "timestamps": c.timestamps or [],
                "context": c.context or {},
                "checks": [
                    {"at": k.checked_at.isoformat(), "state": k.state, "http_status": k.http_status}
                    for k in checks.get(c.id, [])
                ],
            }
            for c in captures
        ],
        "accounts": accounts,
        "unrecorded_accounts": [{"platform": p, "handle": h} for p, h in unrecorded],
        "origin_candidates": origin_candidates(session, incident_ids),
        "destroyed": len(destroyed),
    }


def case_event_seqs(session: Session, detail: dict[str, Any]) -> list[int]:
    """Signed events about the case, its items, its captures and its accounts (ledger sequence numbers)."""
    number = detail["number"]
    items = [i["sha256"] for i in detail["items"]]
    captures = {c["id"] for c in detail["captures"]}
    accounts = {a["id"] for a in detail["accounts"]}
    seqs: set[int] = set()
    for chunk in in_chunks(items):
        seqs.update(session.execute(select(LedgerEntry.seq).where(LedgerEntry.item_sha256.in_(chunk))).scalars())
    for seq, action, details in session.execute(
        select(LedgerEntry.seq, LedgerEntry.action, LedgerEntry.details).where(
            LedgerEntry.action.like("case.%")
            | LedgerEntry.action.like("capture%")
            | LedgerEntry.action.like("account.%")
        )
    ).tuples():
        details = details or {}
        if (
            (action.startswith("case.") and details.get("case") == number)
            or (action.startswith("capture") and details.get("capture_id") in captures)
            or (action.startswith("account.") and details.get("account") in accounts)
        ):
            seqs.add(seq)
    return sorted(seqs)


def custody_timeline(session: Session, detail: dict[str, Any], limit: int = 200) -> dict[str, Any]:
    """The newest ``limit`` custody events of a case (oldest first) and how many there are in all."""
    seqs = case_event_seqs(session, detail)
    rows = session.execute(
        select(LedgerEntry.seq, LedgerEntry.ts, LedgerEntry.actor, LedgerEntry.action, LedgerEntry.item_sha256)
        .where(LedgerEntry.seq.in_(seqs[-limit:]))
        .order_by(LedgerEntry.seq)
    ).tuples()
    return {
        "total": len(seqs),
        "events": [
            {"seq": seq, "ts": ts, "actor": actor, "action": action, "item": item}
            for seq, ts, actor, action, item in rows
        ],
    }


def list_cases(ws: Workspace) -> list[dict[str, Any]]:
    with ws.sessions() as session:
        cases = session.execute(select(Case).order_by(Case.id)).scalars().all()
        out = []
        for case in cases:
            links = session.execute(select(CaseLink.kind).where(CaseLink.case_id == case.id)).scalars().all()
            out.append(
                {
                    "number": case.number,
                    "title": case.title,
                    "artist": case.artist,
                    "status": case.status,
                    "legal_hold": case.legal_hold,
                    "items": len(case_items(session, case)),
                    "links": len(links),
                    "opened_at": case.opened_at.isoformat(),
                    "destroyed": case.destroyed_at is not None,
                    "retention_days": case.retention_days,
                    "retention_due": _retention_due(case),
                }
            )
        return out


def _retention_due(case: Case) -> bool:
    """Closed, past its retention period, not under hold and not yet destroyed: time to decide on destruction."""
    from datetime import UTC, datetime, timedelta

    if case.destroyed_at is not None or case.legal_hold or case.closed_at is None or case.retention_days is None:
        return False
    return datetime.now(UTC) >= case.closed_at + timedelta(days=case.retention_days)
