"""Source-face attribution during scans: was a suspect face copied from one of the artist's official photos?

The official collection is the ``negative`` banks (official media that must never be reported as abuse):
``bank add`` gives each official face nine inner-face PDQs (``pdq_inner`` entries). For each face the
``faces`` stage found in a scanned picture, the inner-face crop (``source_attribution.inner_face``) is
hashed; banked official pictures within ``CANDIDATE_BITS`` are re-read from the vault, their faces
re-detected, and each candidate face pair is verified with ORB + RANSAC on the aligned inner crops
(``source_attribution.verify_copy``). A verified pair is reported as "face copied from official item X"
with the verification figures, and the aligned pair is kept as a derived file (shown blurred).

The figures behind the thresholds (recall on pasted faces, false attributions on other photos of the same
people) are in docs/BENCHMARKS.md (``bench/detector_attribution.py``).
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from sqlalchemy import select

from idolguard.signals.models import Bank, BankEntry
from idolguard.signals.store import IndexStore
from idolguard.workspace import Workspace

MAX_ITEMS = 20  # official pictures verified per suspect face (nearest first)


def _png(gray: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(gray).save(buffer, "PNG")
    return buffer.getvalue()


def _candidates(ws: Workspace, store: IndexStore, hashes: list[str]) -> list[tuple[str, str, int, int]]:
    """(official item, bank name, banked face index, best distance) within ``CANDIDATE_BITS``, nearest first."""
    from idolguard.source_attribution import CANDIDATE_BITS

    index = store.get("pdq_inner")
    if not len(index):
        return []
    best: dict[int, int] = {}
    for value in hashes:
        for hit in index.query(value, CANDIDATE_BITS):
            best[hit.entry_id] = min(hit.distance, best.get(hit.entry_id, 999))
    if not best:
        return []
    with ws.sessions() as session:
        rows = session.execute(
            select(BankEntry.id, BankEntry.source_item, BankEntry.note, Bank.name)
            .join(Bank, Bank.id == BankEntry.bank_id)
            .where(
                BankEntry.id.in_(sorted(best)),
                BankEntry.enabled.is_(True),
                Bank.enabled.is_(True),
                Bank.kind == "negative",
            )
        ).tuples()
        found: dict[tuple[str, int], tuple[str, int]] = {}
        for entry_id, item, note, bank in rows:
            if not item:
                continue
            face = int(str(note).rsplit(" ", 1)[-1]) if note and str(note).startswith("face ") else -1
            key = (item, face)
            if key not in found or best[entry_id] < found[key][1]:
                found[key] = (bank, best[entry_id])
    ordered = sorted(found.items(), key=lambda kv: kv[1][1])
    return [(item, bank, face, distance) for (item, face), (bank, distance) in ordered]


def attribute_faces(
    ws: Workspace,
    store: IndexStore,
    luma: np.ndarray,
    faces: list[dict[str, Any]],
    own_sha256: str,
    add_pair: Any = None,
) -> list[dict[str, Any]]:
    """Verified official sources of each face (best first per face). ``add_pair(png) -> sha256`` keeps the
    aligned pair (``StageContext.add_derived``); None keeps nothing."""
    from idolguard.signals.face_match import detect_faces, luma_of
    from idolguard.signals.pdq import reference_rgb
    from idolguard.source_attribution import inner_face, pair_image, query_hashes, verify_copy

    official_faces: dict[str, list[tuple[int, np.ndarray]]] = {}
    results: list[dict[str, Any]] = []
    for face in faces:
        crop = inner_face(luma, face.get("landmarks") or [])
        if crop is None:
            continue
        seen: set[str] = set()
        found: list[dict[str, Any]] = []
        for item, bank, banked_face, distance in _candidates(ws, store, query_hashes(crop)):
            if item == own_sha256:
                continue  # the official picture itself (scanned again): nothing was copied
            if item not in seen and len(seen) >= MAX_ITEMS:
                continue
            seen.add(item)
            if item not in official_faces:
                try:
                    with ws.vault.materialize(item) as path:
                        rgb = reference_rgb(path, ws.config.limits)
                except Exception:  # noqa: BLE001 - an unreadable original cannot verify anything
                    official_faces[item] = []
                    continue
                official_luma = luma_of(rgb)
                crops = []
                for k, detected in enumerate(detect_faces(rgb) or []):
                    official_crop = inner_face(official_luma, detected["landmarks"])
                    if official_crop is not None:
                        crops.append((k, official_crop))
                official_faces[item] = crops
            for k, official_crop in official_faces[item]:
                if banked_face >= 0 and k != banked_face:
                    continue
                figures = verify_copy(crop, official_crop)
                if not figures.pop("copied"):
                    continue
                row: dict[str, Any] = {
                    "face": int(face.get("index", len(results))),
                    "official_item": item,
                    "bank": bank,
                    "official_face": k,
                    "pdq_distance": distance,
                    **{key: _plain(value) for key, value in figures.items()},
                }
                if add_pair is not None:
                    row["pair_sha256"] = add_pair(_png(pair_image(crop, official_crop)))
                found.append(row)
        results += sorted(found, key=lambda r: -int(r["inliers"]))
    return results


def _plain(value: Any) -> Any:
    if isinstance(value, (np.floating, float)):
        return round(float(value), 4)
    if isinstance(value, (np.integer, np.bool_)):
        return value.item()
    return value
