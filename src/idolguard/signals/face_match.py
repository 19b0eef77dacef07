"""Face-anchored matching: face hashes propose banked pictures, geometric verification decides.

Only entries whose banked original is in the vault can be verified (the original's pixels are needed), so
face-anchored hashes are added for items banked from files, never imported from partners or exported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from idolguard.config import Limits
from idolguard.signals import face_anchor, verify
from idolguard.signals.matcher import Candidate, resolve
from idolguard.signals.models import BankEntry
from idolguard.signals.pdq import reference_rgb
from idolguard.signals.store import IndexStore
from idolguard.workspace import Workspace


def luma_of(rgb: np.ndarray) -> np.ndarray:
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return (rgb.astype(np.float32) @ weights).round().clip(0, 255).astype(np.uint8)


def detect_faces(rgb: np.ndarray) -> list[dict[str, Any]] | None:
    """Faces with landmarks from the faces area's detector; None when it is not installed here."""
    try:
        from idolguard.faces.detector import get_detector

        detector = get_detector()
    except Exception:  # noqa: BLE001 - a missing model/package only disables this signal
        return None
    return [{"landmarks": f.landmarks.tolist(), "bbox": list(f.bbox)} for f in detector.detect(rgb)]


def item_face_hashes(path: Path, limits: Limits, faces: list[dict[str, Any]] | None = None, *, jitter: bool = False):  # type: ignore[no-untyped-def]
    """(face hashes, upright luma) of an image file; detects faces itself when ``faces`` is None."""
    rgb = reference_rgb(path, limits)
    if faces is None:
        faces = detect_faces(rgb) or []
    luma = luma_of(rgb)
    return face_anchor.face_hashes(luma, faces, jitter=jitter), luma


def query_jitter(settings: dict[str, Any] | None) -> bool:
    """``[signals] query_jitter`` (default on): hash query faces at nine landmark perturbations too; 2.4x the
    verification candidates for the recall on rotated copies the issue's >= 95% target needs."""
    from idolguard.settings import load as load_settings
    from idolguard.signals.settings import SignalsSettings

    return load_settings(SignalsSettings, settings).query_jitter


def match_faces(
    ws: Workspace,
    face_hashes: list[dict[str, Any]],
    query_luma: np.ndarray,
    store: IndexStore | None = None,
    *,
    already: set[str] | None = None,
) -> list[dict[str, Any]]:
    """Banked pictures whose faces are close to these faces *and* whose pixels verify against the query.

    ``already``: source items the cheap signals matched; they need no (costly) verification or second report.
    """
    if not face_hashes:
        return []
    store = store or IndexStore(ws)
    index = store.get("pdq_face")
    if not len(index):
        return []
    best: dict[int, int] = {}
    for face in face_hashes:
        # The query's own landmark perturbations ("jitter", when hashed with jitter=True) catch copies whose
        # re-detected landmarks moved, e.g. after a small rotation: 5 degree rotations 94.5% -> 98.3% matched.
        # "tight": the face alone (see face_anchor.TIGHT_ZOOM), for copies cropped close to the face.
        tight = (*face.get("tight", []), *face.get("tight_flip", []))
        for value in (face["pdq"], face["pdq_flip"], *face.get("jitter", []), *tight):
            for hit in index.query(value, face_anchor.FACE_THRESHOLD):
                best[hit.entry_id] = min(hit.distance, best.get(hit.entry_id, 999))
    if not best:
        return []
    with ws.sessions() as session:
        rows = (
            session.execute(select(BankEntry.id, BankEntry.source_item).where(BankEntry.id.in_(sorted(best))))
            .tuples()
            .all()
        )
    by_item: dict[str, list[int]] = {}
    for entry_id, source in rows:
        if source and source not in (already or set()):
            by_item.setdefault(source, []).append(entry_id)
    if not by_item:
        return []
    query_features = verify.features(query_luma)
    candidates = []
    for source, entry_ids in by_item.items():
        try:
            with ws.vault.materialize(source) as banked_path:
                banked = luma_of(reference_rgb(banked_path, ws.config.limits))
        except Exception:  # noqa: BLE001 - an unreadable original cannot verify anything
            continue
        result = verify.verify(query_features, banked)
        if not result.verified:
            continue
        entry_id = min(entry_ids, key=lambda i: best[i])
        extra = {
            "verified": {
                "inliers": result.inliers,
                "correlation": result.correlation,
                "scale": result.scale,
                "rotation_deg": result.rotation_deg,
            }
        }
        transform = "flip_horizontal" if result.mirrored else "none"
        candidates.append(Candidate(entry_id, best[entry_id], transform, "pdq_face", extra))
    matches = resolve(ws, candidates)
    for match in matches:
        match["threshold"] = face_anchor.FACE_THRESHOLD
    return matches
