"""Ingest throughput against `sha256sum` + plain copy of the same files, measured in the same run.

    python bench/ingest.py [--small 2000] [--large 3] [--large-mb 100] [--repeats 3] [--one-core]

(a) many small JPEGs: files/s and MB/s of IdolGuard's ingest (vault copy + fsync + item/sighting rows + signed
ledger events), with and without the probe stage; (b) a few large files: MB/s. Baselines: `sha256sum` over the
files, then `cp` of the same files into a fresh folder (their times summed, as two passes). Every run ingests
into a fresh workspace so nothing is deduplicated. Prints medians and ratios.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make_small(folder: Path, count: int) -> None:
    from tests.conftest import jpeg_bytes

    folder.mkdir(parents=True)
    templates = [jpeg_bytes(seed, size=(480, 360), quality=85) for seed in range(50)]
    for index in range(count):
        # unique bytes per file (a trailing comment after EOI keeps every file distinct and valid)
        (folder / f"{index:05d}.jpg").write_bytes(templates[index % 50] + index.to_bytes(4, "big"))


def make_large(folder: Path, count: int, megabytes: int) -> None:
    folder.mkdir(parents=True)
    for index in range(count):
        with open(folder / f"big-{index}.bin", "wb") as handle:
            for _ in range(megabytes):
                handle.write(os.urandom(1024 * 1024))


def baseline(folder: Path) -> float:
    files = sorted(str(p) for p in folder.iterdir())
    started = time.perf_counter()
    for start in range(0, len(files), 500):
        subprocess.run(["sha256sum", *files[start : start + 500]], check=True, stdout=subprocess.DEVNULL)
    hashed = time.perf_counter() - started
    with tempfile.TemporaryDirectory(dir=folder.parent) as dest:
        started = time.perf_counter()
        subprocess.run(["cp", "-r", str(folder), dest], check=True)
        copied = time.perf_counter() - started
    return hashed + copied


def ingest(folder: Path, with_probe: bool) -> float:
    from idolguard.intake.ingest import Ingestor
    from idolguard.pipeline.runner import analyze
    from idolguard.workspace import Workspace, init_workspace

    with tempfile.TemporaryDirectory(dir=folder.parent) as home:
        os.environ.pop("IDOLGUARD_DB_URL", None)
        init_workspace(Path(home))
        ws = Workspace.open(Path(home))
        started = time.perf_counter()
        results = list(Ingestor(ws).ingest([folder]))
        if with_probe:
            analyze(ws, [r.sha256 for r in results if r.sha256], stage_names=["probe"])
        elapsed = time.perf_counter() - started
        assert all(r.error is None for r in results), [r.error for r in results if r.error][:3]
        ws.close()
    return elapsed


def run(folder: Path, repeats: int, label: str, probe: bool) -> dict[str, float]:
    files = list(folder.iterdir())
    total_mb = sum(p.stat().st_size for p in files) / 1e6
    base = statistics.median(baseline(folder) for _ in range(repeats))
    ours = statistics.median(ingest(folder, with_probe=False) for _ in range(repeats))
    row = {"files": len(files), "MB": total_mb, "baseline_s": base, "ingest_s": ours}
    print(f"\n{label}: {len(files)} files, {total_mb:.1f} MB, median of {repeats}")
    print(f"  sha256sum + cp baseline : {base:8.3f} s  {len(files) / base:9.1f} files/s  {total_mb / base:8.1f} MB/s")
    print(
        f"  idolguard ingest        : {ours:8.3f} s  {len(files) / ours:9.1f} files/s  {total_mb / ours:8.1f} MB/s"
        f"  = {base / ours:.2f}x baseline throughput"
    )
    if probe:
        probed = statistics.median(ingest(folder, with_probe=True) for _ in range(repeats))
        print(f"  ingest + probe stage    : {probed:8.3f} s  {len(files) / probed:9.1f} files/s")
        row["probe_s"] = probed
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=2000)
    parser.add_argument("--large", type=int, default=3)
    parser.add_argument("--large-mb", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--one-core", action="store_true", help="pin this process (and children) to one core")
    args = parser.parse_args()
    if args.one_core:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    print(f"python {sys.version.split()[0]}, cores available to this run: {len(os.sched_getaffinity(0))}")
    with tempfile.TemporaryDirectory(prefix="idolguard-bench-") as root:
        root_path = Path(root)
        if args.small:
            make_small(root_path / "small", args.small)
            run(root_path / "small", args.repeats, "(a) small JPEGs", probe=True)
            shutil.rmtree(root_path / "small")
        if args.large:
            make_large(root_path / "large", args.large, args.large_mb)
            run(root_path / "large", args.repeats, f"(b) {args.large_mb} MB files", probe=False)


if __name__ == "__main__":
    main()
