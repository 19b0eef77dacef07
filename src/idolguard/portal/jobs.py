"""Durable portal jobs (capture of reported links), decisions on links, and the portal's triage data.

Jobs live in ``portal_jobs``: a worker claims the highest-priority queued job (or a running one whose lease
expired: a crashed worker's job is taken again), runs it, and marks it done or failed (retried up to
``max_attempts``). Claiming is one conditional UPDATE, so two workers never run the same job. The team app's
job queue can adopt this table (kind + JSON payload) or call ``run_job`` for ``capture_link`` jobs.

A ``capture_link`` job first looks for the link among earlier captures and sightings (de-duplication: the
link is then "known" and points at what exists), otherwise captures it with capture's service (SSRF policy,
allow-list, WACZ, manifest) and scans and matches its media. Either way the link enters the triage data
(``triage_rows``) with its report count and categories, and its reporters see "under review".
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from idolguard.capture.models import Capture, CaptureMedia
from idolguard.db.base import utcnow
from idolguard.db.models import Sighting
from idolguard.errors import ErrorCode, IdolGuardError
from idolguard.evidence.actions import Action
from idolguard.portal.models import (
    PortalJob,
    PortalLink,
    PortalLinkItem,
    PortalReport,
    PortalReporter,
    PortalReportLink,
)
from idolguard.workspace import Workspace

DECISIONS = ("action_taken", "not_actionable")


class PortalError(IdolGuardError):
    pass


def claim(ws: Workspace, lease_s: int, kinds: tuple[str, ...] = ("capture_link",)) -> PortalJob | None:
    now = utcnow()
    claimable = and_(
        PortalJob.kind.in_(kinds),
        or_(PortalJob.state == "queued", and_(PortalJob.state == "running", PortalJob.lease_until < now)),
    )
    with ws.sessions() as session:
        for _ in range(5):
            job_id = session.scalar(
                select(PortalJob.id).where(claimable).order_by(PortalJob.priority.desc(), PortalJob.id).limit(1)
            )
            if job_id is None:
                return None
            taken = session.execute(
                update(PortalJob)
                .where(PortalJob.id == job_id, claimable)
                .values(
                    state="running",
                    lease_until=now + timedelta(seconds=lease_s),
                    started_at=now,
                    attempts=PortalJob.attempts + 1,
                )
            )
            session.commit()
            if taken.rowcount == 1:
                job = session.get(PortalJob, job_id)
                assert job is not None
                session.expunge(job)
                return job
    return None


def claimable_count(ws: Workspace, kinds: tuple[str, ...] = ("capture_link",)) -> int:
    """Jobs a worker could claim now (queued, or running with a lapsed lease): what a dispatcher waits on."""
    now = utcnow()
    with ws.sessions() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(PortalJob)
                .where(
                    PortalJob.kind.in_(kinds),
                    or_(PortalJob.state == "queued", and_(PortalJob.state == "running", PortalJob.lease_until < now)),
                )
            )
            or 0
        )


def link_items(ws: Workspace, link_id: int) -> list[str]:
    with ws.sessions() as session:
        link = session.get(PortalLink, link_id)
        return list(link.item_sha256 or []) if link is not None else []


def set_link_items(session: Session, link: PortalLink, shas: list[str]) -> None:
    """The items ``link`` led to: its ordered list and one ``portal_link_items`` row each (the indexed
    item -> links lookup). Called in the writer's transaction, so both always agree."""
    link.item_sha256 = list(shas)
    wanted = set(shas)
    have = set(session.scalars(select(PortalLinkItem.item_sha256).where(PortalLinkItem.link_id == link.id)))
    if have - wanted:
        session.execute(
            delete(PortalLinkItem).where(
                PortalLinkItem.link_id == link.id, PortalLinkItem.item_sha256.in_(sorted(have - wanted))
            )
        )
    session.add_all(PortalLinkItem(link_id=link.id, item_sha256=sha) for sha in sorted(wanted - have))


def links_of_item_query(sha: str) -> Select[tuple[int]]:
    """The ids of the links that led to item ``sha``: an index probe of ``ix_portal_link_items_item``."""
    return select(PortalLinkItem.link_id).where(PortalLinkItem.item_sha256 == sha)


def item_reports(ws: Workspace, shas: list[str]) -> dict[str, tuple[int, dict[str, int]]]:
    """Per item: how many reports named a link that led to it, and their categories (what triage shows).

    A report naming two links to the same item counts once. The links of an item come from
    ``portal_link_items`` through its (item, link) index.
    """
    found: dict[str, tuple[int, dict[str, int]]] = {}
    with ws.sessions() as session:
        for sha in dict.fromkeys(shas):
            link_ids = list(session.scalars(links_of_item_query(sha)))
            if not link_ids:
                continue
            per_report = dict(
                session.execute(
                    select(PortalReport.id, PortalReport.category)
                    .join(PortalReportLink, PortalReportLink.report_id == PortalReport.id)
                    .where(PortalReportLink.link_id.in_(link_ids))
                    .distinct()
                ).all()
            )
            categories: dict[str, int] = {}
            for category in per_report.values():
                categories[category] = categories.get(category, 0) + 1
            found[sha] = (len(per_report), dict(sorted(categories.items())))
    return found


def links_of_items(ws: Workspace, shas: list[str]) -> list[tuple[int, str | None, list[str]]]:
    """(link id, its decision, its items) of every captured or known link that led to one of these items."""
    found: dict[int, tuple[int, str | None, list[str]]] = {}
    with ws.sessions() as session:
        for sha in dict.fromkeys(shas):
            for row in session.execute(
                select(PortalLink.id, PortalLink.decision, PortalLink.item_sha256).where(
                    PortalLink.id.in_(links_of_item_query(sha)), PortalLink.state.in_(("captured", "known"))
                )
            ):
                found[row[0]] = (row[0], row[1], list(row[2] or []))
    return list(found.values())


def links_reported_since(ws: Workspace, since: Any) -> list[int]:
    """Links already captured or known that got a further report since ``since`` (their items' counts grew)."""
    with ws.sessions() as session:
        return list(
            session.scalars(
                select(PortalLink.id).where(
                    PortalLink.last_reported_at > since, PortalLink.state.in_(("captured", "known"))
                )
            )
        )


def run_worker(
    ws: Workspace,
    *,
    once: bool = False,
    max_jobs: int | None = None,
    screenshot: bool = True,
    analyze_media: bool = True,
    idle_s: float = 2.0,
) -> int:
    """Run jobs until none is left (``once``) or forever; returns how many jobs ran."""
    from idolguard.capture.browser import BrowserPool
    from idolguard.capture.settings import CaptureSettings
    from idolguard.portal.settings import PortalSettings

    settings = PortalSettings.from_workspace(ws)
    capture_settings = CaptureSettings.from_workspace(ws, browser=screenshot)
    pool = BrowserPool(capture_settings.chromium_path) if screenshot else None
    done = 0
    try:
        while max_jobs is None or done < max_jobs:
            job = claim(ws, settings.worker_lease_s)
            if job is None:
                if once:
                    break
                time.sleep(idle_s)
                continue
            run_job(ws, job, capture_settings, pool, analyze_media)
            done += 1
    finally:
        if pool is not None:
            pool.close()
    return done


def run_job(ws: Workspace, job: PortalJob, capture_settings: Any, pool: Any, analyze_media: bool) -> None:
    try:
        result = _capture_link(ws, int(job.payload["link_id"]), capture_settings, pool, analyze_media)
    except Exception as exc:  # noqa: BLE001 - recorded on the job; retried up to max_attempts
        with ws.sessions() as session, session.begin():
            row = session.get(PortalJob, job.id)
            assert row is not None
            row.error = f"{exc!r}"[:2000]
            row.state = "failed" if row.attempts >= row.max_attempts else "queued"
            row.lease_until = None
        return
    with ws.sessions() as session, session.begin():
        row = session.get(PortalJob, job.id)
        assert row is not None
        row.state, row.result, row.finished_at, row.error = "done", result, utcnow(), None


def _capture_link(ws: Workspace, link_id: int, capture_settings: Any, pool: Any, analyze_media: bool) -> dict:
    from idolguard.capture.service import capture_urls

    with ws.sessions() as session:
        link = session.get(PortalLink, link_id)
        if link is None:
            raise PortalError(f"no portal link #{link_id}", code=ErrorCode.RECORD_UNKNOWN, ref=f"link:{link_id}")
        url = link.url
        if link.state in ("captured", "known"):
            return {"state": link.state, "capture_id": link.capture_id}  # a retried job completes once
        originals = list(
            session.scalars(select(PortalReportLink.original_url).where(PortalReportLink.link_id == link_id))
        )
        forms = list(dict.fromkeys([url, *originals]))
        known = session.execute(
            select(Capture.id, Capture.manifest_sha256)
            .where(
                or_(Capture.requested_url.in_(forms), Capture.final_url.in_(forms)),
                Capture.state.in_(("ok", "partial")),
            )
            .order_by(Capture.id)
        ).first()
        sighting = None
        if known is None:
            sighting = session.execute(
                select(Sighting.id, Sighting.item_sha256).where(Sighting.source_url.in_(forms)).order_by(Sighting.id)
            ).first()
    if known is not None or sighting is not None:
        with ws.write() as (session, ledger):
            row = session.get(PortalLink, link_id)
            assert row is not None
            if known is not None:
                media = list(
                    session.scalars(
                        select(CaptureMedia.item_sha256).where(
                            CaptureMedia.capture_id == known[0], CaptureMedia.item_sha256.is_not(None)
                        )
                    )
                )
                row.known_as, row.capture_id = f"capture:{known[0]}", known[0]
                set_link_items(session, row, media)
            else:
                row.known_as = f"sighting:{sighting[0]}"
                set_link_items(session, row, [sighting[1]])
            row.state, row.status = "known", "under_review"
            ledger.append(
                Action.PORTAL_LINK_KNOWN,
                item=(row.item_sha256 or [None])[0],
                details={"link_id": link_id, "url": url, "known_as": row.known_as},
            )
            return {"state": "known", "known_as": row.known_as}
    outcome = capture_urls(
        ws, [url], capture_settings, pool=pool, note=f"portal link #{link_id}", analyze_media=analyze_media
    )[0]
    shas = [m.sha256 for m in outcome.media if m.sha256]
    with ws.write() as (session, ledger):
        row = session.get(PortalLink, link_id)
        assert row is not None
        row.capture_id = outcome.capture_id
        set_link_items(session, row, shas)
        if outcome.state in ("ok", "partial"):
            row.state, row.status, row.error = "captured", "under_review", None
            row.error_code, row.error_params = None, None
        else:  # refused (SSRF policy) or unreachable: analysts still see the report, marked failed
            row.state, row.status, row.error = "failed", "under_review", outcome.error
            # The reason as a code (the team's page translates it) beside the capture's English text.
            code = outcome.error_code
            row.error_code = str(code) if code else None
            row.error_params = dict(outcome.error_params) if code else None
        ledger.append(
            Action.PORTAL_LINK_CAPTURED,
            item=shas[0] if shas else outcome.manifest_sha256,
            details={
                "link_id": link_id,
                "url": url,
                "capture_id": outcome.capture_id,
                "state": outcome.state,
                "media": shas,
            },
        )
    return {"state": row.state, "capture_id": outcome.capture_id, "media": shas}


def decide(ws: Workspace, link_id: int, decision: str) -> PortalLink:
    """Record the analysts' outcome for a link; its reporters' trust and status pages follow."""
    if decision not in DECISIONS:
        raise PortalError(f"decision must be one of {', '.join(DECISIONS)}")
    with ws.write() as (session, ledger):
        link = session.get(PortalLink, link_id)
        if link is None:
            raise PortalError(f"no portal link #{link_id}", code=ErrorCode.RECORD_UNKNOWN, ref=f"link:{link_id}")
        previous = link.decision
        link.decision, link.status = decision, decision
        reporter_keys = set(
            session.scalars(
                select(PortalReport.reporter_key)
                .join(PortalReportLink, PortalReportLink.report_id == PortalReport.id)
                .where(PortalReportLink.link_id == link_id)
            )
        )
        for key in reporter_keys:
            reporter = session.get(PortalReporter, key)
            if reporter is None:
                continue
            if previous == "action_taken":
                reporter.confirmed -= 1
            elif previous == "not_actionable":
                reporter.dismissed -= 1
            if decision == "action_taken":
                reporter.confirmed += 1
            else:
                reporter.dismissed += 1
        ledger.append(
            Action.PORTAL_DECIDE,
            item=(link.item_sha256 or [None])[0],
            details={
                "link_id": link_id,
                "url": link.url,
                "decision": decision,
                "previous": previous,
                "reporters": len(reporter_keys),
            },
        )
        session.flush()
        session.expunge(link)
        return link


def retry(ws: Workspace, link_id: int) -> PortalLink:
    """Capture a link again whose capture failed (the site was down, a refusal the agency then allow-listed):
    the link is queued and its job reset, so the next worker run takes it (``portal.retry`` event)."""
    with ws.write() as (session, ledger):
        link = session.get(PortalLink, link_id)
        if link is None:
            raise PortalError(f"no portal link #{link_id}", code=ErrorCode.RECORD_UNKNOWN, ref=f"link:{link_id}")
        if link.state != "failed":
            raise PortalError(
                f"link #{link_id} is {link.state}; only a link whose capture failed is retried",
                code=ErrorCode.PORTAL_NOT_FAILED,
            )
        previous_error = link.error
        link.state, link.error, link.error_code, link.error_params = "queued", None, None, None
        key = f"capture_link:{link.url_sha256}"[:128]
        job = session.scalars(select(PortalJob).where(PortalJob.dedup_key == key)).first()
        if job is None:
            job = PortalJob(kind="capture_link", dedup_key=key, payload={"link_id": link.id, "url": link.url})
            session.add(job)
        job.state, job.attempts, job.lease_until, job.error, job.finished_at = "queued", 0, None, None, None
        ledger.append(
            Action.PORTAL_RETRY,
            item=None,
            details={"link_id": link_id, "url": link.url, "previous_error": previous_error},
        )
        session.flush()
        session.expunge(link)
        return link


def report_status(ws: Workspace, token_sha256: str) -> dict[str, Any] | None:
    """What a reporter may see: receipt, submission time, their own note, one status. Nothing about content,
    analysts' findings or other reports."""
    with ws.sessions() as session:
        report = session.scalars(select(PortalReport).where(PortalReport.status_token_sha256 == token_sha256)).first()
        if report is None:
            return None
        states = list(
            session.execute(
                select(PortalLink.status)
                .join(PortalReportLink, PortalReportLink.link_id == PortalLink.id)
                .where(PortalReportLink.report_id == report.id)
            ).scalars()
        )
        return {
            "receipt": report.receipt,
            "created_at": report.created_at,
            "status": combined_status(states),
            "lang": report.lang,
            "note": report.note,
            "links": len(states),
        }


def combined_status(states: list[str]) -> str:
    """received -> under_review -> action_taken | not_actionable, for a report of several links."""
    if states and all(s in DECISIONS for s in states):
        return "action_taken" if "action_taken" in states else "not_actionable"
    if any(s != "received" for s in states):
        return "under_review"
    return "received"


def triage_rows(
    ws: Workspace, limit: int = 100, include_decided: bool = False, states: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """The portal's part of the analysts' queue: links by priority (trust, report count), never content.

    Categories and artists are counted from the reports that named each link (artist "" = the reporter was
    not sure). ``states`` keeps only links in those capture states (e.g. ``("failed",)``).
    """
    with ws.sessions() as session:
        query = select(PortalLink).order_by(PortalLink.priority.desc(), PortalLink.id).limit(limit)
        if not include_decided:
            query = query.where(PortalLink.decision.is_(None))
        if states:
            query = query.where(PortalLink.state.in_(states))
        links = list(session.scalars(query))
        counts: dict[int, dict[str, dict[str, int]]] = {link.id: {"categories": {}, "artists": {}} for link in links}
        if links:
            for field_name, column in (("categories", PortalReport.category), ("artists", PortalReport.artist)):
                grouped = session.execute(
                    select(PortalReportLink.link_id, column, func.count())
                    .join(PortalReport, PortalReport.id == PortalReportLink.report_id)
                    .where(PortalReportLink.link_id.in_(list(counts)))
                    .group_by(PortalReportLink.link_id, column)
                )
                for link_id, value, number in grouped:
                    counts[link_id][field_name][value] = int(number)
        return [
            {
                "link_id": row.id,
                "url": row.url,
                "host": row.host,
                "short_link": row.short_link,
                "state": row.state,
                "status": row.status,
                "decision": row.decision,
                "report_count": row.report_count,
                "categories": counts[row.id]["categories"],
                "artists": counts[row.id]["artists"],
                "priority": round(row.priority, 4),
                "known_as": row.known_as,
                "capture_id": row.capture_id,
                "items": row.item_sha256,
                "first_reported_at": row.first_reported_at.isoformat(),
                "last_reported_at": row.last_reported_at.isoformat(),
                "error": row.error,
                "error_code": row.error_code,
                "error_params": row.error_params or {},
            }
            for row in links
        ]
