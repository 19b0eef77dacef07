"""Normalisations applied before hashing, so common re-posting edits do not move the hash.

* Uniform borders (letterboxing, pillarboxing, padding to a square) are trimmed: PDQ of a letterboxed copy is
  a different picture to PDQ, but the trimmed region is the original.
* A screenshot puts the picture inside UI (status bar, captions, buttons). The embedded picture is the
  largest textured rectangle: rows and columns whose local detail is high and whose borders show a strong
  edge. We look for it with row/column profiles of the gradient energy, which is cheap and needs no model.

Each returns a crop box (left, top, right, bottom) in the luma array, or None when nothing was found.
"""

from __future__ import annotations

import numpy as np

MIN_TRIM_FRACTION = 0.02  # ignore borders thinner than 2% of the side (JPEG ringing, 1-px frames)
MIN_SIDE = 48


def _uniform_run(profile_std: np.ndarray, profile_mean: np.ndarray, std_max: float, mean_tol: float) -> int:
    """How many leading lines are flat and the same colour as the first line."""
    if profile_std.size == 0 or profile_std[0] > std_max:
        return 0
    base = profile_mean[0]
    ok = (profile_std <= std_max) & (np.abs(profile_mean - base) <= mean_tol)
    bad = np.flatnonzero(~ok)
    return int(bad[0]) if bad.size else int(ok.size)


def trim_box(luma: np.ndarray, std_max: float = 6.0, mean_tol: float = 12.0) -> tuple[int, int, int, int] | None:
    """Box without uniform borders on any side, or None if no side has a real border."""
    grey = luma.astype(np.float32)
    height, width = grey.shape
    row_std, row_mean = grey.std(axis=1), grey.mean(axis=1)
    col_std, col_mean = grey.std(axis=0), grey.mean(axis=0)
    top = _uniform_run(row_std, row_mean, std_max, mean_tol)
    bottom = _uniform_run(row_std[::-1], row_mean[::-1], std_max, mean_tol)
    left = _uniform_run(col_std, col_mean, std_max, mean_tol)
    right = _uniform_run(col_std[::-1], col_mean[::-1], std_max, mean_tol)
    if top < MIN_TRIM_FRACTION * height:
        top = 0
    if bottom < MIN_TRIM_FRACTION * height:
        bottom = 0
    if left < MIN_TRIM_FRACTION * width:
        left = 0
    if right < MIN_TRIM_FRACTION * width:
        right = 0
    box = (left, top, width - right, height - bottom)
    if box == (0, 0, width, height) or box[2] - box[0] < MIN_SIDE or box[3] - box[1] < MIN_SIDE:
        return None
    return box


def _longest_active_run(active: np.ndarray) -> tuple[int, int]:
    best = (0, 0)
    start = None
    for i, flag in enumerate(np.append(active, False)):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            if i - start > best[1] - best[0]:
                best = (start, i)
            start = None
    return best


def embedded_box(luma: np.ndarray, min_fraction: float = 0.25) -> tuple[int, int, int, int] | None:
    """The largest textured band of rows x columns (a picture inside a screenshot), if clearly smaller.

    Screenshot UI is mostly flat with sparse text; a photo is detailed almost everywhere. A row belongs to the
    picture when most of its pixels carry gradient energy; the longest run of such rows (then columns within
    it) is the picture.
    """
    grey = luma.astype(np.float32)
    height, width = grey.shape
    if height < 2 * MIN_SIDE or width < 2 * MIN_SIDE:
        return None
    gy = np.abs(np.diff(grey, axis=0))[:, :-1]
    gx = np.abs(np.diff(grey, axis=1))[:-1, :]
    textured = (gx + gy) > 4.0
    rows = textured.mean(axis=1) > 0.35
    top, bottom = _longest_active_run(rows)
    if bottom - top < max(MIN_SIDE, min_fraction * height):
        return None
    cols = textured[top:bottom].mean(axis=0) > 0.35
    left, right = _longest_active_run(cols)
    if right - left < max(MIN_SIDE, min_fraction * width):
        return None
    box = (left, top, right + 1, bottom + 1)
    area = (box[2] - box[0]) * (box[3] - box[1])
    if area > 0.9 * height * width:
        return None
    return box


def crop(luma: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    left, top, right, bottom = box
    return np.ascontiguousarray(luma[top:bottom, left:right])
