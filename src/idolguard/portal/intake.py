"""Report intake: validate a submission field by field, then store it durably with group commit.

Storing is done by one writer thread per process that gathers the reports arriving within a few milliseconds
(``batch_ms``; ``busy_batch_ms`` while reports arrive steadily) and commits them in one database transaction
with their custody events (one ``portal.report`` entry each). Each report is answered only after its
transaction committed, so an accepted report (201) is stored exactly once; a failed transaction fails every
report in it (503, nothing half-stored). Inside the transaction each report also: counts against the
database rate limits (unless Redis holds them), consumes its challenge nonce (a replayed solution is
refused), is de-duplicated link by link against earlier reports, and creates one capture job per new link,
prioritised by the reporter's trust and demoted when one address floods. The statements per transaction
are a fixed few whatever the number of reports in it (``executemany`` and multi-row inserts)."""

from __future__ import annotations

import hashlib
import hmac
import queue
import re
import secrets
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import Boolean, bindparam, select, text

from idolguard.capture.links import Link, LinkError, canonical_link
from idolguard.db.base import JSONType, UTCDateTime, utcnow
from idolguard.evidence.actions import Action
from idolguard.portal import ratelimit
from idolguard.portal.models import PortalLink, PortalReport, PortalReporter, PortalReportLink
from idolguard.portal.settings import CATEGORIES, LANGUAGES, PortalSettings
from idolguard.workspace import Workspace

EMAIL = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")
RECEIPT_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over the phone
MAX_BATCH = 200
BUSY_WITHIN_S = 0.1  # a commit this recent, of several reports or with more waiting: steady load


@dataclass
class FieldErrors(Exception):
    """Per-field problems: ``{"field": [{"code", "message", "index"?}]}``."""

    errors: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, name: str, code: str, message: str, index: int | None = None) -> None:
        entry: dict[str, Any] = {"code": code, "message": message}
        if index is not None:
            entry["index"] = index
        self.errors.setdefault(name, []).append(entry)


@dataclass
class Submission:
    links: list[Link]
    category: str
    artist: str  # "" when the reporter was not sure or it is someone not on the public list
    note: str | None
    contact: str | None
    reporter_key: str
    ip_key: str
    lang: str
    nonce: str
    recent_from_ip: int = 0  # reports from this address within the hour (Redis mode: from Redis)


@dataclass
class Accepted:
    receipt: str
    token: str
    new_links: int


@dataclass
class Limited:
    retry_after: int


@dataclass
class Replayed:
    pass


def keyed(secret: bytes, purpose: str, value: str) -> str:
    """A keyed hash, so addresses and e-mails are never stored in clear yet still count together."""
    return hmac.new(secret, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def validate(
    data: Any, settings: PortalSettings, allow_hosts: frozenset[str]
) -> tuple[list[Link], str, str, str | None, str | None, str | None]:
    """(links, category, artist, note, contact, browser token) or ``FieldErrors``."""
    errors = FieldErrors()
    if not isinstance(data, dict):
        errors.add("body", "bad_json", "the body must be a JSON object")
        raise errors
    urls = data.get("urls")
    links: list[Link] = []
    if not isinstance(urls, list) or not urls:
        errors.add("urls", "urls_required", "give at least one link (a list of URLs)")
    elif len(urls) > settings.max_urls:
        errors.add("urls", "too_many_urls", f"at most {settings.max_urls} links per report")
    else:
        seen: set[str] = set()
        for index, raw in enumerate(urls):
            try:
                link = canonical_link(raw, allow_hosts=allow_hosts)
            except LinkError as exc:
                errors.add("urls", exc.code, str(exc), index)
                continue
            if link.url not in seen:
                seen.add(link.url)
                links.append(link)
    category = data.get("category")
    if category not in CATEGORIES:
        errors.add("category", "category_invalid", f"category must be one of {', '.join(CATEGORIES)}")
    artist = data.get("artist")
    if artist is None or artist == "":  # "not sure / someone else": analysts identify who is shown
        artist = ""
    elif not isinstance(artist, str) or artist not in settings.artists:
        errors.add("artist", "artist_invalid", "choose an artist from the list, or leave it empty (not sure / other)")
    note = data.get("note")
    if note is not None and not isinstance(note, str):
        errors.add("note", "note_invalid", "the note must be text")
    elif isinstance(note, str) and len(note) > settings.max_note_chars:
        errors.add("note", "note_too_long", f"the note is longer than {settings.max_note_chars} characters")
    contact = data.get("contact")
    if (contact is not None and contact != "") and (
        not isinstance(contact, str) or len(contact) > 254 or not EMAIL.match(contact.strip())
    ):
        errors.add("contact", "contact_invalid", "the contact must be a single e-mail address")
    token = data.get("reporter_token")
    if token is not None and (not isinstance(token, str) or not re.fullmatch(r"[A-Za-z0-9_-]{16,64}", token)):
        errors.add("reporter_token", "token_invalid", "reporter_token must be 16-64 URL-safe characters")
    if errors.errors:
        raise errors
    note_text = note.strip() if isinstance(note, str) and note.strip() else None
    contact_text = contact.strip().lower() if isinstance(contact, str) and contact.strip() else None
    return links, category, artist, note_text, contact_text, token


def pick_language(requested: str | None, accept: str | None, default: str = "ko") -> str:
    """The team app's rule (``web.i18n``) for visitors without an account: the language they asked for
    (``?lang=``), else their browser's (in place of a saved choice), else the configured default (Korean)."""
    if requested in LANGUAGES:
        return requested  # type: ignore[return-value]
    for part in (accept or "").split(","):
        code = part.split(";")[0].strip().lower()
        if code[:2] in LANGUAGES:
            return code[:2]
    return default if default in LANGUAGES else "ko"


def new_receipt() -> str:
    body = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(10))
    return f"R-{body[:5]}-{body[5:]}"


def trust_of(row: PortalReporter | None) -> float:
    """Laplace-smoothed share of a reporter's decided links that were confirmed (0.5 for someone new)."""
    if row is None:
        return 0.5
    return (row.confirmed + 1) / (row.confirmed + row.dismissed + 2)


class ReportWriter:
    """Single writer thread with group commit; ``submit`` returns a future resolved after the commit."""

    def __init__(self, ws: Workspace, settings: PortalSettings, use_db_limits: bool) -> None:
        self.ws = ws
        self.settings = settings
        self.use_db_limits = use_db_limits
        self.queue: queue.Queue[tuple[Submission, Future] | None] = queue.Queue()
        self.thread = threading.Thread(target=self._loop, name="portal-writer", daemon=True)
        self.thread.start()
        self.batches = 0
        self._last_cleanup = 0.0
        self._last_commit = 0.0
        self._last_size = 0

    def submit(self, submission: Submission) -> Future:
        future: Future = Future()
        self.queue.put((submission, future))
        return future

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join(timeout=10)

    def _loop(self) -> None:
        while True:
            first = self.queue.get()
            if first is None:
                return
            batch = [first]
            # Each commit has a fixed cost (about 10 ms of fsync and CPU on a small SQLite server, whatever the
            # batch size): when the previous one was recent and not alone, reports are arriving steadily, so
            # gather longer and commit less often; one client's reports one at a time are stored at once.
            busy = time.monotonic() - self._last_commit < BUSY_WITHIN_S and (
                self._last_size > 1 or not self.queue.empty()
            )
            window = self.settings.busy_batch_ms if busy else self.settings.batch_ms
            deadline = time.monotonic() + window / 1000
            stop = False
            while len(batch) < MAX_BATCH:
                left = deadline - time.monotonic()
                try:
                    nxt = self.queue.get(timeout=left) if left > 0 else self.queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            self._write(batch)
            self._last_commit, self._last_size = time.monotonic(), len(batch)
            if stop:
                return

    def _write(self, batch: list[tuple[Submission, Future]]) -> None:
        try:
            results = self._store([s for s, _ in batch])
        except Exception as exc:  # noqa: BLE001 - every waiting request learns that nothing was stored
            for _, future in batch:
                future.set_exception(exc)
            return
        self.batches += 1
        for (_, future), result in zip(batch, results, strict=True):
            future.set_result(result)

    def _store(self, subs: list[Submission]) -> list[Accepted | Limited | Replayed]:
        now = time.time()
        with self.ws.write() as (session, ledger):
            if now - self._last_cleanup > 60:
                ratelimit.db_cleanup(session)
                self._last_cleanup = now
            if self.use_db_limits:
                decisions, recent = ratelimit.db_batch(
                    session, [ratelimit.rules_for(self.settings, s.ip_key) for s in subs], now
                )
            else:
                decisions, recent = [None] * len(subs), [s.recent_from_ip for s in subs]
            used = set(
                session.scalars(
                    select(PortalReport.challenge_nonce).where(
                        PortalReport.challenge_nonce.in_([s.nonce for s in subs])
                    )
                )
            )
            results: list[Accepted | Limited | Replayed | None] = []
            todo: list[tuple[int, Submission, int]] = []
            for index, (sub, retry, seen) in enumerate(zip(subs, decisions, recent, strict=True)):
                if retry is not None:
                    results.append(Limited(retry))
                elif sub.nonce in used:
                    results.append(Replayed())
                else:
                    used.add(sub.nonce)
                    results.append(None)
                    todo.append((index, sub, seen))
            if todo:
                for index, accepted, details in self._store_accepted(session, todo):
                    ledger.append(Action.PORTAL_REPORT, details=details)
                    results[index] = accepted
        return [r for r in results if r is not None]

    def _store_accepted(
        self, session: Any, todo: list[tuple[int, Submission, int]]
    ) -> list[tuple[int, Accepted, dict[str, Any]]]:
        """Store the accepted reports of one batch with a fixed number of statements, whatever its size:
        reporters read and counted (2), reports inserted (1, ids returned), links upserted and read back (2),
        capture jobs for the new links (1), report-link pairs (1). Pre-compiled ``text()`` statements and
        ``executemany`` (no ORM unit of work): this is the whole cost of a report under load."""
        now = utcnow()
        stmts = _statements(session.get_bind().dialect.name)
        keys = sorted({sub.reporter_key for _, sub, _ in todo})
        trust_rows = session.execute(stmts["reporters"], {"keys": keys}).all()
        trust = {key: (confirmed + 1) / (confirmed + dismissed + 2) for key, confirmed, dismissed in trust_rows}
        per_reporter: dict[str, int] = {}
        for _, sub, _ in todo:
            per_reporter[sub.reporter_key] = per_reporter.get(sub.reporter_key, 0) + 1
        session.execute(stmts["reporter"], [{"key": k, "n": n, "first_seen_at": now} for k, n in per_reporter.items()])
        tokens = [secrets.token_urlsafe(24) for _ in todo]
        rows = [
            {
                "receipt": new_receipt(),
                "status_token_sha256": hashlib.sha256(token.encode()).hexdigest(),
                "status": "received",
                "category": sub.category,
                "artist": sub.artist,
                "note": sub.note,
                "contact": sub.contact,
                "reporter_key": sub.reporter_key,
                "ip_key": sub.ip_key,
                "lang": sub.lang,
                "url_count": len(sub.links),
                "challenge_nonce": sub.nonce,
                "created_at": now,
                "updated_at": now,
            }
            for (_, sub, _), token in zip(todo, tokens, strict=True)
        ]
        report_ids = dict(session.execute(stmts["reports"], rows).all())  # receipt -> id
        # Links: one upsert per distinct canonical link of the batch, carrying how many of the batch's reports
        # named it and their summed priority (a flood from one address still lands, but each further report
        # of it weighs less: trust / (1 + (reports from the address in the hour - 1) / 5)).
        links: dict[str, dict[str, Any]] = {}
        priorities: list[float] = []
        for _, sub, seen in todo:
            priority = trust.get(sub.reporter_key, 0.5) / (1.0 + max(0, seen - 1) / 5.0)
            priorities.append(priority)
            for link in sub.links:
                key = hashlib.sha256(link.url.encode()).hexdigest()
                entry = links.get(key)
                if entry is None:
                    links[key] = {
                        "url": link.url,
                        "url_sha256": key,
                        "host": link.host[:256],
                        "short_link": link.short_link,
                        "n": 1,
                        "priority": priority,
                        "bump": 0.25 * priority,
                        "item_sha256": [],
                        "now": now,
                    }
                else:
                    entry["n"] += 1
                    entry["priority"] = min(10.0, entry["priority"] + 0.25 * priority)
                    entry["bump"] += 0.25 * priority
        session.execute(stmts["link"], list(links.values()))
        stored = {
            key: (link_id, count)
            for link_id, key, count in session.execute(stmts["links"], {"keys": list(links)}).all()
        }
        new_keys = {key for key, entry in links.items() if stored[key][1] == entry["n"]}
        jobs = [
            {
                "dedup_key": f"capture_link:{key}"[:128],
                "payload": {"link_id": stored[key][0], "url": links[key]["url"]},
                "priority": links[key]["priority"],
                "now": now,
                "result": {},
            }
            for key in links
            if key in new_keys
        ]
        if jobs:
            session.execute(stmts["job"], jobs)
        out: list[tuple[int, Accepted, dict[str, Any]]] = []
        pairs: list[dict[str, Any]] = []
        made_known: set[str] = set()
        for (index, sub, _), token, row in zip(todo, tokens, rows, strict=True):
            report_id = report_ids[row["receipt"]]
            new_links = 0
            canon = []
            for link in sub.links:
                key = hashlib.sha256(link.url.encode()).hexdigest()
                first = key in new_keys and key not in made_known
                if first:
                    made_known.add(key)
                    new_links += 1
                canon.append(link.url)
                pairs.append(
                    {
                        "report_id": report_id,
                        "link_id": stored[key][0],
                        "original_url": link.original,
                        "first_report": first,
                    }
                )
            details = {
                "receipt": row["receipt"],
                "category": sub.category,
                "artist": sub.artist,
                "urls": canon,
                "new_links": new_links,
                "note_chars": len(sub.note or ""),
                "has_contact": bool(sub.contact),
            }
            out.append((index, Accepted(row["receipt"], token, new_links), details))
        session.execute(stmts["pair"], pairs)
        return out


@cache
def _statements(dialect: str) -> dict[str, Any]:
    """Statements built once per dialect. The upserts are ``text()`` with typed parameters because
    SQLAlchemy does not cache the compiled form of ``on_conflict_do_update``; the SQL is the same on SQLite
    and PostgreSQL except ``min``/``least``."""
    smaller = "min" if dialect == "sqlite" else "least"
    when = UTCDateTime()
    reports = PortalReport.__table__
    links = PortalLink.__table__
    return {
        "reporters": select(PortalReporter.key, PortalReporter.confirmed, PortalReporter.dismissed).where(
            PortalReporter.key.in_(bindparam("keys", expanding=True))
        ),
        "reporter": text(
            "INSERT INTO portal_reporters (key, reports, confirmed, dismissed, first_seen_at) "
            "VALUES (:key, :n, 0, 0, :first_seen_at) "
            "ON CONFLICT (key) DO UPDATE SET reports = portal_reporters.reports + excluded.reports"
        ).bindparams(bindparam("first_seen_at", type_=when)),
        # One multi-row INSERT per batch (SQLAlchemy's insertmanyvalues) that returns each row's id.
        "reports": reports.insert().returning(reports.c.receipt, reports.c.id),
        "link": text(
            "INSERT INTO portal_links (url, url_sha256, host, short_link, state, status, report_count, priority, "
            "item_sha256, first_reported_at, last_reported_at) VALUES (:url, :url_sha256, :host, :short_link, "
            "'queued', 'received', :n, :priority, :item_sha256, :now, :now) "
            "ON CONFLICT (url_sha256) DO UPDATE SET report_count = portal_links.report_count + :n, "
            "last_reported_at = excluded.last_reported_at, "
            f"priority = {smaller}(10.0, portal_links.priority + :bump)"
        ).bindparams(
            bindparam("now", type_=when),
            bindparam("item_sha256", type_=JSONType),
            bindparam("short_link", type_=Boolean()),
        ),
        "links": select(links.c.id, links.c.url_sha256, links.c.report_count).where(
            links.c.url_sha256.in_(bindparam("keys", expanding=True))
        ),
        "job": text(
            "INSERT INTO portal_jobs (kind, dedup_key, payload, state, priority, attempts, max_attempts, created_at, "
            "result) VALUES ('capture_link', :dedup_key, :payload, 'queued', :priority, 0, 3, :now, :result) "
            "ON CONFLICT (dedup_key) DO NOTHING"
        ).bindparams(
            bindparam("now", type_=when), bindparam("payload", type_=JSONType), bindparam("result", type_=JSONType)
        ),
        "pair": PortalReportLink.__table__.insert(),
    }
