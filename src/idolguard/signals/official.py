"""An artist's official collection: the photos and video keyframes source-face attribution searches.

``artists official add ARTIST FILES...`` is the one command an agency needs: the files are preserved as
evidence and banked in the artist's own ``negative`` bank (``official.NAME``; official media is never
reported as abuse) with the inner-face hashes (``pdq_inner``) scans search for copied faces. The bank is
an ordinary bank (``bank show``, ``hashes export`` work on it); its description names the artist's id, so
a bank that merely has the same name is never taken for it.

Refused per file, with nothing lost (the file stays in the vault as evidence either way): a file that is not
a readable photo or video, one with no face to attribute against, and one already in the collection. "Already
there" is decided by the database: each official item is a row of ``signal_official_items`` (primary key bank +
item) written in the transaction that banks its hashes, so two runs adding the same file at once cannot both
succeed; the one that loses is told "already there", as a later run would be.

A run racing ``artists remove`` of its artist ends consistently either way: the bank is made, and each file
banked, in write transactions that first check the artist is still the one the run looked up (``ArtistGone``
otherwise: no bank is made for nobody, and the file's record says so); writers are serialised, so a removal
that comes after a file was banked finds the collection and refuses.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from idolguard.db.models import Item
from idolguard.errors import IdolGuardError
from idolguard.evidence.actions import Action
from idolguard.gallery.messages import say
from idolguard.gallery.models import Artist
from idolguard.gallery.store import official_marker, owns_official_bank, require_artist
from idolguard.signals.models import Bank, BankEntry, OfficialItem
from idolguard.workspace import Workspace

PREFIX = "official."


def bank_name(artist_name: str) -> str:
    """``official.`` + the artist's name with anything a bank name cannot hold replaced by ``_``."""
    return PREFIX + re.sub(r"[^\w.-]", "_", artist_name.strip())[:100]


def _marker(artist_id: int) -> str:
    return official_marker(artist_id)  # the gallery reads it too (``artists remove``)


def _description(artist_name: str, artist_id: int) -> str:
    return f"Official media of {artist_name} {_marker(artist_id)}: source-face attribution (artists official add)"


def _artist(ws: Workspace, name: str) -> tuple[int, str]:
    with ws.sessions() as session:
        artist = require_artist(session, name)
        return artist.id, artist.name


@dataclass(frozen=True)
class _Enrolled:
    """The artist a run adds files for, as it found them: id, name and enrolment time. The time tells this
    artist from one enrolled after their removal that SQLite gave the same id."""

    id: int
    name: str
    created_at: datetime


class ArtistGone(IdolGuardError):
    """The artist (or their official collection's bank) was removed while an ``official add`` run was adding
    files for them: nothing more is added, and no bank is made for an artist who is no longer enrolled."""


def _enrolled(ws: Workspace, name: str) -> _Enrolled:
    with ws.sessions() as session:
        artist = require_artist(session, name)
        return _Enrolled(artist.id, artist.name, artist.created_at)


def _still_enrolled(session: Any, who: _Enrolled, bank_id: int | None = None) -> None:
    """Refuse (``ArtistGone``) unless the run's artist is still enrolled (the same enrolment) and, given
    ``bank_id``, that bank is still their collection. Called inside write transactions: writers are
    serialised, so what it finds holds until the transaction commits (``artists remove`` waits, then sees the
    collection and refuses)."""
    artist = session.get(Artist, who.id)
    gone = artist is None or artist.created_at != who.created_at
    if not gone and bank_id is not None:
        current = session.execute(select(Bank.id).where(Bank.name == bank_name(who.name))).scalar_one_or_none()
        gone = current != bank_id
    if gone:
        raise ArtistGone(say("official_artist_gone", artist=who.name))


def _collection(ws: Workspace, who: _Enrolled) -> int:
    """The id of the artist's official bank, made if they have none. The bank is made in a write transaction
    that first checks the artist is still enrolled: a run whose artist was removed after it looked them up
    makes no bank (it would stay behind, empty, for nobody, and refuse the name to a later enrolment). Two runs
    making it at once: the second finds the first's under the lock."""
    from idolguard.signals.banks import new_bank

    with ws.sessions() as session:
        bank = _bank(session, who.id, who.name)
        if bank is not None:
            return bank.id
    with ws.write() as (session, ledger):
        _still_enrolled(session, who)
        bank = _bank(session, who.id, who.name)
        if bank is None:
            bank = new_bank(
                session, ledger, ws.actor, bank_name(who.name), "negative", description=_description(who.name, who.id)
            )
        bank_id: int = bank.id
    return bank_id


def _bank(session: Any, artist_id: int, artist_name: str) -> Bank | None:
    """The artist's official bank, or None; a same-named bank that is not theirs (another bank, or one left by
    a removed artist: ``owns_official_bank``) is refused."""
    bank: Bank | None = session.execute(select(Bank).where(Bank.name == bank_name(artist_name))).scalar_one_or_none()
    if bank is None:
        return None
    artist = session.get(Artist, artist_id)
    if bank.kind != "negative" or artist is None or not owns_official_bank(artist, bank.description, bank.created_at):
        raise IdolGuardError(say("official_bank_taken", bank=bank.name, artist=artist_name))
    return bank


def _official_banks(session: Any) -> dict[int, str]:
    """{bank id: artist name} of every official collection."""
    rows = session.execute(
        select(Bank.id, Bank.description).where(Bank.kind == "negative", Bank.name.like(PREFIX + "%"))
    )
    found = {}
    for bank_id, description in rows.tuples():
        match = re.match(r"Official media of (.*) \(artist #\d+\):", description or "")
        if match:
            found[bank_id] = match.group(1)
    return found


def add_official(ws: Workspace, artist: str, paths: list[Path]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Add photos/videos (files or folders) to an artist's official collection; one record per file."""
    from idolguard.intake.ingest import Ingestor, SightingInfo
    from idolguard.pipeline.runner import analyze
    from idolguard.signals.banks import add_entries
    from idolguard.signals.entries import entries_for_item

    who = _enrolled(ws, artist)
    artist_name, name = who.name, bank_name(who.name)
    bank_id = _collection(ws, who)
    info = SightingInfo(note=f"official media of {artist_name}", purpose="bank_reference")
    results = list(Ingestor(ws, info).ingest(paths))
    analyze(ws, list(dict.fromkeys(r.sha256 for r in results if r.sha256 and not r.error)), stage_names=["signals"])
    records: list[dict[str, Any]] = []
    gone: ArtistGone | None = None
    for result in results:
        record: dict[str, Any] = {
            "path": result.path,
            "sha256": result.sha256,
            "media_type": result.media_type,
            "error": result.error,
            "duplicate": False,
            "faces": 0,
            "entries": 0,
            "notes": [],
        }
        records.append(record)
        if gone is not None:  # the artist went while this run was adding: nothing more is added for them
            record["error"] = str(gone)
            continue
        if result.error or not result.sha256:
            continue
        sha = result.sha256
        with ws.sessions() as session:
            try:
                _still_enrolled(session, who, bank_id)
            except ArtistGone as exc:
                gone, record["error"] = exc, str(exc)
                continue
            left = _left_behind(session, bank_id, sha)
        if left:
            _forget_if_left(ws, bank_id, sha, artist_name, name)
        with ws.sessions() as session:
            first = _already_there(session, bank_id, sha)
            others = sorted(
                {
                    owner
                    for bank_of, owner in _official_banks(session).items()
                    if bank_of != bank_id
                    and session.execute(
                        select(BankEntry.id).where(BankEntry.bank_id == bank_of, BankEntry.source_item == sha).limit(1)
                    ).first()
                }
            )
        if first is not None:
            _mark_duplicate(record, artist_name, first)
            continue
        if result.media_type not in ("image", "video"):
            record["error"] = say("official_not_media", reason=result.mime or result.media_type or "unknown type")
            continue
        try:
            entries, notes = entries_for_item(ws, sha, None, official=True)
        except Exception as exc:  # noqa: BLE001 - a file that does not decode: said per file, the rest go on
            record["error"] = say("official_not_media", reason=str(exc) or type(exc).__name__)
            continue
        inner = [e for e in entries if e.signal_type == "pdq_inner"]
        if not inner:
            record["error"] = say("official_no_face")
            continue
        kinds = dict(Counter(e.signal_type for e in entries))
        record.update(
            {
                "faces": len({e.note for e in inner}),
                "pdq_inner": kinds.get("pdq_inner", 0),
                "notes": [*notes, *([say("official_other_artist", others=", ".join(others))] if others else [])],
            }
        )

        def official_event(
            ledger: Any, report: Any, record: dict[str, Any] = record, path: str = result.path, bank_id: int = bank_id
        ) -> None:
            # In the bank's own transaction: the entries, the item's row and this event exist together or not at
            # all. The row's primary key refuses a second copy of the item (a run that raced this one); an artist
            # removed while this run hashed gets no collection (writes are serialised, so this check holds).
            _still_enrolled(ledger.session, who, bank_id)
            ledger.session.add(OfficialItem(bank_id=bank_id, item_sha256=record["sha256"], added_by=ws.actor))
            ledger.session.flush()
            record["entries"] = len(report.added)
            ledger.append(
                Action.GALLERY_OFFICIAL_ADD,
                item=record["sha256"],
                details={
                    "artist": artist_name,
                    "bank": name,
                    "name": Path(path).name,
                    "media_type": record["media_type"],
                    "faces": record["faces"],
                    "pdq_inner": record["pdq_inner"],
                    "entries": record["entries"],
                },
            )

        try:
            add_entries(ws, name, entries, event_details={"item": sha, "case": None}, then=official_event)
        except ArtistGone as exc:  # removed while this file was hashed: everything of ours rolled back
            gone, record["error"] = exc, str(exc)
            _unadded(record)
        except IdolGuardError:
            # ``add_entries`` found no bank of that name: removed with the artist while this file was hashed?
            with ws.sessions() as session:
                try:
                    _still_enrolled(session, who, bank_id)
                except ArtistGone as exc:
                    gone, record["error"] = exc, str(exc)
                    _unadded(record)
                    continue
            raise
        except IntegrityError:
            # Another run added this file between our check and our transaction (everything of ours rolled back).
            with ws.sessions() as session:
                first = _already_there(session, bank_id, sha)
            if first is None:
                raise
            _unadded(record)
            _mark_duplicate(record, artist_name, first)
    return {"artist": artist_name, "bank": name}, records


def _unadded(record: dict[str, Any]) -> None:
    """A record whose banking transaction rolled back: nothing of it was added."""
    record.update({"faces": 0, "entries": 0, "notes": []})
    record.pop("pdq_inner", None)


def _forget_if_left(ws: Workspace, bank_id: int, sha: str, artist_name: str, bank: str) -> None:
    """An item row whose hashes are all gone from the bank: left by a ``bank remove`` from before it took items
    out of the collection with their last entry (it kept the row, so the file was "already there" for good).
    The row goes and the ledger says the item left (``via``: ``repair``, nothing removed now), then the file
    is added as any other. In a write transaction: writes are serialised, so a run adding the file at this
    moment has either committed its entries (the row is not stale) or not yet inserted its row."""
    with ws.write() as (session, ledger):
        if not _left_behind(session, bank_id, sha):
            return
        session.execute(delete(OfficialItem).where(OfficialItem.bank_id == bank_id, OfficialItem.item_sha256 == sha))
        ledger.append(
            Action.GALLERY_OFFICIAL_REMOVE,
            item=sha,
            details={"artist": artist_name, "bank": bank, "entries_removed": 0, "reason": None, "via": "repair"},
        )


def _left_behind(session: Any, bank_id: int, sha: str) -> bool:
    """Whether the item has a row in the collection but no hash left in its bank."""
    if _already_there(session, bank_id, sha) is None:
        return False
    entry = select(BankEntry.id).where(BankEntry.bank_id == bank_id, BankEntry.source_item == sha).limit(1)
    return session.execute(entry).first() is None


def _already_there(session: Any, bank_id: int, sha: str) -> tuple[Any, str] | None:
    """(when, by whom) the item entered this collection, or None."""
    row = session.execute(
        select(OfficialItem.added_at, OfficialItem.added_by).where(
            OfficialItem.bank_id == bank_id, OfficialItem.item_sha256 == sha
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


def _mark_duplicate(record: dict[str, Any], artist_name: str, first: tuple[Any, str]) -> None:
    record["duplicate"] = True
    added, by = first
    record["notes"].append(say("official_duplicate", artist=artist_name, added=added.date().isoformat(), by=by))


def list_official(ws: Workspace, artist: str | None = None) -> list[dict[str, Any]]:
    """One row per official item (newest last): artist, bank, item, name, media type, faces, when and by whom."""
    wanted: int | None = None
    if artist is not None:
        wanted, _name = _artist(ws, artist)
    rows: list[dict[str, Any]] = []
    with ws.sessions() as session:
        banks = _official_banks(session)
        for bank_id, owner in sorted(banks.items(), key=lambda kv: kv[1].casefold()):
            bank = session.get(Bank, bank_id)
            if bank is None or (wanted is not None and not _owned_by(session, wanted, bank)):
                continue
            entries = session.execute(
                select(
                    BankEntry.source_item,
                    func.min(BankEntry.added_at),
                    func.min(BankEntry.added_by),
                    func.count(BankEntry.id),
                )
                .where(BankEntry.bank_id == bank_id, BankEntry.source_item.is_not(None))
                .group_by(BankEntry.source_item)
                .order_by(func.min(BankEntry.id))
            ).tuples()
            for sha, added_at, added_by, count in entries:
                notes = session.execute(
                    select(BankEntry.note)
                    .where(
                        BankEntry.bank_id == bank_id,
                        BankEntry.source_item == sha,
                        BankEntry.signal_type == "pdq_inner",
                    )
                    .distinct()
                ).scalars()
                item = session.get(Item, sha)
                rows.append(
                    {
                        "artist": owner,
                        "bank": bank.name,
                        "sha256": sha,
                        "name": item.original_name if item is not None else None,
                        "media_type": item.media_type if item is not None else None,
                        "faces": len(list(notes)),
                        "entries": int(count),
                        "added_at": added_at.isoformat(),
                        "added_by": added_by,
                    }
                )
    return rows


def _owned_by(session: Any, artist_id: int, bank: Bank) -> bool:
    artist = session.get(Artist, artist_id)
    return artist is not None and owns_official_bank(artist, bank.description, bank.created_at)


def official_counts(ws: Workspace) -> dict[str, int]:
    """{artist name: official items} for every enrolled artist with an official collection (web artist list).

    By the artist's id in the bank's description, as ``artists official list`` finds a collection: a bank left
    by a removed artist (``verify`` warns about it) is never counted for someone enrolled later under the same
    name."""
    counts: dict[str, int] = {}
    with ws.sessions() as session:
        for bank_id, description, created_at in session.execute(
            select(Bank.id, Bank.description, Bank.created_at).where(
                Bank.kind == "negative", Bank.name.like(PREFIX + "%")
            )
        ).tuples():
            match = re.search(r"\(artist #(\d+)\)", description or "")
            artist = session.get(Artist, int(match.group(1))) if match else None
            if artist is None or not owns_official_bank(artist, description, created_at):
                continue
            counts[artist.name] = int(
                session.execute(
                    select(func.count(func.distinct(BankEntry.source_item))).where(BankEntry.bank_id == bank_id)
                ).scalar_one()
            )
    return counts


def remove_official(ws: Workspace, artist: str, ref: str, reason: str | None = None) -> dict[str, Any]:
    """Take one item out of an artist's official collection (it stays in the vault); returns what went."""
    from idolguard.signals.banks import invalidate_matches
    from idolguard.signals.store import INDEXED, IndexStore, bump_revision, current_revision

    artist_id, artist_name = _artist(ws, artist)
    rows = list_official(ws, artist_name)
    needle = ref.strip().lower()
    chosen = [r for r in rows if len(needle) >= 8 and r["sha256"].startswith(needle)] or [
        r for r in rows if r["name"] and (r["name"] == ref.strip() or Path(r["name"]).name == ref.strip())
    ]
    if not chosen:
        raise IdolGuardError(say("official_item_not_found", artist=artist_name, ref=ref))
    if len(chosen) > 1:
        raise IdolGuardError(say("official_item_ambiguous", artist=artist_name, ref=ref, count=len(chosen)))
    sha = chosen[0]["sha256"]
    with ws.write() as (session, ledger):
        bank = _bank(session, artist_id, artist_name)
        if bank is None:  # listed a moment ago; removed since by someone else
            raise IdolGuardError(say("official_item_not_found", artist=artist_name, ref=ref))
        old_revision = current_revision(session)
        doomed = list(
            session.execute(
                select(BankEntry.id, BankEntry.signal_type).where(
                    BankEntry.bank_id == bank.id, BankEntry.source_item == sha
                )
            ).tuples()
        )
        if not doomed and _already_there(session, bank.id, sha) is None:
            # Listed a moment ago, removed since by a run that got the lock first: one removal, one event.
            raise IdolGuardError(say("official_item_not_found", artist=artist_name, ref=ref))
        ids = [i for i, _ in doomed]
        for start in range(0, len(ids), 900):
            session.execute(delete(BankEntry).where(BankEntry.id.in_(ids[start : start + 900])))
        session.execute(delete(OfficialItem).where(OfficialItem.bank_id == bank.id, OfficialItem.item_sha256 == sha))
        new_revision = bump_revision(session)
        invalidate_matches(session, ledger)
        ledger.append(
            Action.GALLERY_OFFICIAL_REMOVE,
            item=sha,
            details={"artist": artist_name, "bank": bank.name, "entries_removed": len(ids), "reason": reason},
        )
    store = IndexStore(ws)
    for kind in INDEXED:
        store.apply(kind, old_revision, new_revision, [], [i for i, t in doomed if t == kind])
    return {"artist": artist_name, "bank": bank_name(artist_name), "sha256": sha, "entries_removed": len(ids)}


def retire_official(ws: Workspace, artist: str, reason: str) -> dict[str, Any]:
    """Take an artist's whole official collection out in one transaction (``artists official remove ARTIST
    --all``), what ``artists remove`` asks for first: one ``gallery.official_remove`` event per item (as removing
    them one by one would record), the entries, the item rows and the bank deleted, and ``bank.remove`` last.
    A failure anywhere leaves the collection and the ledger as they were. The vault keeps every file."""
    from idolguard.signals.banks import invalidate_matches
    from idolguard.signals.store import INDEXED, IndexStore, bump_revision, current_revision

    artist_id, artist_name = _artist(ws, artist)
    with ws.write() as (session, ledger):
        bank = _bank(session, artist_id, artist_name)
        if bank is None:
            raise IdolGuardError(say("official_none", artist=artist_name))
        name = bank.name
        old_revision = current_revision(session)
        doomed = list(
            session.execute(
                select(BankEntry.id, BankEntry.signal_type, BankEntry.source_item)
                .where(BankEntry.bank_id == bank.id)
                .order_by(BankEntry.id)
            ).tuples()
        )
        per_item = Counter(sha for _i, _t, sha in doomed if sha)
        for sha, count in per_item.items():  # first-added first
            ledger.append(
                Action.GALLERY_OFFICIAL_REMOVE,
                item=sha,
                details={"artist": artist_name, "bank": name, "entries_removed": count, "reason": reason},
            )
        ids = [i for i, _t, _s in doomed]
        for start in range(0, len(ids), 900):
            session.execute(delete(BankEntry).where(BankEntry.id.in_(ids[start : start + 900])))
        session.execute(delete(OfficialItem).where(OfficialItem.bank_id == bank.id))
        session.delete(bank)
        new_revision = bump_revision(session)
        invalidate_matches(session, ledger)
        ledger.append(
            Action.BANK_REMOVE,
            details={"bank": name, "entry": None, "entries_removed": len(ids), "reason": reason},
        )
    store = IndexStore(ws)
    for kind in INDEXED:
        store.apply(kind, old_revision, new_revision, [], [i for i, t, _s in doomed if t == kind])
    return {"artist": artist_name, "bank": name, "items": list(per_item), "entries_removed": len(ids)}
