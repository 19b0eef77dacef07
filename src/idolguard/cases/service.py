"""Writing side of cases: open, link, change status, file, note, assign, hold, retention.

Every function is one ``ws.write()`` unit: the rows and the ``case.*`` custody event that explains them
commit together or not at all. Reads (``case_detail``) live in ``views.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from idolguard.cases.models import (
    ASSIGNEE_ROLES,
    CASE_STATUSES,
    FILING_KINDS,
    Account,
    Case,
    CaseAssignee,
    CaseFiling,
    CaseLink,
    CaseNote,
)
from idolguard.db.models import Item, Sighting
from idolguard.errors import ErrorCode, IdolGuardError
from idolguard.evidence.ledger import LedgerWriter
from idolguard.workspace import Workspace

NUMBER_RE = re.compile(r"^IG-(\d{4})-(\d{4,})$")
HEX_RE = re.compile(r"^[0-9a-f]{8,64}$")
# Allowed forward moves; "closed" can be reached from every state, and a closed case can be reopened.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("gathering", "filed", "closed"),
    "gathering": ("filed", "closed", "open"),
    "filed": ("gathering", "closed"),
    "closed": ("open",),
}


class CaseError(IdolGuardError):
    """A case operation that cannot be done as asked (unknown case or reference, forbidden change)."""


def next_number(session: Session, year: int) -> str:
    prefix = f"IG-{year}-"
    numbers = session.execute(select(Case.number).where(Case.number.like(prefix + "%"))).scalars().all()
    highest = max((int(n.rsplit("-", 1)[1]) for n in numbers), default=0)
    return f"{prefix}{highest + 1:04d}"


def get_case(session: Session, key: str) -> Case:
    """A case by number (``IG-2026-0007``, case-insensitive) or by its numeric id."""
    key = key.strip()
    case: Case | None = None
    if NUMBER_RE.match(key.upper()):
        case = session.execute(select(Case).where(Case.number == key.upper())).scalar_one_or_none()
    elif key.isdigit():
        case = session.get(Case, int(key))
    if case is None:
        raise CaseError(f"no case {key!r} (case numbers look like IG-2026-0007)", code=ErrorCode.CASE_UNKNOWN, key=key)
    return case


def _event(writer: LedgerWriter, action: str, case: Case, item: str | None = None, **details: Any) -> None:
    writer.append(action, item, {"case": case.number, **details})


def open_case(ws: Workspace, title: str, artist: str, incidents: list[int] | None = None) -> str:
    title, artist = title.strip(), artist.strip()
    if not title:
        raise CaseError("a case needs a title", code=ErrorCode.CASE_NEEDS_TITLE)
    if not artist:
        raise CaseError("a case needs an artist (--artist NAME)", code=ErrorCode.CASE_NEEDS_ARTIST)
    with ws.write() as (session, writer):
        number = next_number(session, datetime.now(UTC).year)
        case = Case(number=number, title=title, artist=artist, status="open", opened_by=ws.actor)
        session.add(case)
        session.flush()
        _event(writer, "case.open", case, title=title, artist=artist)
        for incident_id in incidents or []:
            _link(session, writer, ws, case, LinkRef("incident", str(incident_id)))
    return number


@dataclass(frozen=True)
class LinkRef:
    kind: str
    ref: str


def parse_ref(session: Session, text: str) -> LinkRef:
    """``cases add`` accepts an item hash (or a unique prefix of 8+ hex digits), ``incident:N``,
    ``sighting:N``, ``capture:N``, ``account:N`` or ``account:PLATFORM/HANDLE``."""
    from idolguard.capture.models import Capture
    from idolguard.incidents.models import Incident

    raw = text.strip()
    kind, sep, value = raw.partition(":")
    kind = kind.lower()
    if not sep:
        lowered = raw.lower()
        if not HEX_RE.match(lowered):
            raise CaseError(
                f"cannot read {raw!r}: give an item SHA-256 (or 8+ hex digits of it), incident:N, sighting:N, "
                "capture:N or account:PLATFORM/HANDLE",
                code=ErrorCode.CASE_REF_UNREADABLE,
                text=raw[:100],
            )
        found = session.execute(select(Item.sha256).where(Item.sha256.like(lowered + "%")).limit(2)).scalars().all()
        if not found:
            raise CaseError(f"no item {lowered}", code=ErrorCode.RECORD_UNKNOWN, ref=lowered[:16])
        if len(found) > 1:
            raise CaseError(
                f"item prefix {lowered} is ambiguous; give more digits", code=ErrorCode.CASE_REF_AMBIGUOUS, ref=lowered
            )
        return LinkRef("item", found[0])
    if kind == "item":
        return parse_ref(session, value)
    if kind == "account":
        return LinkRef("account", str(_account_id(session, value)))
    models = {"incident": Incident, "sighting": Sighting, "capture": Capture}
    if kind not in models:
        raise CaseError(
            f"unknown kind {kind!r}; use item, incident, sighting, capture or account",
            code=ErrorCode.CASE_REF_KIND,
            kind=kind[:40],
        )
    if not value.strip().isdigit():
        raise CaseError(f"{kind} ids are numbers, got {value!r}", code=ErrorCode.CASE_REF_NUMBER, text=value[:100])
    if session.get(models[kind], int(value)) is None:
        raise CaseError(f"no {kind} {int(value)}", code=ErrorCode.RECORD_UNKNOWN, ref=f"{kind}:{int(value)}")
    return LinkRef(kind, str(int(value)))


def _account_id(session: Session, value: str) -> int:
    value = value.strip()
    if value.isdigit():
        if session.get(Account, int(value)) is None:
            raise CaseError(f"no account {value}", code=ErrorCode.RECORD_UNKNOWN, ref=f"account:{value}")
        return int(value)
    platform, sep, handle = value.partition("/")
    if not sep or not platform or not handle:
        raise CaseError(
            f"accounts are account:ID or account:PLATFORM/HANDLE, got {value!r}",
            code=ErrorCode.CASE_REF_ACCOUNT,
            text=value[:100],
        )
    account = session.execute(
        select(Account).where(Account.platform == platform.lower(), Account.handle == handle)
    ).scalar_one_or_none()
    if account is None:
        raise CaseError(
            f"no account {platform}/{handle} (record it first: idolguard accounts add)",
            code=ErrorCode.RECORD_UNKNOWN,
            ref=f"account:{platform}/{handle}",
        )
    return account.id


def _link(session: Session, writer: LedgerWriter, ws: Workspace, case: Case, ref: LinkRef) -> tuple[bool, list[str]]:
    """Add one link; returns (added, other cases already holding the same record)."""
    existing = session.execute(
        select(CaseLink.id).where(CaseLink.case_id == case.id, CaseLink.kind == ref.kind, CaseLink.ref == ref.ref)
    ).first()
    if existing:
        return False, []
    others = (
        session.execute(
            select(Case.number)
            .join(CaseLink, CaseLink.case_id == Case.id)
            .where(CaseLink.kind == ref.kind, CaseLink.ref == ref.ref, Case.id != case.id)
        )
        .scalars()
        .all()
    )
    if ref.kind == "incident":
        from idolguard.incidents.models import Incident

        if session.get(Incident, int(ref.ref)) is None:
            raise CaseError(f"no incident {ref.ref}", code=ErrorCode.RECORD_UNKNOWN, ref=f"incident:{ref.ref}")
    session.add(CaseLink(case_id=case.id, kind=ref.kind, ref=ref.ref, added_by=ws.actor))
    item = ref.ref if ref.kind == "item" else None
    _event(writer, "case.link", case, item, kind=ref.kind, ref=ref.ref, also_in=sorted(others))
    return True, sorted(others)


def add_to_case(ws: Workspace, key: str, refs: list[str]) -> list[dict[str, Any]]:
    """Link records to a case. A record already in another case is linked too (and the other cases named)."""
    results = []
    with ws.write() as (session, writer):
        case = get_case(session, key)
        _refuse_destroyed(case)
        parsed = [parse_ref(session, text) for text in refs]  # all or nothing: a bad reference adds nothing
        for ref in parsed:
            added, others = _link(session, writer, ws, case, ref)
            results.append({"kind": ref.kind, "ref": ref.ref, "added": added, "also_in": others})
    return results


def _refuse_destroyed(case: Case) -> None:
    if case.destroyed_at is not None:
        raise CaseError(
            f"{case.number} was destroyed on {case.destroyed_at:%Y-%m-%d}; it only keeps hashes",
            code=ErrorCode.CASE_DESTROYED,
            number=case.number,
        )


def set_status(
    ws: Workspace,
    key: str,
    status: str,
    *,
    filing_kind: str | None = None,
    reference: str | None = None,
    filed_on: str | None = None,
    body: str | None = None,
) -> dict[str, Any]:
    """Move a case along ``open -> gathering -> filed -> closed``. ``filed`` needs the filing's kind,
    the reference number the police/court/platform gave, and the date on it."""
    status = status.strip().lower()
    if status not in CASE_STATUSES:
        raise CaseError(
            f"unknown status {status!r}; use one of {', '.join(CASE_STATUSES)}",
            code=ErrorCode.CASE_STATUS_UNKNOWN,
            status=status[:40],
            choices=",".join(CASE_STATUSES),
        )
    filing: dict[str, Any] | None = None
    if status == "filed":
        filing = _check_filing(filing_kind, reference, filed_on, body)
        _legal_step(ws, "record a filing")
    with ws.write() as (session, writer):
        case = get_case(session, key)
        _refuse_destroyed(case)
        if status != case.status and status not in TRANSITIONS[case.status]:
            raise CaseError(
                f"{case.number} cannot go from {case.status} to {status}",
                code=ErrorCode.CASE_BAD_TRANSITION,
                current=case.status,
                status=status,
            )
        if status == case.status and filing is None:
            raise CaseError(f"{case.number} is already {status}", code=ErrorCode.CASE_ALREADY, status=status)
        previous = case.status
        case.status = status
        if status == "closed":
            case.closed_at = datetime.now(UTC)
        elif previous == "closed":
            case.closed_at = None
        if filing is not None:
            session.add(CaseFiling(case_id=case.id, recorded_by=ws.actor, **filing))
        _event(writer, "case.status", case, previous=previous, status=status, filing=filing)
        return {"case": case.number, "previous": previous, "status": status, "filing": filing}


def _legal_step(ws: Workspace, what: str) -> None:
    """Filings, legal hold and retention are for counsel, managers and admins (checked once web accounts exist)."""
    from idolguard.cases.people import LEGAL_ROLES, person

    person(ws, ws.actor, LEGAL_ROLES, what)


def _check_filing(kind: str | None, reference: str | None, filed_on: str | None, body: str | None) -> dict[str, Any]:
    missing = [
        name
        for name, value in (("--kind", kind), ("--ref", reference), ("--date", filed_on))
        if not (value and value.strip())
    ]
    if missing:
        raise CaseError(
            f"status filed needs {', '.join(missing)} (the filing's kind, reference number and date)",
            code=ErrorCode.CASE_FILED_NEEDS,
            fields=",".join(m.lstrip("-") for m in missing),  # the form's field names, not the CLI's flags
        )
    assert kind and reference and filed_on
    if kind not in FILING_KINDS:
        raise CaseError(
            f"unknown filing kind {kind!r}; use one of {', '.join(FILING_KINDS)}",
            code=ErrorCode.CASE_FILING_KIND,
            kind=kind[:40],
            choices=",".join(FILING_KINDS),
        )
    try:
        day = date.fromisoformat(filed_on.strip())
    except ValueError as exc:
        raise CaseError(
            f"--date must be YYYY-MM-DD, got {filed_on!r}", code=ErrorCode.CASE_FILING_DATE, text=filed_on
        ) from exc
    if day > datetime.now(UTC).date():
        raise CaseError(f"filing date {day} is in the future", code=ErrorCode.CASE_FILING_FUTURE, day=str(day))
    return {
        "kind": kind,
        "reference": reference.strip(),
        "filed_on": day.isoformat(),
        "body": (body or "").strip() or None,
    }


def add_note(ws: Workspace, key: str, text: str) -> int:
    text = text.strip()
    if not text:
        raise CaseError("an empty note was not recorded", code=ErrorCode.CASE_EMPTY_NOTE)
    with ws.write() as (session, writer):
        case = get_case(session, key)
        note = CaseNote(case_id=case.id, text=text, author=ws.actor)
        session.add(note)
        session.flush()
        _event(writer, "case.note", case, note_id=note.id, text=text)
        return note.id


def assign(ws: Workspace, key: str, person: str, role: str, *, remove: bool = False) -> None:
    person, role = person.strip(), role.strip().lower()
    if role not in ASSIGNEE_ROLES:
        raise CaseError(
            f"unknown role {role!r}; use one of {', '.join(ASSIGNEE_ROLES)}",
            code=ErrorCode.CASE_ROLE_UNKNOWN,
            role=role[:40],
            choices=",".join(ASSIGNEE_ROLES),
        )
    if not person:
        raise CaseError("name the person to assign", code=ErrorCode.CASE_NEEDS_ASSIGNEE)
    with ws.write() as (session, writer):
        case = get_case(session, key)
        row = session.execute(
            select(CaseAssignee).where(
                CaseAssignee.case_id == case.id, CaseAssignee.person == person, CaseAssignee.role == role
            )
        ).scalar_one_or_none()
        if remove:
            if row is None:
                raise CaseError(
                    f"{person} is not assigned to {case.number} as {role}",
                    code=ErrorCode.CASE_NOT_ASSIGNED,
                    name=person,
                )
            session.delete(row)
            _event(writer, "case.unassign", case, person=person, role=role)
            return
        if row is not None:
            raise CaseError(
                f"{person} is already assigned to {case.number} as {role}",
                code=ErrorCode.CASE_ALREADY_ASSIGNED,
                name=person,
            )
        session.add(CaseAssignee(case_id=case.id, person=person, role=role))
        _event(writer, "case.assign", case, person=person, role=role)


def set_hold(ws: Workspace, key: str, on: bool, reason: str) -> None:
    reason = reason.strip()
    if not reason:
        raise CaseError("a legal hold change needs a --reason", code=ErrorCode.CASE_NEEDS_REASON)
    _legal_step(ws, "change a legal hold")
    with ws.write() as (session, writer):
        case = get_case(session, key)
        if case.legal_hold == on:
            raise CaseError(
                f"{case.number} legal hold is already {'on' if on else 'off'}",
                code=ErrorCode.CASE_HOLD_ON if on else ErrorCode.CASE_HOLD_OFF,
            )
        case.legal_hold = on
        _event(writer, "case.hold", case, legal_hold=on, reason=reason)


def set_retention(ws: Workspace, key: str, days: int) -> None:
    if days < 0:
        raise CaseError("retention is a number of days, 0 or more", code=ErrorCode.CASE_RETENTION)
    _legal_step(ws, "change a retention period")
    with ws.write() as (session, writer):
        case = get_case(session, key)
        previous = case.retention_days
        case.retention_days = days
        _event(writer, "case.retention", case, retention_days=days, previous=previous)


def case_count(session: Session) -> int:
    return int(session.execute(select(func.count(Case.id))).scalar_one())
