"""Self-blending makes face-shaped, feathered, reproducible blends (numpy/OpenCV only, no torch)."""

from __future__ import annotations

import numpy as np
import pytest

from idolguard.detect.crops import crop_face, crop_transform, map_points
from idolguard.detect.sbi import blend_mask, degrade, face_outline, self_blend

from .media import ASTRONAUT_BBOX, astronaut_array

# YuNet's five points on the astronaut (right eye, left eye, nose, right and left mouth corner).
LANDMARKS = np.array([[203.0, 106.0], [244.0, 104.0], [225.0, 128.0], [208.0, 150.0], [240.0, 148.0]])


@pytest.fixture(scope="module")
def crop_and_points() -> tuple[np.ndarray, np.ndarray]:
    matrix = crop_transform(ASTRONAUT_BBOX, 128)
    return crop_face(astronaut_array(), ASTRONAUT_BBOX, 128), map_points(LANDMARKS, matrix)


def test_mask_covers_the_face_and_not_the_corners(crop_and_points: tuple[np.ndarray, np.ndarray]) -> None:
    crop, points = crop_and_points
    for seed in range(20):
        mask = blend_mask(crop.shape[:2], points, np.random.default_rng(seed))
        assert mask.dtype == np.float32 and mask.min() >= 0.0 and mask.max() <= 1.0
        nose = points[2].round().astype(int)
        assert mask[nose[1], nose[0]] > 0.2  # the blend ratio can be as low as 0.25
        assert mask[:6, :6].max() < 1e-3 and mask[-6:, -6:].max() < 1e-3


def test_outline_is_larger_than_the_landmarks() -> None:
    poly = face_outline(LANDMARKS, np.random.default_rng(0))
    height = poly[:, 1].max() - poly[:, 1].min()
    eye_to_mouth = LANDMARKS[3:, 1].mean() - LANDMARKS[:2, 1].mean()
    assert height > 1.5 * eye_to_mouth  # brows to chin, not just eyes to mouth


def test_self_blend_is_seeded_and_changes_the_face(crop_and_points: tuple[np.ndarray, np.ndarray]) -> None:
    crop, points = crop_and_points
    a = self_blend(crop, points, np.random.default_rng(7))
    b = self_blend(crop, points, np.random.default_rng(7))
    c = self_blend(crop, points, np.random.default_rng(8))
    assert np.array_equal(a.image, b.image)
    assert not np.array_equal(a.image, c.image)
    inside = a.mask > 0.5
    diff = np.abs(a.image.astype(int) - crop.astype(int)).mean(axis=2)
    assert diff[inside].mean() > 1.0  # the altered copy shows inside the mask


def test_degrade_keeps_shape_and_type(crop_and_points: tuple[np.ndarray, np.ndarray]) -> None:
    crop, _ = crop_and_points
    for seed in range(10):
        out = degrade(crop, np.random.default_rng(seed))
        assert out.shape == crop.shape and out.dtype == np.uint8 and out.flags["C_CONTIGUOUS"]


def test_crop_centres_the_face_box_and_pads_black() -> None:
    image = np.zeros((100, 100, 3), np.uint8)
    image[45:55, 45:55] = 255  # a white square centred at (50, 50)
    crop = crop_face(image, (40, 40, 20, 20), 64)
    ys, xs = np.nonzero(crop[..., 0] > 127)
    assert abs(xs.mean() - 31.5) < 1.5 and abs(ys.mean() - 31.5) < 1.5
    edge = crop_face(image, (0, 0, 20, 20), 64)  # box at the corner: outside the image is black
    assert edge[:10, :10].max() == 0
    matrix = crop_transform((40, 40, 20, 20), 64)
    assert np.allclose(map_points(np.array([[50.0, 50.0]]), matrix), [[32.0, 32.0]])
