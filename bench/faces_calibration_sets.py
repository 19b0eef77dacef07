"""Write the labelled calibration CSV (``path,identity,source``) from every East Asian set in ../shared/data.

Sources (read each SOURCE file in the data folder):

- ``eastasian-dev`` — one source per original collection (its ``set`` column: CASIA-FaceV5 volunteers and two
  K-pop idol collections). The two idol collections photograph five of the same TWICE members under other
  labels; they are merged into one identity (``ALIASES``), so identity-disjoint folds never split a person.
- ``utkface-asian`` — UTKFace adults whose file name says race 2 (Asian), from faces-real-pool/manifest.csv:
  no identity labels, used only as never-enrolled faces (impostors).
- ``idol-style-real`` — 1,506 Korean actor profile photos (roughly one person each, no identity labels): the
  closest thing here to the faces an agency scans, used only as never-enrolled faces.

    python bench/faces_calibration_sets.py --data ../shared/data --out /tmp/faces-cal/sets.csv
    idolguard calibrate faces --data /tmp/faces-cal/sets.csv --cache /tmp/faces-cal/emb.npz
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from faces_protocol import ALIASES  # noqa: E402


def rows_for(data: Path, idol_sample: int = 0, seed: int = 0) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    ea = data / "eastasian-dev"
    if (ea / "manifest.csv").exists():
        with open(ea / "manifest.csv", newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                identity = ALIASES.get(row["identity"], row["identity"])
                rows.append((str((ea / row["path"]).resolve()), identity, row["set"]))
    pool = data / "faces-real-pool"
    if (pool / "manifest.csv").exists():
        with open(pool / "manifest.csv", newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if row.get("race") == "asian" and "UTKFace" in row.get("source", ""):
                    rows.append((str((pool / row["path"]).resolve()), "", "utkface-asian"))
    idol = data / "idol-style-real"
    if (idol / "manifest.csv").exists():
        with open(idol / "manifest.csv", newline="", encoding="utf-8") as handle:
            actors = [r for r in csv.DictReader(handle) if r.get("label") == "real"]
        if idol_sample and idol_sample < len(actors):
            actors = random.Random(seed).sample(actors, idol_sample)
        rows += [(str((idol / r["path"]).resolve()), "", "idol-style-real") for r in actors]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--idol-sample", type=int, default=0, help="use this many idol-style-real photos (seeded)")
    args = parser.parse_args()
    rows = rows_for(args.data, args.idol_sample)
    if not rows:
        raise SystemExit(f"no East Asian sets found under {args.data}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("path", "identity", "source"))
        writer.writerows(rows)
    counts: dict[str, int] = {}
    for _, _, source in rows:
        counts[source] = counts.get(source, 0) + 1
    print(", ".join(f"{s}: {n}" for s, n in sorted(counts.items())), file=sys.stderr)


if __name__ == "__main__":
    main()
