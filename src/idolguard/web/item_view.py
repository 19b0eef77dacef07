"""Everything the item page shows, gathered in one place (the API reuses it): analysis, hashes, matches,
sightings, captures, comments and the item's custody log with a live chain check."""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select

from idolguard.db.models import DerivedObject, LedgerEntry, Sighting
from idolguard.workspace import Workspace

log = logging.getLogger(__name__)


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
_counting: set[str] = set()  # workspaces whose count a thread of this process is computing now
_counting_lock = threading.Lock()  # held only to test and set the flag, never while counting


def _count_file(ws: Workspace) -> Path:
    return ws.home / "jobs" / "stale_count.json"


def _current_versions() -> dict[str, str]:
    from idolguard.pipeline.runner import select_stages

    return {stage.name: stage.version for stage in select_stages(None)}


def stale_count(ws: Workspace) -> int | None:
    """How many items hold results of older stage versions (``idolguard analyze --stale``), for the triage
    page's notice: read from the workspace (``jobs/stale_count.json``, written with its time and the stage
    versions it was counted against), never counted on the request. A missing, expired or other-version count
    is counted again by a background thread of this process; meanwhile the last count of these versions is
    shown, or ``None`` (no notice). Stored in the workspace, so a re-analysis job run by a separate
    ``idolguard worker`` clears it for the web process too."""
    stored = _fresh_count(ws)
    return int(stored["count"]) if stored is not None else None


def stale_count_of(ws: Workspace, artists: tuple[str, ...] | list[str]) -> int | None:
    """How many of those items show one of ``artists`` (an artist-scoped user's notice): from the same stored
    count, which also keeps how many stale items show each set of artists (``groups``: the artists of each
    item's triage row, ``web_review_artists``), so an item of two of the user's artists counts once and
    nothing is counted on the request. Items of other artists and unattributed items are never counted (a
    scoped user must not learn how much the agency holds on other artists). ``None`` while no count with the
    groups is stored (a count written before them is counted again)."""
    stored = _fresh_count(ws)
    if stored is None or not isinstance(stored.get("groups"), list):
        if stored is not None:
            _count_in_background(ws)
        return None
    mine = set(artists)
    return sum(int(n) for group, n in stored["groups"] if mine.intersection(group))


def _fresh_count(ws: Workspace) -> dict[str, Any] | None:
    """The stored count if it was counted against the current stage versions (recounted in the background
    when missing, expired or of other versions)."""
    stored = _read_count(ws)
    versions = _current_versions()
    fresh = stored is not None and stored.get("versions") == versions
    if not fresh or time.time() - float(stored.get("at", 0)) >= STALE_TTL_S:  # type: ignore[union-attr]
        _count_in_background(ws)
    return stored if fresh else None


def _read_count(ws: Workspace) -> dict[str, Any] | None:
    try:
        value = json.loads(_count_file(ws).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) and isinstance(value.get("count"), int) else None


def _count_in_background(ws: Workspace) -> None:
    key = str(ws.home)
    with _counting_lock:
        if key in _counting:
            return
        _counting.add(key)

    def run() -> None:
        try:
            refresh_stale_count(ws)
        except Exception:  # noqa: BLE001 - a count for a notice: the next page asks again
            log.warning("the stale-analysis count failed", exc_info=True)
        finally:
            with _counting_lock:
                _counting.discard(key)

    threading.Thread(target=run, name="idolguard-stale-count", daemon=True).start()


def refresh_stale_count(ws: Workspace) -> int:
    """Count the items holding older results (stored rows only, no vault stat) and store the count, with the
    number of those items per set of artists their triage rows show (``stale_count_of``)."""
    from idolguard.pipeline.stale import find_stale

    versions = _current_versions()
    shas = [item.sha256 for item in find_stale(ws, check_vault=False).runnable]
    groups = _artist_groups(ws, shas)
    target = _count_file(ws)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{threading.get_ident()}")
    record = {"count": len(shas), "at": time.time(), "versions": versions, "groups": groups}
    partial.write_text(json.dumps(record), encoding="utf-8")
    partial.replace(target)  # atomic: a reader sees the old count or the new one
    return len(shas)


def _artist_groups(ws: Workspace, shas: list[str]) -> list[list[Any]]:
    """``[[artists], n]``: how many of ``shas`` show exactly that (sorted) set of artists in triage; items
    with no artist are left out. One query per 500 items."""
    from idolguard.web.models import ReviewArtist

    per_item: dict[str, set[str]] = {}
    for start in range(0, len(shas), 500):
        chunk = shas[start : start + 500]
        with ws.sessions() as session:
            rows = session.execute(
                select(ReviewArtist.item_sha256, ReviewArtist.artist).where(ReviewArtist.item_sha256.in_(chunk))
            ).all()
        for sha, artist in rows:
            per_item.setdefault(sha, set()).add(artist)
    counts: dict[tuple[str, ...], int] = {}
    for artists in per_item.values():
        key = tuple(sorted(artists))
        counts[key] = counts.get(key, 0) + 1
    return [[list(key), n] for key, n in sorted(counts.items())]


def forget_stale_count(ws: Workspace) -> None:
    """Count again on the next page (after a re-analysis job, in whichever process ran it)."""
    _count_file(ws).unlink(missing_ok=True)


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
