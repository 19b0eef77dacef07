"""Does unsupervised domain adaptation of SFace embeddings help on East Asian faces? (It did not.)

Embeds eastasian-dev (references as at enrolment, probes as scanned) and a cohort of faces that the
verification pairs never use (faces-real-pool: the 575 UTKFace Asian adults, every 6th DFDC crop), then
scores eastasian-dev's pairs after each transform fitted on the cohort only: mean-centering (several
strengths) and PCA whitening with shrinkage. Prints ROC AUC, best-threshold accuracy and 10-fold CV accuracy.

    python bench/faces_domain_adapt.py --ea ../shared/data/eastasian-dev --pool ../shared/data/faces-real-pool
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from idolguard.faces.evaluation import embed_photos, read_csv


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def cv_accuracy(scores: np.ndarray, same: np.ndarray, folds: int = 10) -> float:
    idx = np.random.default_rng(0).permutation(len(scores))
    accs = []
    for fold in np.array_split(idx, folds):
        train = np.setdiff1d(idx, fold)
        t = max(np.unique(scores[train]), key=lambda t: ((scores[train] >= t) == same[train]).mean())
        accs.append(((scores[fold] >= t) == same[fold]).mean())
    return float(np.mean(accs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ea", type=Path, required=True)
    parser.add_argument("--pool", type=Path, required=True)
    args = parser.parse_args()
    manifest = [r["path"] for r in read_csv(args.ea / "manifest.csv", ["path"])]
    pool = read_csv(args.pool / "manifest.csv", ["path"])
    asian = [r["path"] for r in pool if r.get("race") == "asian"]
    dfdc = [r["path"] for r in pool if r["path"].startswith("dfdc/")][::6]

    def vectors(paths: list[str], root: Path, reference: bool = False) -> dict[str, np.ndarray]:
        found = embed_photos(paths, root, reference=reference)
        return {k: v.embedding for k, v in found.items() if v.embedding is not None}

    refs, probes = vectors(manifest, args.ea, reference=True), vectors(manifest, args.ea)
    cohorts = {"asian": np.array(list(vectors(asian, args.pool).values()))}
    cohorts["dfdc"] = np.array(list(vectors(dfdc, args.pool).values()))
    cohorts["both"] = np.vstack([cohorts["asian"], cohorts["dfdc"]])
    pairs = [
        (p["a"], p["b"], p["same"].strip().lower() in ("1", "true", "yes"))
        for p in read_csv(args.ea / "pairs.csv", ["a", "b", "same"])
        if p["a"] in refs and p["b"] in probes
    ]
    same = np.array([s for _, _, s in pairs])

    def report(name: str, transform: Callable[[np.ndarray], np.ndarray]) -> None:
        a = unit(transform(np.array([refs[p[0]] for p in pairs])))
        b = unit(transform(np.array([probes[p[1]] for p in pairs])))
        scores = (a * b).sum(1)
        best = max(((scores >= t) == same).mean() for t in np.unique(scores))
        print(
            f"{name:34s} AUC {roc_auc_score(same, scores):.4f}  best {best:.4f}  "
            f"10-fold {cv_accuracy(scores, same):.4f}  ({len(pairs)} pairs)"
        )

    report("raw cosine", lambda x: x)
    for cohort_name, cohort in cohorts.items():
        mean = unit(cohort).mean(0)
        for strength in (0.5, 1.0):
            report(f"centre on {cohort_name} x{strength}", lambda x, m=mean, s=strength: unit(x) - s * m)
        centred = unit(cohort) - mean
        eigval, eigvec = np.linalg.eigh(centred.T @ centred / len(centred))
        for shrink in (0.1, 0.3, 1.0, 3.0):
            w = eigvec @ np.diag(1 / np.sqrt(eigval + shrink * eigval.mean())) @ eigvec.T
            report(f"whiten on {cohort_name}, shrink {shrink}", lambda x, m=mean, w=w: (unit(x) - m) @ w)


if __name__ == "__main__":
    main()
