"""Cohort mean centring and whitening of SFace embeddings, judged on the calibration's held-out figures.

Question (issue 17): does subtracting the mean embedding of a cohort of faces that no evaluation set contains
(and renormalising before the cosine) separate similar East Asian faces better? The cohort is drawn from
``faces-real-pool`` (DFDC real crops and UTKFace adults that are *not* Asian: the Asian UTKFace adults are
impostors in the calibration data, see bench/faces_calibration_sets.py), so it shares no photo with the
calibration data or the pair sets. Every transform is fixed before it is scored; the choice is made on the
calibration data only:

1. the calibration's own cross-validation (``gallery/calibration.py``, family ``global``): 5 identity-disjoint
   folds and the default source-disjoint folds, 10 galleries per side, over ``--seeds`` gallery seeds;
2. threshold-free open-set separation on the same random galleries for every transform (paired): closed-set
   rank-1 and rank-1 at a false-accept rate of 1% / 0.1% (oracle thresholds), also on K-pop probes alone;
3. pair separation on all reference/probe pairs of the labelled calibration photos (AUC, TAR at FAR) and a
   verify threshold chosen by a rule that never sees the pair sets: the threshold with the best balanced
   accuracy over those pairs (0.005 grid, midpoint of ties), with its identity-disjoint 5-fold check.

``--pairs`` then reports the lfw-dev and eastasian-dev pair accuracies of configurations fixed beforehand
(``PAIR_CONFIGS``), once; nothing is chosen on them.

    python bench/faces_calibration_sets.py --data ../shared/data --out /tmp/idacc/sets.csv --idol-sample 600
    python bench/faces_cohort_centre.py --data /tmp/idacc/sets.csv --cache /tmp/idacc/sets.npz \
        --cohort-out /tmp/idacc/cohort.csv --cohort-cache /tmp/idacc/cohort.npz --seeds 5 --oracle-seeds 10
    python bench/faces_cohort_centre.py ... --pairs ../shared/data      # the pair report, once
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np

Transform = Callable[[np.ndarray], np.ndarray]
CV_KEYS = ("id_rank1", "id_far", "src_rank1", "src_far", "kpop_src_far")
ORACLE_KEYS = ("closed_rank1", "rank1_far1", "rank1_far01", "kpop_rank1_far1")
GRID = np.round(np.arange(-0.2, 0.9, 0.005), 3)


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def write_cohort(pool: Path, out: Path, dfdc: int = 1500, seed: int = 0) -> None:
    """UTKFace adults of every race but Asian, plus ``dfdc`` seeded DFDC real crops (faces-real-pool)."""
    with open(pool / "manifest.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    utk = [r for r in rows if "UTKFace" in r["source"] and r["race"] != "asian"]
    crops = [r for r in rows if r["source"].startswith("DFDC")]
    random.Random(seed).shuffle(crops)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("path", "identity", "source"))
        writer.writerows((str((pool / r["path"]).resolve()), "", f"utk-{r['race']}") for r in utk)
        writer.writerows((str((pool / r["path"]).resolve()), "", "dfdc") for r in crops[:dfdc])


def transforms(cohort: np.ndarray, source: np.ndarray) -> dict[str, Transform]:
    """Candidate transforms, fitted on the cohort only (crop + mirror vectors, as stored)."""

    def centre(mu: np.ndarray, strength: float = 1.0) -> Transform:
        return lambda x: unit(x - strength * mu)

    def whiten(vectors: np.ndarray, shrink: float) -> Transform:
        mu = vectors.mean(0)
        d = vectors - mu
        values, vecs = np.linalg.eigh(d.T @ d / len(d))
        w = vecs @ np.diag(1 / np.sqrt(values + shrink * values.mean())) @ vecs.T
        return lambda x: unit((x - mu) @ w)

    every = cohort.mean(0)
    return {
        "raw": lambda x: x,
        "centre dfdc": centre(cohort[source == "dfdc"].mean(0)),
        "centre utk-nonasian": centre(cohort[source != "dfdc"].mean(0)),
        "centre all-pool": centre(every),
        "centre all-pool x0.5": centre(every, 0.5),
        "whiten all-pool 0.3": whiten(cohort, 0.3),
        "whiten all-pool 1.0": whiten(cohort, 1.0),
        "whiten all-pool 3.0": whiten(cohort, 3.0),
    }


def antialiased_align(image_rgb: np.ndarray, landmarks: np.ndarray, size: int = 112) -> np.ndarray:
    """``faces.align.align_face`` with the face first shrunk by area averaging when the warp would shrink it
    below 0.8x (a bilinear warp that shrinks aliases fine detail; SFace's training crops were mostly small)."""
    import cv2

    from idolguard.faces.align import TEMPLATE_112, align_matrix, similarity_transform

    matrix = align_matrix(landmarks, size)
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    if scale < 0.8:
        h, w = image_rgb.shape[:2]
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        image_rgb = cv2.resize(np.ascontiguousarray(image_rgb), (nw, nh), interpolation=cv2.INTER_AREA)
        points = np.asarray(landmarks).reshape(5, 2) * np.array([nw / w, nh / h])
        matrix = similarity_transform(points, TEMPLATE_112 * (size / 112.0))
    return cv2.warpAffine(
        np.ascontiguousarray(image_rgb), matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    )


def apply(faces, f: Transform):  # type: ignore[no-untyped-def]
    from idolguard.gallery.calibration import LabelledFaces

    crop = None if faces.crop is None else f(faces.crop)
    return LabelledFaces(
        faces.paths, faces.identity, faces.source, f(faces.probe), f(faces.reference), faces.quality, [], crop
    )


def fitted_cv(faces, seeds: int, draws: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Per seed: identity-disjoint rank-1, FAR; source-disjoint rank-1, FAR, K-pop (tapankarnik) FAR."""
    from idolguard.gallery.calibration import Settings, cross_validate

    rows = []
    for seed in range(seeds):
        settings = Settings(draws=draws, seed=seed, variants=("global",))
        ident = cross_validate(faces, settings, None, 5, final=False)["variants"]["global"]
        cross = cross_validate(faces, settings, None, 0, final=False)["variants"]["global"]
        kpop = cross["per_source"].get("kpop-idols-tapankarnik", {})
        rows.append(
            (
                ident["held_out"]["rank1_match"],
                ident["held_out"]["false_accept_rate"],
                cross["held_out"]["rank1_match"],
                cross["held_out"]["false_accept_rate"],
                kpop.get("false_accept_rate", np.nan),
            )
        )
    return np.array(rows, float)


def oracle(faces, seeds: int, draws: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Per seed: closed-set rank-1, rank-1 at FAR 1% and 0.1%, K-pop probes alone at FAR 1% (same galleries
    for every transform: ``draw_galleries`` depends on the labels only)."""
    from idolguard.gallery.calibration import Settings, Trials, simulate

    def at(trials: Trials, far: float) -> float:
        impostor = np.sort(trials.score[~trials.genuine])[::-1]
        t = impostor[int(far * len(impostor))]
        return float(((trials.score > t) & trials.correct & trials.genuine).sum() / trials.genuine.sum())

    rows = []
    for seed in range(seeds):
        tr = simulate(faces, Settings(seed=seed), np.random.default_rng(seed), draws)
        k = np.char.startswith(tr.source.astype(str), "kpop")
        kpop = Trials(tr.source[k], tr.genuine[k], tr.correct[k], tr.score[k], tr.tail[k], tr.quality[k], draws)
        rows.append((tr.correct[tr.genuine].mean(), at(tr, 0.01), at(tr, 0.001), at(kpop, 0.01)))
    return np.array(rows, float)


def auc(genuine: np.ndarray, impostor: np.ndarray) -> float:
    ranks = np.concatenate([genuine, impostor]).argsort().argsort() + 1
    return float((ranks[: len(genuine)].sum() - len(genuine) * (len(genuine) + 1) / 2) / (len(genuine) * len(impostor)))


def balanced(scores: np.ndarray, same: np.ndarray, t: float) -> float:
    return float(0.5 * ((scores[same] >= t).mean() + (scores[~same] < t).mean()))


def verify_rule(scores: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """The verify threshold rule: best balanced accuracy on the grid, midpoint of the tied best thresholds."""
    acc = np.array([balanced(scores, same, float(t)) for t in GRID])
    best = np.flatnonzero(acc == acc.max())
    return float(GRID[best].mean()), float(acc.max())


def pair_separation(faces) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """All reference/probe pairs of the labelled calibration photos (no pair set involved)."""
    labelled = faces.identity != ""
    ids = faces.identity[labelled]
    scores = faces.reference[labelled] @ faces.probe[labelled].T
    same = ids[:, None] == ids[None, :]
    off = ~np.eye(len(ids), dtype=bool)
    genuine, impostor = scores[same & off], scores[~same]
    kpop = np.char.startswith(faces.source[labelled].astype(str), "kpop")
    both = kpop[:, None] & kpop[None, :]
    threshold, accuracy = verify_rule(scores[off], same[off])
    people = np.array(sorted(set(ids)))
    order = np.random.default_rng(0).permutation(len(people))
    fold_of = {people[j]: n % 5 for n, j in enumerate(order)}
    fold = np.array([fold_of[i] for i in ids])
    held = []
    for k in range(5):
        fit = (fold[:, None] != k) & (fold[None, :] != k) & off
        check = (fold[:, None] == k) & (fold[None, :] == k) & off
        held.append(balanced(scores[check], same[check], verify_rule(scores[fit], same[fit])[0]))
    return {
        "auc": auc(genuine, impostor),
        "auc_kpop": auc(scores[same & off & both], scores[~same & both]),
        "tar_far_1e-3": float((genuine >= np.quantile(impostor, 1 - 1e-3)).mean()),
        "tar_far_1e-2": float((genuine >= np.quantile(impostor, 1 - 1e-2)).mean()),
        "verify_threshold": threshold,
        "balanced_accuracy": accuracy,
        "balanced_accuracy_identity_cv": float(np.mean(held)),
    }


# Fixed before the pairs were scored (thresholds from ``verify_rule`` on the calibration data, see the docs).
PAIR_CONFIGS: list[tuple[str, str, float, str]] = [
    ("before: raw, crop-only probes, 0.38", "raw", 0.38, "crop"),
    ("shipped: raw, lazy probes, 0.38", "raw", 0.38, "lazy"),
    ("raw, lazy probes, rule threshold 0.345", "raw", 0.345, "lazy"),
    ("centre all-pool, crop+mirror probes, rule threshold 0.335", "centre all-pool", 0.335, "full"),
]


def pair_report(shared: Path, chosen: dict[str, Transform], delta: float = 0.08) -> dict[str, dict[str, object]]:
    from idolguard.faces.analysis import FaceAnalyzer, add_mirror
    from idolguard.faces.eval_cli import _truthy, cross_validated_accuracy
    from idolguard.faces.evaluation import embed_photos, read_csv

    analyzer = FaceAnalyzer()
    assert analyzer.embedder is not None
    out: dict[str, dict[str, object]] = {}
    for name in ("eastasian-dev", "lfw-dev"):
        root = shared / name
        rows = read_csv(root / "pairs.csv", ("a", "b", "same"))
        refs = embed_photos([r["a"] for r in rows], root, analyzer, reference=True)
        probes = embed_photos([r["b"] for r in rows], root, analyzer)
        views: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for key, photo in probes.items():
            if photo.face is not None and photo.face.crop_embedding is not None:
                record = copy.copy(photo.face)
                add_mirror(analyzer.embedder, [record])
                assert record.embedding is not None
                views[key] = (photo.face.crop_embedding, record.embedding)
        result: dict[str, object] = {}
        for label, transform, threshold, mode in PAIR_CONFIGS:
            f = chosen[transform]
            scores, same, correct = [], [], 0
            for row in rows:
                ref = refs[row["a"]].embedding
                if ref is None or row["b"] not in views:
                    continue
                crop, fused = views[row["b"]]
                a = f(ref[None, :])[0]
                s_crop, s_fused = float(a @ f(crop[None, :])[0]), float(a @ f(fused[None, :])[0])
                lazy = s_fused if s_crop >= threshold - delta else s_crop
                s = {"crop": s_crop, "full": s_fused, "lazy": lazy}[mode]
                scores.append(s)
                same.append(_truthy(row["same"]))
                correct += int((s >= threshold) == same[-1])
            result[label] = {
                "accuracy": correct / len(rows),
                "correct": correct,
                "pairs": len(rows),
                "accuracy_10fold_cv": cross_validated_accuracy(np.array(scores), np.array(same, bool)),
            }
            print(name, label, result[label], flush=True)
        out[name] = result
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="calibration CSV (faces_calibration_sets.py)")
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--pool", type=Path, default=Path("../shared/data/faces-real-pool"))
    parser.add_argument("--cohort-out", type=Path, required=True, help="cohort CSV written here")
    parser.add_argument("--cohort-cache", type=Path, required=True)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--oracle-seeds", type=int, default=10)
    parser.add_argument("--draws", type=int, default=10)
    parser.add_argument("--only", default="", help="comma-separated transform names (default: all)")
    parser.add_argument("--antialias-cache", type=Path, help="also score antialiased alignment (own cache)")
    parser.add_argument("--pairs", type=Path, help="../shared/data: report PAIR_CONFIGS on the pair sets, once")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    from idolguard.faces.labelled import embed_labelled, read_labelled_csv

    if not args.cohort_out.exists():
        write_cohort(args.pool, args.cohort_out)
    faces = embed_labelled(read_labelled_csv(args.data), args.cache)
    cohort = embed_labelled(read_labelled_csv(args.cohort_out), args.cohort_cache)
    candidates = transforms(cohort.reference, cohort.source)
    if args.pairs:
        report = pair_report(args.pairs.resolve(), candidates)
        if args.out:
            args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
        return
    names = [n for n in candidates if not args.only or n in args.only.split(",")]
    variants = [(n, apply(faces, candidates[n])) for n in names]
    if args.antialias_cache:
        import idolguard.faces.analysis as analysis

        analysis.align_face = antialiased_align  # the alignment the analyzer uses, for this process only
        variants.append(("antialiased alignment", embed_labelled(read_labelled_csv(args.data), args.antialias_cache)))
    results: dict[str, object] = {"cohort": {s: int((cohort.source == s).sum()) for s in sorted(set(cohort.source))}}
    base: np.ndarray | None = None
    for name, moved in variants:
        cv = fitted_cv(moved, args.seeds, args.draws) * 100
        orc = oracle(moved, args.oracle_seeds, args.draws) * 100
        if name == "raw":
            base = orc
        sep = pair_separation(moved)
        row = {
            "cv_mean": dict(zip(CV_KEYS, cv.mean(0).round(3), strict=True)),
            "cv_per_seed": cv.round(2).tolist(),
            "oracle_mean": dict(zip(ORACLE_KEYS, orc.mean(0).round(3), strict=True)),
            "oracle_wins_vs_raw_far1": None if base is None else int((orc[:, 1] > base[:, 1]).sum()),
            "pairs_calibration_data": sep,
        }
        results[name] = row
        print(name, json.dumps({k: v for k, v in row.items() if k != "cv_per_seed"}, default=float), flush=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1, default=float) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
