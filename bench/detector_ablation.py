"""What each CPU-saving choice of the detector recipe costs in AUC (issue: "measure what each costs").

Trains one model per configuration with ``idolguard.detect.training.trainer`` (same seed, same evenly
spread subset of the real pool), then scores the held-out self-blends (from the training card) and the
DFDC development crops with ``idolguard eval detector`` through ``IDOLGUARD_DETECTOR_MODEL``. Prints one
row per configuration: training time, held-out AUC, DFDC AUC clean / JPEG q50 / 0.5x.

    python bench/detector_ablation.py --real ../shared/data/faces-real-pool \
        --labels ../shared/data/deepfake-dev/dfdc-faces/labels.csv --root ../shared/data/deepfake-dev/dfdc-faces \
        --limit 3000 --configs 128:5:1 224:5:1 128:3:1 128:5:3

A configuration is SIZE:FROZEN_BLOCKS:EPOCHS[:VARIANTS] (variants: self-blends per face, default 2). The
cost of caching features (fixed blends reused every epoch) is measured by comparing 128:5:3 (2 blends per
face, seen 3 times) with 128:5:1:6 (6 fresh blends, each seen once: the same number of steps as blending on
the fly for 3 epochs). Needs the train extra (torch) and the shared data; the DFDC
set is only scored, never trained on. Results go to ``--out`` (one JSON file per configuration) so an
interrupted run resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path


def run_config(args: argparse.Namespace, spec: str) -> dict:
    size, frozen, epochs, variants = ([int(x) for x in spec.split(":")] + [2])[:4]
    tag = f"s{size}-f{frozen}-e{epochs}-n{args.limit or 'all'}" + (f"-v{variants}" if variants != 2 else "")
    result_file = args.out / f"{tag}-result.json"  # the model card is {tag}.json
    if result_file.exists():
        return json.loads(result_file.read_text())
    model = args.out / f"{tag}.onnx"
    t0 = time.perf_counter()
    train_cmd = [
        sys.executable, "-m", "idolguard.detect.training.trainer",
        "--real", str(args.real), "--out", str(model), "--work-dir", str(args.work_dir),
        "--size", str(size), "--frozen-blocks", str(frozen), "--epochs", str(epochs), "--variants", str(variants),
        "--seed", str(args.seed), "--threads", str(args.threads), "--version", f"ablation-{tag}",
    ]  # fmt: skip
    if args.limit:
        train_cmd += ["--limit", str(args.limit)]
    subprocess.run(train_cmd, check=True)
    train_s = time.perf_counter() - t0
    card = json.loads(model.with_suffix(".json").read_text())
    row = {
        "config": spec,
        "size": size,
        "frozen_blocks": frozen,
        "epochs": epochs,
        "variants": variants,
        "pool_limit": args.limit,
        "train_s": round(train_s),
        "card_timings": card.get("training", {}).get("timings_s"),
        "heldout_auc": card.get("metrics", {}).get("holdout_sbi_auc"),
    }
    env = dict(os.environ, IDOLGUARD_DETECTOR_MODEL=str(model))
    for degrade in args.degrade:
        out = subprocess.run(
            [
                "idolguard",
                "eval",
                "detector",
                "--labels",
                str(args.labels),
                "--root",
                str(args.root),
                "--json",
                "--degrade",
                degrade,
                "--plot",
                str(args.out / f"{tag}-{degrade}.png"),
            ],  # fmt: skip
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        summary = json.loads(out.strip().splitlines()[-1])["summary"]
        row[f"dfdc_auc_{degrade}"] = summary.get("roc_auc")
    result_file.write_text(json.dumps(row, indent=1))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real", type=Path, required=True)
    parser.add_argument("--labels", type=Path, required=True)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--configs", nargs="+", default=["128:5:1", "224:5:1", "128:3:1", "128:5:3"])
    parser.add_argument("--limit", type=int, default=3000, help="Pool faces used (0 = all).")
    parser.add_argument("--degrade", nargs="+", default=["none", "jpeg50", "half"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("/tmp/idolguard-detector-ablation"))
    parser.add_argument("--work-dir", type=Path, default=Path(".idolguard/detect-train"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = [run_config(args, spec) for spec in args.configs]
    print(f"{'config':>10} {'train s':>8} {'held-out':>9} " + " ".join(f"{'dfdc ' + d:>12}" for d in args.degrade))
    for row in rows:
        cells = " ".join(f"{row.get(f'dfdc_auc_{d}') or float('nan'):>12.3f}" for d in args.degrade)
        print(f"{row['config']:>10} {row['train_s']:>8} {row['heldout_auc'] or float('nan'):>9.3f} {cells}")


if __name__ == "__main__":
    main()
