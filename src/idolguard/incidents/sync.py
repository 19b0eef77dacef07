"""Fold stored match results into entry hit counters and incidents.

The ``match`` stage runs inside the analysis pipeline, which must not write outside its own results, so the
bookkeeping that follows a match (counting it on the entry, grouping the item into an incident) happens here,
incrementally: ``signal_state['incidents_synced']`` remembers the last stage-result row consumed. Commands
that show counters or incidents call ``sync`` first, so what they print is always current.

Grouping: an incident is one banked piece of content and everything found to be a copy of it. An item that
matches entry E joins the incident of E (opened when an analyst confirmed E's source item as abuse in the web
triage, ``open_for_confirmed``; else on first match, seeded with E's source item, the confirmed original); an
item matching entries of two incidents merges them (the younger points to the older).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import func, select

from idolguard.db.models import Item, StageResult
from idolguard.evidence.actions import Action
from idolguard.incidents.models import Incident, IncidentMember
from idolguard.signals.models import Bank, BankEntry, EntryHit, SignalState
from idolguard.signals.stage import entry_differs
from idolguard.workspace import Workspace

WATERMARK = "incidents_synced"
_log = logging.getLogger(__name__)


# The sentences this module writes into text columns (an incident member's ``reason``, a new incident's
# ``title``), by stable code: the English stays the stored text, and readers get the code and values back with
# ``coded_text.recognise`` so pages say them in the reader's language.
MEMBER_REASONS = {
    "incident.matched_entry": "matched bank entry {entry} ({signal}, distance {distance})",
    "incident.source_item": "source item of bank entry {entry}",
    "incident.confirmed_item": "confirmed as abuse in triage (source item of bank entry {entry})",
}
TITLES = {"incident.copies_of_entry": "copies of bank entry {entry}"}


def root_incident(session: Any, incident_id: int) -> int:
    """The incident ``incident_id`` was merged into, followed to the end (itself when not merged; a cycle or a
    missing incident stops the walk)."""
    seen = set()
    while True:
        incident = session.get(Incident, incident_id)
        if incident is None or incident.merged_into is None or incident_id in seen:
            return incident_id
        seen.add(incident_id)
        incident_id = incident.merged_into


def _incident_of_item(session: Any, sha: str) -> int | None:
    member = session.get(IncidentMember, sha)
    return root_incident(session, member.incident_id) if member else None


def sync(ws: Workspace) -> int:
    """Consume new match results; returns how many items were processed."""
    with ws.write() as (session, ledger):
        return fold(session, ledger)


def fold(session: Any, ledger: Any) -> int:
    """``sync``'s work inside the caller's write transaction (``ws.write()``): every ``match``/``face_match``
    result stored after the watermark becomes entry hits and incident membership, and the watermark moves past
    it. Declared as the incidents area's ``match_folds`` entry: a bank change calls it before it deletes the
    stored results (``signals.banks.invalidate_matches``), so a match a scan recorded is never dropped unseen."""
    processed = 0
    state = session.get(SignalState, WATERMARK)
    if state is None:
        state = SignalState(name=WATERMARK, value=0)
        session.add(state)
        session.flush()
    top = session.execute(select(func.max(StageResult.id))).scalar_one() or 0
    if state.value > top:
        # The rows above were deleted (a bank change drops the stored match results after folding them), and
        # SQLite gives the next row the id after the largest one left: a watermark above it would take a match
        # stored next for folded already. Nothing above ``top`` exists, so nothing is folded twice.
        state.value = top
    rows = session.execute(
        select(StageResult)
        .where(
            StageResult.stage.in_(("match", "face_match")),
            StageResult.status == "ok",
            StageResult.id > state.value,
        )
        .order_by(StageResult.id)
    ).scalars()
    last = state.value
    for row in list(rows):
        last = max(last, row.id)
        matches = [m for m in _matches_of(session, row) if m.get("bank_kind") != "negative"]
        if matches:
            processed += 1
            _record(session, ledger, row.item_sha256, matches, row.created_at)
    state.value = last
    session.flush()
    return processed


def _matches_of(session: Any, row: StageResult) -> list[dict[str, Any]]:
    """The bank matches a stored result stands for. ``face_match`` (face-anchored re-uploads) counts like
    ``match``, with the same veto: an item that matched official media (a negative bank) keeps no
    face-anchored abuse match (``merge_face_matches``)."""
    output = row.output or {}
    if row.stage == "match":
        return list(output.get("matches", []))
    from idolguard.signals.matcher import merge_face_matches

    whole = session.execute(
        select(StageResult.output).where(
            StageResult.item_sha256 == row.item_sha256, StageResult.stage == "match", StageResult.status == "ok"
        )
    ).scalars()
    plain = [m for output_ in whole for m in (output_ or {}).get("matches", [])]
    known = {m["entry"] for m in plain}
    return [m for m in merge_face_matches(plain, output.get("face_matches", [])) if m["entry"] not in known]


def _record(session: Any, ledger: Any, sha: str, matches: list[dict[str, Any]], when: Any) -> None:
    entries: list[BankEntry] = []
    for match in matches:
        entry = session.get(BankEntry, match["entry"])
        bank = session.get(Bank, entry.bank_id) if entry is not None else None
        now = (
            {"signal_type": entry.signal_type, "source_item": entry.source_item, "bank_kind": bank.kind}
            if entry is not None and bank is not None
            else None
        )
        if entry_differs(match, now):
            # Removed since the scan, or its id now another entry's (SQLite reuses a deleted top id): ``bank
            # delete``/``bank remove`` fold first and refuse an entry with hits, and the runner does not store a
            # match naming an entry gone or changed by then (``signals.stage.entries_gone``), so this is a result
            # stored before those checks existed. Said, never skipped silently, and never folded onto another
            # entry (review s8 finding 1); the stored result and its signed analysis event keep naming the bank
            # and entry. The bank's name is not compared: a rename after storing is legitimate.
            _log.warning(
                "item %s matched bank %r entry %s, which no longer exists as matched: no hit recorded",
                sha,
                match.get("bank"),
                match.get("entry"),
            )
            continue
        assert entry is not None
        entries.append(entry)
        if session.get(EntryHit, (entry.id, sha)) is None:
            session.add(
                EntryHit(
                    entry_id=entry.id,
                    item_sha256=sha,
                    signal=match.get("signal", match.get("signal_type", "")),
                    distance=int(match.get("distance") or 0),
                    transform=match.get("transform"),
                    first_matched_at=when,
                )
            )
            entry.match_count = (entry.match_count or 0) + 1
            entry.last_matched_at = when
    if not entries:
        return
    session.flush()
    target = _target(session, ledger, sha, entries)
    best = min(matches, key=lambda m: m.get("distance") or 0)
    reason = MEMBER_REASONS["incident.matched_entry"].format(
        entry=best["entry"], signal=best.get("signal"), distance=best.get("distance")
    )
    for member_sha, why in [(sha, reason)] + [
        (e.source_item, MEMBER_REASONS["incident.source_item"].format(entry=e.id)) for e in entries if e.source_item
    ]:
        _join(session, ledger, member_sha, target, why)


def _target(session: Any, ledger: Any, sha: str, entries: list[BankEntry]) -> int:
    """The incident an item related to ``entries`` belongs in: the oldest of the incidents already touching it
    (its own, those of the entries' source items and earlier hits; the others are merged into it), else a new
    one (recorded)."""
    # Incidents touched: the item's own, and those of every matched entry's source item or earlier hits.
    candidates: set[int] = set()
    own = _incident_of_item(session, sha)
    if own:
        candidates.add(own)
    related_items = {e.source_item for e in entries if e.source_item}
    hit_items = session.execute(
        select(EntryHit.item_sha256).where(EntryHit.entry_id.in_([e.id for e in entries]))
    ).scalars()
    related_items.update(hit_items)
    for other in related_items:
        found = _incident_of_item(session, other)
        if found:
            candidates.add(found)
    if candidates:
        target = min(candidates)
        for other in sorted(candidates - {target}):
            session.get(Incident, other).merged_into = target
            ledger.append(Action.INCIDENT_MERGE, details={"incident": other, "into": target})
    else:
        incident = Incident(title=TITLES["incident.copies_of_entry"].format(entry=entries[0].id), state="open")
        session.add(incident)
        session.flush()
        target = incident.id
        ledger.append(Action.INCIDENT_CREATE, details={"incident": target, "entry": entries[0].id})
    return target


def _join(session: Any, ledger: Any, member_sha: str, target: int, why: str) -> None:
    """Put an item in incident ``target`` (a custody event when it joins; moved silently when its incident was
    merged into ``target``)."""
    if session.get(Item, member_sha) is None:
        return
    member = session.get(IncidentMember, member_sha)
    if member is None:
        session.add(IncidentMember(item_sha256=member_sha, incident_id=target, reason=why))
        session.flush()
        ledger.append(Action.INCIDENT_ADD, item=member_sha, details={"incident": target, "reason": why})
    elif root_incident(session, member.incident_id) != target:
        member.incident_id = target


def open_for_confirmed(ws: Workspace, sha: str, bank: str) -> int | None:
    """The incident of an item an analyst confirmed as abuse and put in ``bank``: the one it is already in, else
    the one its bank entries already lead to, else a new incident with the item as its first member (custody
    events ``incident.create`` and ``incident.add``, like a match's). Returns its id (None when the item or
    its entries are gone).

    Why at confirmation, not at the first match: the analyst asked for "the bank and its incident" and expects
    to find it under /incidents now (to track takedowns from it). Grouping stays the one ``_record`` applies:
    a copy found later matches one of these entries, whose source item is this item, so it joins this
    incident instead of opening a second one. Made under the write lock: two confirmations make one."""
    with ws.write() as (session, ledger):
        if session.get(Item, sha) is None:
            return None
        own = _incident_of_item(session, sha)
        if own:
            return own
        entries = list(
            session.execute(
                select(BankEntry)
                .join(Bank, Bank.id == BankEntry.bank_id)
                .where(BankEntry.source_item == sha, Bank.name == bank)
                .order_by(BankEntry.id)
            ).scalars()
        )
        if not entries:
            return None
        target = _target(session, ledger, sha, entries)
        why = MEMBER_REASONS["incident.confirmed_item"].format(entry=entries[0].id)
        _join(session, ledger, sha, target, why)
        return target


def incident_count(ws: Workspace) -> int:
    with ws.sessions() as session:
        return int(session.execute(select(func.count(Incident.id)).where(Incident.merged_into.is_(None))).scalar_one())
