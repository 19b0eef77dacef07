"""Compute all signals of one file (pure: no database, no workspace), shared by the stage and ``match``."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from idolguard.config import Limits
from idolguard.signals import normalize, vpdq
from idolguard.signals.pdq import (
    MIN_MATCH_QUALITY,
    fast_luma,
    hash_array,
    hash_array_dihedral,
    reference_rgb,
)

LOW_QUALITY_NOTE = f"PDQ quality below {MIN_MATCH_QUALITY}: hash stored but never used for matching"


def file_digests(path: Path) -> tuple[str, str]:
    sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            sha.update(chunk)
            md5.update(chunk)
    return sha.hexdigest(), md5.hexdigest()


def image_signals(path: Path, limits: Limits, *, exact: bool = False) -> dict[str, Any]:
    """PDQ (+ its 8 dihedral variants) and the normalised-crop variants of an image.

    ``exact`` uses the reference decode (full resolution RGB) for hashes that will leave the system.
    """
    array = reference_rgb(path, limits) if exact else fast_luma(path, limits)
    variants, quality = hash_array_dihedral(array)
    out: dict[str, Any] = {
        "pdq": variants[0],
        "pdq_quality": quality,
        "pdq_usable": quality >= MIN_MATCH_QUALITY,
        "pdq_method": "reference" if exact else "fast-luma",
        "pdq_dihedral": variants,
        "pdq_note": None if quality >= MIN_MATCH_QUALITY else LOW_QUALITY_NOTE,
        # the note as a code and values (``idolguard.coded_text``), for reports in other languages
        "pdq_note_code": None if quality >= MIN_MATCH_QUALITY else "signals.pdq_low_quality",
        "pdq_note_params": {} if quality >= MIN_MATCH_QUALITY else {"min": str(MIN_MATCH_QUALITY)},
        "extra_pdq": [],
    }
    luma = array if array.ndim == 2 else _luma_of(array)
    # Box search on a half-size copy (4x fewer pixels; borders and UI are large structures), crop at full size.
    small, factor = (luma[::2, ::2], 2) if min(luma.shape) >= 2 * normalize.MIN_SIDE * 2 else (luma, 1)
    for signal, finder in (("pdq_trimmed", normalize.trim_box), ("pdq_embedded", normalize.embedded_box)):
        found = finder(small)
        if found is None:
            continue
        box = (found[0] * factor, found[1] * factor, found[2] * factor, found[3] * factor)
        hashed = hash_array(normalize.crop(luma, box))
        if hashed.usable:
            scale_x = 1.0 / luma.shape[1]
            scale_y = 1.0 / luma.shape[0]
            rel = [round(box[0] * scale_x, 4), round(box[1] * scale_y, 4), round(box[2] * scale_x, 4)]
            rel.append(round(box[3] * scale_y, 4))
            out["extra_pdq"].append({"signal": signal, "pdq": hashed.hex, "quality": hashed.quality, "box": rel})
    return out


def _luma_of(rgb: Any) -> Any:
    import numpy as np

    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return (rgb.astype(np.float32) @ weights).round().clip(0, 255).astype(np.uint8)


def video_signals(path: Path, limits: Limits) -> dict[str, Any]:
    features = vpdq.hash_video(path, limits)
    return {
        "vpdq": vpdq.summary(features),
        "vpdq_frames": [f.as_list() for f in features],
        "pdq": None,
        "pdq_quality": None,
    }


def all_signals(path: Path, media_type: str, limits: Limits, *, exact: bool = False) -> dict[str, Any]:
    sha, md5 = file_digests(path)
    out: dict[str, Any] = {"sha256": sha, "md5": md5}
    if media_type == "image":
        out.update(image_signals(path, limits, exact=exact))
    elif media_type == "video":
        out.update(video_signals(path, limits))
    return out
