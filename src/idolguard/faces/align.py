"""Align a face to the canonical 112x112 five-point template used by ArcFace-family embedders (SFace included).

The transform is a least-squares similarity (rotation, uniform scale, translation; Umeyama 1991), the same
family OpenCV's ``FaceRecognizerSF.alignCrop`` uses, so embeddings match the ones the model was trained on.
Doing it here rather than through ``alignCrop`` lets other consumers (manipulation detector, face-anchored
hashes) get the same crop at other sizes without an embedder loaded.
"""

from __future__ import annotations

import numpy as np

# Template for 112x112, YuNet landmark order: right eye, left eye, nose, right mouth, left mouth.
TEMPLATE_112 = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2x3 matrix of the least-squares similarity mapping ``src`` points onto ``dst`` (Umeyama)."""
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    cov = dst_c.T @ src_c / len(src)
    u, s, vt = np.linalg.svd(cov)
    d = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[1, 1] = -1
    rotation = u @ d @ vt
    var_src = (src_c**2).sum() / len(src)
    scale = float((s * np.diag(d)).sum() / var_src) if var_src > 0 else 1.0
    translation = dst_mean - scale * rotation @ src_mean
    return np.hstack([scale * rotation, translation[:, None]])


def align_matrix(landmarks: np.ndarray, size: int = 112, scale: float = 1.0) -> np.ndarray:
    """``scale`` shrinks (< 1: more context around the face) or grows (> 1: less) the template about the crop's
    centre; 1.0 is the template the embedder was trained on. Multi-scale references use 0.92 and 1.08."""
    template = TEMPLATE_112
    if scale != 1.0:
        centre = np.array([56.0, 56.0])
        template = (TEMPLATE_112 - centre) * scale + centre
    return similarity_transform(np.asarray(landmarks).reshape(5, 2), template * (size / 112.0))


def align_face(image_rgb: np.ndarray, landmarks: np.ndarray, size: int = 112, scale: float = 1.0) -> np.ndarray:
    """A ``size`` x ``size`` RGB crop with eyes, nose and mouth at the (optionally scaled) template positions."""
    import cv2

    matrix = align_matrix(landmarks, size, scale)
    return cv2.warpAffine(
        np.ascontiguousarray(image_rgb), matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    )
