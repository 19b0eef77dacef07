"""Source-face attribution on benign media: a re-encoded copy of an official photo is traced back to it."""

from __future__ import annotations

import numpy as np
from PIL import ImageFilter

from idolguard.detect.degradations import jpeg, rescale
from idolguard.signals.face_match import detect_faces, luma_of
from idolguard.source_attribution import OfficialCollection, inner_face
from tests.conftest import astronaut


def test_a_recompressed_copy_is_attributed_and_a_blurred_one_is_not() -> None:
    official_rgb = np.asarray(astronaut().crop((60, 0, 460, 400)))
    faces = detect_faces(official_rgb)
    assert faces, "YuNet should find the astronaut's face"
    collection = OfficialCollection()
    assert collection.add("official/astronaut.jpg", luma_of(official_rgb), faces) == 1
    assert inner_face(luma_of(official_rgb), [[0, 0]] * 5) is None  # degenerate landmarks: nothing to compare
    copy = jpeg(rescale(official_rgb, 0.8), 70)
    found = collection.attribute(luma_of(copy), detect_faces(copy))
    assert [r["official"] for r in found] == ["official/astronaut.jpg"]
    assert found[0]["inliers"] >= 60 and abs(found[0]["scale"] - 1.0) < 0.15
    blurred = np.asarray(astronaut().crop((60, 0, 460, 400)).filter(ImageFilter.GaussianBlur(6)))
    assert collection.attribute(luma_of(blurred), detect_faces(blurred) or faces) == []
    assert OfficialCollection().attribute(luma_of(copy), detect_faces(copy)) == []
