"""Streaming import of a large hash list: time and peak memory (the list must never be loaded whole).

Writes N random PDQ lines in ThreatExchange format (plus one malformed line at the end for the reject run),
imports them into a fresh workspace (SQLite), and reports wall time, lines/s and the process's peak RSS next
to the file size. The malformed run shows that validation streams too and that nothing is imported.

Run:  nice -n 10 python bench/signals_import.py --lines 1000000
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args()
    os.environ.setdefault("IDOLGUARD_ACTOR", "bench")
    from idolguard.signals.banks import create_bank
    from idolguard.signals.exchange import import_file
    from idolguard.workspace import Workspace, init_workspace

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "ws"
        os.environ.pop("IDOLGUARD_DB_URL", None)
        init_workspace(home)
        ws = Workspace.open(home)
        create_bank(ws, "big", "partner")
        rng = random.Random(7)
        good = Path(tmp) / "hashes.txt"
        with open(good, "w") as handle:
            for _ in range(args.lines):
                handle.write(f"pdq {rng.getrandbits(256):064x}\n")
        bad = Path(tmp) / "bad.txt"
        bad.write_bytes(good.read_bytes() + b"pdq 12345\n")
        size_mb = good.stat().st_size / 2**20
        base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.perf_counter()
        rejected = import_file(ws, bad, "big", "threatexchange")
        reject_s = time.perf_counter() - started
        started = time.perf_counter()
        report = import_file(ws, good, "big", "threatexchange")
        import_s = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"file: {args.lines:,} lines, {size_mb:.0f} MB")
    print(
        f"malformed file: validated in {reject_s:.1f} s, rejected lines {rejected.rejected_count} "
        f"(line {rejected.rejected[0].line}), imported {rejected.imported}"
    )
    print(f"import: {len(report.added):,} entries in {import_s:.1f} s ({args.lines / import_s:,.0f} lines/s)")
    print(f"peak RSS {peak:.0f} MB (before importing {base_rss:.0f} MB)")


if __name__ == "__main__":
    main()
