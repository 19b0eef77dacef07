"""Face-anchored PDQ: the hash of each face region, aligned on the eyes (and nose, mouth) at a fixed margin.

Re-posts crop, rotate, caption and screenshot the picture, which moves every pixel of a whole-image hash,
but the face is what the deepfake is about and what every copy keeps. Aligning the region on the eyes undoes
rotation and scale, so the same face in two copies gives nearly the same crop. The five landmarks are fitted
to a zoomed-out template, so hair and background make two *different* photos of one person hash apart;
``bench/signals_robustness.py`` measures that same-person false-match rate. Because that risk is real, the
matcher only trusts a face-anchored candidate after geometric verification (``verify.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from idolguard.signals.pdq import hash_array_dihedral

CROP = 128
ZOOM = 0.7  # the five-point template at 70% scale: forehead to chin, some hair and background
# A second, tight anchor (the template at full scale: the face alone). A copy cropped close to the face loses
# the hair and background the wide anchor sees (its crop then runs off the picture and is filled), but keeps
# the face: the tight hash still agrees. bench/signals_robustness.py, crop edits.
TIGHT_ZOOM = 1.0
MIN_EYE_DISTANCE = 12.0  # pixels; smaller faces carry too little detail to hash
FACE_QUALITY_MIN = 50
# Face crops hash less stably than whole pictures (landmark jitter of 1-2 px moves the crop). Banked faces are
# therefore hashed at nine small perturbations of their landmarks (``JITTER``), and candidates are taken up to
# 90 bits; different people's faces come that close in ~0.05% of variant pairs (bench/signals_robustness.py),
# so every face-anchored candidate must pass geometric verification of the whole pictures (``verify.py``).
FACE_THRESHOLD = 90
JITTER = (
    ("scale", 0.96),
    ("scale", 1.04),
    ("shift", (2, 0)),
    ("shift", (-2, 0)),
    ("shift", (0, 2)),
    ("shift", (0, -2)),
    ("rotate", -3.0),
    ("rotate", 3.0),
)


def jittered(landmarks: np.ndarray) -> list[np.ndarray]:
    """The landmarks and eight small perturbations (scale, shift, rotation) a re-detection typically shows."""
    centre = landmarks.mean(axis=0)
    out = [landmarks]
    for kind, amount in JITTER:
        if kind == "scale":
            out.append((landmarks - centre) * float(amount) + centre)  # type: ignore[arg-type]
        elif kind == "shift":
            out.append(landmarks + np.asarray(amount, dtype=np.float64))
        else:
            angle = np.radians(float(amount))  # type: ignore[arg-type]
            rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
            out.append((landmarks - centre) @ rotation.T + centre)
    return out


def align_matrix(landmarks: np.ndarray, size: int = CROP, zoom: float = ZOOM) -> np.ndarray:
    """Least-squares similarity from the five landmarks onto the (zoomed-out) ArcFace template."""
    from idolguard.faces.align import TEMPLATE_112, similarity_transform

    template = (TEMPLATE_112 - 56.0) * zoom * (size / 112.0) + size / 2.0
    return similarity_transform(np.asarray(landmarks, dtype=np.float64).reshape(-1, 2)[:5], template)


def face_crops(
    luma: np.ndarray,
    faces: list[dict[str, Any]],
    scale: float = 1.0,
    *,
    jitter: bool = False,
    zoom: float = ZOOM,
) -> list[list[np.ndarray]]:
    """Per face, aligned ``CROP``x``CROP`` luma crops (one, or nine with ``jitter``); ``scale`` maps face
    coordinates onto ``luma``'s pixels."""
    import cv2

    crops = []
    for face in faces:
        landmarks = np.asarray(face.get("landmarks") or [], dtype=np.float64) * scale
        if landmarks.shape != (5, 2):
            continue
        if np.linalg.norm(landmarks[1] - landmarks[0]) < MIN_EYE_DISTANCE * scale:
            continue
        crops.append(
            [
                cv2.warpAffine(
                    np.ascontiguousarray(luma),
                    align_matrix(points, zoom=zoom),
                    (CROP, CROP),
                    flags=cv2.INTER_AREA,
                    borderMode=cv2.BORDER_REPLICATE,
                )
                for points in (jittered(landmarks) if jitter else [landmarks])
            ]
        )
    return crops


def face_hashes(
    luma: np.ndarray,
    faces: list[dict[str, Any]],
    scale: float = 1.0,
    *,
    jitter: bool = False,
    tight: bool = True,
) -> list[dict[str, Any]]:
    """Per usable face: PDQ and its horizontal-flip variant (a mirrored copy swaps which eye is image-left),
    plus, under ``jitter``, the jittered variants' hashes (banked faces; query faces by default), and under
    ``tight`` the tight anchor's hash (and its flip, for queries) at the same perturbations.

    Banking stores ``pdq``, ``jitter`` and ``tight`` as ``pdq_face`` entries; matching queries with all of
    them plus the flips (``pdq_flip``, ``tight_flip``).
    """
    out = []
    wide = face_crops(luma, faces, scale, jitter=jitter)
    close = face_crops(luma, faces, scale, jitter=jitter, zoom=TIGHT_ZOOM) if tight else [[] for _ in wide]
    for index, (crops, tight_crops) in enumerate(zip(wide, close, strict=True)):
        variants, quality = hash_array_dihedral(crops[0])
        if quality < FACE_QUALITY_MIN:
            continue
        extra = [hash_array_dihedral(crop)[0][0] for crop in crops[1:]]
        close_hashes: list[str] = []
        close_flip: list[str] = []
        for k, crop in enumerate(tight_crops):
            tight_variants, tight_quality = hash_array_dihedral(crop)
            if tight_quality >= FACE_QUALITY_MIN:
                close_hashes.append(tight_variants[0])
                if k == 0:
                    close_flip.append(tight_variants[5])  # the mirrored face, as ``pdq_flip`` (queries only)
        out.append(
            {
                "face": index,
                "pdq": variants[0],
                "pdq_flip": variants[5],
                "quality": quality,
                "jitter": extra,
                "tight": close_hashes,
                "tight_flip": close_flip,
            }
        )
    return out
