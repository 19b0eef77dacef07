"""The tight face anchor: hashed next to the wide one, and closer than it on a copy cropped near the face."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from idolguard.config import Limits
from idolguard.signals.face_match import item_face_hashes
from tests.conftest import astronaut


def _bits(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def test_tight_hashes_sit_beside_the_wide_ones(tmp_path: Path) -> None:
    path = tmp_path / "astronaut.png"
    astronaut().save(path)
    plain, _ = item_face_hashes(path, Limits(), jitter=False)
    jittered, _ = item_face_hashes(path, Limits(), jitter=True)
    assert len(plain[0]["tight"]) == 1 and len(plain[0]["tight_flip"]) == 1, "tight hash and its mirror"
    assert len(jittered[0]["tight"]) == 9, "the tight anchor at the nine perturbations"
    assert plain[0]["tight"][0] not in (plain[0]["pdq"], plain[0]["pdq_flip"])


def test_tight_anchor_is_steadier_than_the_wide_one_on_a_close_crop(tmp_path: Path) -> None:
    original = astronaut().crop((100, 0, 400, 300))
    original.save(tmp_path / "original.png")
    w, h = original.size
    original.crop((int(0.2 * w), int(0.1 * h), int(0.8 * w), int(0.85 * h))).save(tmp_path / "close.png")
    (a,), _ = item_face_hashes(tmp_path / "original.png", Limits())
    (b,), _ = item_face_hashes(tmp_path / "close.png", Limits())
    assert _bits(a["tight"][0], b["tight"][0]) < _bits(a["pdq"], b["pdq"])
    assert Image.open(tmp_path / "close.png").size[0] < w
