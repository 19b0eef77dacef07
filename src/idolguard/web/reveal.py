"""Reveal: the only way to see an original. Needs the permission, a reason, a full (two-factor) session and
no "never reveal" setting; grants one user one item for a short time; each grant is a signed custody event.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from idolguard.web.custody import custody
from idolguard.web.models import Reveal
from idolguard.web.roles import Principal
from idolguard.workspace import Workspace

REVEAL_SECONDS = 60
REASONS = ("identity_check", "manipulation_check", "legal_review", "takedown_preparation")


def reveal_seconds(ws: Workspace) -> int:
    return int(ws.config.section("web").get("reveal_seconds") or REVEAL_SECONDS)


def day_start(tz: str) -> datetime:
    try:
        zone = ZoneInfo(tz)
    except Exception:
        zone = ZoneInfo("Asia/Seoul")
    local = datetime.now(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def reveals_today(ws: Workspace, user_id: int, tz: str = "Asia/Seoul") -> int:
    with ws.sessions() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Reveal)
                .where(Reveal.user_id == user_id, Reveal.created_at >= day_start(tz))
            )
            or 0
        )


def grant(ws: Workspace, who: Principal, item: str, reason: str, *, action: str = "web.reveal") -> Reveal:
    now = datetime.now(UTC)
    with custody(ws, who.name) as (session, ledger):
        entry = ledger.append(action, item=item, details={"user": who.name, "reason": reason[:500]})
        row = Reveal(
            user_id=who.user_id,
            item_sha256=item,
            reason=reason[:500],
            created_at=now,
            expires_at=now + timedelta(seconds=reveal_seconds(ws)),
            ledger_seq=entry.seq,
        )
        session.add(row)
        session.flush()
        session.expunge(row)
    return row


def active_grant(ws: Workspace, who: Principal, item: str, grant_id: int) -> Reveal | None:
    with ws.sessions() as session:
        row = session.get(Reveal, grant_id)
        if row is None or row.user_id != who.user_id or row.item_sha256 != item:
            return None
        if row.expires_at < datetime.now(UTC):
            return None
        return row
