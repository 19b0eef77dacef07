"""vPDQ hashing speed against decode-only speed (same run, same file), and trimmed re-encoded copy detection.

The clip is generated here (no data needed): a slow pan and zoom over public-domain scikit-image photos,
720p at 30 fps, H.264. Decode-only = PyAV decoding every frame with the same threading as ``vpdq.py`` and
no conversion; vPDQ = ``idolguard.signals.vpdq.hash_video`` (1 hash per second, Meta's sampling). Then a
480p copy of seconds 5-15 is re-encoded at a lower bitrate and matched against the full video.

Run:  nice -n 10 taskset -c 0 python bench/signals_video.py --seconds 30
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import av
import numpy as np
from PIL import Image

from idolguard.signals import vpdq
from idolguard.signals.pdq import hamming_hex


def scenes() -> list[np.ndarray]:
    from skimage import data

    return [
        np.asarray(Image.fromarray(p).resize((1600, 1000))) for p in (data.astronaut(), data.coffee(), data.chelsea())
    ]


def write(path: Path, seconds: float, size: tuple[int, int], start: float = 0.0, bitrate: int = 4_000_000) -> None:
    pictures = scenes()
    fps = 30
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.bit_rate = bitrate
        stream.options = {"preset": "veryfast"}
        for i in range(int(seconds * fps)):
            t = start + i / fps
            picture = pictures[int(t // 10) % len(pictures)]  # a new scene every 10 s
            x, y = int((t % 10) * 25), int((t % 10) * 20)
            view = Image.fromarray(np.ascontiguousarray(picture[y : y + 720, x : x + 1280])).resize(size)
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.asarray(view), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def decode_only(path: Path) -> int:
    frames = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for _frame in container.decode(stream):
            frames += 1
    return frames


def reference_features(path: Path) -> list[str]:
    """What Meta's vpdq computes per sampled frame: PDQ of the full-resolution RGB frame."""
    import pdqhash

    from idolguard.signals.pdq import bits_to_hex

    out = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        interval = max(1, round(float(stream.average_rate)))
        for index, frame in enumerate(container.decode(stream)):
            if index % interval == 0:
                out.append(bits_to_hex(pdqhash.compute(frame.to_ndarray(format="rgb24"))[0]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / "full.mp4"
        trimmed = Path(tmp) / "trim.mp4"
        write(full, args.seconds, (1280, 720))
        write(trimmed, 10.0, (854, 480), start=5.0, bitrate=600_000)
        t_decode, t_hash = [], []
        for _ in range(args.repeats):
            started = time.perf_counter()
            frames = decode_only(full)
            t_decode.append(time.perf_counter() - started)
            started = time.perf_counter()
            features = vpdq.hash_video(full)
            t_hash.append(time.perf_counter() - started)
        d, h = statistics.median(t_decode), statistics.median(t_hash)
        print(f"720p30 H.264, {args.seconds:.0f} s, {frames} frames, {len(features)} vPDQ hashes")
        print(f"decode only : median {d:6.2f} s  ({args.seconds / d:5.1f}x real time)")
        print(
            f"vPDQ hashing: median {h:6.2f} s  ({args.seconds / h:5.1f}x real time); ratio to decode-only {h / d:.2f}"
        )
        reference = reference_features(full)
        drift = [hamming_hex(a.hex, b) for a, b in zip(features, reference, strict=True)]
        print(
            f"bits from a reference vPDQ (full-resolution RGB frame -> pdqhash): median {statistics.median(drift)} "
            f"max {max(drift)} (n={len(drift)})"
        )
        query = vpdq.hash_video(trimmed)
        result = vpdq.compare(query, features)
        print(
            f"480p re-encoded copy of seconds 5-15: query frames matched {result.query_percent:.0f}% "
            f"(HMA threshold 80%), banked frames matched {result.compared_percent:.0f}%, match={result.is_match()}, "
            f"query ranges {result.query_ranges}, banked ranges {result.compared_ranges}"
        )


if __name__ == "__main__":
    main()
