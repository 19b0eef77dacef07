"""What bounds how far fusing the mirror view moves a scanned face's scores (issue 17, lazy mirroring).

    python bench/faces_calibration_sets.py --data ../shared/data --out /tmp/band/sets.csv --idol-sample 600
    python bench/faces_mirror_band.py --data /tmp/band/sets.csv --cache /tmp/band/emb.npz

On the calibration sets (crop and crop + mirror vectors of every photo; the mirror's own vector is recovered
exactly from the two, since the fused vector is their normalised sum), with identity-disjoint halves (fitted on
one, reported on the other, both ways) and the shipped thresholds:

- the *geometric* bound: |fused - crop| caps every score move (Cauchy-Schwarz) without the mirror's vector;
- how much of the rise (fused minus crop-only artist score) is per probe and how much per artist (the share of
  its variance left after removing each probe's, or each artist's, mean): a per-artist band needs the latter;
- a *linear mirror predictor* (ridge regression of the mirror vector on the crop vector, fitted on one half):
  how close it predicts the mirror on the other half, against taking the crop itself as the prediction;
- the rise of artists just below their ``possible`` threshold (``calibration.band_rises``) against the
  largest rise of any artist (``mirror_rises``), and how the band's width depends on the threshold.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def main() -> None:
    from idolguard.faces.labelled import embed_labelled, read_labelled_csv
    from idolguard.gallery.calibration import (
        Settings,
        band_rises,
        choose_mirror_band,
        choose_mirror_delta,
        draw_galleries,
        identity_folds,
        mirror_rises,
    )
    from idolguard.gallery.matching import MatchParams

    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--draws", type=int, default=10)
    args = parser.parse_args()
    faces = embed_labelled(read_labelled_csv(args.data), args.cache)
    assert faces.crop is not None
    crop, fused = faces.crop.astype(np.float64), faces.probe.astype(np.float64)
    mirror = 2 * (crop * fused).sum(axis=1, keepdims=True) * fused - crop
    print(
        f"{len(crop)} faces; |mirror| recovered: {np.linalg.norm(mirror, axis=1).min():.6f}-"
        f"{np.linalg.norm(mirror, axis=1).max():.6f}; crop . mirror quantiles 1/50/99%: "
        f"{np.round(np.quantile((crop * mirror).sum(axis=1), [0.01, 0.5, 0.99]), 3).tolist()}"
    )
    step = np.linalg.norm(fused - crop, axis=1)
    print(
        f"geometric bound |fused - crop| (caps any score move) quantiles 1/50/99%: "
        f"{np.round(np.quantile(step, [0.01, 0.5, 0.99]), 3).tolist()}"
    )
    settings, shipped = Settings(), MatchParams.shipped()
    halves = identity_folds(faces, 2, 0)
    for fit_side in (0, 1):
        fit, check = faces.subset(halves == fit_side), faces.subset(halves != fit_side)
        a, b = crop[halves == fit_side], mirror[halves == fit_side]
        c, m = crop[halves != fit_side], mirror[halves != fit_side]
        for lam in (0.1, 1.0, 10.0):
            f = np.linalg.solve(a.T @ a + lam * np.eye(128), a.T @ b)
            guess = c @ f
            guess /= np.linalg.norm(guess, axis=1, keepdims=True)
            print(
                f"[fit {fit_side}] linear mirror predictor (ridge {lam}): median |mirror - predicted| "
                f"{np.median(np.linalg.norm(m - guess, axis=1)):.3f}, crop as the prediction "
                f"{np.median(np.linalg.norm(m - c, axis=1)):.3f}"
            )
        shares = []
        for draw in draw_galleries(check, settings, np.random.default_rng(5), args.draws):
            index = draw.index(check, shipped)
            rows = draw.probe_rows
            rise = index.artist_scores(check.probe[rows]) - index.artist_scores(check.crop[rows])
            total = rise.var()
            shares.append(
                ((rise - rise.mean(1, keepdims=True)).var() / total, (rise - rise.mean(0, keepdims=True)).var() / total)
            )
        left = np.mean(shares, axis=0)
        print(
            f"[check {1 - fit_side}] rise variance left after removing the probe's mean {left[0]:.1%}, "
            f"the artist's mean {left[1]:.1%}"
        )
        wide = mirror_rises(fit, settings, np.random.default_rng(17), args.draws)
        near, at = band_rises(fit, shipped, settings, np.random.default_rng(23), args.draws)
        delta = choose_mirror_delta(wide)
        print(
            f"[fit {fit_side}] largest move of any artist: q0.999 {np.quantile(wide, 0.999):.4f} -> delta "
            f"{delta:.3f}; largest rise just below the threshold {at}: q0.999 {np.quantile(near, 0.999):.4f}, "
            f"max {near.max():.4f} -> band {choose_mirror_band(near, delta):.3f}"
        )
    for possible in (0.15, 0.25, 0.30, 0.35, 0.40, 0.45, 0.50):
        rule = MatchParams(match_threshold=possible + 0.06, possible_threshold=possible, mirror_delta=0.08)
        near, _ = band_rises(faces, rule, settings, np.random.default_rng(23), 2 * args.draws)
        print(
            f"possible {possible:.2f}: {len(near)} probes with an artist within reach, rise q0.5/0.99/0.999 "
            f"{np.round(np.quantile(near, [0.5, 0.99, 0.999]), 4).tolist()}, max {near.max():.4f} -> band "
            f"{choose_mirror_band(near, 0.08):.3f}"
        )


if __name__ == "__main__":
    main()
