"""Lazy probe mirroring: scanned faces get their mirror view only where it can change the decision.

The thresholds are calibrated on crop + mirror vectors; a face is embedded from its crop and, when some
artist's crop-only score comes within ``mirror_delta`` of that artist's ``possible`` threshold (or above it)
and the face is not a certain ``match`` (far above its best artist's match threshold, far ahead of every
other artist), its mirror view too. Real models on the astronaut portrait and, where present, real East
Asian photos.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from idolguard.faces.analysis import CROP, CROP_MIRROR, LAZY, FaceAnalyzer, complete_views, fuse_views
from idolguard.faces.stage import MIRROR_MISSING, analyse_path, contribute_faces
from idolguard.gallery.matching import MATCH, NO_MATCH, POSSIBLE, GalleryIndex, MatchParams
from idolguard.pipeline.resources import Resources
from tests.faces.helpers import astronaut_array, save
from tests.faces.test_matching import mix, unit


@pytest.fixture(scope="module")
def analyzers() -> dict[str, FaceAnalyzer]:
    lazy = FaceAnalyzer(probe_views=LAZY)
    return {
        LAZY: lazy,
        CROP_MIRROR: FaceAnalyzer(lazy.detector, lazy.embedder, probe_views=CROP_MIRROR),
        CROP: FaceAnalyzer(lazy.detector, lazy.embedder, probe_views=CROP),
    }


def params(match: float, possible: float, delta: float | None = 0.08) -> MatchParams:
    return MatchParams(match_threshold=match, possible_threshold=possible, mirror_delta=delta)


def gallery_of(reference: np.ndarray, p: MatchParams, revision: str = "r1", twin: bool = False) -> GalleryIndex:
    """The astronaut enrolled (its crop + mirror vector, twice) next to two artists it does not resemble; with
    ``twin`` the second artist has the astronaut's references too (a runner-up as close as the best: no face
    of the astronaut is then a certain match)."""
    rng = np.random.default_rng(3)
    others = unit(rng.normal(size=(4, 128)).astype(np.float32))
    if twin:
        others[:2] = reference
    refs = np.concatenate([np.stack([reference, reference]), others])
    return GalleryIndex(["astronaut", "b", "c"], refs, np.array([0, 0, 1, 1, 2, 2]), params=p, revision=revision)


def own_crop_score(analyzers: dict[str, FaceAnalyzer], reference: np.ndarray) -> float:
    """The astronaut's crop-only score against its own crop + mirror reference."""
    face = analyzers[CROP].analyze(astronaut_array()).faces[0]
    return float(face.embedding @ reference)


def band(score: float) -> MatchParams:
    """Thresholds that put a crop-only ``score`` in the mirror band but not far enough above ``match``."""
    return params(score - 0.02, score - 0.08)


def narrow_band_at(possible: float) -> MatchParams:
    """``match`` 0.10 above ``possible`` and a ``mirror_band`` (0.07) narrower than ``mirror_delta`` (0.08),
    measured at exactly ``possible``: a score 0.075 below ``possible`` lies inside the delta, outside the band."""
    return MatchParams(
        match_threshold=possible + 0.10,
        possible_threshold=possible,
        mirror_delta=0.08,
        mirror_band=0.07,
        mirror_band_from=possible,
        mirror_band_upto=possible,
    )


def test_mirror_band_follows_every_artists_possible_threshold() -> None:
    basis = np.eye(128, dtype=np.float32)
    refs = np.stack([basis[0], basis[0], basis[1], basis[1]])
    index = GalleryIndex(["a", "b"], refs, np.array([0, 0, 1, 1]), params=params(0.46, 0.40))
    probes = np.stack(
        [
            mix(basis, {0: 0.30, 9: 1.0}),  # crop score ~0.29: more than delta below possible (0.32)
            mix(basis, {0: 0.36, 9: 1.0}),  # ~0.34: within delta below possible
            mix(basis, {0: 1.0, 9: 0.2}),  # far above match
            basis[9],  # nobody
        ]
    )
    # The band alone (the earlier rule); the shipped rule also leaves the certain match (third) crop-only.
    assert index.mirror_needed(probes, skip_certain=False).tolist() == [False, True, True, False]
    assert index.mirror_needed(probes).tolist() == [False, True, False, False]
    # A stricter explicit threshold for artist a moves its band up; a laxer one for b brings b's band down.
    strict = GalleryIndex(["a", "b"], refs, np.array([0, 0, 1, 1]), thresholds={"a": 0.95}, params=params(0.46, 0.40))
    assert strict.mirror_needed(probes).tolist() == [False, False, True, False]  # 0.98 is not certain at 0.95
    lax_b = GalleryIndex(["a", "b"], refs, np.array([0, 0, 1, 1]), thresholds={"b": 0.07}, params=params(0.46, 0.40))
    assert lax_b.mirror_needed(probes, skip_certain=False).tolist() == [True, True, True, True]
    assert lax_b.mirror_needed(probes).tolist() == [True, True, False, True]
    # No calibrated delta: every face mirrored. S-norm scores: the raw bound does not apply, every face.
    assert (
        GalleryIndex(["a", "b"], refs, np.array([0, 0, 1, 1]), params=params(0.46, 0.40, None))
        .mirror_needed(probes)
        .all()
    )
    snorm = MatchParams(norm="snorm", min_cohort=1, mirror_delta=0.08)
    assert GalleryIndex(["a", "b"], refs, np.array([0, 0, 1, 1]), params=snorm).mirror_needed(probes).all()
    empty = GalleryIndex([], np.zeros((0, 128), np.float32), np.zeros(0, np.int64), params=params(0.46, 0.40))
    assert not empty.mirror_needed(probes).any()


def test_the_narrower_band_applies_only_at_the_thresholds_it_was_measured_at() -> None:
    """``mirror_band`` narrows the band below ``possible`` for artists whose threshold lies in
    [``mirror_band_from``, ``mirror_band_upto``]; any other artist keeps the ``mirror_delta``-wide band."""
    basis = np.eye(128, dtype=np.float32)
    refs = np.stack([basis[0], basis[0], basis[1], basis[1]])
    owners = np.array([0, 0, 1, 1])
    banded = MatchParams(
        match_threshold=0.46,
        possible_threshold=0.40,
        mirror_delta=0.08,
        mirror_band=0.05,
        mirror_band_from=0.40,
        mirror_band_upto=0.40,
    )
    probes = np.stack([scored(basis, a, 0.0) for a in (0.30, 0.34, 0.36, 0.48)])  # gaps to 0.40: .10 .06 .04 -
    wide = GalleryIndex(["a", "b"], refs, owners, params=params(0.46, 0.40))
    narrow = GalleryIndex(["a", "b"], refs, owners, params=banded)
    assert wide.mirror_needed(probes).tolist() == [False, True, True, True]
    assert narrow.mirror_needed(probes).tolist() == [False, False, True, True]  # 0.34: outside 0.05, skipped
    # An explicit threshold the band was not measured at keeps the delta-wide band, stricter or laxer.
    for explicit, score in ((0.60, 0.48), (0.30, 0.18)):  # possible 0.54 / 0.24, the score 0.06 below it
        index = GalleryIndex(["a", "b"], refs, owners, thresholds={"a": explicit}, params=banded)
        assert index.mirror_needed(np.stack([scored(basis, score, 0.0)])).tolist() == [True], explicit
    # A quality penalty moves the face's threshold out of the measured range: delta again.
    penalised = GalleryIndex(["a", "b"], refs, owners, params=MatchParams(**{**banded.as_dict(), "quality_slope": 0.5}))
    assert penalised.mirror_needed(probes[1:2], [1.0]).tolist() == [False]
    assert penalised.mirror_needed(np.stack([scored(basis, 0.44, 0.0)]), [0.3]).tolist() == [True]  # possible .50
    # Never wider than delta; without its measured range the band is delta wide.
    too_wide = MatchParams(**{**banded.as_dict(), "mirror_band": 0.2})
    assert GalleryIndex(["a", "b"], refs, owners, params=too_wide).mirror_needed(probes).tolist() == [
        False,
        True,
        True,
        True,
    ]
    unmeasured = MatchParams(**{**banded.as_dict(), "mirror_band_from": None})
    assert GalleryIndex(["a", "b"], refs, owners, params=unmeasured).mirror_needed(probes).tolist() == [
        False,
        True,
        True,
        True,
    ]


def scored(basis: np.ndarray, a: float, b: float) -> np.ndarray:
    """A probe whose artist scores are exactly ``a`` (artist a: basis 0) and ``b`` (artist b: basis 1)."""
    return mix(basis, {0: a, 1: b, 9: float(np.sqrt(1 - a * a - b * b))})


def test_a_local_matching_block_drops_the_shipped_band_unless_it_measured_its_own() -> None:
    """Review A finding 9: the shipped ``mirror_band`` (0.07 at ``possible`` 0.40) was measured with the shipped
    rule. A local ``[faces.matching]`` that widens ``mirror_delta`` (or changes thresholds, the quality penalty
    ...) gets the delta-wide band: a face 0.09 below ``possible`` is mirrored under ``mirror_delta = 0.12``.
    Settings that never move a face across ``possible`` keep the band, and so does a block with its own band."""
    shipped = MatchParams.shipped()
    assert shipped.mirror_band is not None and shipped.mirror_band < shipped.mirror_delta  # type: ignore[operator]
    wider = MatchParams.for_settings({"faces": {"matching": {"mirror_delta": 0.12}}})
    assert wider.mirror_delta == 0.12 and (wider.mirror_band, wider.mirror_band_from, wider.mirror_band_upto) == (
        None,
        None,
        None,
    )
    basis = np.eye(128, dtype=np.float32)
    refs = np.stack([basis[0], basis[1]])
    score = shipped.possible_threshold - 0.09  # 0.09 below the shipped possible threshold
    probe = mix(basis, {0: score, 5: float(np.sqrt(1 - score**2))})
    for chosen, mirrored in ((wider, True), (shipped, False)):
        index = GalleryIndex(["a", "b"], refs, np.array([0, 1]), params=chosen)
        assert abs(float(index.artist_scores(probe[None, :])[0, 0]) - (shipped.possible_threshold - 0.09)) < 1e-3
        assert bool(index.mirror_needed(probe[None, :], [1.0])[0]) is mirrored
    for local in ({"possible_threshold": 0.38}, {"quality_slope": 0.2}, {"artist_margin": 0.05}, {"norm": "snorm"}):
        assert MatchParams.for_settings({"faces": {"matching": local}}).mirror_band is None, local
    for local in ({"min_quality": 0.2}, {"min_margin": 0.01}, {"verify_threshold": 0.5}):
        assert MatchParams.for_settings({"faces": {"matching": local}}).mirror_band == shipped.mirror_band, local
    own = {"mirror_delta": 0.12, "mirror_band": 0.09, "mirror_band_from": 0.4, "mirror_band_upto": 0.4}
    measured = MatchParams.for_settings({"faces": {"matching": own}})
    assert (measured.mirror_band, measured.mirror_band_from, measured.mirror_band_upto) == (0.09, 0.4, 0.4)


def test_a_certain_match_is_left_crop_only_but_a_close_runner_up_or_threshold_is_not() -> None:
    basis = np.eye(128, dtype=np.float32)
    refs = np.stack([basis[0], basis[0], basis[1], basis[1], basis[2], basis[2]])
    owners = np.array([0, 0, 1, 1, 2, 2])

    def needed(p: MatchParams, rows: list[tuple[float, float]], quality: list[float] | None = None) -> list[bool]:
        index = GalleryIndex(["a", "b", "c"], refs, owners, params=p)
        return index.mirror_needed(np.stack([scored(basis, a, b) for a, b in rows]), quality).tolist()

    shipped = params(0.46, 0.40)  # delta 0.08: certain = best >= 0.54 and best - runner-up > 0.16
    cases = {
        (0.75, 0.20): False,  # certain match
        (0.75, 0.62): True,  # runner-up within 2 x delta: the mirror could swap them
        (0.75, 0.58): False,  # runner-up just over 2 x delta behind
        (0.53, 0.00): True,  # above match but within delta of it: the mirror could drop it to possible
        (0.55, 0.00): False,
    }
    assert needed(shipped, list(cases)) == list(cases.values())
    # Quality: a poor face's penalty raises the threshold the best artist must clear by delta.
    slope = MatchParams(match_threshold=0.46, possible_threshold=0.40, mirror_delta=0.08, quality_slope=0.5)
    assert needed(slope, [(0.70, 0.2), (0.70, 0.2)], [1.0, 0.1]) == [False, True]
    # Under the minimum quality the face is ``possible`` with its artist either way: certain too.
    assert needed(shipped, [(0.75, 0.2)], [0.05]) == [False]
    # A required margin widens the lead needed: best - runner-up - 2 x delta >= min_margin.
    margin = MatchParams(match_threshold=0.46, possible_threshold=0.40, mirror_delta=0.08, min_margin=0.2)
    assert needed(margin, [(0.75, 0.20), (0.75, 0.45)]) == [False, True]
    # With the S-norm gate a match also needs the probe's z-score, which the raw bound does not cover.
    gated = MatchParams(match_threshold=0.46, possible_threshold=0.40, mirror_delta=0.08, norm_threshold=1.0)
    gated = MatchParams(**{**gated.as_dict(), "min_cohort": 1})
    assert needed(gated, [(0.75, 0.20)]) == [True]
    # One artist: no runner-up, the threshold alone.
    single = GalleryIndex(["a"], refs[:2], np.array([0, 0]), params=shipped)
    assert single.mirror_needed(np.stack([scored(basis, 0.6, 0.0), scored(basis, 0.5, 0.0)])).tolist() == [
        False,
        True,
    ]


def _look_alike_gallery(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Six artists' centres in three pairs of look-alikes (so runner-ups are often close) and three references
    each. The two random band tests draw their galleries here, so both test the promise on the same kind."""
    pairs = np.repeat(rng.normal(size=(3, 128)), 2, axis=0)
    centres = unit((pairs + 0.6 * rng.normal(size=(6, 128))).astype(np.float32))
    refs = unit(np.repeat(centres, 3, axis=0) + 0.08 * rng.normal(size=(18, 128)).astype(np.float32))
    return centres, refs


def _crops_and_mirrors(rng: np.random.Generator, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """200 faces of random artists: crop-only vectors, the fused crop + mirror vectors and qualities. The
    "mirror" moves each vector at random and towards the crop's look-alike (the adversarial case)."""
    who = rng.integers(0, 6, 200)
    crop = unit(centres[who] * rng.uniform(0, 1.2, (200, 1)) + 0.1 * rng.normal(size=(200, 128)))
    twin = centres[who ^ 1] - centres[who]
    fused = unit(
        crop + rng.uniform(0, 0.2, (200, 1)) * unit(rng.normal(size=(200, 128))) + rng.uniform(0, 0.4, (200, 1)) * twin
    )
    quality = rng.uniform(0, 1, 200).round(3).tolist()
    return crop, fused, quality


def _trial_params(trial: int, delta: float, **band: float) -> MatchParams:
    """The matching parameters of one random trial: a quality slope every other trial and a minimum margin every
    third, so both random band tests cover the same mix; ``band`` adds the narrower band's fields."""
    return MatchParams(
        match_threshold=0.46,
        possible_threshold=0.40,
        mirror_delta=delta,
        **band,
        quality_slope=0.3 * (trial % 2),
        min_margin=0.05 * (trial % 3 == 0),
    )


def _assert_decide_alike(by_crop: list[Any], by_fused: list[Any], faces: np.ndarray, trial: int) -> int:
    """Each of ``faces`` gets the same decision, and artist unless no match, from its crop as from its fused
    vector (what leaving it crop-only promises); how many were checked."""
    for k in faces:
        a, b = by_crop[k], by_fused[k]
        assert (a.decision, a.artist if a.decision != NO_MATCH else None) == (
            b.decision,
            b.artist if b.decision != NO_MATCH else None,
        ), (trial, k)
    return len(faces)


def test_no_face_left_crop_only_changes_decision_when_the_mirror_moves_scores_within_delta() -> None:
    """The rule's promise, on random galleries: wherever fusing the mirror raises no artist's score and lowers
    the crop-only best artist's by no more than delta, every face ``mirror_needed`` leaves crop-only (below the
    band or a certain match) gets the same decision and artist from the fused vector as from the crop."""
    rng = np.random.default_rng(17)
    delta = 0.08
    checked = {"certain": 0, "below": 0}
    for trial in range(40):
        centres, refs = _look_alike_gallery(rng)
        p = _trial_params(trial, delta)
        index = GalleryIndex([f"a{i}" for i in range(6)], refs, np.repeat(np.arange(6), 3), params=p)
        crop, fused, quality = _crops_and_mirrors(rng, centres)
        c_scores, f_scores = index.artist_scores(crop), index.artist_scores(fused)
        change = f_scores - c_scores
        best = c_scores.argmax(axis=1)
        within = np.maximum(change.max(axis=1), -change[np.arange(200), best]) <= delta
        needed = index.mirror_needed(crop, quality)
        band_only = index.mirror_needed(crop, quality, skip_certain=False)
        by_crop, by_fused = index.match(crop, quality), index.match(fused, quality)
        left = np.flatnonzero(within & ~needed)
        _assert_decide_alike(by_crop, by_fused, left, trial)
        checked["certain"] += int(band_only[left].sum())
        checked["below"] += len(left) - int(band_only[left].sum())
    assert checked["certain"] >= 100 and checked["below"] >= 1000, checked


def test_no_face_left_crop_only_changes_decision_when_each_score_moves_within_its_band() -> None:
    """The narrower band's promise, on random galleries with some artists at measured thresholds and some not:
    wherever fusing the mirror raises each artist's score by no more than that artist's band width
    (``band_widths``: ``mirror_band`` at a measured threshold, else ``mirror_delta``) and every score, and the
    best artist's fall, by no more than ``mirror_delta``, a face left crop-only decides as the fused vector."""
    rng = np.random.default_rng(23)
    delta, band = 0.08, 0.05
    newly_skipped = checked = 0
    for trial in range(40):
        centres, refs = _look_alike_gallery(rng)
        p = _trial_params(trial, delta, mirror_band=band, mirror_band_from=0.40, mirror_band_upto=0.40)
        explicit = {"a1": 0.55, "a4": 0.38} if trial % 4 else {}  # thresholds the band was not measured at
        names = [f"a{i}" for i in range(6)]
        index = GalleryIndex(names, refs, np.repeat(np.arange(6), 3), thresholds=explicit, params=p)
        wide = GalleryIndex(
            names,
            refs,
            np.repeat(np.arange(6), 3),
            thresholds=explicit,
            params=MatchParams(**{**p.as_dict(), "mirror_band": None}),
        )
        crop, fused, quality = _crops_and_mirrors(rng, centres)
        c_scores, f_scores = index.artist_scores(crop), index.artist_scores(fused)
        change = f_scores - c_scores
        penalty = p.quality_penalty(np.array(quality))
        widths = index.band_widths(index.thresholds[None, :] + penalty[:, None] - p.possible_gap, delta)
        best = c_scores.argmax(axis=1)
        within = (change <= widths).all(axis=1) & (-change[np.arange(200), best] <= delta)
        needed = index.mirror_needed(crop, quality)
        by_crop, by_fused = index.match(crop, quality), index.match(fused, quality)
        checked += _assert_decide_alike(by_crop, by_fused, np.flatnonzero(within & ~needed), trial)
        newly_skipped += int((within & ~needed & wide.mirror_needed(crop, quality)).sum())
        assert not (needed & ~wide.mirror_needed(crop, quality)).any()  # a subset of the delta-wide band
    assert checked >= 1000 and newly_skipped >= 50, (checked, newly_skipped)


def test_the_shipped_record_measured_both_skips_on_held_out_folds() -> None:
    """The claim "0 decisions differ" is a held-out count of the rule as shipped (both skips), not assumed."""
    import json
    from importlib import resources

    record = json.loads(resources.files("idolguard.gallery").joinpath("calibration.json").read_text("utf-8"))
    how = record["mirror_delta_how"]
    assert "best artist's fall" in how["held_out_identity"]["how"] and "certain match" in how["held_out_source"]["how"]
    for side in ("held_out_identity", "held_out_source"):
        check = how[side]
        assert check["decisions_differing"] == 0 and check["certain_match_skipped"] > 0, side
    assert record["mirror_delta"] == MatchParams.shipped().mirror_delta >= how["rises"]["q0.999"] + 0.01 - 1e-9
    # The narrower band below ``possible``: measured at the shipped threshold, checked held out with the rest.
    shipped = MatchParams.shipped()
    assert shipped.mirror_band is not None and shipped.mirror_band <= shipped.mirror_delta
    assert shipped.mirror_band >= record["mirror_band_how"]["rises"]["q0.999"] + 0.01 - 1e-9
    assert shipped.mirror_band_from == shipped.mirror_band_upto == shipped.possible_threshold
    for side in ("held_out_identity", "held_out_source"):
        assert how[side]["mirrored_share"] < how[side]["mirrored_share_delta_band"], side


def test_lazy_and_full_mirroring_decide_alike_near_and_far_from_the_thresholds(analyzers) -> None:  # type: ignore[no-untyped-def]
    image = astronaut_array()
    lazy, full = analyzers[LAZY], analyzers[CROP_MIRROR]
    assert lazy.embedder is not None
    reference = full.analyze(image, reference=True).faces[0].embedding
    crop_score = float(full.analyze(image, reference=True).faces[0].crop_embedding @ reference)
    full_face = full.analyze(image).faces[0]
    full_score = float(full_face.embedding @ reference)
    assert full_face.views == CROP_MIRROR and crop_score < full_score  # the mirror moves the score
    # Thresholds placed around the face's own scores: far above it, at it, just under it, far under it.
    cases = {
        "far below possible": (full_score + 0.3, full_score + 0.25, NO_MATCH, CROP),
        "just above the crop score": (crop_score + 0.01, crop_score - 0.01, POSSIBLE, CROP_MIRROR),
        "between the crop and fused scores": ((crop_score + full_score) / 2, crop_score - 0.05, MATCH, CROP_MIRROR),
        # A certain match: the crop decides (the mirror cannot change it), so no mirror pass.
        "far above match": (full_score - 0.3, full_score - 0.35, MATCH, CROP),
    }
    for name, (match_t, possible_t, expected, views) in cases.items():
        index = gallery_of(reference, params(match_t, possible_t))
        faces = lazy.analyze(image).faces
        assert faces[0].views == CROP, "lazy embeds the crop alone first"
        complete_views(lazy.embedder, faces, index)
        lazy_decision = index.match(np.stack([faces[0].embedding]), [faces[0].quality.score])[0]
        full_decision = index.match(np.stack([full_face.embedding]), [full_face.quality.score])[0]
        assert faces[0].views == views, name
        assert lazy_decision.decision == full_decision.decision == expected, name
        if views == CROP_MIRROR:  # decided on exactly the vector a full mirror pass gives
            assert np.allclose(faces[0].embedding, full_face.embedding, atol=1e-6), name
        else:  # the crop's own vector (and similarity)
            assert np.array_equal(faces[0].embedding, faces[0].crop_embedding), name
            assert lazy_decision.similarity == pytest.approx(crop_score, abs=1e-5), name
    # The same far-above face with a look-alike enrolled as close as the astronaut: not certain, mirrored.
    index = gallery_of(reference, params(full_score - 0.3, full_score - 0.35), twin=True)
    faces = lazy.analyze(image).faces
    assert complete_views(lazy.embedder, faces, index) == 1 and faces[0].views == CROP_MIRROR
    # The crop-only decision would differ in the "between" case: there the mirror pass was needed.
    index = gallery_of(reference, params((crop_score + full_score) / 2, crop_score - 0.05))
    crop_face = analyzers[CROP].analyze(image).faces[0]
    assert index.match(np.stack([crop_face.embedding]))[0].decision == POSSIBLE


def test_fused_vector_equals_the_reference_embedding(analyzers) -> None:  # type: ignore[no-untyped-def]
    lazy = analyzers[LAZY]
    assert lazy.embedder is not None
    face = lazy.analyze(astronaut_array()).faces[0]
    mirror = lazy.embedder.embed([np.ascontiguousarray(face.aligned[:, ::-1])])[0]
    reference = lazy.analyze(astronaut_array(), mirror=True).faces[0]  # cohort faces, pair column a
    assert reference.views == CROP_MIRROR
    assert np.allclose(fuse_views(face.embedding, mirror), reference.embedding, atol=1e-6)
    # Enrolled references are multi-scale: the same crop and mirror first, then 2 more alignments.
    from idolguard.faces.analysis import REFERENCE_EMBEDDING, multiscale_views

    enrolled = lazy.analyze(astronaut_array(), reference=True).faces[0]
    assert enrolled.views == REFERENCE_EMBEDDING
    views = multiscale_views(lazy.embedder, astronaut_array(), enrolled.detection.landmarks, enrolled.aligned)
    assert views.shape == (6, 128)
    assert np.allclose(views[0], face.embedding, atol=1e-6) and np.allclose(views[1], mirror, atol=1e-6)
    assert not np.allclose(views[2], views[0], atol=1e-3)  # another alignment, another vector
    mean = views.sum(axis=0)
    assert np.allclose(enrolled.embedding, mean / np.linalg.norm(mean), atol=1e-6)


def _stage_output(tmp_path: Path, gallery: GalleryIndex | None) -> dict[str, Any]:
    from PIL import Image

    path = save(Image.fromarray(astronaut_array()), tmp_path / "astronaut.jpg")
    resources = Resources({"gallery": gallery}) if gallery is not None else None
    return analyse_path(path, "image", mime="image/jpeg", resources=resources)


def test_stage_stores_per_face_views_and_skips_the_mirror_without_a_gallery(tmp_path, analyzers) -> None:  # type: ignore[no-untyped-def]
    output = _stage_output(tmp_path, None)
    assert output["probe_embedding"] == LAZY and output["mirrored"] == 0
    assert [f["views"] for f in output["faces"]] == [CROP] and output["faces"][0]["decision"] == NO_MATCH
    reference = analyzers[CROP_MIRROR].analyze(astronaut_array(), reference=True).faces[0].embedding
    # Shipped-like thresholds: the astronaut is a certain match to its own reference, decided on the crop.
    certain = _stage_output(tmp_path, gallery_of(reference, params(0.46, 0.40)))
    assert certain["mirrored"] == 0 and certain["faces"][0]["views"] == CROP
    assert certain["faces"][0]["decision"] == MATCH and certain["faces"][0]["artist"] == "astronaut"
    # Thresholds just under its crop score: in the band, so the mirror is embedded before deciding.
    matched = _stage_output(tmp_path, gallery_of(reference, band(own_crop_score(analyzers, reference))))
    assert matched["mirrored"] == 1 and matched["faces"][0]["views"] == CROP_MIRROR
    assert matched["faces"][0]["decision"] == MATCH and matched["faces"][0]["artist"] == "astronaut"
    assert "review_reason" not in matched["faces"][0] and "review_reason" not in certain["faces"][0]


def test_refresh_caps_a_stored_crop_only_face_that_a_new_gallery_puts_in_the_band(tmp_path, analyzers) -> None:  # type: ignore[no-untyped-def]
    stored = _stage_output(tmp_path, None)  # scanned before any artist was enrolled: crop only
    reference = analyzers[CROP_MIRROR].analyze(astronaut_array(), reference=True).faces[0].embedding
    near = band(own_crop_score(analyzers, reference))
    # The artist is enrolled afterwards with thresholds near the face's score: the stored vector would be a
    # match, but it is crop-only and the thresholds are for crop + mirror, so the refresh (no media at hand)
    # sends it to a person.
    obj: dict[str, Any] = {}
    contribute_faces(obj, stored, gallery_of(reference, near, revision="r2"))
    face = obj["faces"][0]
    assert face["views"] == CROP and face["artist"] == "astronaut"
    assert face["decision"] == POSSIBLE and face["review_reason"] == MIRROR_MISSING
    # Shipped-like thresholds make it a certain match: the mirror cannot change that, so no cap.
    sure: dict[str, Any] = {}
    contribute_faces(sure, stored, gallery_of(reference, params(0.46, 0.40), revision="r2"))
    assert sure["faces"][0]["decision"] == MATCH and sure["faces"][0]["views"] == CROP
    assert "review_reason" not in sure["faces"][0]
    # A gallery that puts the face far below every possible threshold: decided on the crop, no cap.
    far: dict[str, Any] = {}
    rng = np.random.default_rng(9)
    strangers = GalleryIndex(
        ["x", "y"], unit(rng.normal(size=(4, 128)).astype(np.float32)), np.array([0, 0, 1, 1]), params=params(0.46, 0.4)
    )
    contribute_faces(far, stored, strangers)
    assert far["faces"][0]["decision"] == NO_MATCH and "review_reason" not in far["faces"][0]
    # Analysed again with the gallery in place, the face gets its mirror and a plain ``match``.
    again = _stage_output(tmp_path, gallery_of(reference, near, revision="r2"))
    assert again["faces"][0]["decision"] == MATCH and again["faces"][0]["views"] == CROP_MIRROR


def test_old_stored_outputs_keep_working(tmp_path, analyzers) -> None:  # type: ignore[no-untyped-def]
    reference = analyzers[CROP_MIRROR].analyze(astronaut_array(), reference=True).faces[0].embedding
    index = gallery_of(reference, band(own_crop_score(analyzers, reference)), revision="r3")
    current = _stage_output(tmp_path, None)
    # Version 3 (and earlier): no ``probe_embedding``, no per-face ``views``: crop-only vectors.
    v3 = {k: v for k, v in current.items() if k not in ("probe_embedding", "mirrored")}
    v3["faces"] = [{k: v for k, v in f.items() if k != "views"} for f in current["faces"]]
    obj3: dict[str, Any] = {}
    contribute_faces(obj3, v3, index)
    assert obj3["faces"][0]["views"] == CROP and obj3["faces"][0]["decision"] == POSSIBLE
    # Version 4: every vector crop + mirror, said once for the whole output: decided as is.
    mirrored = analyzers[CROP_MIRROR].analyze(astronaut_array()).faces[0].embedding
    from idolguard.faces.stage import encode_vector

    v4 = {**v3, "probe_embedding": CROP_MIRROR, "embeddings": [encode_vector(mirrored)]}
    obj4: dict[str, Any] = {}
    contribute_faces(obj4, v4, index)
    assert obj4["faces"][0]["views"] == CROP_MIRROR and obj4["faces"][0]["decision"] == MATCH
    assert "review_reason" not in obj4["faces"][0]


def test_video_tracks_get_the_mirror_only_with_a_gallery_that_needs_it(tmp_path, analyzers) -> None:  # type: ignore[no-untyped-def]
    from tests.faces.helpers import write_face_clip

    clip = write_face_clip(tmp_path / "clip.mp4", seconds=3.0)
    plain = analyse_path(clip, "video", mime="video/mp4")
    assert plain["faces"] and all(f["views"] == CROP for f in plain["faces"]) and plain["mirrored"] == 0
    reference = analyzers[CROP_MIRROR].analyze(astronaut_array(), reference=True).faces[0].embedding
    # A look-alike enrolled as close as the astronaut: no track is a certain match, every one is mirrored.
    twins = gallery_of(reference, params(0.3, 0.2), twin=True)
    near = analyse_path(clip, "video", mime="video/mp4", resources=Resources({"gallery": twins}))
    assert all(f["views"] == CROP_MIRROR for f in near["faces"]) and near["mirrored"] == len(near["faces"])
    # The track vector is the quality-weighted mean of its best frames' crop + mirror vectors.
    assert all(f["decision"] in (MATCH, POSSIBLE) for f in near["faces"])
    # The astronaut alone, far above the threshold: certain matches, yet a track of several frames is mirrored
    # (its mirror could not be made later from the one stored crop); only a one-frame track stays crop-only.
    alone = analyse_path(
        clip, "video", mime="video/mp4", resources=Resources({"gallery": gallery_of(reference, params(0.3, 0.2))})
    )
    assert any(f["frames"] > 1 for f in alone["faces"])
    assert all(f["views"] == (CROP_MIRROR if f["frames"] > 1 else CROP) for f in alone["faces"])
    assert all(f["decision"] == MATCH and f["artist"] == "astronaut" for f in alone["faces"])
    still = _stage_output(tmp_path, gallery_of(reference, params(0.3, 0.2)))  # a picture keeps the skip
    assert still["faces"][0]["views"] == CROP and still["faces"][0]["decision"] == MATCH


def test_a_video_certain_match_stays_a_match_when_a_look_alike_is_enrolled_later(tmp_path, analyzers) -> None:  # type: ignore[no-untyped-def]
    """A video track that was a certain match, refreshed against a gallery that enrolled a look-alike: the
    refresh decides it as a fresh scan does (``match``), not ``possible`` for want of a mirror view it cannot
    make (a track's vector averages several frames; one crop is stored)."""
    from tests.faces.helpers import write_face_clip

    clip = write_face_clip(tmp_path / "clip.mp4", seconds=3.0)
    reference = analyzers[CROP_MIRROR].analyze(astronaut_array(), reference=True).faces[0].embedding
    alone = analyse_path(
        clip, "video", mime="video/mp4", resources=Resources({"gallery": gallery_of(reference, params(0.3, 0.2))})
    )
    assert any(f["frames"] > 1 for f in alone["faces"])
    twins = gallery_of(reference, params(0.3, 0.2), twin=True, revision="r9")
    refreshed: dict[str, Any] = {}
    contribute_faces(refreshed, alone, twins)
    fresh = analyse_path(clip, "video", mime="video/mp4", resources=Resources({"gallery": twins}))
    assert not any(f.get("review_reason") == MIRROR_MISSING for f in refreshed["faces"])
    assert [(f["decision"], f["artist"], f["views"]) for f in refreshed["faces"]] == [
        (f["decision"], f["artist"], f["views"]) for f in fresh["faces"]
    ]
    assert any(f["decision"] == MATCH for f in refreshed["faces"])


def test_lazy_equals_full_on_real_east_asian_photos(analyzers) -> None:  # type: ignore[no-untyped-def]
    """Shipped calibration: 6 enrolled identities (3 photos each, crop + mirror), every other photo of the
    first 12 identities as a probe: lazy and full mirroring give the same decision for every face."""
    import csv

    from idolguard.faces.analysis import primary_face
    from idolguard.media.image import load_rgb
    from tests.conftest import shared_data

    root = shared_data("eastasian-dev")
    with open(root / "manifest.csv", newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["set"].startswith("kpop")]
    by_identity: dict[str, list[str]] = {}
    for row in rows:
        by_identity.setdefault(row["identity"], []).append(row["path"])
    people = sorted(i for i, paths in by_identity.items() if len(paths) >= 4)[:12]
    full, lazy = analyzers[CROP_MIRROR], analyzers[LAZY]
    assert lazy.embedder is not None
    names, refs, owners, probes = [], [], [], []
    for k, person in enumerate(people):
        paths = sorted(by_identity[person])
        if k < 6:
            for rel in paths[:3]:
                image = load_rgb(root / rel)
                face = primary_face(full.analyze(image, reference=True).faces, image.shape)
                if face is not None:
                    refs.append(face.embedding)
                    owners.append(len(names))
            names.append(person)
            probes += paths[3:5]
        else:
            probes += paths[:2]
    index = GalleryIndex(names, np.stack(refs), np.array(owners), params=MatchParams.shipped())
    assert index.params.mirror_delta is not None
    decided, mirrored = 0, 0
    for rel in probes:
        image = load_rgb(root / rel)
        full_faces = full.analyze(image).faces
        lazy_faces = lazy.analyze(image).faces
        mirrored += complete_views(lazy.embedder, lazy_faces, index)
        if not full_faces:
            continue
        q = [f.quality.score for f in full_faces]
        by_full = index.match(np.stack([f.embedding for f in full_faces]), q)
        by_lazy = index.match(np.stack([f.embedding for f in lazy_faces]), q)
        for a, b in zip(by_full, by_lazy, strict=True):
            assert (a.decision, a.artist if a.decision != NO_MATCH else None) == (
                b.decision,
                b.artist if b.decision != NO_MATCH else None,
            ), rel
            decided += 1
    assert decided >= 20 and 0 < mirrored <= decided


def test_a_video_track_just_outside_the_narrow_band_is_mirrored_and_a_later_threshold_decides_as_full(  # type: ignore[no-untyped-def]
    tmp_path, analyzers
) -> None:
    """Review A finding 10: a track of several frames 0.075 below ``possible`` lies outside the narrower
    ``mirror_band`` (0.07) but inside ``mirror_delta`` (0.08). Its mirror cannot be added later (one crop is
    stored), so the stage mirrors it with the delta-wide band; a later explicit threshold just above (where the
    band was not measured, so the band is delta wide) then decides it as full mirroring does, not ``possible``
    for want of the mirror."""
    from idolguard.faces.stage import decode_vector
    from tests.faces.helpers import write_face_clip

    clip = write_face_clip(tmp_path / "clip.mp4", seconds=3.0)
    reference = analyzers[CROP_MIRROR].analyze(astronaut_array(), reference=True).faces[0].embedding
    plain = analyse_path(clip, "video", mime="video/mp4")
    tracks = [i for i, f in enumerate(plain["faces"]) if f["frames"] > 1]
    assert tracks, "the clip has a track of several frames"
    first = tracks[0]
    vector = decode_vector(plain["embeddings"][first])
    assert vector is not None
    score = float(gallery_of(reference, params(0.5, 0.4)).artist_scores(vector[None, :])[0, 0])
    possible = score + 0.075
    banded = narrow_band_at(possible)
    index = gallery_of(reference, banded)
    assert not index.mirror_needed(vector[None, :], [1.0], skip_certain=False)[0]  # below the narrow band
    assert index.mirror_needed(vector[None, :], [1.0], skip_certain=False, narrow=False)[0]  # inside delta
    scanned = analyse_path(clip, "video", mime="video/mp4", resources=Resources({"gallery": index}))
    assert scanned["faces"][first]["frames"] > 1 and scanned["faces"][first]["views"] == CROP_MIRROR
    later = {"astronaut": banded.match_threshold + 0.001}  # possible 0.001 higher: outside the measured range
    moved = GalleryIndex(index.names, index.refs, index.ref_artist, thresholds=later, params=banded, revision="r2")
    refreshed: dict[str, Any] = {}
    contribute_faces(refreshed, scanned, moved)
    full_params = MatchParams(**{**banded.as_dict(), "mirror_delta": None})  # every face crop + mirror
    full_index = GalleryIndex(index.names, index.refs, index.ref_artist, thresholds=later, params=full_params)
    full = analyse_path(clip, "video", mime="video/mp4", resources=Resources({"gallery": full_index}))
    assert all(f["views"] == CROP_MIRROR for f in full["faces"])
    assert refreshed["faces"][first].get("review_reason") != MIRROR_MISSING
    assert (refreshed["faces"][first]["decision"], refreshed["faces"][first]["artist"]) == (
        full["faces"][first]["decision"],
        full["faces"][first]["artist"],
    )


def test_a_stored_crop_only_track_of_several_frames_is_capped_with_the_wide_band_on_refresh() -> None:
    """Review s8 finding 5: re-matching a stored crop-only video track of several frames uses the stage's own
    rule for such tracks, the ``mirror_delta``-wide band (``narrow=False``): a newly enrolled artist's score
    0.075 below ``possible`` (outside the narrower ``mirror_band``, inside ``mirror_delta``) caps it at
    ``possible`` (``mirror_view_missing``), where the narrow band decided it ``no_match`` from its crop-only
    vector. A single picture and a one-frame track at the same score keep the narrow band (their mirror comes
    from the stored crop), so they stay ``no_match`` without a crop to mirror."""
    from idolguard.faces.stage import apply_matches, encode_vector

    possible = 0.40
    p = narrow_band_at(possible)
    rng = np.random.default_rng(0)
    ref = unit(rng.normal(size=128).astype(np.float32))
    noise = unit(rng.normal(size=128).astype(np.float32))
    noise = unit(noise - (noise @ ref) * ref)
    target = possible - 0.075
    probe = unit(target * ref + np.sqrt(1 - target**2) * noise)
    index = GalleryIndex(["A"], np.stack([ref, ref]), np.array([0, 0]), params=p, revision="r2")
    assert abs(float(index.artist_scores(probe[None])[0, 0]) - target) < 1e-4
    assert not index.mirror_needed(probe[None], [0.9])[0] and index.mirror_needed(probe[None], [0.9], narrow=False)[0]
    faces = [
        {"index": 0, "quality": 0.9, "track_id": 1, "frames": 5, "views": CROP},
        {"index": 1, "quality": 0.9, "track_id": 2, "frames": 1, "views": CROP},
        {"index": 2, "quality": 0.9, "track_id": None, "views": CROP},
    ]
    out: dict[str, Any] = {"gallery_revision": "r1", "embeddings": [encode_vector(probe)] * 3, "faces": faces}
    apply_matches(out, index, None)
    decided = [(f["decision"], f.get("review_reason")) for f in out["faces"]]
    assert decided == [(POSSIBLE, MIRROR_MISSING), (NO_MATCH, None), (NO_MATCH, None)]
