"""Write an open-set gallery protocol (gallery.csv, probes.csv, optionally cohort.csv) from a labelled manifest.

Half of the identities with at least ``refs + 1`` photos are enrolled with ``refs`` random photos each; their
other photos are genuine probes. Every photo of every other identity is an impostor probe (a face of someone
who is not enrolled: the regime a monitoring team lives in). The split is seeded, so a recorded result can be
reproduced exactly. The data stays where it is; only paths and labels are written.

    python bench/faces_protocol.py --manifest ../shared/data/eastasian-dev/manifest.csv --out /tmp/ea-s0 --seed 0
    idolguard eval gallery --gallery /tmp/ea-s0/gallery.csv --probes /tmp/ea-s0/probes.csv \
        --root ../shared/data/eastasian-dev --json
"""

from __future__ import annotations

import argparse
import csv
import random
from collections import defaultdict
from pathlib import Path

# eastasian-dev merges sets that photograph the same people under different labels (see its SOURCE files):
# counting a TWICE member's photo as an "impostor" of her own enrolled identity would be wrong.
ALIASES = {
    "kpop-twice-izone-mrmagicpickle/twice_sana": "kpop-idols-tapankarnik/sana",
    "kpop-twice-izone-mrmagicpickle/twice_nayeon": "kpop-idols-tapankarnik/nayeon",
    "kpop-twice-izone-mrmagicpickle/twice_jihyo": "kpop-idols-tapankarnik/jihyo",
    "kpop-twice-izone-mrmagicpickle/twice_dahyun": "kpop-idols-tapankarnik/dahyun",
    "kpop-twice-izone-mrmagicpickle/twice_chaeyoung": "kpop-idols-tapankarnik/chaeyong",
}


def split(rows: list[dict[str, str]], refs: int, seed: int, enrol_fraction: float = 0.5) -> tuple[list, list]:
    rng = random.Random(seed)
    by_identity: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        identity = ALIASES.get(row["identity"], row["identity"])
        by_identity[identity].append(row["path"])
    eligible = sorted(i for i, paths in by_identity.items() if len(paths) >= refs + 1)
    rng.shuffle(eligible)
    enrolled = set(eligible[: int(len(eligible) * enrol_fraction)])
    gallery, probes = [], []
    for identity in sorted(by_identity):
        paths = sorted(by_identity[identity])
        rng.shuffle(paths)
        if identity in enrolled:
            gallery += [(p, identity) for p in paths[:refs]]
            probes += [(p, identity) for p in paths[refs:]]
        else:
            probes += [(p, identity) for p in paths]
    return gallery, probes


def write(path: Path, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--refs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cohort-manifest", type=Path, help="manifest whose photos form the cohort (absolute paths)")
    parser.add_argument("--cohort-filter", default="", help="column=value to keep, e.g. race=asian")
    args = parser.parse_args()
    with open(args.manifest, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    gallery, probes = split(rows, args.refs, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    write(args.out / "gallery.csv", ("path", "identity"), gallery)
    write(args.out / "probes.csv", ("path", "identity"), probes)
    print(f"{len({i for _, i in gallery})} enrolled identities, {len(gallery)} references, {len(probes)} probes")
    if args.cohort_manifest:
        with open(args.cohort_manifest, newline="", encoding="utf-8") as handle:
            cohort_rows = list(csv.DictReader(handle))
        if args.cohort_filter:
            key, _, value = args.cohort_filter.partition("=")
            cohort_rows = [r for r in cohort_rows if r.get(key) == value]
        base = args.cohort_manifest.resolve().parent
        write(args.out / "cohort.csv", ("path",), [(str(base / r["path"]),) for r in cohort_rows])
        print(f"{len(cohort_rows)} cohort photos")


if __name__ == "__main__":
    main()
