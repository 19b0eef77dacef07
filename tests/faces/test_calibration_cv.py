"""Cross-validated calibration on synthetic embeddings: intervals, disjoint folds, gallery-aware thresholds."""

from __future__ import annotations

import numpy as np
import pytest

from idolguard.gallery.calibration import LabelledFaces, Settings, cross_validate, default_folds, source_groups, wilson
from idolguard.gallery.matching import MATCH, NO_MATCH, GalleryIndex, MatchParams


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


def synthetic(seed: int = 0) -> LabelledFaces:
    """Three labelled sources (two share people, like the two idol collections) and one unlabelled source."""
    rng = np.random.default_rng(seed)
    rows = []
    centres: dict[str, np.ndarray] = {}

    def person(name: str) -> np.ndarray:
        if name not in centres:
            centres[name] = _unit(rng.normal(size=128))
        return centres[name]

    for source, people, photos in (("alpha", 24, 6), ("beta", 12, 6), ("gamma", 6, 5)):
        for k in range(people):
            name = f"beta/{k}" if source == "gamma" else f"{source}/{k}"  # gamma re-photographs beta's people
            for _ in range(photos):
                rows.append((name, source, _unit(person(name) + 0.09 * rng.normal(size=128))))
    for crowd in ("strangers", "crowd"):
        for _ in range(300):
            rows.append(("", crowd, _unit(rng.normal(size=128))))
    identity = np.array([r[0] for r in rows], dtype=object)
    source = np.array([r[1] for r in rows], dtype=object)
    vectors = np.stack([r[2] for r in rows])
    quality = rng.uniform(0.3, 1.0, len(rows))
    return LabelledFaces([f"p{i}" for i in range(len(rows))], identity, source, vectors, vectors, quality, [])


def test_wilson_interval_brackets_the_rate_and_handles_zero() -> None:
    low, high = wilson(0, 200)
    assert low == 0.0 and 0.01 < high < 0.02
    low, high = wilson(5, 100)
    assert low < 0.05 < high
    assert wilson(0, 0) == (0.0, 1.0)


def test_sources_sharing_people_form_one_group() -> None:
    faces = synthetic()
    groups = source_groups(faces)
    assert {"beta", "gamma"} in groups and {"alpha"} in groups
    folds = default_folds(faces)
    assert sum("strangers" in f for f in folds) == 1, "unlabelled sources are dealt to exactly one fold"
    assert all({"strangers", "crowd"} & f for f in folds), "the two crowds go to different folds"


def test_cross_validation_never_fits_on_what_it_checks() -> None:
    faces = synthetic()
    settings = Settings(draws=2, target_far_upper=0.05, possible_far_upper=0.2)
    report = cross_validate(faces, settings)
    assert len(report["folds"]) == 2
    for fold in report["folds"]:
        assert not set(fold["checked_sources"]) & set(fold["fitted_on"])
        assert fold["variants"]["global"]["target_met"]
    held = report["variants"]["gallery+quality"]["held_out"]
    low, high = held["false_accept_rate_95ci"]
    assert low <= held["false_accept_rate"] <= high
    assert held["rank1_match"] > 0.8, "well separated synthetic people are found"
    assert set(report["variants"]["global"]["per_source"]) >= {"alpha", "beta", "gamma", "strangers"}
    assert report["final_rule"]["possible_threshold"] <= report["final_rule"]["match_threshold"]


def test_gallery_aware_threshold_is_stricter_for_an_artist_with_a_lookalike() -> None:
    rng = np.random.default_rng(3)
    a, b = _unit(rng.normal(size=128)), _unit(rng.normal(size=128))
    twins = [_unit(a + 0.06 * rng.normal(size=128)) for _ in range(3)]  # look-alikes of `a` in the cohort
    twin_of_a = twins[0]
    refs = np.stack([_unit(a + 0.05 * rng.normal(size=128)) for _ in range(3)] + [b, b])
    owners = np.array([0, 0, 0, 1, 1])
    cohort = np.stack(twins + [_unit(rng.normal(size=128)) for _ in range(60)])
    params = MatchParams(match_threshold=0.3, possible_threshold=0.25, artist_margin=0.02, artist_quantile=0.99)
    index = GalleryIndex(["a", "b"], refs, owners, cohort, params=params)
    assert index.thresholds[0] > index.thresholds[1] >= 0.3
    probe_twin = _unit(twin_of_a + 0.02 * rng.normal(size=128))
    (decision,) = index.match(probe_twin[None, :])
    assert decision.artist == "a" and decision.decision != MATCH, "the look-alike is not decided `match`"
    plain = GalleryIndex(["a", "b"], refs, owners, cohort, params=MatchParams(match_threshold=0.3))
    assert plain.match(probe_twin[None, :])[0].decision == MATCH, "without the gallery-aware rule it would be"


@pytest.mark.parametrize("quality, expected", [(1.0, MATCH), (0.2, NO_MATCH)])
def test_low_quality_faces_need_a_higher_score(quality: float, expected: str) -> None:
    rng = np.random.default_rng(4)
    a = _unit(rng.normal(size=128))
    probe = _unit(a + 1.1 * rng.normal(size=128) / np.sqrt(128) * 8)
    score = float(probe @ a)
    params = MatchParams(
        match_threshold=score - 0.01, possible_threshold=score - 0.02, quality_pivot=0.5, quality_slope=0.5
    )
    index = GalleryIndex(["a"], a[None, :], np.array([0]), params=params)
    assert index.match(probe[None, :], [quality])[0].decision == expected


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # calibrate faces reads no database: once
def test_calibrate_faces_data_writes_a_record_with_intervals(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The CLI path end to end, with embeddings served from the cache (synthetic vectors, keyed by photo hash)."""
    import csv
    import hashlib
    import json

    from idolguard.faces.analysis import REFERENCE_EMBEDDING
    from idolguard.faces.labelled import _save_cache

    faces = synthetic(seed=5)
    entries = {}
    rows = []
    for k, (identity, source) in enumerate(zip(faces.identity, faces.source, strict=True)):
        photo = tmp_path / "photos" / f"{k}.jpg"
        photo.parent.mkdir(exist_ok=True)
        photo.write_bytes(f"photo {k}".encode())
        entries[hashlib.sha256(photo.read_bytes()).hexdigest()] = (
            faces.probe[k],
            faces.probe[k],
            faces.reference[k],
            0.9,
        )
        rows.append((f"photos/{k}.jpg", identity, source))
    (tmp_path / "photos" / "noface.jpg").write_bytes(b"no face here")
    entries[hashlib.sha256(b"no face here").hexdigest()] = (np.zeros(128), np.zeros(128), np.zeros(128), -1.0)
    rows.append(("photos/noface.jpg", "", "crowd"))
    _save_cache(tmp_path / "emb.npz", entries, REFERENCE_EMBEDDING)
    data = tmp_path / "sets.csv"
    with open(data, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("path", "identity", "source"), *rows])
    out = tmp_path / "record.json"
    args = ("calibrate", "faces", "--data", data, "--cache", tmp_path / "emb.npz", "--draws", "2", "--out", out)
    record = cli.json_lines(*args, "--target-far-upper", "0.05", "--json")[0]
    assert json.loads(out.read_text(encoding="utf-8")) == record
    expected = record["expected"]
    assert expected["rank1_match_95ci"][0] <= expected["rank1_match"] <= expected["rank1_match_95ci"][1]
    assert expected["false_accept_rate_95ci"][1] >= expected["false_accept_rate"]
    assert "possible_share_genuine" in expected and set(expected["per_source"]) >= {"alpha", "strangers"}
    assert record["source"]["photos_without_face"] == 1
    assert record["probe_embedding"] == "lazy"  # decided on crop + mirror, the mirror only where it matters
    assert record["reference_embedding"] == REFERENCE_EMBEDDING  # the references the thresholds are for
    # The delta comes from the data: a high quantile of how far fusing the mirror raises a score, and the
    # held-out lazy-vs-full comparison is recorded with it (identity- and source-disjoint).
    how = record["mirror_delta_how"]
    assert record["mirror_delta"] >= how["rises"]["q0.999"] + 0.01 - 1e-9  # quantile + safety margin
    for side in ("held_out_identity", "held_out_source"):
        check = how[side]
        assert check["trials"] > 0 and 0 <= check["mirrored_share"] <= 1
        assert 0 <= check["certain_match_skipped"] <= check["trials"]  # the certain-match skip is checked too
        assert check["decisions_differing_95ci"][0] <= check["decisions_differing"] / check["trials"]
        # The narrower band below ``possible`` mirrors a subset of what the delta-wide band does.
        assert all(b <= d for b, d in zip(check["per_fold_band"], check["per_fold_delta"], strict=True))
        assert check["mirrored_share"] <= check["mirrored_share_delta_band"]
    assert record["mirror_band"] <= record["mirror_delta"]
    assert record["mirror_band"] >= min(record["mirror_delta"], record["mirror_band_how"]["rises"]["q0.999"] + 0.01)
    assert record["mirror_band_from"] <= record["mirror_band_upto"] <= record["possible_threshold"] + 1e-9
    assert record["possible_threshold"] <= record["match_threshold"]
    text = cli(*args, "--target-far-upper", "0.05")
    assert "[faces.matching]" in text.output and "false accepts" in text.output
    # The printed block carries mirror_delta and the band measured here (review A, finding 9): pasted into a
    # workspace config, it keeps them instead of dropping the band or inheriting the shipped one.
    import tomllib

    block = tomllib.loads(text.stdout[text.stdout.index("[faces.matching]") :])["faces"]["matching"]
    assert block["mirror_delta"] == record["mirror_delta"]
    local = MatchParams.for_settings({"faces": {"matching": block}})
    assert (local.mirror_delta, local.mirror_band, local.mirror_band_from, local.mirror_band_upto) == (
        record["mirror_delta"],
        record["mirror_band"],
        record["mirror_band_from"],
        record["mirror_band_upto"],
    )
    bad = cli("calibrate", "faces", "--data", data, "--cache", tmp_path / "emb.npz", "--fold", "nope", ok=False)
    assert bad.exit_code == 2 and "unknown source" in bad.output


def test_vectorised_snorm_equals_the_per_probe_normalisation() -> None:
    rng = np.random.default_rng(7)
    centres = [_unit(rng.normal(size=128)) for _ in range(4)]
    refs = np.stack([_unit(c + 0.08 * rng.normal(size=128)) for c in centres for _ in range(3)])
    owners = np.repeat(np.arange(4), 3)
    cohort = np.stack([_unit(rng.normal(size=128)) for _ in range(80)])
    params = MatchParams(match_threshold=0.3, possible_threshold=0.2, norm="snorm", cohort_top_k=20)
    index = GalleryIndex(list("abcd"), refs, owners, cohort, params=params)
    probes = np.stack([_unit(c + 0.1 * rng.normal(size=128)) for c in centres])
    scores = index.artist_scores(probes)
    best = scores.argmax(axis=1)
    raw = scores[np.arange(4), best]
    vectorised = index.snorm(probes, best, raw)
    one_by_one = [index._normalise(p, int(b), float(r)) for p, b, r in zip(probes, best, raw, strict=True)]
    assert np.allclose(vectorised, one_by_one, atol=1e-4)


def test_z_gate_sends_a_crowd_lookalike_to_review_not_match() -> None:
    """A probe that scores high only because everyone in its crowd scores high (a homogeneous source) fails
    the S-norm gate and becomes `possible`, while a genuine probe of the same raw score passes."""
    rng = np.random.default_rng(8)
    crowd_centre = _unit(rng.normal(size=128))
    members = [_unit(crowd_centre + 0.9 * _unit(rng.normal(size=128))) for _ in range(5)]
    refs = np.stack([_unit(m + 0.05 * rng.normal(size=128)) for m in members for _ in range(3)])
    owners = np.repeat(np.arange(5), 3)
    cohort = np.stack([_unit(crowd_centre + 0.9 * _unit(rng.normal(size=128))) for _ in range(120)])
    genuine = _unit(members[0] + 0.05 * rng.normal(size=128))
    stranger = _unit(crowd_centre + 0.9 * _unit(rng.normal(size=128)))
    index = GalleryIndex(list("abcde"), refs, owners, cohort, params=MatchParams(norm_threshold=0.0))
    raw_stranger = float(index.artist_scores(stranger[None, :]).max())
    params = MatchParams(match_threshold=raw_stranger - 0.01, possible_threshold=raw_stranger - 0.2, norm_threshold=3.0)
    gated = GalleryIndex(list("abcde"), refs, owners, cohort, params=params)
    g, s = gated.match(np.stack([genuine, stranger]))
    assert g.decision == MATCH and g.z is not None and g.z >= 3.0
    assert s.decision == "possible" and s.z is not None and s.z < 3.0
    plain = GalleryIndex(list("abcde"), refs, owners, cohort, params=MatchParams(match_threshold=raw_stranger - 0.01))
    assert plain.match(stranger[None, :])[0].decision == MATCH, "without the gate the stranger would match"


def test_auto_variant_is_chosen_inside_the_fitting_side_only() -> None:
    faces = synthetic()
    settings = Settings(draws=2, target_far_upper=0.05, possible_far_upper=0.2, variants=("global", "snorm", "auto"))
    report = cross_validate(faces, settings, by_identity=3)
    for fold in report["folds"]:
        auto = fold["variants"]["auto"]
        assert auto["family"] in ("global", "snorm") and set(auto["selection"]["inner"]) == {"global", "snorm"}
    assert report["chosen_family"] in ("global", "snorm")
    held = report["variants"]["auto"]["held_out"]
    assert held["false_accept_rate_95ci"][0] <= held["false_accept_rate"] <= held["false_accept_rate_95ci"][1]
    snorm_rule = report["folds"][0]["variants"]["snorm"]["rule"]
    assert snorm_rule["norm_threshold"] is not None


def test_fast_threshold_search_agrees_with_decide_and_keeps_the_strictest_tie() -> None:
    from idolguard.gallery.calibration import GRID_THRESHOLD, Rule, _first_meeting, decide, simulate

    faces = synthetic(seed=2)
    settings = Settings(draws=2, target_far_upper=0.05)
    trials = simulate(faces, settings, np.random.default_rng(0), 2)
    for norm in (None, 1.0, 3.0):
        found = _first_meeting(trials, settings, norm)
        slow = None
        first_hits = None
        for threshold in GRID_THRESHOLD:  # the first meeting threshold, then up while rank-1 stays the same
            outcome = decide(Rule(float(threshold), None, 0.0, 0.0, norm), trials, settings)
            if first_hits is None and outcome.far_upper() <= settings.target_far_upper:
                first_hits = outcome.correct_match
            if first_hits is not None:
                if outcome.correct_match != first_hits:
                    break
                slow = (float(threshold), outcome.rank1, outcome.far)
        assert found is not None and slow is not None
        assert found[0] == slow[0] and abs(found[1] - slow[1]) < 1e-12 and abs(found[2] - slow[2]) < 1e-12


def test_labelled_probes_are_embedded_as_the_scanner_embeds_them(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """With probe-side mirroring (shipped) a calibration probe is the crop + mirror vector; without it, the
    plain crop's; references are the multi-scale vector either way. The cache keeps all three, so switching
    needs no re-embedding, and a cache made for another reference embedding is not reused."""
    import hashlib

    from idolguard.faces.analysis import REFERENCE_EMBEDDING
    from idolguard.faces.labelled import _load_cache, _save_cache, embed_labelled

    faces = synthetic(seed=3)
    rng = np.random.default_rng(4)
    crop = faces.probe[:6]
    both = np.stack([_unit(v + 0.2 * rng.normal(size=128)) for v in crop]).astype(np.float32)
    multi = np.stack([_unit(v + 0.2 * rng.normal(size=128)) for v in both]).astype(np.float32)
    entries, rows = {}, []
    for k in range(6):
        photo = tmp_path / f"{k}.jpg"
        photo.write_bytes(f"photo {k}".encode())
        entries[hashlib.sha256(photo.read_bytes()).hexdigest()] = (crop[k], both[k], multi[k], 0.8)
        rows.append((photo, str(faces.identity[k]), str(faces.source[k])))
    _save_cache(tmp_path / "emb.npz", entries, REFERENCE_EMBEDDING)
    mirrored = embed_labelled(rows, tmp_path / "emb.npz")
    plain = embed_labelled(rows, tmp_path / "emb.npz", mirror_probes=False)
    assert np.allclose(mirrored.probe, both) and np.allclose(mirrored.reference, multi)
    assert np.allclose(plain.probe, crop) and np.allclose(plain.reference, multi)
    _save_cache(tmp_path / "old.npz", entries, "crop+mirror")
    assert _load_cache(tmp_path / "old.npz", REFERENCE_EMBEDDING) == {}
    # The crop alone is kept either way: lazy mirroring is replayed from it (``calibration.lazy_check``).
    assert mirrored.crop is not None and np.allclose(mirrored.crop, crop) and np.allclose(plain.crop, crop)


def test_band_rises_count_only_artists_just_below_their_threshold_and_the_band_is_never_wider_than_delta() -> None:
    """``band_rises``: per probe, the largest rise among artists whose crop-only score lies below their
    ``possible`` threshold by at most ``BAND_REACH``; an artist above it, or further below, does not count."""
    from idolguard.gallery.calibration import BAND_REACH, band_rises, choose_mirror_band, draw_galleries

    faces = synthetic(seed=2)
    rng = np.random.default_rng(4)
    faces.crop = faces.probe.copy()
    faces.probe = _unit(faces.probe + 0.03 * rng.normal(size=faces.probe.shape))  # a "mirror" that moves scores
    # Thresholds where these random faces' scores lie (near 0.1), so many artists are just below them.
    params = MatchParams(match_threshold=0.16, possible_threshold=0.10, mirror_delta=0.08)
    settings = Settings(draws=2)
    rises, at = band_rises(faces, params, settings, np.random.default_rng(9), 2)
    assert at == (0.1, 0.1)  # the thresholds measured: one global rule
    expected = []
    for draw in draw_galleries(faces, settings, np.random.default_rng(9), 2):  # the same galleries, by hand
        index = draw.index(faces, params)
        crop = index.artist_scores(faces.crop[draw.probe_rows])
        rise = index.artist_scores(faces.probe[draw.probe_rows]) - crop
        for c_row, r_row in zip(crop, rise, strict=True):
            near = [r for c, r in zip(c_row, r_row, strict=True) if 0 < 0.1 - c <= BAND_REACH]
            if near:
                expected.append(max(near))
    assert np.allclose(rises, expected) and len(rises) > 100
    band = choose_mirror_band(rises, 0.08)
    assert band >= min(0.08, float(np.quantile(rises, 0.999)) + 0.01) - 1e-9 and band <= 0.08
    assert choose_mirror_band(np.array([0.5]), 0.08) == 0.08  # never wider than delta
    assert choose_mirror_band(np.zeros(0), 0.08) == 0.08  # nothing measured: delta
