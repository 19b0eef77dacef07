"""Accounts ("who shared it"): records, what they posted, aliases across platforms, and alias suggestions.

An account's posts are the sightings that name its platform and handle, read live from the core table, so a
new sighting shows up without any extra step. Suggestions pair accounts that posted the same content (same
item or same incident) within a short window: a lead for a person to confirm, never an automatic link.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from idolguard.cases.models import Account, AccountAlias, AccountCapture
from idolguard.cases.service import CaseError, _account_id
from idolguard.db.models import Sighting
from idolguard.errors import ErrorCode
from idolguard.workspace import Workspace


def normalise(platform: str, handle: str) -> tuple[str, str]:
    platform, handle = platform.strip().lower(), handle.strip()
    if not platform or not handle:
        raise CaseError("an account needs a platform and a handle", code=ErrorCode.ACCOUNT_NEEDS_HANDLE)
    return platform, handle


def add_account(
    ws: Workspace,
    platform: str,
    handle: str,
    *,
    display_name: str | None = None,
    profile_url: str | None = None,
    capture_id: int | None = None,
) -> int:
    platform, handle = normalise(platform, handle)
    with ws.write() as (session, writer):
        account = session.execute(
            select(Account).where(Account.platform == platform, Account.handle == handle)
        ).scalar_one_or_none()
        created = account is None
        if account is None:
            account = Account(platform=platform, handle=handle, created_by=ws.actor)
            session.add(account)
        if display_name is not None:
            account.display_name = display_name
        if profile_url is not None:
            account.profile_url = profile_url
        session.flush()
        if capture_id is not None:
            from idolguard.capture.models import Capture

            if session.get(Capture, capture_id) is None:
                raise CaseError(f"no capture {capture_id}", code=ErrorCode.RECORD_UNKNOWN, ref=f"capture:{capture_id}")
            session.add(AccountCapture(account_id=account.id, capture_id=capture_id))
        writer.append(
            "account.record",
            None,
            {
                "account": account.id,
                "platform": platform,
                "handle": handle,
                "created": created,
                "display_name": account.display_name,
                "profile_url": account.profile_url,
                "profile_capture": capture_id,
            },
        )
        return account.id


def link_alias(ws: Workspace, a: str, b: str, reason: str) -> None:
    reason = reason.strip()
    if not reason:
        raise CaseError("say why the two accounts are the same (--reason)", code=ErrorCode.ACCOUNT_LINK_REASON)
    with ws.write() as (session, writer):
        first, second = sorted((_account_id(session, a), _account_id(session, b)))
        if first == second:
            raise CaseError("an account cannot be its own alias", code=ErrorCode.ACCOUNT_SELF_ALIAS)
        exists = session.execute(
            select(AccountAlias.id).where(AccountAlias.account_a == first, AccountAlias.account_b == second)
        ).first()
        if exists:
            raise CaseError("these accounts are already linked", code=ErrorCode.ACCOUNT_ALREADY_LINKED)
        session.add(AccountAlias(account_a=first, account_b=second, reason=reason, linked_by=ws.actor))
        writer.append("account.alias", None, {"accounts": [first, second], "reason": reason})


def _when(s: Sighting) -> datetime:
    return s.seen_at or s.recorded_at


def account_detail(session: Session, account: Account) -> dict[str, Any]:
    sightings = (
        session.execute(
            select(Sighting)
            .where(Sighting.platform == account.platform, Sighting.account == account.handle)
            .order_by(Sighting.id)
        )
        .scalars()
        .all()
    )
    times = sorted(_when(s) for s in sightings)
    aliases = session.execute(
        select(AccountAlias).where(or_(AccountAlias.account_a == account.id, AccountAlias.account_b == account.id))
    ).scalars()
    captures = session.execute(
        select(AccountCapture.capture_id).where(AccountCapture.account_id == account.id)
    ).scalars()
    return {
        "id": account.id,
        "platform": account.platform,
        "handle": account.handle,
        "display_name": account.display_name,
        "profile_url": account.profile_url,
        "first_seen": times[0].isoformat() if times else None,
        "last_seen": times[-1].isoformat() if times else None,
        "items": sorted({s.item_sha256 for s in sightings}),
        "sightings": len(sightings),
        "profile_captures": sorted(captures),
        "aliases": [
            {"account": a.account_b if a.account_a == account.id else a.account_a, "reason": a.reason} for a in aliases
        ],
    }


def list_accounts(ws: Workspace) -> list[dict[str, Any]]:
    with ws.sessions() as session:
        accounts = session.execute(select(Account).order_by(Account.platform, Account.handle)).scalars().all()
        return [account_detail(session, a) for a in accounts]


def record_from_sightings(ws: Workspace) -> int:
    """Create account records for every (platform, handle) named by sightings but not yet recorded."""
    with ws.sessions() as session:
        named = set(
            session.execute(
                select(Sighting.platform, Sighting.account).where(Sighting.account.is_not(None)).distinct()
            ).tuples()
        )
        known = set(session.execute(select(Account.platform, Account.handle)).tuples())
    missing = sorted({normalise(p or "unknown", h) for p, h in named if h and h.strip()} - known, key=lambda pair: pair)
    if not missing:
        return 0
    with ws.write() as (session, writer):
        for platform, handle in missing:
            session.add(Account(platform=platform, handle=handle, created_by=ws.actor))
        writer.append("account.record", None, {"from_sightings": [f"{p}/{h}" for p, h in missing]})
    return len(missing)


def alias_suggestions(ws: Workspace, window_hours: float = 24.0) -> list[dict[str, Any]]:
    """Pairs of different accounts that posted the same item within ``window_hours`` of each other."""
    window = timedelta(hours=window_hours)
    by_item: dict[str, list[Sighting]] = defaultdict(list)
    with ws.sessions() as session:
        for s in session.execute(select(Sighting).where(Sighting.account.is_not(None))).scalars():
            by_item[s.item_sha256].append(s)
        known = {(a.account_a, a.account_b) for a in session.execute(select(AccountAlias)).scalars()}
        ids = {(a.platform, a.handle): a.id for a in session.execute(select(Account)).scalars()}
    pairs: dict[tuple[str, str], dict[str, Any]] = {}
    for item, sightings in by_item.items():
        sightings.sort(key=_when)
        for i, first in enumerate(sightings):
            for second in sightings[i + 1 :]:
                gap = _when(second) - _when(first)
                if gap > window:
                    break
                key_a = ((first.platform or "unknown").lower(), first.account or "")
                key_b = ((second.platform or "unknown").lower(), second.account or "")
                if key_a == key_b:
                    continue
                pair = tuple(sorted((f"{key_a[0]}/{key_a[1]}", f"{key_b[0]}/{key_b[1]}")))
                id_pair = tuple(sorted((ids.get(key_a, -1), ids.get(key_b, -2))))
                if id_pair in known:
                    continue
                entry = pairs.setdefault(pair, {"accounts": list(pair), "items": set(), "min_gap_s": None})
                entry["items"].add(item)
                seconds = int(gap.total_seconds())
                entry["min_gap_s"] = seconds if entry["min_gap_s"] is None else min(entry["min_gap_s"], seconds)
    out = []
    for entry in pairs.values():
        out.append(
            {
                "accounts": entry["accounts"],
                "shared_items": sorted(entry["items"]),
                "min_gap_s": entry["min_gap_s"],
                "why": f"posted {len(entry['items'])} identical item(s) within {window_hours:g} h of each other",
            }
        )
    out.sort(key=lambda e: (-len(e["shared_items"]), e["min_gap_s"] or 0))
    return out
