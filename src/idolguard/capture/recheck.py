"""Liveness: is a captured post still up, removed, blocked, or serving different media?

Takedown work needs to know when a post went down (or came back changed). A recheck re-requests the
captured URL through the same SSRF-checked fetcher and records a ``CaptureCheck`` plus a custody event; the
original capture and its evidence are never touched. Platforms often answer a deleted post with HTTP 200
and a "this page doesn't exist" page, so the page text is checked as well as the status.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from idolguard.capture.errors import CaptureError
from idolguard.capture.extract import decode_html
from idolguard.capture.fetch import Budget, Exchange, SafeFetcher, decode_body, decoded_chunks
from idolguard.capture.models import Capture, CaptureCheck, CaptureMedia
from idolguard.capture.netpolicy import NetPolicy
from idolguard.capture.settings import CaptureSettings
from idolguard.db.base import utcnow
from idolguard.errors import ErrorCode, code_of
from idolguard.evidence.actions import Action
from idolguard.workspace import Workspace

STATES = ("live", "removed", "blocked", "changed", "error")
REMOVED_PHRASES = (
    "this post was deleted",
    "this post has been deleted",
    "this tweet has been deleted",
    "this page doesn't exist",
    "this page doesn\u2019t exist",
    "this page isn't available",
    "this page isn\u2019t available",
    "this post is unavailable",
    "this video has been removed",
    "this video isn't available anymore",
    "video unavailable",
    "post not found",
    "account suspended",
    "content is no longer available",
)
BLOCKED_PHRASES = (
    "withheld in your country",
    "not available in your country",
    "unavailable in your country",
    "blocked in your country",
    "not available in your region",
    "in response to a legal demand",
    "unavailable for legal reasons",
)


@dataclass
class CheckResult:
    capture_id: int
    url: str
    state: str
    http_status: int | None = None
    final_url: str | None = None
    checked_at: datetime = field(default_factory=utcnow)
    media: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    check_id: int | None = None
    # ``error`` as a stable code and its values (``idolguard.errors``): the CLI says it in the reader's language
    error_code: ErrorCode | None = None
    error_params: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        return {
            "capture_id": self.capture_id,
            "check_id": self.check_id,
            "url": self.url,
            "state": self.state,
            "http_status": self.http_status,
            "final_url": self.final_url,
            "checked_at": self.checked_at.isoformat(),
            "media": self.media,
            "error": self.error,
        }


def classify(status: int | None, text: str) -> str | None:
    """``removed``/``blocked`` from the status and page text; None when the page looks like it is up."""
    lowered = text.lower()
    if status == 451 or any(phrase in lowered for phrase in BLOCKED_PHRASES):
        return "blocked"
    if status in (404, 410) or any(phrase in lowered for phrase in REMOVED_PHRASES):
        return "removed"
    return None


def _due(ws: Workspace, hours: float) -> set[int]:
    cutoff = utcnow() - timedelta(hours=hours)
    with ws.sessions() as session:
        last = dict(
            session.execute(
                select(CaptureCheck.capture_id, func.max(CaptureCheck.checked_at)).group_by(CaptureCheck.capture_id)
            ).all()
        )
        rows = session.execute(select(Capture.id, Capture.captured_at).where(Capture.state.in_(("ok", "partial"))))
        due = set()
        for capture_id, captured_at in rows:
            moment = last.get(capture_id) or captured_at
            if moment is not None and moment.tzinfo is None:
                from datetime import UTC

                moment = moment.replace(tzinfo=UTC)
            if moment is None or moment <= cutoff:
                due.add(capture_id)
    return due


def recheck_captures(
    ws: Workspace,
    settings: CaptureSettings,
    *,
    ids: list[int] | None = None,
    due_only: bool = False,
    policy: NetPolicy | None = None,
) -> list[CheckResult]:
    """Check each selected capture once (in id order) and record the result."""
    with ws.sessions() as session:
        query = select(Capture).where(Capture.state.in_(("ok", "partial"))).order_by(Capture.id)
        if ids:
            query = query.where(Capture.id.in_(ids))
        captures = list(session.execute(query).scalars())
        media_rows = session.execute(select(CaptureMedia).where(CaptureMedia.item_sha256.is_not(None))).scalars()
        media_by_capture: dict[int, list[CaptureMedia]] = {}
        for row in media_rows:
            media_by_capture.setdefault(row.capture_id, []).append(row)
    if due_only:
        wanted = _due(ws, settings.recheck_hours)
        captures = [c for c in captures if c.id in wanted]
    policy = policy or NetPolicy(settings.allow)
    results = []
    for capture in captures:
        result = check_one(capture, media_by_capture.get(capture.id, []), settings, policy)
        _record(ws, capture, result)
        results.append(result)
    return results


def check_one(capture: Capture, media: list[CaptureMedia], settings: CaptureSettings, policy: NetPolicy) -> CheckResult:
    budget = Budget(settings.max_total_bytes, settings.timeout_s)
    fetcher = SafeFetcher(
        policy,
        budget,
        max_redirects=settings.max_redirects,
        connect_timeout_s=settings.connect_timeout_s,
        read_timeout_s=settings.read_timeout_s,
        user_agent=settings.user_agent,
    )
    result = CheckResult(capture.id, capture.requested_url, "error")
    fetched = fetcher.get(capture.requested_url, max_bytes=settings.max_html_bytes)
    final = fetched.final
    if final is None or final.status is None or final.location is not None:
        result.error = fetched.error or "no response"
        result.error_code = fetched.error_code or ErrorCode.CAPTURE_FAILED
        result.error_params = dict(fetched.error_params) if fetched.error_code else {}
        return result
    result.http_status, result.final_url = final.status, final.url
    try:
        text = decode_html(decode_body(final, settings.max_html_bytes), final.header("content-type"))
    except CaptureError as exc:
        text = ""
        result.error, result.error_code = str(exc), code_of(exc)
    state = classify(final.status, text)
    if state is not None:
        result.state = state
        return result
    if final.status >= 400:
        result.error = f"HTTP {final.status}"
        result.error_code, result.error_params = ErrorCode.CAPTURE_HTTP_STATUS, {"status": final.status}
        return result
    result.state = "live"
    for row in media:
        entry: dict[str, Any] = {"url": row.url, "captured_sha256": row.item_sha256}
        exchange = _fetch_media(fetcher, row.url, settings)
        if isinstance(exchange, str):
            entry.update(state="error", error=exchange)
        else:
            try:
                hasher = hashlib.sha256()
                for chunk in decoded_chunks(exchange, settings.max_file_bytes):
                    hasher.update(chunk)
                digest = hasher.hexdigest()
            except CaptureError as exc:
                entry.update(state="error", error=str(exc))
            else:
                entry["sha256"] = digest
                entry["state"] = "same" if digest == row.item_sha256 else "changed"
                if exchange.status in (404, 410):
                    entry["state"] = "removed"
        result.media.append(entry)
    if any(m.get("state") in ("changed", "removed") for m in result.media):
        result.state = "changed"
    return result


def _fetch_media(fetcher: SafeFetcher, url: str, settings: CaptureSettings) -> Exchange | str:
    fetched = fetcher.get(url, max_bytes=settings.max_file_bytes)
    if fetched.final is None or fetched.final.status is None:
        return fetched.error or "no response"
    if fetched.final.truncated:
        return fetched.final.error or "download incomplete"
    return fetched.final


def _record(ws: Workspace, capture: Capture, result: CheckResult) -> None:
    with ws.write() as (session, ledger):
        row = CaptureCheck(
            capture_id=capture.id,
            checked_at=result.checked_at,
            state=result.state,
            http_status=result.http_status,
            final_url=result.final_url,
            detail={"media": result.media},
            error=result.error,
        )
        session.add(row)
        session.flush()
        result.check_id = row.id
        ledger.append(
            Action.CAPTURE_RECHECK,
            item=capture.manifest_sha256,
            details={
                "capture_id": capture.id,
                "check_id": row.id,
                "url": capture.requested_url,
                "state": result.state,
                "http_status": result.http_status,
                "final_url": result.final_url,
                "media": [{"url": m["url"], "state": m.get("state"), "sha256": m.get("sha256")} for m in result.media],
                "error": result.error,
            },
        )
