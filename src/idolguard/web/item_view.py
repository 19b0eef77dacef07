"""Everything the item page shows, gathered in one place (the API reuses it): analysis, hashes, matches,
sightings, captures, comments and the item's custody log with a live chain check."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from sqlalchemy import or_, select

from idolguard.db.models import DerivedObject, LedgerEntry, Sighting
from idolguard.workspace import Workspace


def item_detail(ws: Workspace, sha: str) -> dict[str, Any]:
    """The item page's data. Its analysis includes, clearly marked (``older_stages``), the latest older
    results of stages whose current version has not run on the item yet: a person reading the page sees
    what was found, while triage and incidents, which read ``item_objects`` without ``older``, never act on
    them (docs/ARCHITECTURE.md, "Stage versions and older results")."""
    from idolguard.capture.models import Capture, CaptureMedia
    from idolguard.pipeline.scan import item_objects

    obj = item_objects(ws, [(sha, None, False)], older=True)[0]
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


STALE_TTL_S = 300.0  # the count reads every item's stored rows: at most once per five minutes per workspace
_stale_counts: dict[str, tuple[float, int]] = {}
_stale_lock = threading.Lock()


def stale_count(ws: Workspace) -> int:
    """How many items hold results of older stage versions and can be re-analysed (``idolguard analyze
    --stale``), for the triage page's notice; cached for ``STALE_TTL_S`` (a count, not a decision)."""
    from idolguard.pipeline.stale import find_stale

    key = str(ws.home)
    with _stale_lock:
        cached = _stale_counts.get(key)
        if cached is not None and time.monotonic() - cached[0] < STALE_TTL_S:
            return cached[1]
        count = len(find_stale(ws).runnable)
        _stale_counts[key] = (time.monotonic(), count)
        return count


def forget_stale_count(ws: Workspace) -> None:
    """Count again on the next page (after a re-analysis job)."""
    with _stale_lock:
        _stale_counts.pop(str(ws.home), None)


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
