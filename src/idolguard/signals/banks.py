"""Bank operations: every change is one transaction with its custody event, then applied to the saved index.

Entries are deduplicated per bank on (signal type, value): adding a hash twice keeps the first provenance and
reports the duplicate. Removing deletes the entry (and its index rows); disabling keeps it for the record.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select, update

from idolguard.db.base import utcnow
from idolguard.errors import ErrorCode, IdolGuardError
from idolguard.evidence.actions import Action
from idolguard.signals.models import BANK_KINDS, Bank, BankEntry, OfficialItem
from idolguard.signals.store import INDEXED, IndexStore, bump_revision, current_revision
from idolguard.workspace import Workspace


@dataclass
class NewEntry:
    signal_type: str
    value: str
    quality: int | None = None
    frames: list[Any] | None = None
    source_kind: str = "manual"
    source_item: str | None = None
    source_ref: str | None = None
    note: str | None = None


@dataclass
class AddReport:
    added: list[int] = field(default_factory=list)
    duplicates: int = 0


def fold_matches(session: Any, ledger: Any) -> int:
    """Record every stored match result not yet folded (entry hits, incidents: the areas' ``match_folds``, e.g.
    ``incidents.sync.fold``) in the caller's write transaction; returns how many items were recorded.

    Called before anything drops stored match results or looks for recorded matches: before 2026-12-03 a bank
    change deleted results ``sync`` had not consumed yet (the web triage's ``add_entries`` ran before its
    ``sync``), so the match left no hit, no incident and nothing that ``bank delete`` could see."""
    from idolguard import registry

    return registry.fold_matches(session, ledger)


def invalidate_matches(session: Any, ledger: Any) -> None:
    """Drop stored ``match``/``face_match``/``source_attribution`` results: they described the banks before
    this change, and the next scan recomputes them (hashes are not recomputed; the ``signals`` results stay).
    What they recorded is folded into entry hits and incidents first (``fold_matches``), in the same
    transaction, so no match is lost with them."""
    from idolguard.db.models import StageResult

    fold_matches(session, ledger)
    session.execute(delete(StageResult).where(StageResult.stage.in_(("match", "face_match", "source_attribution"))))
    # Again, with nothing left to fold: a fold keeps its watermark at or below the rows that remain, as SQLite
    # gives the next stored result the id after the largest left (one the watermark had passed).
    fold_matches(session, ledger)


def get_bank(session: Any, name: str) -> Bank:
    bank: Bank | None = session.execute(select(Bank).where(Bank.name == name)).scalar_one_or_none()
    if bank is None:
        raise IdolGuardError(
            f"no bank named {name!r} (see `idolguard bank list`)", code=ErrorCode.BANK_UNKNOWN, name=name
        )
    return bank


def check_name(name: str) -> None:
    """Refuse (``bank.name_invalid``) a name that is not letters, digits, '-', '_' and '.' (1-128 characters):
    names appear in exports, ledger events and command lines."""
    if not name or len(name) > 128 or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise IdolGuardError(
            "bank names use letters, digits, '-', '_' and '.' (at most 128 characters)",
            code=ErrorCode.BANK_NAME_INVALID,
            name=name,
        )


def _check_bank(name: str, kind: str, threshold: int) -> None:
    if kind not in BANK_KINDS:
        raise IdolGuardError(
            f"bank kind must be one of {', '.join(BANK_KINDS)}",
            code=ErrorCode.BANK_KIND_INVALID,
            kinds=", ".join(BANK_KINDS),
        )
    if not 0 <= threshold <= 64:
        raise IdolGuardError(
            "PDQ threshold must be between 0 and 64 bits (default 31)",
            code=ErrorCode.BANK_THRESHOLD,
            threshold=threshold,
        )
    check_name(name)


def create_bank(ws: Workspace, name: str, kind: str, threshold: int = 31, description: str | None = None) -> Bank:
    """``bank create``: a new bank, refused for a name other code manages as ``rename`` refuses it
    (``official.*``: artists' official collections, made only by ``artists official add`` through
    ``new_bank``; ``known_abuse``: the web triage's bank, only of that kind)."""
    from idolguard.signals.bank_changes import refuse_reserved

    _check_bank(name, kind, threshold)
    refuse_reserved(name, kind)
    with ws.write() as (session, ledger):
        if session.execute(select(Bank).where(Bank.name == name)).scalar_one_or_none():
            raise IdolGuardError(f"bank {name!r} already exists", code=ErrorCode.BANK_EXISTS, name=name)
        bank = new_bank(session, ledger, ws.actor, name, kind, threshold, description)
    return bank


def ensure_bank(ws: Workspace, name: str, kind: str, description: str | None = None) -> Bank:
    """The bank ``name``, created (kind ``kind``) if it does not exist yet: "is it there?" and the creation are
    one write transaction, and writers are serialised (the ledger lock), so two requests wanting the bank at
    the same moment get the one bank, one ``bank.create``, and neither an "already exists" refusal.

    A bank of that name but of another kind is refused with ``bank.kind_mismatch``, which tells the reader to
    rename that bank: it would not do what the caller means (a ``negative`` bank named ``known_abuse`` would
    veto matches instead of making them). Before 2026-12-02 the web triage used any bank of that name."""
    _check_bank(name, kind, 31)
    with ws.write() as (session, ledger):
        bank: Bank | None = session.execute(select(Bank).where(Bank.name == name)).scalar_one_or_none()
        if bank is None:
            bank = new_bank(session, ledger, ws.actor, name, kind, description=description)
        elif bank.kind != kind:
            raise _kind_mismatch(name, bank.kind, kind)
    return bank


def _kind_mismatch(name: str, kind: str, wanted: str) -> IdolGuardError:
    """``bank.kind_mismatch`` for bank ``name`` (of ``kind``) used as a ``wanted`` bank: one definition for
    ``ensure_bank`` and ``add_entries(expect_kind=...)``, so both refusals say the same and carry the same
    fields (the coded message and its Korean are keyed on them)."""
    return IdolGuardError(
        f"bank {name!r} exists but is a {kind} bank, not {wanted}: rename that bank "
        f"(idolguard bank rename {name} NEW_NAME)",
        code=ErrorCode.BANK_KIND_MISMATCH,
        name=name,
        kind=kind,
        wanted=wanted,
    )


def new_bank(
    session: Any,
    ledger: Any,
    actor: str,
    name: str,
    kind: str,
    threshold: int = 31,
    description: str | None = None,
) -> Bank:
    """Insert a bank and its ``bank.create`` event in the caller's write transaction (``ws.write()``), for a
    caller that must decide in that same transaction whether the bank may exist (``artists official add``
    checks that its artist is still enrolled). The caller has checked that no bank has the name."""
    _check_bank(name, kind, threshold)
    bank = Bank(name=name, kind=kind, pdq_threshold=threshold, description=description, created_by=actor)
    session.add(bank)
    session.flush()
    bump_revision(session)
    ledger.append(Action.BANK_CREATE, details={"bank": name, "kind": kind, "pdq_threshold": threshold})
    return bank


def _insert_statement(session: Any) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING for the bank's unique (bank, type, value): duplicates are skipped by
    the database, so a million-line import needs no in-memory set of what the bank already holds."""
    from sqlalchemy.dialects import postgresql, sqlite

    table: Any = BankEntry.__table__
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=["bank_id", "signal_type", "value"])
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=["bank_id", "signal_type", "value"])


def add_entries(
    ws: Workspace,
    bank_name: str,
    entries: Iterable[NewEntry],
    *,
    event_details: dict[str, Any],
    then: Callable[[Any, AddReport], None] | None = None,
    expect_kind: str | None = None,
) -> AddReport:
    """Add entries in one transaction (all or nothing) with one custody event, then update the index.

    Streams: entries are inserted in batches as they come, so the caller may pass a generator over a file.
    ``then(ledger, report)`` runs inside the same transaction after the bank event, for a caller whose own
    custody event must exist exactly when the entries do (a crash between two transactions would leave
    entries without it, and a re-run would only see duplicates).

    ``expect_kind``: refuse (``bank.kind_mismatch``) unless the bank is of that kind, checked in this same
    transaction: the web triage's ``ensure_bank`` is another one, and a rename plus a ``bank create`` in between
    must not turn confirmed abuse into entries of a ``negative`` bank (which would veto later matches).
    """
    report = AddReport()
    total = 0
    with ws.write() as (session, ledger):
        bank = get_bank(session, bank_name)
        if expect_kind is not None and bank.kind != expect_kind:
            raise _kind_mismatch(bank_name, bank.kind, expect_kind)
        old_revision = current_revision(session)
        before = session.execute(select(func.max(BankEntry.id))).scalar_one() or 0
        batch: list[dict[str, Any]] = []
        connection = session.connection()
        statement = _insert_statement(session)

        def flush() -> None:
            if batch:
                connection.execute(statement, batch)  # executemany: compiled once, batched by the driver
                batch.clear()

        now = utcnow()
        for new in entries:
            total += 1
            batch.append(
                {
                    "bank_id": bank.id,
                    "signal_type": new.signal_type,
                    "value": new.value,
                    "quality": new.quality,
                    "frames": new.frames,
                    "source_kind": new.source_kind,
                    "source_item": new.source_item,
                    "source_ref": new.source_ref,
                    "added_at": now,
                    "added_by": ws.actor,
                    "enabled": True,
                    "match_count": 0,
                    "note": new.note,
                }
            )
            if len(batch) >= 1000:
                flush()
        flush()
        report.added = list(
            session.execute(
                select(BankEntry.id).where(BankEntry.bank_id == bank.id, BankEntry.id > before).order_by(BankEntry.id)
            ).scalars()
        )
        report.duplicates = total - len(report.added)
        new_revision = bump_revision(session)
        invalidate_matches(session, ledger)
        ledger.append(
            Action.BANK_ADD,
            item=event_details.pop("item", None),
            details={"bank": bank_name, "added": len(report.added), "duplicates": report.duplicates, **event_details},
        )
        if then is not None:
            then(ledger, report)
    store = IndexStore(ws)
    for kind in INDEXED:
        with ws.sessions() as session:
            rows = session.execute(
                select(BankEntry)
                .where(BankEntry.bank_id == bank.id, BankEntry.id > before, BankEntry.signal_type == kind)
                .execution_options(yield_per=10_000)
            ).scalars()
            store.apply(kind, old_revision, new_revision, rows, [])
    return report


@dataclass
class RemoveReport:
    entries: int  # entries deleted
    official_items: list[str] = field(default_factory=list)  # items that left an official collection with them


def remove(ws: Workspace, bank_name: str, entry_id: int | None, *, reason: str | None = None) -> RemoveReport:
    """Delete one entry, or the whole bank with its entries; says how many entries went (and which official
    items with them).

    An official collection (``artists official add``) stays consistent whichever command removes from it: when
    the last entry of one of its items goes here, the item leaves the collection in the same transaction (its
    ``signal_official_items`` row is deleted and ``gallery.official_remove`` is written, as ``artists official
    remove`` would), so adding that file again later works instead of being told "already there". Not refused:
    deleting one face's hash of a group photo is a legitimate use of ``bank remove``, and the whole-bank form is
    what retires a collection whose artist is gone (``verify`` names it).

    Refused (``bank.has_matches``, ``bank.entry_has_matches``) while an item is recorded as having matched what
    would go (``signal_entry_hits``, after folding stored results not yet counted): the hits and the incidents
    built on them are evidence and would go with the entries; ``bank disable`` retires them instead. An
    official collection never has hits (its matches are vetoes, never counted), so retiring one still works."""
    with ws.write() as (session, ledger):
        bank = get_bank(session, bank_name)
        fold_matches(session, ledger)  # a stored match not yet counted is a hit too
        _refuse_hits(session, bank, entry_id)
        old_revision = current_revision(session)
        query = select(BankEntry.id, BankEntry.signal_type).where(BankEntry.bank_id == bank.id)
        if entry_id is not None:
            query = query.where(BankEntry.id == entry_id)
        doomed = list(session.execute(query).tuples())
        if entry_id is not None and not doomed:
            raise IdolGuardError(
                f"bank {bank_name!r} has no entry {entry_id}",
                code=ErrorCode.BANK_NO_ENTRY,
                name=bank_name,
                entry=entry_id,
            )
        ids = [i for i, _ in doomed]
        per_item = _entries_per_official_item(session, bank.id, ids, whole=entry_id is None)
        for start in range(0, len(ids), 900):
            session.execute(delete(BankEntry).where(BankEntry.id.in_(ids[start : start + 900])))
        left = _official_items_emptied(session, bank, per_item)
        owner = official_owner(bank.description)
        if entry_id is None:
            session.delete(bank)
        new_revision = bump_revision(session)
        invalidate_matches(session, ledger)
        for sha, count in left.items():  # first-added first, then the bank change, as ``--all`` writes them
            ledger.append(
                Action.GALLERY_OFFICIAL_REMOVE,
                item=sha,
                details={
                    "artist": owner,
                    "bank": bank_name,
                    "entries_removed": count,
                    "reason": reason,
                    "via": "bank remove",
                },
            )
        ledger.append(
            Action.BANK_REMOVE,
            details={"bank": bank_name, "entry": entry_id, "entries_removed": len(ids), "reason": reason},
        )
    store = IndexStore(ws)
    for kind in INDEXED:
        store.apply(kind, old_revision, new_revision, [], [i for i, t in doomed if t == kind])
    return RemoveReport(len(ids), list(left))


def _refuse_hits(session: Any, bank: Bank, entry_id: int | None) -> None:
    """Refuse to remove entries that items are recorded as having matched (call after ``fold_matches``)."""
    from idolguard.signals.models import EntryHit

    query = (
        select(func.count(func.distinct(EntryHit.item_sha256)))
        .join(BankEntry, BankEntry.id == EntryHit.entry_id)
        .where(BankEntry.bank_id == bank.id)
    )
    if entry_id is not None:
        query = query.where(BankEntry.id == entry_id)
    hits = int(session.execute(query).scalar_one())
    if not hits:
        return
    if entry_id is None:
        raise IdolGuardError(
            f"bank {bank.name!r} has recorded matches ({hits} item(s) matched its entries, 0 stored scan "
            f"result(s) name it): they are kept as evidence, so the bank was not deleted; "
            f"`idolguard bank disable {bank.name}` stops its matching and keeps everything",
            code=ErrorCode.BANK_HAS_MATCHES,
            name=bank.name,
            hits=hits,
            results=0,
        )
    raise IdolGuardError(
        f"entry {entry_id} of bank {bank.name!r} has recorded matches ({hits} item(s) matched it): they are kept "
        f"as evidence, so it was not removed; `idolguard bank disable {bank.name} {entry_id}` stops its matching "
        "and keeps everything",
        code=ErrorCode.BANK_ENTRY_HAS_MATCHES,
        name=bank.name,
        entry=entry_id,
        hits=hits,
    )


def _entries_per_official_item(session: Any, bank_id: int, ids: list[int], *, whole: bool) -> dict[str, int]:
    """{official item: entries of it among ``ids``}, in the order the items entered the bank (empty for a bank
    that is no official collection); with ``whole`` (the bank goes), every item of the collection."""
    items = set(session.execute(select(OfficialItem.item_sha256).where(OfficialItem.bank_id == bank_id)).scalars())
    if not items:
        return {}
    counts: dict[str, int] = {}
    for start in range(0, len(ids), 900):
        rows = session.execute(
            select(BankEntry.id, BankEntry.source_item)
            .where(BankEntry.id.in_(ids[start : start + 900]))
            .order_by(BankEntry.id)
        ).tuples()
        for _id, sha in rows:
            if sha in items:
                counts[sha] = counts.get(sha, 0) + 1
    if whole:
        counts.update({sha: 0 for sha in sorted(items - counts.keys())})
    return counts  # by entry id: the order the items entered the bank


def _official_items_emptied(session: Any, bank: Bank, per_item: dict[str, int]) -> dict[str, int]:
    """Delete the ``signal_official_items`` rows of the items in ``per_item`` with no entry left in ``bank``
    (call after the entries are deleted); returns {item: entries removed} of those that left the collection."""
    left: dict[str, int] = {}
    for sha, count in per_item.items():
        remaining = session.execute(
            select(BankEntry.id).where(BankEntry.bank_id == bank.id, BankEntry.source_item == sha).limit(1)
        ).first()
        if remaining is None:
            session.execute(
                delete(OfficialItem).where(OfficialItem.bank_id == bank.id, OfficialItem.item_sha256 == sha)
            )
            left[sha] = count
    return left


def official_owner(description: str | None) -> str | None:
    """The artist's name an official collection's description gives (``signals/official.py``), else None."""
    found = re.match(r"Official media of (.*) \(artist #\d+\):", description or "")
    return found.group(1) if found else None


def set_enabled(ws: Workspace, bank_name: str, entry_id: int | None, enabled: bool) -> None:
    with ws.write() as (session, ledger):
        bank = get_bank(session, bank_name)
        if entry_id is None:
            bank.enabled = enabled
        else:
            result: Any = session.execute(
                update(BankEntry).where(BankEntry.bank_id == bank.id, BankEntry.id == entry_id).values(enabled=enabled)
            )
            if result.rowcount == 0:
                raise IdolGuardError(
                    f"bank {bank_name!r} has no entry {entry_id}",
                    code=ErrorCode.BANK_NO_ENTRY,
                    name=bank_name,
                    entry=entry_id,
                )
        invalidate_matches(session, ledger)
        ledger.append(
            Action.BANK_ENABLE if enabled else Action.BANK_DISABLE, details={"bank": bank_name, "entry": entry_id}
        )


def list_banks(ws: Workspace) -> list[dict[str, Any]]:
    from sqlalchemy import func

    with ws.sessions() as session:
        banks = session.execute(select(Bank).order_by(Bank.name)).scalars().all()
        counts = dict(
            session.execute(select(BankEntry.bank_id, func.count(BankEntry.id)).group_by(BankEntry.bank_id))
            .tuples()
            .all()
        )
        matched = dict(
            session.execute(select(BankEntry.bank_id, func.sum(BankEntry.match_count)).group_by(BankEntry.bank_id))
            .tuples()
            .all()
        )
    return [
        {
            "name": b.name,
            "kind": b.kind,
            "enabled": b.enabled,
            "pdq_threshold": b.pdq_threshold,
            "vpdq_frame_threshold": b.vpdq_frame_threshold,
            "vpdq_match_percent": b.vpdq_match_percent,
            "entries": int(counts.get(b.id, 0)),
            "matches": int(matched.get(b.id) or 0),
            "created_at": b.created_at.isoformat(),
            "created_by": b.created_by,
        }
        for b in banks
    ]


def show_bank(ws: Workspace, name: str, *, limit: int | None = None) -> dict[str, Any]:
    """A bank with its entries: the ids ``disable``/``remove`` take, and where each entry came from."""
    with ws.sessions() as session:
        bank = get_bank(session, name)
        query = select(BankEntry).where(BankEntry.bank_id == bank.id).order_by(BankEntry.id)
        total = session.execute(select(func.count(BankEntry.id)).where(BankEntry.bank_id == bank.id)).scalar_one()
        if limit:
            query = query.limit(limit)
        entries = [
            {
                "id": e.id,
                "signal_type": e.signal_type,
                "value": e.value,
                "quality": e.quality,
                "enabled": e.enabled,
                "source_kind": e.source_kind,
                "source_item": e.source_item,
                "source_ref": e.source_ref,
                "note": e.note,
                "added_at": e.added_at.isoformat(),
                "added_by": e.added_by,
                "match_count": e.match_count,
                "last_matched_at": e.last_matched_at.isoformat() if e.last_matched_at else None,
            }
            for e in session.execute(query).scalars()
        ]
        return {
            "name": bank.name,
            "kind": bank.kind,
            "enabled": bank.enabled,
            "pdq_threshold": bank.pdq_threshold,
            "description": bank.description,
            "created_at": bank.created_at.isoformat(),
            "created_by": bank.created_by,
            "entries_total": int(total),
            "entries": entries,
        }
