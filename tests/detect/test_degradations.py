"""Platform degradations: real codecs (PyAV's libx264/libx265, OpenCV's JPEG/WebP), seeded, shape-keeping."""

from __future__ import annotations

import numpy as np
import pytest

from idolguard.detect.degradations import NAMED, apply, random_degradation, video_codecs, video_frame
from tests.conftest import astronaut


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    return np.asarray(astronaut().crop((150, 30, 300, 180)).resize((128, 128)))


def test_named_degradations_change_the_pixels_and_keep_the_type(face: np.ndarray) -> None:
    for name in NAMED:
        out = apply(face, name)
        assert out.dtype == np.uint8 and out.ndim == 3
        if name == "none":
            assert out is face
        elif name in ("half", "quarter"):
            assert out.shape[0] == 128 // (2 if name == "half" else 4)
        else:
            assert out.shape == face.shape and 0 < np.abs(out.astype(int) - face).mean() < 20


def test_video_codecs_reencode_a_frame(face: np.ndarray) -> None:
    assert "libx264" in video_codecs()
    for codec in video_codecs():
        strong, mild = video_frame(face, 40, codec), video_frame(face, 20, codec)
        assert strong.shape == face.shape
        assert np.abs(strong.astype(int) - face).mean() > np.abs(mild.astype(int) - face).mean()
    odd = video_frame(face[:127, :125], 30)
    assert odd.shape == (127, 125, 3)


def test_training_mix_is_seeded(face: np.ndarray) -> None:
    a = [random_degradation(face, np.random.default_rng([0, i])) for i in range(12)]
    b = [random_degradation(face, np.random.default_rng([0, i])) for i in range(12)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert all(x.shape == face.shape for x in a)
    assert len({x.tobytes() for x in a}) > 6
