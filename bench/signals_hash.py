"""Image hashing speed and fast-path compatibility, measured in one run.

Corpus: LFW photos from ../shared/data (natural photos, 250x250) scaled to 1024x768 and saved as JPEG q90, so
every image is the size the target names; without the shared data, scikit-image's public-domain photos are
used the same way. Each image is hashed by:

* baseline  - the reference-style pipeline: Pillow full decode -> RGB array -> ``pdqhash.compute``
              (what ``threatexchange.signal_type.pdq.pdq_hasher`` does);
* fast      - ``idolguard.signals.pdq.hash_file`` (reduced-scale luma JPEG decode);
* stage     - everything the ``signals`` stage computes for an image on the fast path (dihedral variants,
              border/embedded-picture crops, SHA-256/MD5).

Compatibility: Hamming distance between fast and baseline hashes for images whose baseline quality >= 80.

Run (one core, low priority):  nice -n 10 taskset -c 0 python bench/signals_hash.py --images 300
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pdqhash
from PIL import Image

from idolguard.config import Limits
from idolguard.signals.compute import all_signals
from idolguard.signals.pdq import bits_to_hex, hamming_hex, hash_file

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "lfw-dev" / "images"


def sources(count: int) -> list[Image.Image]:
    if SHARED.is_dir():
        files = sorted(SHARED.glob("*/*.jpg"))[:: max(1, len(sorted(SHARED.glob("*/*.jpg"))) // count)][:count]
        return [Image.open(f).convert("RGB") for f in files]
    from skimage import data

    photos = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(), data.cat()]
    rng = np.random.default_rng(0)
    out = []
    for i in range(count):
        base = photos[i % len(photos)]
        h, w = base.shape[:2]
        y, x = rng.integers(0, h // 4), rng.integers(0, w // 4)
        out.append(Image.fromarray(base[y : y + 3 * h // 4, x : x + 3 * w // 4]))
    return out


def baseline(path: Path) -> tuple[str, int]:
    with Image.open(path) as img:
        array = np.asarray(img.convert("RGB"))
    bits, quality = pdqhash.compute(array)
    return bits_to_hex(bits), int(quality)


def timed(func, paths: list[Path]) -> tuple[list[float], list]:  # type: ignore[no-untyped-def]
    times, results = [], []
    for path in paths:
        started = time.perf_counter()
        results.append(func(path))
        times.append(time.perf_counter() - started)
    return times, results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, img in enumerate(sources(args.images)):
            path = Path(tmp) / f"{i:05d}.jpg"
            img.resize((1024, 768), Image.Resampling.BICUBIC).save(path, "JPEG", quality=90)
            paths.append(path)
        for path in paths[:5]:  # warm caches and lazy imports
            baseline(path), hash_file(path), all_signals(path, "image", Limits())
        limits = Limits()
        t_base, base = timed(baseline, paths)
        t_fast, fast = timed(lambda p: hash_file(p, limits), paths)
        t_ref, ref = timed(lambda p: hash_file(p, limits, exact=True), paths)
        t_stage, _ = timed(lambda p: all_signals(p, "image", limits), paths)
    dist = [hamming_hex(f.hex, b[0]) for f, b in zip(fast, base, strict=True) if b[1] >= 80]
    exact_same = sum(r.hex == b[0] for r, b in zip(ref, base, strict=True))
    med = statistics.median
    print(f"images: {len(paths)} (1024x768 JPEG q90, source: {'LFW' if SHARED.is_dir() else 'scikit-image'})")
    print(f"baseline Pillow+pdqhash : median {med(t_base) * 1e3:6.2f} ms  ({1 / med(t_base):6.1f} img/s)")
    print(f"fast (hash_file)         : median {med(t_fast) * 1e3:6.2f} ms  ratio {med(t_base) / med(t_fast):.2f}x")
    print(f"reference (exact path)   : median {med(t_ref) * 1e3:6.2f} ms  ratio {med(t_base) / med(t_ref):.2f}x")
    print(f"signals stage (fast)     : median {med(t_stage) * 1e3:6.2f} ms  ratio {med(t_base) / med(t_stage):.2f}x")
    q = np.percentile(dist, [50, 90, 99]) if dist else [float("nan")] * 3
    print(
        f"fast vs baseline bits (quality>=80, n={len(dist)}): median {q[0]:.0f} p90 {q[1]:.0f} p99 {q[2]:.0f} "
        f"max {max(dist) if dist else '-'}; <=10 bits: {100 * np.mean(np.array(dist) <= 10):.1f}%"
    )
    print(f"reference path identical to baseline: {exact_same}/{len(paths)}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
