"""Match one item's signals against every enabled bank.

Cheap signals find candidates (exact MD5/SHA-256, PDQ with its dihedral variants, PDQ of normalised crops,
vPDQ frames through the frame index); the database then says which bank each candidate belongs to, whether
it is enabled, and the bank's threshold. A ``negative`` bank (official media) vetoes weaker abuse matches:
when an item is closer to official media than to a banked abuse entry, it is the official picture.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select

from idolguard.signals import vpdq
from idolguard.signals.models import Bank, BankEntry
from idolguard.signals.pdq import DIHEDRAL
from idolguard.signals.store import FRAME_BITS, IndexStore
from idolguard.workspace import Workspace

MAX_QUERY_THRESHOLD = 47  # the index stays exact up to 47 bits (radius 2 per chunk)


@dataclass
class Candidate:
    entry_id: int
    distance: int
    transform: str
    signal: str
    extra: dict[str, Any]


def _thresholds(session: Any) -> tuple[int, int]:
    banks = session.execute(select(Bank).where(Bank.enabled.is_(True))).scalars().all()
    if not banks:
        return -1, -1
    return (
        min(MAX_QUERY_THRESHOLD, max(b.pdq_threshold for b in banks)),
        min(MAX_QUERY_THRESHOLD, max(b.vpdq_frame_threshold for b in banks)),
    )


def match_signals(ws: Workspace, signals: dict[str, Any], store: IndexStore | None = None) -> list[dict[str, Any]]:
    store = store or IndexStore(ws)
    with ws.sessions() as session:
        pdq_threshold, frame_threshold = _thresholds(session)
        if pdq_threshold < 0:
            return []
        candidates: list[Candidate] = []
        exact = [("md5", signals.get("md5")), ("sha256", signals.get("sha256"))]
        clauses = [(BankEntry.signal_type == kind) & (BankEntry.value == value) for kind, value in exact if value]
        if clauses:
            for row in session.execute(select(BankEntry.id, BankEntry.signal_type).where(or_(*clauses))).tuples():
                candidates.append(Candidate(row[0], 0, "none", row[1], {}))
    candidates.extend(_pdq_candidates(store, signals, pdq_threshold))
    candidates.extend(_vpdq_candidates(ws, store, signals, frame_threshold))
    return resolve(ws, candidates)


def _pdq_candidates(store: IndexStore, signals: dict[str, Any], threshold: int) -> Iterable[Candidate]:
    if not signals.get("pdq") or not signals.get("pdq_usable"):
        return []
    index = store.get("pdq")
    if not len(index):
        return []
    best: dict[int, Candidate] = {}

    def offer(candidate: Candidate) -> None:
        current = best.get(candidate.entry_id)
        if current is None or candidate.distance < current.distance:
            best[candidate.entry_id] = candidate

    variants = signals.get("pdq_dihedral") or [signals["pdq"]]
    for name, hex_value in zip(DIHEDRAL, variants, strict=False):
        for hit in index.query(hex_value, threshold):
            offer(Candidate(hit.entry_id, hit.distance, name, "pdq", {}))
    for extra in signals.get("extra_pdq") or []:
        for hit in index.query(extra["pdq"], threshold):
            offer(Candidate(hit.entry_id, hit.distance, "none", extra["signal"], {"box": extra.get("box")}))
    return best.values()


def _vpdq_candidates(ws: Workspace, store: IndexStore, signals: dict[str, Any], threshold: int) -> list[Candidate]:
    frames = signals.get("vpdq_frames")
    if not frames:
        return []
    query = vpdq.prepare([vpdq.VpdqFeature.from_list(f) for f in frames])
    if not query:
        return []
    index = store.get("vpdq")
    if not len(index):
        return []
    owners: set[int] = set()
    for feature in query:
        owners.update(hit.entry_id >> FRAME_BITS for hit in index.query(feature.hex, threshold))
    out = []
    with ws.sessions() as session:
        rows = session.execute(
            select(BankEntry, Bank).join(Bank, Bank.id == BankEntry.bank_id).where(BankEntry.id.in_(sorted(owners)))
        ).tuples()
        for entry, bank in rows:
            banked = [vpdq.VpdqFeature.from_list(f) for f in entry.frames or []]
            result = vpdq.compare(query, banked, bank.vpdq_frame_threshold)
            if not result.is_match(bank.vpdq_match_percent):
                continue
            out.append(
                Candidate(
                    entry.id,
                    int(round(100 - max(result.query_percent, result.compared_percent))),
                    "none",
                    "vpdq",
                    {
                        "query_match_percent": result.query_percent,
                        "compared_match_percent": result.compared_percent,
                        "query_ranges": result.query_ranges,
                        "bank_ranges": result.compared_ranges,
                    },
                )
            )
    return out


def resolve(ws: Workspace, candidates: list[Candidate]) -> list[dict[str, Any]]:
    """Keep candidates whose entry and bank still exist, are enabled and accept the distance."""
    if not candidates:
        return []
    ids = sorted({c.entry_id for c in candidates})
    found: dict[int, tuple[BankEntry, Bank]] = {}
    with ws.sessions() as session:
        for start in range(0, len(ids), 900):
            rows = session.execute(
                select(BankEntry, Bank)
                .join(Bank, Bank.id == BankEntry.bank_id)
                .where(BankEntry.id.in_(ids[start : start + 900]))
            ).tuples()
            found.update({entry.id: (entry, bank) for entry, bank in rows})
    matches: list[dict[str, Any]] = []
    for candidate in sorted(candidates, key=lambda c: (c.distance, c.entry_id)):
        pair = found.get(candidate.entry_id)
        if pair is None:
            continue  # removed (or its bank deleted) since the index was read
        entry, bank = pair
        if not (entry.enabled and bank.enabled):
            continue
        limit = bank.pdq_threshold if candidate.signal in ("pdq", "pdq_trimmed", "pdq_embedded") else None
        if limit is not None and candidate.distance > limit:
            continue
        if any(m["entry"] == entry.id for m in matches):  # one match per entry: the closest signal
            continue
        match = {
            "bank": bank.name,
            "bank_kind": bank.kind,
            "entry": entry.id,
            "distance": candidate.distance,
            "threshold": limit,
            "transform": candidate.transform,
            "signal_type": entry.signal_type,
            "signal": candidate.signal,
            "source_item": entry.source_item,
        }
        match.update(candidate.extra)
        matches.append(match)
    negatives = [m["distance"] for m in matches if m["bank_kind"] == "negative"]
    if negatives:
        veto = min(negatives)
        matches = [m for m in matches if m["bank_kind"] == "negative" or m["distance"] < veto]
    return matches


def merge_face_matches(matches: list[dict[str, Any]], face_matches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add verified face-anchored matches to the cheap-signal matches. A picture that matched official media
    (a ``negative`` bank) keeps no face-anchored abuse match: the face of an official photo is the artist's
    real face, and only the whole-picture evidence can tell a copy of the official photo from abuse."""
    known = {m["entry"] for m in matches}
    vetoed = any(m["bank_kind"] == "negative" for m in matches + face_matches)
    merged = list(matches)
    for match in face_matches:
        if match["entry"] in known or (vetoed and match["bank_kind"] != "negative"):
            continue
        merged.append(match)
    return merged
