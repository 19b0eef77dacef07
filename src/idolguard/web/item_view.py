"""Everything the item page shows, gathered in one place (the API reuses it): analysis, hashes, matches,
sightings, captures, comments and the item's custody log with a live chain check."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import or_, select

from idolguard.db.models import DerivedObject, LedgerEntry, Sighting
from idolguard.workspace import Workspace


def item_detail(ws: Workspace, sha: str) -> dict[str, Any]:
    from idolguard.capture.models import Capture, CaptureMedia
    from idolguard.pipeline.scan import item_object

    obj = item_object(ws, sha)
    with ws.sessions() as session:
        sightings = list(session.scalars(select(Sighting).where(Sighting.item_sha256 == sha).order_by(Sighting.id)))
        heatmaps = list(
            session.scalars(
                select(DerivedObject.sha256).where(
                    DerivedObject.parent_sha256 == sha, DerivedObject.kind.like("%heat%")
                )
            )
        )
        capture_ids = set(session.scalars(select(CaptureMedia.capture_id).where(CaptureMedia.item_sha256 == sha)))
        captures = list(
            session.scalars(select(Capture).where(or_(Capture.id.in_(capture_ids), Capture.manifest_sha256 == sha)))
        )
        entries = list(
            session.scalars(select(LedgerEntry).where(LedgerEntry.item_sha256 == sha).order_by(LedgerEntry.seq))
        )
    comments = [e for e in entries if e.action == "web.comment"]
    return {
        "obj": obj,
        "sightings": sightings,
        "heatmaps": heatmaps[:20],
        "captures": captures,
        "entries": entries,
        "comments": comments,
    }


def custody_check(ws: Workspace, sha: str) -> dict[str, Any]:
    """Re-check every custody event of this item: its hash, its signature and the link the next entry
    makes to it. A live badge on the item page; ``verify`` checks the whole chain."""
    from idolguard.evidence.keys import load_public_keys
    from idolguard.evidence.verify import check_entry

    keys = load_public_keys(ws.config.keys_dir)
    problems: list[str] = []
    with ws.sessions() as session:
        entries = list(
            session.scalars(select(LedgerEntry).where(LedgerEntry.item_sha256 == sha).order_by(LedgerEntry.seq))
        )
        following = dict(
            session.execute(
                select(LedgerEntry.seq, LedgerEntry.prev_hash).where(LedgerEntry.seq.in_([e.seq + 1 for e in entries]))
            ).all()
        )
    for entry in entries:
        try:
            record = json.loads(entry.line)
        except ValueError:
            problems.append(f"#{entry.seq}: unreadable")
            continue
        problem, claimed = check_entry(record, entry.seq, entry.prev_hash, keys)
        if problem:
            problems.append(f"#{entry.seq}: {problem}")
        elif claimed != entry.entry_hash:
            problems.append(f"#{entry.seq}: stored hash differs from the signed line")
        nxt = following.get(entry.seq + 1)
        if nxt is not None and nxt != entry.entry_hash:
            problems.append(f"#{entry.seq}: the next entry does not link to it")
    return {"ok": not problems, "entries": len(entries), "problems": problems}
