"""Open-set matching logic on synthetic unit vectors (fast, exact expectations)."""

from __future__ import annotations

import numpy as np
import pytest

from idolguard.gallery.matching import MATCH, NO_MATCH, POSSIBLE, GalleryIndex, MatchParams


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


@pytest.fixture
def basis() -> np.ndarray:
    return np.eye(128, dtype=np.float32)


def mix(basis: np.ndarray, weights: dict[int, float]) -> np.ndarray:
    return unit(sum(w * basis[i] for i, w in weights.items()))


def test_artist_score_is_mean_of_two_best_references(basis):
    refs = np.stack([mix(basis, {0: 1}), mix(basis, {0: 1, 1: 1}), mix(basis, {1: 1}), mix(basis, {2: 1})])
    index = GalleryIndex(["a", "b"], refs, np.array([0, 0, 0, 1]), params=MatchParams())
    probe = basis[0][None, :]
    scores = index.artist_scores(probe)
    assert scores.shape == (1, 2)
    assert scores[0, 0] == pytest.approx((1.0 + 1 / np.sqrt(2)) / 2, abs=1e-5)
    assert scores[0, 1] == pytest.approx(0.0, abs=1e-6)


def test_decisions_thresholds_margin_and_quality(basis):
    params = MatchParams(match_threshold=0.6, possible_threshold=0.4, min_margin=0.1, min_quality=0.3)
    refs = np.stack([basis[0], basis[0], basis[1], basis[1]])
    index = GalleryIndex(["a", "b"], refs, np.array([0, 0, 1, 1]), params=params)
    clear = mix(basis, {0: 1.0, 5: 0.3})
    weak = mix(basis, {0: 0.5, 5: 0.8})
    ambiguous = mix(basis, {0: 1.0, 1: 0.95})
    stranger = basis[7]
    results = index.match(np.stack([clear, weak, ambiguous, stranger, clear]), [0.9, 0.9, 0.9, 0.9, 0.1])
    assert [r.decision for r in results] == [MATCH, POSSIBLE, POSSIBLE, NO_MATCH, POSSIBLE]
    assert results[0].artist == "a" and results[0].runner_up == "b" and results[0].margin > 0.9
    assert results[2].margin < 0.1, "near-tie between two artists is never a confident match"
    assert results[3].artist == "a" or results[3].artist == "b"  # a stranger still gets a nearest artist...
    assert results[3].similarity == pytest.approx(0.0, abs=1e-6)  # ...at a similarity that says it is nobody


def test_per_artist_threshold_overrides_global(basis):
    refs = np.stack([basis[0], basis[1]])
    probe = mix(basis, {0: 1.0, 9: 0.9})  # cosine ~0.74 to artist a
    strict = GalleryIndex(["a", "b"], refs, np.array([0, 1]), thresholds={"a": 0.9}, params=MatchParams())
    lenient = GalleryIndex(["a", "b"], refs, np.array([0, 1]), params=MatchParams())
    assert lenient.match(probe[None])[0].decision == MATCH
    assert strict.match(probe[None])[0].decision != MATCH


def test_empty_gallery_reports_no_match():
    index = GalleryIndex([], np.zeros((0, 128), np.float32), np.zeros(0, np.int64), params=MatchParams())
    result = index.match(unit(np.ones((2, 128), np.float32)))
    assert [r.decision for r in result] == [NO_MATCH, NO_MATCH] and result[0].artist is None


def test_snorm_uses_cohort_and_large_gallery_is_vectorised():
    rng = np.random.default_rng(3)
    refs = unit(rng.normal(size=(20_000, 128)).astype(np.float32))
    owners = np.repeat(np.arange(1000), 20)
    cohort = unit(rng.normal(size=(300, 128)).astype(np.float32))
    params = MatchParams(norm="snorm", match_threshold=3.0, possible_threshold=2.0)
    index = GalleryIndex([f"a{i}" for i in range(1000)], refs, owners, cohort, params=params)
    assert index.normalising
    probe = unit(refs[42] + 0.3 * rng.normal(size=128).astype(np.float32) / np.sqrt(128))
    stranger = unit(rng.normal(size=(1, 128)).astype(np.float32))
    genuine, impostor = index.match(np.stack([probe, stranger[0]]))
    assert genuine.artist == "a2" and genuine.decision == MATCH and genuine.score > 3.0
    assert impostor.decision == NO_MATCH and impostor.score < genuine.score
