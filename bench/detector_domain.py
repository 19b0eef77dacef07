"""Operating points and false-positive rates of a detector on real idol photos (writes them into its card).

    python bench/detector_domain.py --model src/idolguard/detect/models/sbi-effnetlite0-128.onnx \
        --data ../shared/data

Scores the calibration and held-out test splits of ``idolguard.detect.domain`` the product's way, chooses
the operating points on the calibration split only, stores them and the held-out reference in the model
card, and prints the verdict rates per split and source with 95% Wilson intervals (the held-out rows are
the published ones).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from idolguard.detect.domain_calibration import fit_domain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    args = parser.parse_args()
    started = time.perf_counter()
    metrics = fit_domain(args.model, args.data, log=lambda m: print(m, flush=True))
    print(f"operating points {metrics['operating_points']}; {metrics['unscored']} photos without a judged face")
    print("| split | photos | n scored | likely_manipulated (95% CI) | uncertain (95% CI) |")
    print("|---|---|---|---|---|")
    for key, row in metrics.items():
        if key.startswith("product_verdicts:"):
            cells = [
                f"{name} {row[name]['rate'] * 100:.1f}% ({row[name]['ci95'][0] * 100:.1f}-"
                f"{row[name]['ci95'][1] * 100:.1f})"
                for name in ("likely_manipulated", "uncertain")
            ]
            print(f"product verdicts (all families), {key.split(':', 1)[1]}, n={row['n']}: " + "; ".join(cells))
            continue
        if ":" not in key or not row["n"]:
            continue
        split, kind = key.split(":")
        cells = [
            f"{row[v]['rate'] * 100:.1f}% ({row[v]['ci95'][0] * 100:.1f}-{row[v]['ci95'][1] * 100:.1f})"
            for v in ("likely_manipulated", "uncertain")
        ]
        print(f"| {split} | {kind} | {row['n']} | {cells[0]} | {cells[1]} |")
    print(f"{time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
