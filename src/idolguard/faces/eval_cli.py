"""``eval faces`` (pair verification) and ``eval gallery`` (open-set identification) on labelled CSVs.

Figures at the *shipped* calibration are the honest ones; figures at thresholds chosen on the same data
(best accuracy, threshold for a target FAR) are labelled ``oracle`` and are what a calibration run would pick.
Photos where no face is found count as errors (a verification that cannot be made is not a success).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from idolguard.errors import IdolGuardError
from idolguard.faces.analysis import CROP, CROP_MIRROR, FaceAnalyzer, FaceRecord, complete_views
from idolguard.faces.evaluation import (
    NO_FACE,
    PhotoEmbedding,
    best_accuracy_threshold,
    complete_photo_views,
    embed_photos,
    read_csv,
    tar_at_far,
)
from idolguard.gallery.calibration import wilson
from idolguard.gallery.matching import MATCH, POSSIBLE, GalleryIndex, MatchParams


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "same", "y")


def cross_validated_accuracy(scores: np.ndarray, labels: np.ndarray, folds: int = 10) -> float:
    """LFW protocol: pick the threshold on 9 folds, count accuracy on the held-out one."""
    order = np.arange(len(scores))
    correct = 0
    for fold in range(folds):
        test = order % folds == fold
        _, threshold = best_accuracy_threshold(scores[~test], labels[~test])
        correct += int(((scores[test] >= threshold) == labels[test].astype(bool)).sum())
    return correct / len(scores)


def run_eval_faces(
    pairs_csv: Path, root: Path, threshold: float | None = None, on_done: Callable[[int], None] | None = None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rows = read_csv(pairs_csv, ("a", "b", "same"))
    if not rows:
        raise IdolGuardError(f"{pairs_csv} has no pairs")
    params = MatchParams.shipped()
    threshold = params.verify_threshold if threshold is None else threshold
    # Column a plays the reference photo, embedded crop + mirror (one-to-one comparison of two photos: the
    # embedder's own verification; multi-scale vectors are a gallery's, fitted with the gallery thresholds,
    # docs/BENCHMARKS.md "Multi-scale references"), column b the scanned probe, embedded as a scan embeds it
    # against a one-reference gallery whose only threshold is the verify threshold: the crop, plus the mirror
    # view where it can change the same/different decision (lazy mirroring).
    analyzer = FaceAnalyzer()
    references = embed_photos([r["a"] for r in rows], root, analyzer, on_done=on_done, mirror=True)
    probes = embed_photos([r["b"] for r in rows], root, analyzer, on_done=on_done)
    verify = MatchParams(match_threshold=threshold, possible_threshold=threshold, mirror_delta=params.mirror_delta)
    out: list[dict[str, Any]] = []
    scores, labels, failed, mirrored = [], [], 0, 0
    for row in rows:
        a, b, same = references[row["a"]], probes[row["b"]], _truthy(row["same"])
        similarity = None
        if a.embedding is not None and b.embedding is not None:
            probe = pair_probe(b, a.embedding, verify, analyzer)
            mirrored += int(probe.views == CROP_MIRROR)
            similarity = float(a.embedding @ probe.embedding)
            scores.append(similarity)
            labels.append(same)
        else:
            failed += 1
        decision = "no_face" if similarity is None else ("same" if similarity >= threshold else "different")
        out.append(
            {
                "a": row["a"],
                "b": row["b"],
                "same": same,
                "similarity": None if similarity is None else round(similarity, 4),
                "decision": decision,
                "error": (a.error or b.error) if similarity is None else None,
            }
        )
    s, y = np.array(scores), np.array(labels, dtype=bool)
    correct = sum(1 for r in out if r["decision"] != "no_face" and (r["decision"] == "same") == r["same"])
    genuine, impostor = s[y], s[~y]
    tar3, t3 = tar_at_far(genuine, impostor, 1e-3)
    tar2, t2 = tar_at_far(genuine, impostor, 1e-2)
    best_acc, best_t = best_accuracy_threshold(s, y) if len(s) else (float("nan"), float("nan"))
    summary = {
        "summary": True,
        "pairs": len(rows),
        "genuine_pairs": int(sum(_truthy(r["same"]) for r in rows)),
        "impostor_pairs": int(sum(not _truthy(r["same"]) for r in rows)),
        "pairs_without_face": failed,
        "threshold": threshold,
        "accuracy": correct / len(rows),
        "accuracy_10fold_cv": cross_validated_accuracy(s, y) if len(s) >= 20 else None,
        "tar_at_far_1e-3": tar3,
        "threshold_at_far_1e-3": t3,
        "tar_at_far_1e-2": tar2,
        "oracle_best_accuracy": best_acc,
        "oracle_best_threshold": best_t,
        "probe_embedding": "lazy",
        "mirror_delta": params.mirror_delta,
        "pairs_probe_mirrored": mirrored,
        "unreadable_files": unreadable([*references.values(), *probes.values()]),
        "note": "accuracy counts pairs without a detected face as errors; oracle_* pick the threshold on this set; "
        f"TAR at FAR=1e-3 with {len(impostor)} impostor pairs is a coarse estimate",
    }
    return out, summary


def pair_probe(photo: PhotoEmbedding, reference: np.ndarray, verify: MatchParams, analyzer: FaceAnalyzer) -> FaceRecord:
    """The probe face of one pair, with its mirror view where the pair's decision needs it (a copy: the same
    photo is the probe of other pairs, against other references)."""
    assert photo.face is not None
    face = FaceRecord(
        photo.face.detection,
        photo.face.aligned,
        photo.face.quality,
        photo.face.crop_embedding,
        CROP,
        photo.face.crop_embedding,
    )
    if photo.face.views == CROP_MIRROR:  # already mirrored (probe_views="crop+mirror")
        face.embedding, face.views = photo.face.embedding, CROP_MIRROR
    index = GalleryIndex(["a"], reference[None, :], np.array([0]), params=verify)
    assert analyzer.embedder is not None
    complete_views(analyzer.embedder, [face], index)
    return face


def _labelled(csv_path: Path) -> list[tuple[str, str]]:
    return [(r["path"], r["identity"].strip()) for r in read_csv(csv_path, ("path", "identity"))]


def run_eval_gallery(
    gallery_csv: Path,
    probes_csv: Path,
    root: Path,
    cohort_csv: Path | None = None,
    norm: str | None = None,
    on_done: Callable[[int], None] | None = None,
    params: MatchParams | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    gallery = _labelled(gallery_csv)
    probes = _labelled(probes_csv)
    cohort_paths = [r["path"] for r in read_csv(cohort_csv, ("path",))] if cohort_csv else []
    if not gallery or not probes:
        raise IdolGuardError("gallery and probes must both list at least one photo")
    analyzer = FaceAnalyzer()
    refs_embedded = embed_photos([p for p, _ in gallery], root, analyzer, on_done=on_done, reference=True)
    embeddings = embed_photos([p for p, _ in probes], root, analyzer, on_done=on_done)
    # Cohort faces are stored crop + mirror (as ``calibrate faces`` simulates them).
    embeddings.update(embed_photos(cohort_paths, root, analyzer, on_done=on_done, mirror=True))
    params = params or MatchParams.shipped()
    if norm:
        if norm not in ("none", "snorm"):
            raise IdolGuardError("--norm must be none or snorm")
        if norm != params.norm:
            # The calibrated thresholds are on the other scale: only the oracle_* figures are meaningful.
            params = MatchParams(**{**params.as_dict(), "norm": norm, "source": {"uncalibrated_norm": norm}})
    names = sorted({identity for path, identity in gallery if refs_embedded[path].embedding is not None})
    position = {n: i for i, n in enumerate(names)}
    refs = [(refs_embedded[p].embedding, position[i]) for p, i in gallery if refs_embedded[p].embedding is not None]
    rejected_refs = sum(1 for p, _ in gallery if refs_embedded[p].embedding is None)
    if not refs:  # a wrong --root, or no face in any reference: say so (was a NumPy traceback)
        first = next(p for p in refs_embedded.values() if p.error)
        raise IdolGuardError(
            f"no gallery photo could be used ({len(refs_embedded)} listed; first {first.path}: {first.error}); "
            f"paths are relative to --root {root}"
        )
    cohort = [embeddings[p].embedding for p in cohort_paths if embeddings[p].embedding is not None]
    index = GalleryIndex(
        names,
        np.stack([v for v, _ in refs]),
        np.array([a for _, a in refs]),
        np.stack(cohort) if cohort else None,
        params=params,
    )
    enrolled = set(names)
    # Probes are embedded as a scan embeds them: the mirror view only where it can change the decision.
    mirrored = complete_photo_views([embeddings[p] for p in dict.fromkeys(p for p, _ in probes)], index, analyzer)
    usable = [(p, i) for p, i in probes if embeddings[p].embedding is not None]
    matches = dict(
        zip(
            [p for p, _ in usable],
            index.match(
                np.stack([embeddings[p].embedding for p, _ in usable]), [embeddings[p].quality for p, _ in usable]
            )
            if usable
            else [],
            strict=True,
        )
    )
    rows: list[dict[str, Any]] = []
    for path, identity in probes:
        match = matches.get(path)
        rows.append(
            {
                "path": path,
                "identity": identity,
                "enrolled": identity in enrolled,
                **(match.as_dict() if match else {"artist": None, "decision": "no_face"}),
                "error": embeddings[path].error,
            }
        )
    summary = gallery_summary(rows, len(names), len(refs), rejected_refs, len(cohort), index)
    summary["probe_embedding"] = "lazy"
    summary["probes_mirrored"] = mirrored
    summary["unreadable_files"] = unreadable([*refs_embedded.values(), *embeddings.values()])
    return rows, summary


def unreadable(photos: Any) -> list[dict[str, str]]:
    """The listed files that could not be read or decoded (a wrong --root, a typo in the CSV): each with why.
    Photos read but without a face are not in it (they are ``*_without_face``)."""
    seen: dict[str, str] = {}
    for photo in photos:
        if photo.error and photo.error != NO_FACE:
            seen.setdefault(photo.path, photo.error)
    return [{"path": path, "error": error} for path, error in seen.items()]


def gallery_summary(
    rows: list[dict[str, Any]], artists: int, refs: int, rejected_refs: int, cohort: int, index: GalleryIndex
) -> dict[str, Any]:
    genuine = [r for r in rows if r["enrolled"]]
    impostor = [r for r in rows if not r["enrolled"]]

    def rate(items: list[dict[str, Any]], test: Callable[[dict[str, Any]], bool]) -> float | None:
        return sum(1 for r in items if test(r)) / len(items) if items else None

    def correct(r: dict[str, Any]) -> bool:
        return r["decision"] == MATCH and r["artist"] == r["identity"]

    summary: dict[str, Any] = {
        "summary": True,
        "artists": artists,
        "references": refs,
        "references_without_face": rejected_refs,
        "cohort_faces": cohort,
        "normalisation": "snorm" if index.normalising else "none",
        "genuine_probes": len(genuine),
        "impostor_probes": len(impostor),
        "probes_without_face": sum(1 for r in rows if r["decision"] == "no_face"),
        "rank1_identification_rate": rate(genuine, correct),
        "closed_set_rank1": rate(genuine, lambda r: r["artist"] == r["identity"]),
        "wrong_artist_matches": sum(1 for r in genuine if r["decision"] == MATCH and r["artist"] != r["identity"]),
        "false_accept_rate": rate(impostor, lambda r: r["decision"] == MATCH),
        "possible_rate_genuine": rate(genuine, lambda r: r["decision"] == POSSIBLE),
        "possible_rate_impostor": rate(impostor, lambda r: r["decision"] == POSSIBLE),
        "match_threshold": index.params.match_threshold,
        "gallery_aware_thresholds": index.impostor_tail is not None,
        "artist_thresholds_min_max": [round(float(index.thresholds.min()), 4), round(float(index.thresholds.max()), 4)]
        if len(index.thresholds)
        else None,
        "thresholds_calibrated": "uncalibrated_norm" not in index.params.source,
        "min_margin": index.params.min_margin,
    }
    # 95% Wilson intervals: these are single-split figures; a handful of probes moves them a lot.
    for key, items, test in (
        ("rank1_identification_rate", genuine, correct),
        ("false_accept_rate", impostor, lambda r: r["decision"] == MATCH),
        ("possible_rate_genuine", genuine, lambda r: r["decision"] == POSSIBLE),
        ("possible_rate_impostor", impostor, lambda r: r["decision"] == POSSIBLE),
    ):
        if items:
            low, high = wilson(sum(1 for r in items if test(r)), len(items))
            summary[f"{key}_95ci"] = [round(low, 4), round(high, 4)]
    # Oracle: the threshold this very set would need for FAR <= 1% and <= 0.1%, and rank-1 there.
    imp_scores = np.sort(np.array([r["score"] for r in impostor if r.get("score") is not None]))[::-1]
    for far in (0.01, 0.001):
        allowed = int(np.floor(far * len(impostor)))
        threshold = float(imp_scores[allowed]) + 1e-6 if allowed < len(imp_scores) else -np.inf
        hits = [
            r
            for r in genuine
            if r.get("score") is not None and r["score"] >= threshold and r["artist"] == r["identity"]
        ]
        summary[f"oracle_threshold_far_{far:g}"] = threshold
        summary[f"oracle_rank1_at_far_{far:g}"] = len(hits) / len(genuine) if genuine else None
    return summary


def threshold_for_far(impostor_scores: list[float], impostors: int, far: float) -> float:
    """Smallest threshold that lets at most ``far`` of all impostor probes through (no-face probes count too)."""
    ordered = np.sort(np.array(impostor_scores, dtype=np.float64))[::-1]
    allowed = int(np.floor(far * impostors))
    return float(ordered[allowed]) + 1e-6 if allowed < len(ordered) else float("-inf")


def calibrate_thresholds(
    gallery_csv: Path,
    probes_csv: Path,
    root: Path,
    cohort_csv: Path | None,
    norm: str | None,
    target_far: float,
    possible_far: float,
) -> dict[str, Any]:
    """Thresholds that hold ``target_far`` on the given impostors, and what rank-1 that gives on the genuine."""
    base = MatchParams.shipped()
    wide_open = MatchParams(
        **{**base.as_dict(), "match_threshold": -1e9, "possible_threshold": -1e9, "min_margin": 0.0}
    )
    rows, summary = run_eval_gallery(gallery_csv, probes_csv, root, cohort_csv, norm, params=wide_open)
    genuine = [r for r in rows if r["enrolled"]]
    impostor = [r for r in rows if not r["enrolled"]]
    if not genuine or not impostor:
        raise IdolGuardError("calibration needs genuine probes (enrolled identities) and impostor probes (others)")
    scores = [r["score"] for r in impostor if r.get("score") is not None]
    match_t = threshold_for_far(scores, len(impostor), target_far)
    possible_t = min(match_t, threshold_for_far(scores, len(impostor), possible_far))
    hits = sum(
        1 for r in genuine if r.get("score") is not None and r["score"] >= match_t and r["artist"] == r["identity"]
    )
    resolved_norm = summary["normalisation"]
    toml = (
        "[faces.matching]\n"
        f"match_threshold = {match_t:.4f}\n"
        f"possible_threshold = {possible_t:.4f}\n"
        f'norm = "{resolved_norm}"\n'
    )
    return {
        "genuine_probes": len(genuine),
        "impostor_probes": len(impostor),
        "normalisation": resolved_norm,
        "target_far": target_far,
        "match_threshold": match_t,
        "possible_threshold": possible_t,
        "rank1_at_match_threshold": hits / len(genuine),
        "note": f"{len(impostor)} impostor probes: a FAR of {target_far:g} is {target_far * len(impostor):.1f} faces",
        "toml": toml,
    }


def calibrate_cross_validated(
    data_csv: Path,
    cache: Path | None,
    folds: list[str] | None,
    settings: Any,
    on_done: Callable[[int], None] | None = None,
    by_identity: int = 0,
) -> dict[str, Any]:
    """``calibrate faces --data``: identity- and source-disjoint cross-validation, then the final fit.

    Returns the calibration record: the parameters (``MatchParams`` fields), the held-out figures with
    intervals under ``expected``, per source and per fold, and how the data was split under ``source``.
    """
    from datetime import UTC, datetime

    from idolguard.faces.analysis import REFERENCE_EMBEDDING
    from idolguard.faces.labelled import embed_labelled, read_labelled_csv
    from idolguard.gallery.calibration import (
        BAND_REACH,
        MIRROR_QUANTILE,
        MIRROR_SAFETY,
        cross_validate,
        default_folds,
    )

    faces = embed_labelled(read_labelled_csv(data_csv), cache, on_done)
    if not faces.paths:  # nothing usable: not "no identities" (they may all be there), but why
        path, _source, reason = faces.missing[0]  # the CSV lists at least one photo (read_labelled_csv)
        raise IdolGuardError(
            f"no labelled photo could be used ({len(faces.missing)} listed; first {path}: {reason}); "
            f"relative paths are relative to the CSV's folder ({data_csv.parent})"
        )
    if not (faces.identity != "").any():
        raise IdolGuardError("calibration needs labelled identities (the identity column is empty everywhere)")
    fold_sets = [{s.strip() for s in f.split(",") if s.strip()} for f in folds] if folds else default_folds(faces)
    known = {str(s) for s in faces.source}
    unknown = sorted(set().union(*fold_sets) - known) if fold_sets else []
    if unknown:
        raise IdolGuardError(
            f"--fold names unknown source(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})"
        )
    if len(fold_sets) < 2:
        raise IdolGuardError("cross-validation needs at least two folds (two sources or groups of sources)")
    # Both ways of holding data out, with the same rule procedure: identity-disjoint folds (new people,
    # sources mixed) and source-disjoint folds (new people *and* a new photo collection). The shipped rule
    # is fitted once on everything; the record carries the held-out figures of both.
    report = cross_validate(faces, settings, None, by_identity or 5)
    cross = cross_validate(faces, settings, fold_sets, 0, final=False)
    chosen = report["chosen_variant"]
    shipped = MatchParams.shipped()
    rule = report["final_rule"]
    expected = report["variants"][chosen]
    expected_cross = cross["variants"][chosen]
    sources: dict[str, int] = {}
    for s in faces.source:
        sources[str(s)] = sources.get(str(s), 0) + 1
    # The criterion on both ways of holding out: false-accept rate <= the target, with the upper end
    # of its 95% interval <= twice the target (1% and 2% by default).
    both_met = all(
        (v["held_out"]["false_accept_rate"] or 0) <= settings.target_far_upper
        and (v["held_out"]["false_accept_rate_95ci"] or [0, 1])[1] <= 2 * settings.target_far_upper
        for v in (expected, expected_cross)
    )
    return {
        "verify_threshold": shipped.verify_threshold,
        "match_threshold": rule["match_threshold"],
        "possible_threshold": rule["possible_threshold"],
        "artist_margin": rule["artist_margin"],
        "artist_quantile": settings.artist_quantile,
        "quality_pivot": settings.quality_pivot,
        "quality_slope": rule["quality_slope"],
        "min_margin": 0.0,
        "min_quality": settings.min_quality,
        "min_references": shipped.min_references,
        "norm": "none",
        "norm_threshold": rule["norm_threshold"],
        "fallback_match_threshold": rule["fallback_match_threshold"],
        "cohort_top_k": settings.cohort_top_k,
        "min_cohort": settings.min_cohort,
        # How scanned faces are embedded for these thresholds (references: ``reference_embedding``): decided on
        # crop + mirror, the mirror embedded lazily where it can change the decision (``mirror_delta``).
        "probe_embedding": "lazy",
        "reference_embedding": REFERENCE_EMBEDDING,
        "mirror_delta": report.get("mirror_delta"),
        "mirror_delta_how": {
            "rule": f"quantile {MIRROR_QUANTILE} of the largest move towards another decision when the mirror view"
            " is fused (any artist's score rising, the crop-only best artist's falling; per probe per simulated"
            f" gallery, all the calibration data) + {MIRROR_SAFETY}, rounded up to 0.005",
            "rises": report.get("mirror_rises"),
            "held_out_identity": report.get("lazy_mirroring"),
            "held_out_source": cross.get("lazy_mirroring"),
        },
        # The band's own, narrower width where an artist's ``possible`` threshold is one it was measured at.
        "mirror_band": report.get("mirror_band"),
        "mirror_band_from": (report.get("mirror_band_at") or [None, None])[0],
        "mirror_band_upto": (report.get("mirror_band_at") or [None, None])[1],
        "mirror_band_how": {
            "rule": f"quantile {MIRROR_QUANTILE} of the largest rise, when the mirror view is fused, among artists"
            f" whose crop-only score lies below their possible threshold by at most {BAND_REACH} (per probe per"
            f" simulated gallery with such an artist, all the calibration data, the shipped rule's thresholds)"
            f" + {MIRROR_SAFETY}, rounded up to 0.005, never wider than mirror_delta; it applies to artists whose"
            " possible threshold lies in [mirror_band_from, mirror_band_upto], the thresholds measured",
            "rises": report.get("mirror_band_rises"),
            "held_out": "mirror_delta_how.held_out_identity / held_out_source (per_fold_band, mirrored_share"
            " with it, mirrored_share_delta_band without it)",
        },
        "expected": {
            "how": f"held out: {by_identity or 5} identity-disjoint folds, sources mixed"
            + "; 95% Wilson intervals with the per-gallery count as sample size",
            "variant": chosen,
            "family": report.get("chosen_family", chosen),
            **expected["held_out"],
            "per_source": expected["per_source"],
            "final_fit_in_sample": report["final_fitted"],
        },
        "expected_cross_source": {
            "how": "held out: source-disjoint folds (people and photo collections never fitted on); same procedure",
            "folds": [f["checked_sources"] for f in cross["folds"]],
            **expected_cross["held_out"],
            "per_source": expected_cross["per_source"],
            "variants": {v: r["held_out"] for v, r in cross["variants"].items()},
        },
        "target_met_both": both_met,
        # whether the rule, fitted on all the data, holds the target's upper bound: when no rule of the search
        # does (too few galleries or impostors for the 95% bound), the rule is the search's strictest
        "fitted_target_met": report["final_target_met"],
        "source": {
            "date": datetime.now(UTC).date().isoformat(),
            "data": str(data_csv),
            "photos_with_face": sources,
            "photos_without_face": len(faces.missing),
            "cross_validation": "identity and source",
            "selection": report.get("selection"),
            "folds": [{"checked": f["checked_sources"], "fitted_on": f["fitted_on"]} for f in report["folds"]],
            "settings": {
                "references_per_artist": settings.refs,
                "enrol_fraction": settings.enrol_fraction,
                "cohort_fraction": settings.cohort_fraction,
                "galleries_per_side": settings.draws,
                "target_far_upper": settings.target_far_upper,
                "possible_far_upper": settings.possible_far_upper,
                "seed": settings.seed,
            },
            "variants": {v: r["held_out"] for v, r in report["variants"].items()},
            "per_fold": report["folds"],
            "per_fold_cross_source": cross["folds"],
        },
    }
