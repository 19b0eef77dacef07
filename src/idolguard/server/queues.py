"""The job worker's lanes and schedule: the analysts' jobs, reported links and scheduled watches.

Both lanes are Huey queues on the web app's durable job storage (the workspace's SQLite file, or Redis when
``[web] queue`` / ``IDOLGUARD_QUEUE`` is a ``redis://`` URL):

- the **analysts' lane** (``web.jobs``): uploads and captures submitted in the team app;
- the **background lane** (``-background``): one capture job per newly reported link (``portal_jobs``),
  and the scheduled ``watch run --due``. It has its own consumer threads, so however many reports arrive,
  the analysts' jobs never queue behind them.

Reported links: the portal writes one ``portal_jobs`` row per new canonical link in the report's own
transaction (the portal may run in another process, even alone, and never touches the queue). The
dispatcher (a thread of the worker) keeps a few messages in the background lane while jobs are claimable;
each message claims the **highest-priority** queued job (reporter trust, flood demotion) and runs it, so the
queue's FIFO order never overrides the portal's priorities, and a message lost in a crash costs nothing (the
row is claimed again when its lease lapses). The job captures the link (capture's SSRF policy), scans and
matches the media, and puts them in the team's triage queue with the report count and categories.

Watches: every ``watch_check_s`` the dispatcher enqueues one ``watch_due`` message when a source is due;
the task claims the due sources with a lease (``monitor.service.claim_due``), so several workers, or a manual
``watch run --due``, never run a source twice.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import Any

from huey import Huey

from idolguard.db.base import utcnow
from idolguard.server.settings import WorkerSettings
from idolguard.web.jobs import InProcessWorker, expire_receiving, make_huey, queue_url, shared_workspace
from idolguard.workspace import Workspace

log = logging.getLogger(__name__)

_LOCK = threading.Lock()
_LANES: dict[str, tuple[Huey, Any, Any]] = {}


def worker_settings(ws: Workspace) -> WorkerSettings:
    from idolguard.settings import load

    return load(WorkerSettings, ws.config.raw)


def background(ws: Workspace) -> tuple[Huey, Any, Any]:
    """The background lane of this workspace and its two tasks (one Huey per workspace and process)."""
    key = f"{ws.home}|{queue_url(ws)}"
    with _LOCK:
        if key not in _LANES:
            huey = make_huey(ws, "background")
            portal_task = huey.task(name="idolguard.portal_link")(_portal_link)
            watch_task = huey.task(name="idolguard.watch_due")(_watch_due)
            _LANES[key] = (huey, portal_task, watch_task)
        return _LANES[key]


def _portal_link(home: str) -> dict[str, Any] | None:
    """Claim and run the best queued reported link; ``None`` when another worker took them all."""
    return run_next_portal_job(shared_workspace(home))


def run_next_portal_job(ws: Workspace) -> dict[str, Any] | None:
    from idolguard.capture.browser import BrowserPool
    from idolguard.capture.settings import CaptureSettings
    from idolguard.portal import jobs as portal_jobs
    from idolguard.portal.models import PortalJob
    from idolguard.portal.settings import PortalSettings

    job = portal_jobs.claim(ws, PortalSettings.from_workspace(ws).worker_lease_s)
    if job is None:
        return None
    capture_settings = CaptureSettings.from_workspace(ws)
    pool = BrowserPool(capture_settings.chromium_path) if capture_settings.browser else None
    try:
        portal_jobs.run_job(ws, job, capture_settings, pool, analyze_media=True)
    finally:
        if pool is not None:
            pool.close()
    link_id = int(job.payload["link_id"])
    triage_portal_links(ws, [link_id])
    with ws.sessions() as session:
        row = session.get(PortalJob, job.id)
        return {"job": job.id, "link_id": link_id, "state": row.state if row else None}


def triage_portal_links(ws: Workspace, link_ids: list[int]) -> int:
    """Put the items of these reported links in the triage queue with their report count and categories."""
    from idolguard.portal.jobs import item_reports, link_items
    from idolguard.web.triage import record_fan_reports, sync_reviews

    shas = list(dict.fromkeys(sha for link_id in link_ids for sha in link_items(ws, link_id)))
    if not shas:
        return 0
    sync_reviews(ws, shas)
    return record_fan_reports(ws, item_reports(ws, shas))


def _watch_due(home: str) -> list[dict[str, Any]]:
    return run_due_watches(shared_workspace(home))


def run_due_watches(ws: Workspace) -> list[dict[str, Any]]:
    """``watch run --due`` as the worker runs it: due sources claimed with a lease, new media to triage."""
    from idolguard.capture.settings import CaptureSettings
    from idolguard.monitor.service import claim_due, run_sources
    from idolguard.web.triage import sync_missing

    settings = worker_settings(ws)
    claimed = claim_due(ws, settings.watch_lease_s)
    if not claimed:
        return []
    screenshot = CaptureSettings.from_workspace(ws).browser
    outcomes = run_sources(ws, claimed, screenshot=screenshot)
    sync_missing(ws)  # the captured media join the analysts' triage queue
    return [o.public() for o in outcomes]


ABUSE = "confirmed_abuse"
DISMISSED = ("not_our_artist", "authentic", "duplicate")


def sync_portal_decisions(ws: Workspace, since: Any = None) -> int:
    """Carry the analysts' triage decisions to the reporters: a reported link is "action taken" when one of
    its items was confirmed as abuse, "not actionable" when all of them were dismissed (not our artist,
    authentic, duplicate), and undecided otherwise. Only items decided since ``since`` are looked at (all of
    them when ``None``); a changed decision is carried again (``portal.decide`` keeps reporters' trust right).
    Returns how many links changed."""
    from sqlalchemy import select

    from idolguard.portal.jobs import decide, links_of_items
    from idolguard.web.models import Review

    with ws.sessions() as session:
        query = select(Review.item_sha256).where(Review.fan_reports > 0, Review.status.in_((ABUSE, *DISMISSED)))
        if since is not None:
            query = query.where(Review.updated_at > since)
        shas = list(session.scalars(query))
    changed = 0
    for link_id, current, items in links_of_items(ws, shas) if shas else []:
        with ws.sessions() as session:
            statuses = dict(
                session.execute(select(Review.item_sha256, Review.status).where(Review.item_sha256.in_(items))).all()
            )
        if any(statuses.get(sha) == ABUSE for sha in items):
            wanted: str | None = "action_taken"
        elif items and all(statuses.get(sha) in DISMISSED for sha in items):
            wanted = "not_actionable"
        else:
            wanted = None
        if wanted is not None and wanted != current:
            decide(ws, link_id, wanted)
            changed += 1
    return changed


RECEIVING_CHECK_S = 300.0  # how often the dispatcher looks for stuck uploads (``web.jobs.expire_receiving``)


class Dispatcher(threading.Thread):
    """Feeds the background lane: reported links while any is claimable, due watches on schedule, the
    report counts of links reported again after their capture, and the analysts' decisions back to the
    reporters' status pages."""

    def __init__(self, ws: Workspace, settings: WorkerSettings) -> None:
        super().__init__(name="idolguard-dispatcher", daemon=True)
        self.ws = ws
        self.settings = settings
        self.halt = threading.Event()
        self.next_watch_check = 0.0
        self.next_receiving_check = 0.0  # uploads left "receiving" by a process that died (web.jobs)
        self.reports_since = utcnow() - timedelta(hours=1)
        self.decisions_since: Any = None
        self.ticks = 0

    def run(self) -> None:
        while not self.halt.is_set():
            try:
                self.tick()
            except Exception:  # a database hiccup must not stop the schedule; the next tick retries
                log.exception("dispatcher tick failed")
            self.halt.wait(self.settings.tick_s)

    def stop(self) -> None:
        self.halt.set()
        self.join(timeout=10)

    def tick(self) -> None:
        from idolguard.portal.jobs import claimable_count, links_reported_since

        huey, portal_task, watch_task = background(self.ws)
        home = str(self.ws.home)
        cap = 2 * max(1, self.settings.background_workers)
        wanted = min(claimable_count(self.ws), cap) - huey.pending_count()
        for _ in range(max(0, wanted)):
            portal_task(home)
        now = time.monotonic()
        if self.settings.watches and now >= self.next_watch_check:
            from idolguard.monitor.service import due_sources

            self.next_watch_check = now + self.settings.watch_check_s
            if due_sources(self.ws):
                watch_task(home)
        if now >= self.next_receiving_check:
            self.next_receiving_check = now + RECEIVING_CHECK_S
            expire_receiving(self.ws)
        since, self.reports_since = self.reports_since, utcnow()
        again = links_reported_since(self.ws, since - timedelta(seconds=5))
        if again:
            triage_portal_links(self.ws, again)
        # Decisions: everything once at start (the worker may have been down), then what changed since.
        decided_since, self.decisions_since = self.decisions_since, utcnow()
        sync_portal_decisions(self.ws, None if decided_since is None else decided_since - timedelta(seconds=5))
        self.ticks += 1


class Worker:
    """Everything ``idolguard worker`` and ``serve``'s in-process worker run: the analysts' lane (the web
    app's consumer), the background lane's consumer, and the dispatcher."""

    def __init__(self, ws: Workspace, workers: int = 1, background_workers: int | None = None) -> None:
        self.ws = ws
        self.settings = worker_settings(ws)
        if background_workers is not None:
            self.settings.background_workers = background_workers
        self.analysts = InProcessWorker(ws, workers=workers)
        huey, _, _ = background(ws)
        self.background = huey.create_consumer(
            workers=max(1, self.settings.background_workers), worker_type="thread", periodic=False
        )
        self.dispatcher = Dispatcher(ws, self.settings)

    def start(self) -> None:
        from idolguard.cases.retention import finish_pending

        try:
            finish_pending(self.ws)  # erasures a crash interrupted are finished before any job runs
        except Exception as exc:  # noqa: BLE001 - jobs still run; verify keeps warning until it is finished
            log.warning(
                "an interrupted erasure could not be finished (%s); run `idolguard cases destroy CASE` again", exc
            )
        try:
            self.ws.sweep_preview_tmp()  # temporary preview files a process killed mid-write left behind
        except OSError as exc:
            log.warning("stale temporary previews could not be removed (%s)", exc)
        self.analysts.start()  # also registers the workspace for tasks and re-enqueues interrupted jobs
        self.background.start()
        self.dispatcher.start()

    def stop(self) -> None:
        self.dispatcher.stop()
        self.background.stop(graceful=True)
        self.analysts.stop()
