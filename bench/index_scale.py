"""Hamming index at scale: build time, memory, query latency and exactness at 1M / 10M PDQ hashes.

Data: uniformly random 256-bit hashes (PDQ bits are median-thresholded, so each bit is ~50/50; real banks have
some correlation between bits, which makes bucket sizes less even than here). Near-duplicates are planted at
distances 1..31 from random base rows; every planted pair must be found (exactness). Queries: 1,000, half of
them planted near-duplicates, half unrelated random hashes (the common case: most uploads match nothing).

Baseline in the same run: faiss ``IndexBinaryFlat`` (exact brute force) on a sample of the queries.

Run (one core, low priority):
    nice -n 10 taskset -c 0 python bench/index_scale.py --sizes 1000000 10000000
"""

from __future__ import annotations

import argparse
import gc
import resource
import time
from pathlib import Path

import numpy as np

from idolguard.signals.index import HammingIndex


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def plant(base: np.ndarray, rng: np.random.Generator, distances: np.ndarray) -> np.ndarray:
    bits = np.unpackbits(base, axis=1)
    for row, d in zip(bits, distances, strict=True):
        row[rng.choice(256, int(d), replace=False)] ^= 1
    return np.packbits(bits, axis=1)


def run(size: int, queries: int, threshold: int, faiss_sample: int) -> None:
    rng = np.random.default_rng(size)
    gc.collect()
    before = rss_mb()
    hashes = rng.integers(0, 256, (size, 32), dtype=np.uint8)
    targets = rng.choice(size, queries // 2, replace=False)
    planted = plant(hashes[targets], rng, rng.integers(0, threshold + 1, len(targets)))
    randoms = rng.integers(0, 256, (queries - len(targets), 32), dtype=np.uint8)
    started = time.perf_counter()
    index = HammingIndex.build(np.arange(size, dtype=np.int64), hashes)
    build_s = time.perf_counter() - started
    gc.collect()
    after = rss_mb()
    latencies, found = [], 0
    order = rng.permutation(queries)
    all_queries = np.concatenate([planted, randoms])
    for k in order:
        q = all_queries[k]
        t0 = time.perf_counter()
        hits = index.query(q, threshold)
        latencies.append(time.perf_counter() - t0)
        if k < len(targets):
            found += any(h.entry_id == targets[k] for h in hits)
    lat = np.array(latencies) * 1e3
    print(
        f"ours  N={size:>10,}: build {build_s:6.1f} s  RSS {after:7.0f} MB (index+data {after - before:6.0f} MB)  "
        f"query p50 {np.percentile(lat, 50):6.2f} ms  p99 {np.percentile(lat, 99):6.2f} ms  "
        f"planted found {found}/{len(targets)}",
        flush=True,
    )
    if faiss_sample:
        import faiss

        faiss.omp_set_num_threads(1)
        flat = faiss.IndexBinaryFlat(256)
        t0 = time.perf_counter()
        flat.add(hashes)
        add_s = time.perf_counter() - t0
        sample = all_queries[order[:faiss_sample]]
        lat_f = []
        for q in sample:
            t0 = time.perf_counter()
            flat.range_search(q[None, :], threshold + 1)
            lat_f.append(time.perf_counter() - t0)
        lat_f = np.array(lat_f) * 1e3
        print(
            f"faiss IndexBinaryFlat N={size:>10,}: add {add_s:5.1f} s  query p50 {np.percentile(lat_f, 50):6.2f} ms  "
            f"p99 {np.percentile(lat_f, 99):6.2f} ms  (n={faiss_sample}); ratio p99 flat/ours "
            f"{np.percentile(lat_f, 99) / np.percentile(lat, 99):.1f}x",
            flush=True,
        )
        del flat
    del index, hashes
    gc.collect()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--threshold", type=int, default=31)
    parser.add_argument("--faiss-sample", type=int, default=100)
    args = parser.parse_args()
    for size in args.sizes:
        run(size, args.queries, args.threshold, args.faiss_sample)
    print(f"peak RSS of the run {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
