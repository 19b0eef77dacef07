"""Verification of crops of photos whose background is smooth (studio backdrop): the fill mask must not
swallow the whole picture, and different pictures on the same backdrop must still be told apart."""

from __future__ import annotations

import numpy as np
from PIL import Image

from idolguard.signals.verify import verify
from tests.conftest import astronaut


def _on_backdrop(portrait: Image.Image, offset: tuple[int, int]) -> np.ndarray:
    """A 300x300 picture: a smooth grey gradient with a small portrait on it (most of the frame is flat)."""
    ramp = np.linspace(90, 160, 300, dtype=np.float32)
    canvas = Image.fromarray(np.tile(ramp, (300, 1)).astype(np.uint8)).convert("RGB")
    canvas.paste(portrait.resize((110, 110)), offset)
    return np.asarray(canvas.convert("L"))


def test_tight_crop_of_a_photo_on_a_smooth_backdrop_verifies() -> None:
    original = _on_backdrop(astronaut().crop((140, 20, 340, 220)), (95, 95))
    crop = np.ascontiguousarray(original[30:270, 30:270])  # 10% off every side
    result = verify(crop, original)
    assert result.verified, result


def test_another_picture_on_the_same_backdrop_does_not_verify() -> None:
    original = _on_backdrop(astronaut().crop((140, 20, 340, 220)), (95, 95))
    other = _on_backdrop(astronaut().crop((0, 150, 200, 350)), (95, 95))  # other content, same framing
    assert not verify(np.ascontiguousarray(other[30:270, 30:270]), original).verified
