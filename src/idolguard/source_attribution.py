"""Source-face attribution: was this suspect face copied from one of the artist's official photos?

Face swaps of idols are usually built from the artist's official photos and videos. When the swapped-in
face still carries the official picture's pixels (same pose, expression, lighting, skin texture), finding
that picture is evidence no detector score gives: it names the copyrighted source (useful for a DMCA
notice) and shows the face was transplanted.

How (small on purpose, reusing the faces and signals areas):

1. Inner-face crop: the five YuNet landmarks are aligned onto the ArcFace template at a *tight* zoom
   (brows to chin, cheek to cheek), so hair, background and body, which a swap replaces, are left out.
   (``signals.face_anchor`` hashes a wider, zoomed-out crop for re-post matching; that crop changes when
   the face lands on another photo, which is exactly the case here.)
2. Candidates: PDQ (``signals.pdq``) of the inner crop, the banked side hashed at nine landmark
   perturbations (``signals.face_anchor.jittered``) as the re-post matcher does, within ``CANDIDATE_BITS``.
3. Verification on the aligned inner crops with ORB keypoints and a RANSAC similarity
   (``signals.verify``): copied pixels give a hundred or more consistent keypoint matches under a
   near-identity map (both crops are aligned on the same landmarks); another face, or another photo of
   the same person, gives a few dozen at most (``MIN_INLIERS``, ``MIN_INLIER_RATIO``, ``MAX_SCALE_DIFF``).
   The whole-picture correlation check of ``signals.verify`` is not used: a swap keeps the face, not the
   hair and background the crop also shows.

The figures behind the thresholds come from ``bench/detector_attribution.py`` (recall on pasted faces and
false attributions on unrelated photos of the same people). Only unmodified photos and pastes between
*generated* (non-existent) faces are used there: we build no face swap of a real person, even for a test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from idolguard.signals.face_anchor import jittered
from idolguard.signals.pdq import hash_array_dihedral

SIZE = 224
ZOOM = 1.3  # template scale: > 1 zooms in on the inner face (eyes, nose, mouth, cheeks)
CANDIDATES = 50  # official faces verified per suspect face, nearest by inner-face PDQ first
CANDIDATE_BITS = 100  # ... and only those within this many bits (random inner faces lie ~128 bits apart)
MIN_INLIERS = 60
MIN_INLIER_RATIO = 0.5
MAX_SCALE_DIFF = 0.15
MAX_ROTATION_DEG = 8.0
MIN_EYE_DISTANCE = 16.0


def inner_face(luma: np.ndarray, landmarks: Any) -> np.ndarray | None:
    """The aligned ``SIZE`` x ``SIZE`` inner-face luma crop, or None for a face too small to compare."""
    from idolguard.faces.align import TEMPLATE_112, similarity_transform

    points = np.asarray(landmarks, dtype=np.float64).reshape(-1, 2)
    if points.shape != (5, 2) or np.linalg.norm(points[1] - points[0]) < MIN_EYE_DISTANCE:
        return None
    template = (TEMPLATE_112 - 56.0) * ZOOM * (SIZE / 112.0) + SIZE / 2.0
    matrix = similarity_transform(points, template)
    return cv2.warpAffine(
        np.ascontiguousarray(luma), matrix, (SIZE, SIZE), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE
    )


def _hash_bits(h: Any) -> np.ndarray:
    if isinstance(h, str):
        return np.unpackbits(np.frombuffer(bytes.fromhex(h), dtype=np.uint8))
    return np.unpackbits(np.asarray(h, dtype=np.uint8))


def _pdq(crop: np.ndarray) -> np.ndarray:
    variants, _quality = hash_array_dihedral(crop)
    return _hash_bits(variants[0])


def inner_hashes(luma: np.ndarray, landmarks: Any) -> list[str]:
    """Hex PDQs of the inner-face crop at nine landmark perturbations (what an official face is banked as:
    a ``pdq_inner`` entry each); empty for a face too small to compare."""
    points = np.asarray(landmarks, dtype=np.float64).reshape(-1, 2)
    if inner_face(luma, points) is None:
        return []
    crops = [inner_face(luma, p) for p in jittered(points)]
    return list(dict.fromkeys(hash_array_dihedral(c)[0][0] for c in crops if c is not None))


def query_hashes(crop: np.ndarray) -> list[str]:
    """Hex PDQs a suspect inner-face crop is searched with: as is and mirrored (dihedral variant 5)."""
    variants, _quality = hash_array_dihedral(crop)
    return [variants[0], variants[5]]


def pair_image(query: np.ndarray, official: np.ndarray) -> np.ndarray:
    """The aligned suspect crop and the official crop side by side (grey, 8 px gap): the figure a reviewer
    checks by eye. Shown only blurred in reports; the sharp pair needs a reveal."""
    gap = np.full((SIZE, 8), 255, dtype=np.uint8)
    return np.concatenate([query, gap, official], axis=1)


def query_features(query: np.ndarray) -> tuple[Any, Any]:
    """(features, mirrored features) of an aligned suspect crop: computed once, checked against many."""
    from idolguard.signals.verify import features

    return features(query), features(np.ascontiguousarray(query[:, ::-1]))


def verify_copy(query: Any, official: Any) -> dict[str, Any]:
    """ORB + RANSAC between an aligned suspect crop (or its ``query_features``) and an official one (or its
    ``signals.verify.Features``)."""
    from idolguard.signals.verify import features, verify

    if isinstance(query, tuple):
        plain, mirrored = query
    else:
        plain, mirrored = query, None
    bank = official if not isinstance(official, np.ndarray) else features(official)
    result = verify(plain, bank, mirror=True, query_mirrored=mirrored)
    ratio = result.inliers / result.matches if result.matches else 0.0
    near_identity = (
        result.scale is not None
        and abs(result.scale - 1.0) <= MAX_SCALE_DIFF
        and abs(result.rotation_deg or 0.0) <= MAX_ROTATION_DEG
    )
    copied = result.inliers >= MIN_INLIERS and ratio >= MIN_INLIER_RATIO and near_identity
    return {
        "copied": bool(copied),
        "inliers": result.inliers,
        "matches": result.matches,
        "inlier_ratio": round(ratio, 3),
        "scale": result.scale,
        "rotation_deg": result.rotation_deg,
        "mirrored": result.mirrored,
    }


@dataclass
class OfficialFace:
    source: str  # what the agency calls the official item (path, vault sha256, catalogue number)
    face: int
    crop: np.ndarray
    hashes: list[np.ndarray] = field(default_factory=list)
    keypoints: Any = None  # signals.verify.Features of the crop, computed once


class OfficialCollection:
    """Inner-face crops and hashes of an agency's official photos, searched for copied faces."""

    def __init__(self) -> None:
        self.faces: list[OfficialFace] = []

    def add(self, source: str, luma: np.ndarray, faces: list[dict[str, Any]]) -> int:
        """Add the faces of one official picture (``faces``: dicts with ``landmarks``); returns how many."""
        added = 0
        for index, face in enumerate(faces):
            landmarks = np.asarray(face.get("landmarks") or [], dtype=np.float64)
            crop = inner_face(luma, landmarks)
            if crop is None:
                continue
            from idolguard.signals.verify import features

            hashes = [_pdq(c) for c in (inner_face(luma, p) for p in jittered(landmarks)) if c is not None]
            self.faces.append(OfficialFace(source, index, crop, hashes, features(crop)))
            added += 1
        return added

    def attribute(self, luma: np.ndarray, faces: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """For each suspect face, the official faces it was verified to be copied from (best first)."""
        found: list[dict[str, Any]] = []
        if not self.faces:
            return found
        bank = np.stack([h for f in self.faces for h in f.hashes]) if any(f.hashes for f in self.faces) else None
        owner = [i for i, f in enumerate(self.faces) for _h in f.hashes]
        for index, face in enumerate(faces):
            crop = inner_face(luma, face.get("landmarks") or [])
            if crop is None or bank is None:
                continue
            query = [_pdq(crop), _pdq(np.ascontiguousarray(crop[:, ::-1]))]
            distances = np.minimum(*(np.count_nonzero(bank != q, axis=1) for q in query))
            nearest: dict[int, int] = {}
            for row in np.argsort(distances, kind="stable"):
                if distances[row] > CANDIDATE_BITS:
                    break
                i = owner[row]
                if i not in nearest:
                    nearest[i] = int(distances[row])
                if len(nearest) >= CANDIDATES:
                    break
            for i, bits in nearest.items():
                official = self.faces[i]
                figures = verify_copy(crop, official.keypoints)
                if figures.pop("copied"):
                    found.append(
                        {
                            "face": index,
                            "official": official.source,
                            "official_face": official.face,
                            "pdq_distance": bits,
                            **figures,
                        }
                    )
        return sorted(found, key=lambda r: (r["face"], -r["inliers"]))
