"""Geometric verification: is one picture a copy (crop, rotation, caption, screenshot) of another?

Cheap signals propose candidates; this confirms or rejects them in two steps:

1. ORB keypoints matched with Lowe's ratio test, and a RANSAC-fitted partial-affine model (rotation, uniform
   scale, translation) with enough inliers.
2. Photometric check of that model: the query warped onto the banked picture must agree with it over the
   whole overlap (normalised cross-correlation of blurred luma). Keypoints alone are not enough: two
   *different* photos of one person, framed alike, share many keypoints on the face, but their hair,
   clothes and background disagree; a copy agrees everywhere except where text or UI was added.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_INLIERS = 15
MIN_INLIER_RATIO = 0.25
MIN_CORRELATION = 0.90  # bench: copies >= 0.96 (watermark worst); burst shots of one person <= 0.85
MIN_OVERLAP = 0.25  # share of the banked picture the query must cover
MAX_SIDE = 480
CHECK_SIDE = 128
GRID = 4
FEATURES = 1000


@dataclass
class Features:
    points: np.ndarray  # keypoint coordinates in ``image`` pixels
    descriptors: np.ndarray | None
    image: np.ndarray  # luma, at most MAX_SIDE on the long side


@dataclass
class Verification:
    verified: bool
    inliers: int
    matches: int
    scale: float | None = None
    rotation_deg: float | None = None
    correlation: float | None = None
    overlap: float | None = None
    mirrored: bool = False


def features(luma: np.ndarray) -> Features:
    import cv2

    height, width = luma.shape[:2]
    factor = MAX_SIDE / max(height, width)
    if factor < 1.0:
        size = (max(1, int(width * factor)), max(1, int(height * factor)))
        luma = cv2.resize(luma, size, interpolation=cv2.INTER_AREA)
    luma = np.ascontiguousarray(luma)
    orb = cv2.ORB_create(nfeatures=FEATURES, fastThreshold=10)  # type: ignore[attr-defined]
    keypoints, descriptors = orb.detectAndCompute(luma, None)
    points = np.array([kp.pt for kp in keypoints], dtype=np.float32).reshape(-1, 2)
    return Features(points, descriptors, luma)


def _ncc(a: np.ndarray, b: np.ndarray) -> float | None:
    a, b = a - a.mean(), b - b.mean()
    denominator = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum()) / denominator if denominator > 1e-6 else None


def _content_mask(luma: np.ndarray) -> np.ndarray:
    """1 where the query shows picture, 0 on flat fill reaching its corners (rotation wedges, letterbox bars,
    caption or UI backgrounds), which an edit added and the banked picture never had."""
    import cv2

    mask = np.ones(luma.shape, np.float32)
    flood = np.zeros((luma.shape[0] + 2, luma.shape[1] + 2), np.uint8)
    height, width = luma.shape
    image = np.ascontiguousarray(luma).copy()
    for x, y in ((0, 0), (width - 1, 0), (0, height - 1), (width - 1, height - 1)):
        if flood[y + 1, x + 1]:
            continue
        cv2.floodFill(image, flood, (x, y), 0, loDiff=2, upDiff=2, flags=4 | cv2.FLOODFILL_MASK_ONLY | (1 << 8))
    mask[flood[1:-1, 1:-1] > 0] = 0.0
    return mask


def _correlation(
    query: np.ndarray, bank: np.ndarray, model: np.ndarray, *, mask_fill: bool = True
) -> tuple[float, float]:
    """Median over a 4x4 grid of the NCC between the warped query and the banked picture, and the overlap.

    Per-cell correlation with a median ignores what an edit adds on a few cells (rotation corners, caption
    text, a watermark) while still requiring most of the picture to agree. ``mask_fill=False`` compares every
    cell the warped query covers, flat areas included (see ``_verify``).
    """
    import cv2

    height, width = bank.shape
    factor = CHECK_SIDE / max(height, width)
    size = (max(8, int(width * factor)), max(8, int(height * factor)))
    scaled = model.astype(np.float64) * factor
    warped = cv2.warpAffine(query.astype(np.float32), scaled, size, flags=cv2.INTER_AREA)
    content = _content_mask(query) if mask_fill else np.ones(query.shape, np.float32)
    mask = cv2.warpAffine(content, scaled, size, flags=cv2.INTER_NEAREST) > 0.5
    mask = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    target = cv2.resize(bank.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    warped = cv2.GaussianBlur(warped, (3, 3), 0)
    target = cv2.GaussianBlur(target, (3, 3), 0)
    overlap = float(mask.mean())
    cells = []
    rows = np.linspace(0, size[1], GRID + 1).astype(int)
    cols = np.linspace(0, size[0], GRID + 1).astype(int)
    for top, bottom in zip(rows[:-1], rows[1:], strict=True):
        for left, right in zip(cols[:-1], cols[1:], strict=True):
            cell = mask[top:bottom, left:right]
            if cell.mean() < 0.5:
                continue
            value = _ncc(warped[top:bottom, left:right][cell], target[top:bottom, left:right][cell])
            if value is not None:
                cells.append(value)
    if len(cells) < 4:
        return 0.0, overlap
    return float(np.median(cells)), overlap


def verify(
    query: np.ndarray | Features,
    bank: np.ndarray | Features,
    *,
    mirror: bool = True,
    query_mirrored: Features | None = None,
) -> Verification:
    """Is ``query`` a (possibly edited, possibly mirrored) copy of ``bank``? Luma images or ``features``.

    ORB descriptors are not mirror-invariant, so a failed check is retried on the mirrored query
    (``query_mirrored``: its features computed once by a caller that checks one query against many).
    """
    fa = query if isinstance(query, Features) else features(query)
    fb = bank if isinstance(bank, Features) else features(bank)
    result = _verify(fa, fb)
    if not result.verified and mirror:
        fm = query_mirrored if query_mirrored is not None else features(np.ascontiguousarray(fa.image[:, ::-1]))
        mirrored = _verify(fm, fb)
        if mirrored.verified or mirrored.inliers > result.inliers:
            mirrored.mirrored = True
            return mirrored
    return result


def _verify(fa: Features, fb: Features) -> Verification:
    import cv2

    if fa.descriptors is None or fb.descriptors is None or len(fa.descriptors) < 8 or len(fb.descriptors) < 8:
        return Verification(False, 0, 0)
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(fa.descriptors, fb.descriptors, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.8 * p[1].distance]
    if len(good) < MIN_INLIERS:
        return Verification(False, 0, len(good))
    src = fa.points[[m.queryIdx for m in good]]
    dst = fb.points[[m.trainIdx for m in good]]
    model, mask = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=3.0, maxIters=2000)
    if model is None or mask is None:
        return Verification(False, 0, len(good))
    inliers = int(mask.sum())
    scale = float(np.hypot(model[0, 0], model[1, 0]))
    rotation = float(np.degrees(np.arctan2(model[1, 0], model[0, 0])))
    if inliers < MIN_INLIERS or inliers < MIN_INLIER_RATIO * len(good) or not 0.05 < scale < 20:
        return Verification(False, inliers, len(good), round(scale, 4), round(rotation, 2))
    correlation, overlap = _correlation(fa.image, fb.image, model)
    if overlap < MIN_OVERLAP or correlation == 0.0:  # 0.0: fewer than 4 cells left to compare
        # The flood fill that masks added bars and wedges also swallows a photo's own smooth background
        # (studio backdrops, sky): then too little is left to compare. Compare the whole covered area instead:
        # every covered cell then counts, added fill included, so a copy must agree everywhere it overlaps.
        correlation, overlap = _correlation(fa.image, fb.image, model, mask_fill=False)
    ok = correlation >= MIN_CORRELATION and overlap >= MIN_OVERLAP
    return Verification(
        ok, inliers, len(good), round(scale, 4), round(rotation, 2), round(correlation, 3), round(overlap, 3)
    )
