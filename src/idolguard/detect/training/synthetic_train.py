"""Train the synthetic-image family (``idolguard.detect.synthetic``) on real photos vs generated faces.

    python -m idolguard.detect.training.synthetic_train --data ../shared/data \
        --out src/idolguard/detect/models/synthetic-spectral.json

- Generated: ``synthetic-dev`` (StyleGAN2, six generator flavours in ``manifest.csv``).
- Real: the ``train`` split of the real idol-style / East Asian photos (``domain.py``) plus an evenly spread
  share of ``faces-real-pool`` (DFDC/UTKFace), so "real" is not only one look.
- Faces are found with YuNet and cut exactly as at runtime (1.3x square crop); every crop, real or generated,
  is resized to the same size and re-encoded with a random JPEG quality (the sets differ in format).
- Measured, not tuned: leave-one-generator-out cross-validation (each flavour scored by a model that never
  saw it; real photos split into folds by person) gives the per-source AUC, and the out-of-fold logits fit
  the Platt calibration. The shipped weights are then fitted on everything in the training side.
- Operating points come from the ``calibration`` split of real idol photos and the false-positive reference
  from the held-out ``test`` split, as for the face-swap family; AUC on held-out real idol photos vs the
  out-of-fold generated faces is reported per generator.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import time
from pathlib import Path

import numpy as np

from idolguard.detect.calibration import fit_calibration
from idolguard.detect.crops import CROP_SCALE, crop_face
from idolguard.detect.domain import IDOL_KINDS, domain_photos, select
from idolguard.detect.false_positives import operating_points, wilson
from idolguard.detect.synthetic import SIZE, SyntheticModel, features, normalise_for_training
from idolguard.detect.training.pool import cached_files, list_images
from idolguard.detect.training.trainer import read_rgb, spread_subset


def _crops(
    files: list[Path], work_dir: Path, seed: int, normalise: bool = True, min_face: int = 48
) -> tuple[list[np.ndarray], list[str]]:
    faces = cached_files(files, work_dir, min_face)
    crops, paths = [], []
    for face in faces:
        image = read_rgb(Path(face.path))
        if image is None:
            continue
        crop = crop_face(image, face.bbox, SIZE, CROP_SCALE)
        if normalise:
            digest = hashlib.sha256(face.path.encode()).digest()[:8]
            crop = normalise_for_training(crop, np.random.default_rng([seed, int.from_bytes(digest, "big")]))
        crops.append(crop)
        paths.append(face.path)
    return crops, paths


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    model = LogisticRegression(C=0.1, max_iter=2000, class_weight="balanced")
    model.fit((x - mean) / scale, y)
    return mean, scale, model.coef_[0].astype(np.float64), float(model.intercept_[0])


def _logits(params: tuple[np.ndarray, np.ndarray, np.ndarray, float], x: np.ndarray) -> np.ndarray:
    mean, scale, coef, intercept = params
    return ((x - mean) / scale) @ coef + intercept


def train_synthetic(data: Path, out: Path, work_dir: Path, seed: int = 0, pool_faces: int = 1200, log=print) -> dict:
    from sklearn.metrics import roc_auc_score

    started = time.perf_counter()
    synth_root = data / "synthetic-dev"
    with (synth_root / "manifest.csv").open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("label") == "fake"]
    generator_of = {str((synth_root / r["path"]).resolve()): r["generator"] for r in rows}
    fake_crops, fake_paths = _crops([synth_root / r["path"] for r in rows], work_dir, seed)
    fake_gen = [generator_of[p] for p in fake_paths]
    photos = domain_photos(data)
    real_train = select(photos, "train")
    pool_root = data / "faces-real-pool"
    pool_files = spread_subset(list_images(pool_root), pool_faces) if pool_root.is_dir() else []  # type: ignore[arg-type]
    group_of = {str(p.path.resolve()): p.group for p in real_train}
    domain_crops, domain_paths = _crops([p.path for p in real_train], work_dir, seed)  # cache shared with training
    pool_crops, pool_paths = _crops(list(pool_files), work_dir, seed, min_face=64)  # as `train --pool-files`
    real_crops, real_paths = domain_crops + pool_crops, domain_paths + pool_paths
    real_group = [group_of.get(p, p) for p in real_paths]
    log(f"{len(fake_crops)} generated faces ({len(set(fake_gen))} generators), {len(real_crops)} real faces")
    x_fake = np.stack([features(c) for c in fake_crops])
    x_real = np.stack([features(c) for c in real_crops])
    generators = sorted(set(fake_gen))
    fake_gen_arr = np.array(fake_gen)
    real_fold = np.array([int(hashlib.sha256(g.encode()).hexdigest(), 16) % len(generators) for g in real_group])
    oof_fake = np.zeros(len(x_fake))
    oof_real = np.zeros(len(x_real))
    fold_params = []
    for k, gen in enumerate(generators):  # leave one generator (and one fold of real people) out
        tr_f, tr_r = fake_gen_arr != gen, real_fold != k
        params = _fit(np.concatenate([x_real[tr_r], x_fake[tr_f]]), np.r_[np.zeros(tr_r.sum()), np.ones(tr_f.sum())])
        fold_params.append(params)
        oof_fake[~tr_f] = _logits(params, x_fake[~tr_f])
        oof_real[~tr_r] = _logits(params, x_real[~tr_r])
    cv_auc = {
        gen: round(
            float(
                roc_auc_score(
                    np.r_[np.zeros(len(oof_real)), np.ones((fake_gen_arr == gen).sum())],
                    np.r_[oof_real, oof_fake[fake_gen_arr == gen]],
                )
            ),
            4,
        )
        for gen in generators
    }
    calibration = fit_calibration(
        np.r_[oof_real, oof_fake],
        np.r_[np.zeros(len(oof_real)), np.ones(len(oof_fake))],
        "platt",
        data="out-of-fold logits (leave-one-generator-out) of real training photos and synthetic-dev faces",
    )
    params = _fit(np.concatenate([x_real, x_fake]), np.r_[np.zeros(len(x_real)), np.ones(len(x_fake))])
    # Real idol photos the model never saw: calibration split -> operating points, test split -> reference.
    split_x: dict[str, np.ndarray] = {}
    split_kind: dict[str, list[str]] = {}
    for split in ("calibration", "test"):
        chosen = select(photos, split)
        kind_of = {str(p.path.resolve()): p.kind for p in chosen}
        crops, paths = _crops([p.path for p in chosen], work_dir, seed, normalise=False)
        split_x[split] = np.stack([features(c) for c in crops])
        split_kind[split] = [kind_of[p] for p in paths]
    cal_logits = _logits(params, split_x["calibration"])
    points = operating_points(cal_logits, calibration, likely_rate=0.005, flagged_rate=0.02)
    test_logits = _logits(params, split_x["test"])
    idol_test = np.array([k in IDOL_KINDS for k in split_kind["test"]])
    heldout_auc = {
        gen: round(
            float(
                roc_auc_score(
                    np.r_[np.zeros(idol_test.sum()), np.ones((fake_gen_arr == gen).sum())],
                    np.r_[test_logits[idol_test], oof_fake[fake_gen_arr == gen]],
                )
            ),
            4,
        )
        for gen in generators
    }
    # Robustness: unseen-generator fakes (raw crops, each scored by the fold model that never saw its
    # generator) and held-out real idol photos, both degraded the same way.
    from idolguard.detect.degradations import apply

    raw_fakes, _ = _crops([synth_root / r["path"] for r in rows], work_dir, seed, normalise=False)
    test_crops, test_paths = _crops([p.path for p in select(photos, "test")], work_dir, seed, normalise=False)
    test_kind = {str(p.path.resolve()): p.kind for p in select(photos, "test")}
    test_idol_crops = [c for c, p in zip(test_crops, test_paths, strict=True) if test_kind[p] in IDOL_KINDS]
    robustness = {}
    for condition in ("none", "jpeg50", "half", "webp50"):
        fake_logits = np.zeros(len(raw_fakes))
        for k, gen in enumerate(generators):
            idx = np.flatnonzero(fake_gen_arr == gen)
            x = np.stack([features(apply(raw_fakes[i], condition)) for i in idx])
            fake_logits[idx] = _logits(fold_params[k], x)
        real_logits = _logits(params, np.stack([features(apply(c, condition)) for c in test_idol_crops]))
        both = np.r_[np.zeros(len(real_logits)), np.ones(len(fake_logits))]
        robustness[condition] = round(float(roc_auc_score(both, np.r_[real_logits, fake_logits])), 4)
    log(f"robustness (held-out real idol vs unseen-generator fakes): {robustness}")
    probs = np.round(calibration.apply(test_logits[idol_test]), 4)
    n = int(idol_test.sum())
    k_likely = int((probs >= points["likely"]).sum())
    k_unc = int(((probs >= points["uncertain"]) & (probs < points["likely"])).sum())
    model = SyntheticModel(*params, calibration=calibration, card={})
    model.card = {
        "version": "1.0.0",
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "family": "synthetic_image",
        "method": "logistic regression on spectral and noise-residual statistics of the face crop",
        "input": {"size": SIZE, "crop_scale": CROP_SCALE},
        "training": {
            "generated": f"synthetic-dev: {len(x_fake)} StyleGAN2 faces, generators {generators}",
            "real": f"{len(x_real)} faces: train split of real idol-style/East Asian photos + {len(pool_files)} "
            "faces-real-pool images",
            "seconds": round(time.perf_counter() - started, 1),
        },
        "operating_points": {
            **points,
            "chosen_on": f"calibration split of real idol photos ({len(cal_logits)}), at most 0.5% likely, 2% flagged",
        },
        "real_idol_reference": {
            "data": "held-out test split of real idol photos (never trained or calibrated on)",
            "n": n,
            "logits": sorted(round(float(v), 4) for v in test_logits[idol_test]),
        },
        "metrics": {
            "leave_one_generator_out_auc_vs_real_training_photos": cv_auc,
            "auc_heldout_real_idol_vs_unseen_generator": heldout_auc,
            "auc_by_degradation_heldout_real_idol_vs_unseen_generator": robustness,
            "heldout_real_idol": {
                "n": n,
                "likely_manipulated": [k_likely, [round(v, 4) for v in wilson(k_likely, n)]],
                "uncertain": [k_unc, [round(v, 4) for v in wilson(k_unc, n)]],
            },
        },
        "limits": "one generator family (StyleGAN2, six flavours); diffusion output not represented",
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(model.as_dict(), indent=1) + "\n", encoding="utf-8")
    log(json.dumps(model.card["metrics"], indent=1))
    return model.card


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--work-dir", type=Path, default=Path(".idolguard/detect-train"))
    parser.add_argument("--pool-faces", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    train_synthetic(args.data, args.out, args.work_dir, args.seed, args.pool_faces)


if __name__ == "__main__":
    main()
