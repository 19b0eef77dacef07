"""Detector, aligner, embedder and quality on real pixels (the astronaut) and on faceless generated shapes."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from idolguard.faces.align import TEMPLATE_112, align_face, align_matrix
from idolguard.faces.analysis import FaceAnalyzer
from idolguard.faces.detector import FaceDetector, detect_padded, get_detector
from idolguard.faces.embedder import get_embedder
from idolguard.faces.models import YUNET, ModelFile, ModelUnavailable, model_path
from idolguard.faces.quality import frontalness
from idolguard.gallery.matching import MatchParams
from tests.conftest import jpeg_bytes
from tests.faces.helpers import astronaut_array


def test_astronaut_has_one_face_with_plausible_landmarks():
    detector = get_detector()
    assert isinstance(detector, FaceDetector)
    faces = detector.detect(astronaut_array())
    assert len(faces) == 1
    face = faces[0]
    x, y, w, h = face.bbox
    assert 0.8 < face.score <= 1.0 and 60 < w < 140 and 80 < h < 160
    lm = face.landmarks
    assert lm.shape == (5, 2)
    assert lm[0, 0] < lm[1, 0], "subject's right eye is on the image left"
    assert lm[:2, 1].max() < lm[2, 1] < lm[3:, 1].min(), "eyes above nose above mouth"
    assert ((lm[:, 0] > x) & (lm[:, 0] < x + w) & (lm[:, 1] > y) & (lm[:, 1] < y + h)).all()


def test_generated_shapes_have_no_face():
    image = np.asarray(Image.open(io.BytesIO(jpeg_bytes(4, (640, 480)))).convert("RGB"))
    assert get_detector().detect(image) == []
    assert FaceAnalyzer().analyze(image).faces == []


def test_alignment_puts_landmarks_on_the_template():
    face = get_detector().detect(astronaut_array())[0]
    matrix = align_matrix(face.landmarks)
    mapped = np.hstack([face.landmarks, np.ones((5, 1))]) @ matrix.T
    assert np.abs(mapped - TEMPLATE_112).max() < 4.0
    crop = align_face(astronaut_array(), face.landmarks, size=224)
    assert crop.shape == (224, 224, 3) and crop.dtype == np.uint8


def test_embedding_is_stable_under_recompression_and_rescaling():
    analyzer = FaceAnalyzer()
    original = analyzer.analyze(astronaut_array()).faces[0].embedding
    small = Image.fromarray(astronaut_array()).resize((300, 300))
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=40)
    degraded = np.asarray(Image.open(buffer).convert("RGB"))
    other = analyzer.analyze(degraded).faces[0].embedding
    assert abs(float(np.linalg.norm(original)) - 1.0) < 1e-4
    assert float(original @ other) > 0.8
    flipped = analyzer.analyze(np.ascontiguousarray(astronaut_array()[:, ::-1])).faces[0].embedding
    assert float(original @ flipped) > 0.6
    assert get_embedder().dim == len(original) == 128


def test_tight_crop_is_found_with_padding_retry():
    tight = astronaut_array()[70:170, 180:265]  # forehead to chin, no context
    padded = detect_padded(get_detector(), tight)
    assert len(padded) == 1
    x, y, w, h = padded[0].bbox
    assert -30 < x < 40 and -40 < y < 40, "coordinates are mapped back to the unpadded crop"
    assert len(FaceAnalyzer().analyze(tight).faces) == 1


def test_quality_prefers_large_sharp_frontal_faces():
    analyzer = FaceAnalyzer()
    sharp = analyzer.analyze(astronaut_array()).faces[0].quality
    blurred_img = np.asarray(Image.fromarray(astronaut_array()).resize((128, 128)).resize((512, 512)))
    blurred = analyzer.analyze(blurred_img).faces[0].quality
    assert sharp.score > blurred.score and sharp.sharpness > blurred.sharpness
    frontal = np.array([[30, 40], [70, 40], [50, 60], [35, 80], [65, 80]], float)
    profile = np.array([[30, 40], [50, 40], [58, 60], [35, 80], [52, 80]], float)
    assert frontalness(frontal) > 0.9 > 0.5 > frontalness(profile)


def test_model_with_wrong_digest_is_refused():
    bad = ModelFile("yunet-tampered", YUNET.filename, "0" * 64, YUNET.licence)
    with pytest.raises(ModelUnavailable, match="refusing"):
        model_path(bad)


def test_crowd_is_capped_and_says_so():
    tile = np.asarray(Image.fromarray(astronaut_array()).crop((120, 20, 340, 240)).resize((160, 160)))
    grid = np.vstack([np.hstack([tile] * 3)] * 2)  # six faces
    found = FaceAnalyzer(max_faces=4).analyze(grid)
    assert found.total_detected == 6 and len(found.faces) == 4 and found.capped
    assert "6 faces detected" in found.notes[0]
    scores = [f.detection.score for f in found.faces]
    assert scores == sorted(scores, reverse=True), "the most confident faces are kept"


def test_tiny_face_is_reported_with_low_quality():
    small = np.asarray(Image.fromarray(astronaut_array()).resize((96, 96)))
    canvas = np.full((480, 640, 3), 128, dtype=np.uint8)
    canvas[200:296, 300:396] = small
    faces = FaceAnalyzer().analyze(canvas).faces
    assert len(faces) == 1, "a ~16 px face is still found and reported"
    quality = faces[0].quality
    assert quality.face_px < 24 and quality.size == 0.0
    assert quality.score < MatchParams().min_quality, "too small to ever be a confident match"


def test_extreme_strips_never_yield_garbage_faces() -> None:
    """A 3000x12 strip scales to 8 px tall, where YuNet used to return random rows after seeing other sizes."""
    import numpy as np

    from idolguard.faces.detector import get_detector
    from tests.conftest import astronaut

    detector = get_detector()
    photo = np.asarray(astronaut())
    for shape in [(12, 3000), (3000, 12), (8, 40), (20, 20)]:
        image = np.full((*shape, 3), (200, 30, 30), np.uint8)
        for _ in range(5):
            assert len(detector.detect(photo)) == 1  # the net has just run on another input size
            assert detector.detect(image) == [], shape


def test_scanned_faces_are_embedded_like_references_and_ignore_a_mirror_flip():
    """Probe-side mirroring: a mirrored scanned face is the mean of the crop and its mirror, the same vector
    enrolment makes, so a mirrored copy of a photo (a common re-upload edit) scores like the original. (The
    shipped ``lazy`` policy adds the mirror where the gallery needs it: tests/faces/test_lazy_mirror.py.)"""
    from idolguard.faces.analysis import MIRROR_PROBES, reference_embeddings

    assert MIRROR_PROBES and FaceAnalyzer().probe_views == "lazy"
    image = astronaut_array()
    flipped = np.ascontiguousarray(image[:, ::-1])
    mirrored = FaceAnalyzer(probe_views="crop+mirror")
    plain = FaceAnalyzer(detector=mirrored.detector, embedder=mirrored.embedder, probe_views="crop")
    face = mirrored.analyze(image).faces[0]
    assert mirrored.embedder is not None
    assert np.allclose(face.embedding, reference_embeddings(mirrored.embedder, [face.aligned])[0], atol=1e-6)
    # the crop + mirror vector of cohort faces (enrolled references are multi-scale: test_reembed.py)
    assert np.allclose(mirrored.analyze(image, mirror=True).faces[0].embedding, face.embedding, atol=1e-6)
    plain_face = plain.analyze(image).faces[0]
    assert np.allclose(plain_face.embedding, mirrored.embedder.embed([face.aligned])[0], atol=1e-6)
    # Flip invariance: with both views averaged, the original and its mirror image give nearly one vector;
    # from the crop alone they differ measurably.
    both = float(face.embedding @ mirrored.analyze(flipped).faces[0].embedding)
    single = float(plain_face.embedding @ plain.analyze(flipped).faces[0].embedding)
    assert both > single + 0.01 and both > 0.95, (both, single)


@pytest.mark.slow
def test_mirrored_probes_separate_east_asian_pairs_at_least_as_well():
    """On real East Asian photos (eastasian-dev pairs, first 20 same-person and 20 different-person pairs),
    scoring the probe as crop + mirror widens the gap between same-person and different-person similarity
    (measured over all 590 pairs: 0.527 -> 0.532; docs/BENCHMARKS.md)."""
    import csv

    from tests.conftest import shared_data

    root = shared_data("eastasian-dev")
    with open(root / "pairs.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    chosen = [r for r in rows if r["same"] == "1"][:20] + [r for r in rows if r["same"] == "0"][:20]
    mirrored = FaceAnalyzer(probe_views="crop+mirror")
    plain = FaceAnalyzer(detector=mirrored.detector, embedder=mirrored.embedder, probe_views="crop")
    from idolguard.faces.analysis import primary_face
    from idolguard.media.image import load_rgb

    def vector(analyzer: FaceAnalyzer, rel: str, reference: bool = False) -> np.ndarray | None:
        image = load_rgb(root / rel)
        face = primary_face(analyzer.analyze(image, reference=reference).faces, image.shape)
        return None if face is None else face.embedding

    gaps = {}
    for name, analyzer in (("plain", plain), ("mirrored", mirrored)):
        same, other = [], []
        for row in chosen:
            a, b = vector(mirrored, row["a"], reference=True), vector(analyzer, row["b"])
            if a is not None and b is not None:
                (same if row["same"] == "1" else other).append(float(a @ b))
        assert len(same) >= 15 and len(other) >= 15
        gaps[name] = float(np.mean(same) - np.mean(other))
    assert gaps["mirrored"] >= gaps["plain"], gaps
