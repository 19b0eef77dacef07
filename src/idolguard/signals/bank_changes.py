"""Renaming and deleting whole banks (``bank rename``, ``bank delete``), with the rules that keep other code
and the evidence whole.

Other code finds two kinds of bank by name, so those names are managed:

* an artist's official collection (``official.NAME``, a ``negative`` bank whose description names the
  artist's id; ``signals/official.py``, the gallery and ``verify`` look it up): it is neither renamed nor
  deleted here (``artists official remove`` and ``bank remove`` keep its item rows and events consistent), and
  no bank is renamed *to* an ``official.`` name, which would take the place of a collection;
* ``known_abuse``, the bank the web triage adds confirmed abuse to (``web/triage.add_to_known_abuse``,
  created on first use): a bank of another kind may not take the name (triage would refuse it with
  ``bank.kind_mismatch``). Renaming the triage bank itself away is allowed: triage makes a new one on its next
  confirmation and the renamed one keeps matching; a bank that is *not* an official collection but carries an
  ``official.`` name (the one ``official_bank_taken`` asks to rename) may be renamed away too.

Evidence is never altered: a rename keeps every entry id, so entry hits, incidents and counters stay; stored
match results are signed outputs and keep the name the bank had when they were computed (the ``bank.rename``
event links old and new). The saved index holds entry ids only (names are read from the database when hits
are resolved), so a rename leaves it and the bank revision alone. A delete is refused while anything records a
match of the bank (``bank.has_matches``, even with ``--force``): such a bank is retired with ``bank disable``.

Both run in one write transaction (``ws.write()``: writers are serialised by the ledger lock, and the name is
unique in the database), so two renames at once cannot both take a name or both rename one bank.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select

from idolguard.errors import ErrorCode, IdolGuardError
from idolguard.evidence.actions import MATCH_STAGES, Action
from idolguard.signals.banks import check_name, fold_matches, get_bank, official_owner
from idolguard.signals.models import Bank, BankEntry, EntryHit, OfficialItem
from idolguard.signals.official import PREFIX as OFFICIAL_PREFIX  # the names of artists' official collections
from idolguard.signals.store import INDEXED, IndexStore, bump_revision, current_revision
from idolguard.workspace import Workspace

TRIAGE_BANK = "known_abuse"  # ``web.triage.add_to_known_abuse``'s bank (kind ``known_abuse``)


@dataclass
class Renamed:
    old: str
    new: str
    kind: str
    entries: int


@dataclass
class Deleted:
    name: str
    kind: str
    entries: int


def _refuse_managed(bank: Bank) -> None:
    """An artist's official collection is found by its name: refuse (``bank.managed``) to rename or delete it."""
    owner = official_owner(bank.description)
    if bank.kind == "negative" and bank.name.startswith(OFFICIAL_PREFIX) and owner is not None:
        raise IdolGuardError(
            f"bank {bank.name!r} is the official collection of {owner}, which `artists official` finds by its "
            "name: it is not renamed or deleted here (use `artists official remove`, or `bank remove` for a "
            "collection whose artist is gone)",
            code=ErrorCode.BANK_MANAGED,
            name=bank.name,
            artist=owner,
        )


def refuse_reserved(name: str, kind: str) -> None:
    """Refuse a new name (``bank create``, ``bank rename``) other code would take for a bank it manages."""
    if name.startswith(OFFICIAL_PREFIX):
        raise IdolGuardError(
            f"bank names starting with {OFFICIAL_PREFIX!r} are kept for artists' official collections "
            f"(`artists official add`): choose another name than {name!r}",
            code=ErrorCode.BANK_NAME_OFFICIAL,
            name=name,
        )
    if name == TRIAGE_BANK and kind != "known_abuse":
        raise IdolGuardError(
            f"{name!r} is the bank the web triage adds confirmed abuse to: only a known_abuse bank may have "
            f"that name (this one is {kind})",
            code=ErrorCode.BANK_NAME_TRIAGE,
            name=name,
            kind=kind,
        )


def rename_bank(ws: Workspace, old: str, new: str, *, reason: str | None = None) -> Renamed:
    """Give the bank ``old`` the name ``new`` (checked like a new bank's name), with a ``bank.rename`` event."""
    check_name(new)
    with ws.write() as (session, ledger):
        bank = get_bank(session, old)
        _refuse_managed(bank)
        refuse_reserved(new, bank.kind)
        taken = session.execute(select(Bank.id).where(Bank.name == new)).scalar_one_or_none()
        if taken is not None:
            raise IdolGuardError(f"bank {new!r} already exists", code=ErrorCode.BANK_EXISTS, name=new)
        entries = int(
            session.execute(select(func.count(BankEntry.id)).where(BankEntry.bank_id == bank.id)).scalar_one()
        )
        bank.name = new
        session.flush()
        ledger.append(
            Action.BANK_RENAME,
            details={"bank": old, "new_name": new, "kind": bank.kind, "entries": entries, "reason": reason},
        )
        return Renamed(old, new, bank.kind, entries)


def delete_bank(ws: Workspace, name: str, *, force: bool = False, reason: str | None = None) -> Deleted:
    """Delete a bank and its entries, with a ``bank.delete`` event; refused for an official collection, for a
    bank with entries unless ``force`` (which needs a ``reason``: the entries go, the event says why), and always
    for one with recorded matches (kept as evidence), after stored results not yet counted are folded into hits.

    The event lists what went: the bank's id (names are reusable after a rename or delete), the entry ids and a
    SHA-256 over the sorted ``signal_type<TAB>value`` lines (``entries_sha256``), so a kept export or an earlier
    ``bank show`` can be checked against it."""
    if force and not (reason or "").strip():
        raise IdolGuardError(
            "--force needs --reason: deleting entries is recorded in the custody ledger with why",
            code=ErrorCode.BANK_FORCE_REASON,
            name=name,
        )
    with ws.write() as (session, ledger):
        bank = get_bank(session, name)
        _refuse_managed(bank)
        fold_matches(session, ledger)  # a match stored but not yet counted is a recorded match too
        doomed = list(
            session.execute(
                select(BankEntry.id, BankEntry.signal_type, BankEntry.value)
                .where(BankEntry.bank_id == bank.id)
                .order_by(BankEntry.id)
            ).tuples()
        )
        if doomed and not force:
            raise IdolGuardError(
                f"bank {name!r} still holds {len(doomed)} entries: nothing was deleted (add --force to delete them "
                f"with the bank, or `idolguard bank disable {name}` to stop its matching and keep them)",
                code=ErrorCode.BANK_NOT_EMPTY,
                name=name,
                entries=len(doomed),
            )
        ids = [entry_id for entry_id, _kind, _value in doomed]
        hits = _hits(session, bank.id)
        results = _results_naming(session, bank, set(ids))
        if hits or results:
            raise IdolGuardError(
                f"bank {name!r} has recorded matches ({hits} item(s) matched its entries, {results} stored scan "
                f"result(s) name it): they are kept as evidence, so the bank was not deleted; "
                f"`idolguard bank disable {name}` stops its matching and keeps everything",
                code=ErrorCode.BANK_HAS_MATCHES,
                name=name,
                hits=hits,
                results=results,
            )
        old_revision = current_revision(session)
        for start in range(0, len(ids), 900):
            session.execute(delete(BankEntry).where(BankEntry.id.in_(ids[start : start + 900])))
        session.execute(delete(OfficialItem).where(OfficialItem.bank_id == bank.id))
        kind, bank_id = bank.kind, bank.id
        session.delete(bank)
        new_revision = bump_revision(session)
        ledger.append(
            Action.BANK_DELETE,
            details={
                "bank": name,
                "bank_id": bank_id,
                "kind": kind,
                "entries_removed": len(ids),
                "entry_ids": ids,
                "entries_sha256": entries_digest((t, v) for _i, t, v in doomed),
                "forced": force,
                "reason": reason,
            },
        )
    store = IndexStore(ws)
    for indexed in INDEXED:
        store.apply(indexed, old_revision, new_revision, [], [i for i, t, _v in doomed if t == indexed])
    return Deleted(name, kind, len(ids))


def entries_digest(entries: Iterable[tuple[str, str]]) -> str:
    """SHA-256 over the sorted ``signal_type<TAB>value`` lines (UTF-8, each ending in a newline) of entries:
    what a deleted bank held, in its ``bank.delete`` event, without copying every hash into the ledger."""
    digest = hashlib.sha256()
    for signal_type, value in sorted(entries):
        digest.update(f"{signal_type}\t{value}\n".encode())
    return digest.hexdigest()


def _hits(session: Any, bank_id: int) -> int:
    """Items recorded as having matched an entry of the bank (``signal_entry_hits``, what incidents build on)."""
    query = (
        select(func.count(func.distinct(EntryHit.item_sha256)))
        .join(BankEntry, BankEntry.id == EntryHit.entry_id)
        .where(BankEntry.bank_id == bank_id)
    )
    return int(session.execute(query).scalar_one())


def _results_naming(session: Any, bank: Bank, entry_ids: set[int]) -> int:
    """Stored match results (``match``, ``face_match``, ``source_attribution``; folded into hits or not yet)
    that name the bank or one of its entries. Erring on the side of keeping: a result naming the bank's name
    (also an earlier bank's of that name) or one of its official items counts."""
    from idolguard.db.models import StageResult

    items = set(
        session.execute(
            select(BankEntry.source_item).where(BankEntry.bank_id == bank.id, BankEntry.source_item.is_not(None))
        ).scalars()
    )
    rows = session.execute(
        select(StageResult.output)
        .where(StageResult.stage.in_(MATCH_STAGES), StageResult.status == "ok")
        .execution_options(yield_per=1000)
    ).scalars()
    found = 0
    for output in rows:
        found += any(_names(row, bank.name, entry_ids, items) for row in _dicts(output))
    return found


def _names(row: dict[str, Any], name: str, entry_ids: set[int], items: set[str]) -> bool:
    """Whether one match (or attribution row) of a stored output is of the bank. A row naming an entry id is
    the bank's exactly when the entry is: the name it carries is the bank's name when it was computed, which a
    rename may since have given to another bank (review A, finding 5). Only a row without an entry id is
    matched by name (or official item)."""
    entry, item = row.get("entry"), row.get("official_item")
    if isinstance(entry, int):
        return entry in entry_ids
    return row.get("bank") == name or (entry is None and isinstance(item, str) and item in items)


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    """Every mapping inside a stored output (matches, face matches and attribution rows sit at various depths)."""
    if isinstance(value, dict):
        yield value
        for inner in value.values():
            yield from _dicts(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _dicts(inner)
