"""The face crop the manipulation detector sees, shared by training and inference.

Training and inference must cut faces the same way, or the model learns the framing instead of the blend.
The crop is an upright square around the face box, larger than the box so that the blending boundary of a
face swap (which runs along the jaw, cheeks and forehead) is inside the crop. We do not rotate-align the face:
self-blended training images keep their natural pose, and rotating would resample (and blur) the very
pixels the detector inspects.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

#: Side of the square crop relative to the longer side of the face box.
CROP_SCALE = 1.3


def crop_transform(bbox: Sequence[float], size: int, scale: float = CROP_SCALE) -> np.ndarray:
    """2x3 affine matrix mapping image coordinates to crop coordinates for face box ``(x, y, w, h)``."""
    x, y, w, h = (float(v) for v in bbox[:4])
    side = max(w, h) * scale
    cx, cy = x + w / 2.0, y + h / 2.0
    k = size / side
    return np.array([[k, 0.0, size / 2.0 - k * cx], [0.0, k, size / 2.0 - k * cy]], dtype=np.float64)


def crop_face(image_rgb: np.ndarray, bbox: Sequence[float], size: int, scale: float = CROP_SCALE) -> np.ndarray:
    """Cut the square face crop (``size`` x ``size`` RGB uint8); outside the image is black, as in training."""
    matrix = crop_transform(bbox, size, scale)
    side = max(float(bbox[2]), float(bbox[3])) * scale
    # Area averaging when shrinking keeps compression noise from aliasing; linear when enlarging.
    interp = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.warpAffine(
        image_rgb, matrix, (size, size), flags=interp, borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0)
    )


def map_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine matrix to an (N, 2) array of points."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return pts @ matrix[:, :2].T + matrix[:, 2]


def face_size_px(bbox: Sequence[float]) -> float:
    """The shorter side of the face box in source pixels: what "too small to judge" is measured on."""
    return float(min(bbox[2], bbox[3]))
