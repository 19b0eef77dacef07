"""Self-blended images (SBI): synthetic face-swap training samples made from one real face.

Method after Shiohara & Yamasaki, "Detecting Deepfakes with Self-Blended Images" (CVPR 2022), written here
from the paper's description. A real face is blended with a slightly altered copy of itself (colour shift,
blur or sharpening, a small shift and rescale) under a randomly deformed, feathered face mask. The result
looks like the same person, so the only evidence is what every face swap leaves: a blending boundary and
colour/frequency statistics that differ inside and outside the mask. A classifier trained on real versus
self-blended faces learns those traces rather than one generator's fingerprint, which is why it generalises
to unseen swap methods.

The paper builds its masks from dlib's 68 landmarks; that model is non-commercial, so the mask here comes
from YuNet's 5 points: an ellipse fitted to the eye line and mouth (covering brows to chin, cheek to cheek),
with a wobbly outline, elastic deformation, erosion/dilation and blur so the model cannot learn one shape.

Everything here is numpy + OpenCV, so the same code runs in tests without torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class BlendedSample:
    image: np.ndarray  # uint8 RGB, the self-blended face
    mask: np.ndarray  # float32 in [0, 1], the blend weight of the altered copy (for inspection and tests)


def face_outline(landmarks: np.ndarray, rng: np.random.Generator, points: int = 36) -> np.ndarray:
    """A randomised face-shaped polygon (N, 2) from 5 landmarks (eyes, nose tip, mouth corners).

    Face proportions: the brows sit about 0.35 eye-to-mouth distances above the eyes and the chin about
    0.6 below the mouth, and a face is about twice the inter-ocular distance wide.
    """
    lm = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    eye_c = (lm[0] + lm[1]) / 2.0
    mouth_c = (lm[3] + lm[4]) / 2.0
    down = mouth_c - eye_c
    d = float(np.linalg.norm(down)) or 1.0
    down /= d
    right = np.array([down[1], -down[0]])
    e = float(np.linalg.norm(lm[1] - lm[0])) or d
    center = eye_c + down * d * rng.uniform(0.5, 0.7)
    a = e * rng.uniform(0.85, 1.15)  # half-width
    b = d * rng.uniform(0.95, 1.25)  # half-height
    t = np.linspace(0.0, 2.0 * np.pi, points, endpoint=False)
    # Smooth radial wobble: a few low-frequency harmonics with random phase.
    wobble = np.ones_like(t)
    for k in (2, 3, 4):
        wobble += rng.uniform(0.0, 0.06) * np.cos(k * t + rng.uniform(0, 2 * np.pi))
    xs = a * np.cos(t) * wobble
    ys = b * np.sin(t) * wobble
    poly = center + np.outer(xs, right) + np.outer(ys, down)
    hull_pts = lm + (lm - lm.mean(axis=0)) * 0.25  # make sure the landmarks themselves are covered
    return np.concatenate([poly, hull_pts])


def blend_mask(shape: tuple[int, int], landmarks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Feathered, deformed face mask in [0, 1] of the given (height, width)."""
    h, w = shape
    size = float(max(h, w))
    mask = np.zeros((h, w), np.float32)
    hull = cv2.convexHull(face_outline(landmarks, rng).astype(np.float32))
    cv2.fillConvexPoly(mask, np.round(hull).astype(np.int32), 1.0, lineType=cv2.LINE_AA)
    # Elastic deformation: a coarse random displacement field, smoothly upsampled.
    amp = size * rng.uniform(0.01, 0.04)
    grid = rng.uniform(-amp, amp, size=(2, 4, 4)).astype(np.float32)
    dx = cv2.resize(grid[0], (w, h), interpolation=cv2.INTER_CUBIC)
    dy = cv2.resize(grid[1], (w, h), interpolation=cv2.INTER_CUBIC)
    xx, yy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    mask = cv2.remap(mask, xx + dx, yy + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    # Erode or dilate a little, then feather the edge.
    k = int(rng.integers(0, max(2, int(size * 0.05))))
    if k >= 2:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
        mask = cv2.erode(mask, kernel) if rng.random() < 0.5 else cv2.dilate(mask, kernel)
    for _ in range(2):
        sigma = size * rng.uniform(0.005, 0.04)
        mask = cv2.GaussianBlur(mask, (0, 0), sigmaX=sigma)
    mask = np.clip(mask, 0.0, 1.0)
    # Partial blends (the paper's random blend ratio) so faint swaps are learned too.
    return mask * float(rng.choice([0.25, 0.5, 0.75, 1.0, 1.0, 1.0]))


def _color_shift(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = img.astype(np.float32)
    choice = rng.integers(0, 3)
    if choice == 0:  # per-channel RGB shift
        out += rng.uniform(-20, 20, size=3).astype(np.float32)
    elif choice == 1:  # hue / saturation / value shift
        hsv = cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_RGB2HSV).astype(np.float32)
        hsv[..., 0] = (hsv[..., 0] + rng.uniform(-8, 8)) % 180
        hsv[..., 1] *= rng.uniform(0.7, 1.3)
        hsv[..., 2] *= rng.uniform(0.8, 1.2)
        out = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32)
    else:  # brightness / contrast
        mean = out.mean()
        out = (out - mean) * rng.uniform(0.8, 1.2) + mean + rng.uniform(-20, 20)
    return np.clip(out, 0, 255).astype(np.uint8)


def _frequency_change(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape[:2]
    if rng.random() < 0.5:  # lose detail: down- then up-sample
        f = rng.uniform(0.4, 0.85)
        small = cv2.resize(img, (max(8, int(w * f)), max(8, int(h * f))), interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    blurred = cv2.GaussianBlur(img, (0, 0), sigmaX=rng.uniform(0.8, 1.6))  # sharpen: unsharp mask
    amount = rng.uniform(0.3, 1.0)
    return np.clip(img.astype(np.float32) * (1 + amount) - blurred.astype(np.float32) * amount, 0, 255).astype(np.uint8)


def _small_warp(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape[:2]
    s = rng.uniform(0.95, 1.05)
    tx, ty = rng.uniform(-0.03, 0.03, size=2) * np.array([w, h])
    matrix = np.array([[s, 0, (1 - s) * w / 2 + tx], [0, s, (1 - s) * h / 2 + ty]], dtype=np.float64)
    return cv2.warpAffine(img, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def self_blend(image: np.ndarray, landmarks: np.ndarray, rng: np.random.Generator) -> BlendedSample:
    """Blend a face crop with an altered copy of itself under a random face mask.

    ``landmarks`` are the 5 YuNet points in the crop's coordinates. Either the source or the target copy
    gets the colour change (as in the paper), so the model sees mismatches in both directions.
    """
    source = image.copy()
    target = image.copy()
    if rng.random() < 0.5:
        source = _color_shift(source, rng)
    else:
        target = _color_shift(target, rng)
    source = _frequency_change(source, rng)
    source = _small_warp(source, rng)
    mask = blend_mask(image.shape[:2], landmarks, rng)
    m = mask[..., None]
    blended = source.astype(np.float32) * m + target.astype(np.float32) * (1.0 - m)
    return BlendedSample(np.clip(np.round(blended), 0, 255).astype(np.uint8), mask)


def degrade(image: np.ndarray, rng: np.random.Generator, mix: str = "v1") -> np.ndarray:
    """Social-media style degradations applied alike to real and blended samples.

    ``v1`` (models up to 1.2.0): flip, mild rescale, JPEG 40-95. ``platform``: flip, rescale down to 0.25x,
    then JPEG 30-95, WebP or an H.264/H.265 frame re-encode (``idolguard.detect.degradations``)."""
    if mix == "platform":
        from idolguard.detect.degradations import random_degradation

        return random_degradation(image, rng)
    if mix != "v1":
        raise ValueError(f"unknown degradation mix {mix!r} (v1 or platform)")
    out = image
    if rng.random() < 0.5:
        out = np.ascontiguousarray(out[:, ::-1])
    if rng.random() < 0.3:
        h, w = out.shape[:2]
        f = rng.uniform(0.45, 0.9)
        small = cv2.resize(out, (max(8, int(w * f)), max(8, int(h * f))), interpolation=cv2.INTER_AREA)
        out = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.7:
        ok, buf = cv2.imencode(".jpg", out[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(40, 96))])
        if ok:
            out = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]
    return np.ascontiguousarray(out)
