"""Watch sources: add, pause, resume, remove, and run (list -> skip seen -> capture new -> record status).

Each new entry is captured by capture's own job (SSRF policy, allow-list, limits, WACZ, manifest), and its
media are scanned and matched by the same analysis as ``idolguard scan``. An entry is skipped when its
canonical URL or its content hash was seen on the same source before. Every change and every run is a custody
event (``monitor.*`` actions, documented in docs/EVIDENCE.md); the captures add their own.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update

from idolguard.capture.browser import BrowserPool
from idolguard.capture.errors import CaptureError
from idolguard.capture.fetch import Budget, SafeFetcher, decode_body
from idolguard.capture.links import LinkError, canonical_link
from idolguard.capture.netpolicy import NetPolicy
from idolguard.capture.settings import CaptureSettings
from idolguard.db.base import utcnow
from idolguard.errors import ErrorCode, IdolGuardError
from idolguard.evidence.actions import Action
from idolguard.monitor.models import WatchedSource, WatchSeen
from idolguard.monitor.sources import KINDS, Entry, Listing, list_source
from idolguard.workspace import Workspace

MIN_EVERY_S = 60
MAX_PER_RUN = 50  # new entries captured per source per run; the rest wait for the next run (not lost)
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.I)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class WatchError(IdolGuardError):
    """Bad watch arguments or an unknown source id."""


def parse_every(text: str) -> int:
    """``30m``, ``6h``, ``1d`` ... as seconds (at least a minute)."""
    found = _DURATION.match(text or "")
    if not found:
        raise WatchError(
            f"invalid interval {text!r}: use a number and a unit, e.g. 30m, 6h, 1d",
            code=ErrorCode.WATCH_INTERVAL,
            text=str(text)[:40],
        )
    seconds = int(found.group(1)) * _UNITS[found.group(2).lower()]
    if seconds < MIN_EVERY_S:
        raise WatchError(
            f"interval {text!r} is shorter than one minute", code=ErrorCode.WATCH_INTERVAL_SHORT, text=text
        )
    return seconds


def format_every(seconds: int) -> str:
    for unit in ("w", "d", "h", "m"):
        if seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


def source_record(row: WatchedSource) -> dict[str, Any]:
    """What ``watch list --json`` prints for one source."""
    return {
        "id": row.id,
        "url": row.url,
        "kind": row.kind,
        "every": format_every(row.every_s),
        "artist": row.artist,
        "state": row.state,
        "status": row.source_status,
        "deleted_by_source": row.source_status == "gone",
        "gone_since": row.gone_since.isoformat() if row.gone_since else None,
        "last_run_at": row.last_run_at.isoformat() if row.last_run_at else None,
        "next_due_at": row.next_due_at.isoformat() if row.next_due_at else None,
        "checkpoint": row.checkpoint,
        "items_found": row.items_found,
        "last_found": row.last_found,
        "runs": row.runs,
        "last_error": row.last_error,
        "errors": row.errors,
    }


def add_source(ws: Workspace, url: str, kind: str, every: str, artist: str | None = None) -> WatchedSource:
    if kind not in KINDS:
        raise WatchError(
            f"unknown kind {kind!r}: choose one of {', '.join(KINDS)}",
            code=ErrorCode.WATCH_KIND,
            kind=kind[:40],
            choices=", ".join(KINDS),
        )
    settings = CaptureSettings.from_workspace(ws)
    try:
        link = canonical_link(url, allow_hosts=frozenset(a.strip().lower() for a in settings.allow))
    except LinkError as exc:
        raise WatchError(f"cannot watch {url!r}: {exc}", code=ErrorCode.WATCH_URL, url=url[:300]) from exc
    seconds = parse_every(every)
    with ws.write() as (session, ledger):
        existing = session.scalars(
            select(WatchedSource).where(WatchedSource.url == url.strip(), WatchedSource.state != "removed")
        ).first()
        if existing is not None:
            raise WatchError(
                f"{url} is already watched as source #{existing.id}",
                code=ErrorCode.WATCH_DUPLICATE,
                url=url.strip(),
                id=existing.id,
            )
        row = WatchedSource(
            url=url.strip(),
            kind=kind,
            every_s=seconds,
            artist=artist,
            state="active",
            created_by=ws.actor,
            next_due_at=utcnow(),
            source_status="new",
            checkpoint={},
            errors=[],
            items_found=0,
            last_found=0,
            runs=0,
        )
        session.add(row)
        session.flush()
        ledger.append(
            Action.MONITOR_ADD,
            details={
                "source_id": row.id,
                "url": row.url,
                "canonical_url": link.url,
                "kind": kind,
                "every_s": seconds,
                "artist": artist,
            },
        )
        session.expunge(row)
        return row


def list_sources(ws: Workspace, include_removed: bool = False) -> list[WatchedSource]:
    with ws.sessions() as session:
        query = select(WatchedSource).order_by(WatchedSource.id)
        if not include_removed:
            query = query.where(WatchedSource.state != "removed")
        rows = list(session.scalars(query))
        for row in rows:
            session.expunge(row)
        return rows


def set_state(ws: Workspace, source_id: int, state: str) -> WatchedSource:
    """Pause, resume or remove a source (removal keeps its rows and history: custody never loses records)."""
    action = {"paused": Action.MONITOR_PAUSE, "active": Action.MONITOR_RESUME, "removed": Action.MONITOR_REMOVE}[state]
    with ws.write() as (session, ledger):
        row = session.get(WatchedSource, source_id)
        if row is None or row.state == "removed":
            raise WatchError(f"no watched source #{source_id}", code=ErrorCode.RECORD_UNKNOWN, ref=f"#{source_id}")
        before = row.state
        row.state = state
        if state == "active" and before != "active":
            row.next_due_at = utcnow()
        ledger.append(action, details={"source_id": row.id, "url": row.url, "from": before, "to": state})
        session.flush()
        session.expunge(row)
        return row


@dataclass
class RunOutcome:
    source_id: int
    url: str
    status: str = "ok"
    listed: int = 0
    new: int = 0
    skipped_url: int = 0
    skipped_content: int = 0
    deferred: int = 0
    captures: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        return {
            "source_id": self.source_id,
            "url": self.url,
            "status": self.status,
            "deleted_by_source": self.status == "gone",
            "listed": self.listed,
            "new": self.new,
            "skipped_seen_url": self.skipped_url,
            "skipped_seen_content": self.skipped_content,
            "deferred": self.deferred,
            "captures": self.captures,
            "errors": self.errors,
        }


def due_sources(ws: Workspace, now: datetime | None = None) -> list[int]:
    now = now or utcnow()
    with ws.sessions() as session:
        return list(
            session.scalars(
                select(WatchedSource.id)
                .where(
                    WatchedSource.state == "active",
                    or_(WatchedSource.next_due_at.is_(None), WatchedSource.next_due_at <= now),
                )
                .order_by(WatchedSource.next_due_at, WatchedSource.id)
            )
        )


def claim_due(ws: Workspace, lease_s: int, now: datetime | None = None) -> list[int]:
    """Take the due sources for one scheduled run: each is pushed ``lease_s`` into the future by a conditional
    UPDATE, so two workers (or a worker and a manual ``watch run --due``) never run the same source twice;
    ``_record_run`` then sets the real next time. A worker that dies mid-run leaves the lease to lapse and the
    source is due again."""
    now = now or utcnow()
    claimed = []
    for source_id in due_sources(ws, now):
        with ws.sessions() as session, session.begin():
            taken = session.execute(
                update(WatchedSource)
                .where(
                    WatchedSource.id == source_id,
                    WatchedSource.state == "active",
                    or_(WatchedSource.next_due_at.is_(None), WatchedSource.next_due_at <= now),
                )
                .values(next_due_at=now + timedelta(seconds=lease_s))
            ).rowcount
        if taken == 1:
            claimed.append(source_id)
    return claimed


def run_sources(
    ws: Workspace,
    ids: list[int] | None = None,
    *,
    due_only: bool = False,
    screenshot: bool = True,
    analyze_media: bool = True,
) -> list[RunOutcome]:
    """Run the given sources (default: every active one; ``due_only``: those whose interval has passed).

    Also the entry point for the job worker's schedule: ``run_sources(ws, due_only=True)``.
    """
    if ids:
        chosen = ids
    elif due_only:
        chosen = due_sources(ws)
    else:
        chosen = [s.id for s in list_sources(ws) if s.state == "active"]
    settings = CaptureSettings.from_workspace(ws, browser=screenshot)
    pool = BrowserPool(settings.chromium_path) if screenshot else None
    try:
        return [_run_one(ws, source_id, settings, pool, analyze_media) for source_id in chosen]
    finally:
        if pool is not None:
            pool.close()


def _run_one(
    ws: Workspace, source_id: int, settings: CaptureSettings, pool: BrowserPool | None, analyze_media: bool
) -> RunOutcome:
    with ws.sessions() as session:
        row = session.get(WatchedSource, source_id)
        if row is None or row.state == "removed":
            return RunOutcome(source_id, "", status="error", errors=[f"no watched source #{source_id}"])
        url, kind, checkpoint, every_s = row.url, row.kind, dict(row.checkpoint or {}), row.every_s
        artist = row.artist
    out = RunOutcome(source_id, url)
    started = utcnow()
    try:
        listing = list_source(url, kind, settings, checkpoint)
    except CaptureError as exc:
        listing = Listing(checkpoint=checkpoint, errors=[str(exc)])
    out.listed = len(listing.entries)
    out.errors.extend(listing.errors)
    if listing.gone:
        out.status = "gone"
    elif listing.pages == 0:
        out.status = "error"
    else:
        todo = _unseen(ws, source_id, listing.entries, out)
        out.deferred = max(0, len(todo) - MAX_PER_RUN)
        for entry in todo[:MAX_PER_RUN]:
            _handle_entry(ws, source_id, entry, settings, pool, analyze_media, artist, out)
        if out.errors and out.status == "ok" and not out.new and not listing.entries:
            out.status = "error"
    _record_run(ws, source_id, out, listing, started, every_s)
    return out


def _unseen(ws: Workspace, source_id: int, entries: list[Entry], out: RunOutcome) -> list[Entry]:
    with ws.sessions() as session:
        seen = session.execute(
            select(WatchSeen.url, WatchSeen.content_sha256).where(WatchSeen.source_id == source_id)
        ).all()
    seen_urls = {u for u, _ in seen}
    seen_hashes = {h for _, h in seen if h}
    todo: list[Entry] = []
    for entry in entries:
        key = _seen_key(entry.url)
        if key in seen_urls:
            out.skipped_url += 1
        elif entry.content_key and entry.content_key in seen_hashes:
            out.skipped_content += 1
            _remember(ws, source_id, key, entry.content_key, "duplicate", None, [])
        else:
            todo.append(entry)
            seen_urls.add(key)
    return todo


def _seen_key(url: str) -> str:
    """The canonical URL (tracking parameters and mobile hosts folded), or the URL as listed if it is odd."""
    try:
        return canonical_link(url, check_host=False).url
    except LinkError:
        return url


def _handle_entry(
    ws: Workspace,
    source_id: int,
    entry: Entry,
    settings: CaptureSettings,
    pool: BrowserPool | None,
    analyze_media: bool,
    artist: str | None,
    out: RunOutcome,
) -> None:
    from idolguard.capture.service import capture_urls

    key = _seen_key(entry.url)
    content = entry.content_key
    if entry.kind == "media":
        digest = _media_digest(entry.url, settings)
        if digest is not None:
            content = digest
            with ws.sessions() as session:
                dup = session.scalars(
                    select(WatchSeen.id).where(WatchSeen.source_id == source_id, WatchSeen.content_sha256 == digest)
                ).first()
            if dup is not None:
                out.skipped_content += 1
                _remember(ws, source_id, key, digest, "duplicate", None, [])
                return
    note = f"watch #{source_id}" + (f" ({artist})" if artist else "")
    capture = capture_urls(ws, [entry.url], settings, pool=pool, note=note, analyze_media=analyze_media)[0]
    shas = [m.sha256 for m in capture.media if m.sha256]
    ok = capture.state in ("ok", "partial")
    _remember(ws, source_id, key, content, "captured" if ok else "failed", capture.capture_id, shas)
    if ok:
        out.new += 1
        out.captures.append(capture.capture_id or 0)
    else:
        out.errors.append(f"capture of {entry.url}: {capture.error}")
    with ws.write() as (_session, ledger):
        ledger.append(
            Action.MONITOR_FOUND,
            item=shas[0] if shas else capture.manifest_sha256,
            details={
                "source_id": source_id,
                "url": entry.url,
                "entry_kind": entry.kind,
                "capture_id": capture.capture_id,
                "capture_state": capture.state,
                "media": shas,
                "artist": artist,
            },
        )


def _media_digest(url: str, settings: CaptureSettings) -> str | None:
    """SHA-256 of a media file's bytes (SSRF-safe fetch), so a re-posted file under a new URL is skipped."""
    fetcher = SafeFetcher(
        NetPolicy(settings.allow),
        Budget(settings.max_file_bytes, settings.timeout_s),
        connect_timeout_s=settings.connect_timeout_s,
        read_timeout_s=settings.read_timeout_s,
        user_agent=settings.user_agent,
    )
    result = fetcher.get(url, max_bytes=settings.max_file_bytes)
    final = result.final
    if final is None or final.status != 200 or final.truncated or final.error:
        return None
    try:
        return hashlib.sha256(decode_body(final, settings.max_file_bytes)).hexdigest()
    except CaptureError:
        return None


def _remember(
    ws: Workspace,
    source_id: int,
    url: str,
    content: str | None,
    outcome: str,
    capture_id: int | None,
    shas: list[str],
) -> None:
    with ws.sessions() as session, session.begin():
        exists = session.scalars(
            select(WatchSeen.id).where(WatchSeen.source_id == source_id, WatchSeen.url == url)
        ).first()
        if exists is None:
            session.add(
                WatchSeen(
                    source_id=source_id,
                    url=url,
                    content_sha256=content,
                    outcome=outcome,
                    capture_id=capture_id,
                    media_sha256=shas,
                )
            )
        if shas:  # later copies of the same media under other URLs are skipped too
            for sha in shas:
                media_key = f"media:{sha}"
                if (
                    session.scalars(
                        select(WatchSeen.id).where(WatchSeen.source_id == source_id, WatchSeen.url == media_key)
                    ).first()
                    is None
                ):
                    session.add(
                        WatchSeen(
                            source_id=source_id,
                            url=media_key,
                            content_sha256=sha,
                            outcome="captured",
                            capture_id=capture_id,
                            media_sha256=[sha],
                        )
                    )


def _record_run(
    ws: Workspace, source_id: int, out: RunOutcome, listing: Listing, started: datetime, every_s: int
) -> None:
    with ws.write() as (session, ledger):
        row = session.get(WatchedSource, source_id)
        assert row is not None
        was = row.source_status
        row.last_run_at = started
        row.next_due_at = started + timedelta(seconds=every_s)
        row.runs = (row.runs or 0) + 1
        row.last_found = out.new
        row.items_found = (row.items_found or 0) + out.new
        row.errors = out.errors[:20]
        row.last_error = out.errors[0] if out.errors else None
        if out.status != "error":
            row.checkpoint = listing.checkpoint
        row.source_status = out.status
        if out.status == "gone" and was != "gone":
            row.gone_since = started
            ledger.append(
                Action.MONITOR_GONE,
                details={"source_id": source_id, "url": row.url, "http_status": listing.http_status},
            )
        elif out.status != "gone" and was == "gone":
            row.gone_since = None
            ledger.append(
                Action.MONITOR_BACK,
                details={"source_id": source_id, "url": row.url, "http_status": listing.http_status},
            )
        ledger.append(
            Action.MONITOR_RUN,
            details={
                "source_id": source_id,
                "url": row.url,
                "status": out.status,
                "pages": listing.pages,
                "http_status": listing.http_status,
                "listed": out.listed,
                "new": out.new,
                "skipped_seen_url": out.skipped_url,
                "skipped_seen_content": out.skipped_content,
                "deferred": out.deferred,
                "captures": out.captures,
                "errors": out.errors[:10],
            },
        )
