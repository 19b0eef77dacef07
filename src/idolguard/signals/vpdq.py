"""vPDQ: Meta's video hash, re-implemented over PyAV so it needs no FFmpeg headers at build time.

The algorithm and serialisation follow Meta's ``vpdq``: decode every frame, and every ``seconds_per_hash``
seconds take the PDQ hash and quality of that frame; a video's signal is the list of
``(frame index, pdq hex, quality, timestamp)``. ThreatExchange serialises it as a JSON list of
``"hex,quality,timestamp"`` strings, which ``to_threatexchange``/``from_threatexchange`` produce and read.

Speed: the PDQ input is the frame's luma plane read straight from the decoder (no RGB conversion). Luma is
PDQ's own first step; limited-range Y is an affine map of it, which PDQ's median threshold ignores, so the
hash bits agree with the RGB path within a few bits (quality shifts slightly). Hashing therefore adds little
to decoding, which every frame needs anyway (``bench/signals_video.py``).

Matching follows HMA: deduplicate, drop frames below quality 50, then a frame "matches" when any frame of the
other video is within 31 bits; the query matches when >= 80% of its frames do. To find a trimmed clip (query
shorter than the banked video) or a clip inside a longer upload, both directions are computed, and the time
ranges of matching frames are reported.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from idolguard.config import Limits
from idolguard.errors import ErrorCode, MediaError
from idolguard.media.frames import VideoStats, decoded_frames, open_video, rotate
from idolguard.signals.index import as_hash_array
from idolguard.signals.pdq import MIN_MATCH_QUALITY, PDQ_HEX_LEN, hash_array

SECONDS_PER_HASH = 1.0
FRAME_THRESHOLD = 31
MATCH_PERCENT = 80.0


@dataclass(frozen=True)
class VpdqFeature:
    frame: int
    hex: str
    quality: int
    timestamp: float

    def as_list(self) -> list[Any]:
        return [self.frame, self.hex, self.quality, round(self.timestamp, 3)]

    @classmethod
    def from_list(cls, raw: Sequence[Any]) -> VpdqFeature:
        frame, hex_value, quality, timestamp = raw
        return cls(int(frame), str(hex_value), int(quality), float(timestamp))


# 8-bit formats whose first plane is the luma, readable without any conversion.
_Y_FIRST = frozenset({"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21", "gray"})


def _luma(frame: Any) -> np.ndarray:
    """The Y plane as decoded for 8-bit YUV/gray formats; otherwise luma via a format conversion."""
    if frame.format.name in _Y_FIRST:
        plane = frame.planes[0]
        data = np.frombuffer(plane, np.uint8).reshape(frame.height, plane.line_size)
        return data[:, : frame.width]
    return np.asarray(frame.to_ndarray(format="gray"))


REDUCE_FROM = 720  # frames with a short side >= this are box-reduced 2x before hashing (PDQ blurs to 64x64)


def _reduce(luma: np.ndarray) -> np.ndarray:
    """Halve large frames with an area filter: PDQ's own first step is a blur to 64x64, so the bits barely
    move (a few, like the fast image path) while the hash costs a quarter (bench/signals_video.py)."""
    if min(luma.shape) < REDUCE_FROM:
        return luma
    import cv2

    return cv2.resize(luma, (luma.shape[1] // 2, luma.shape[0] // 2), interpolation=cv2.INTER_AREA)


def iter_features(
    path: Path, limits: Limits | None = None, seconds_per_hash: float = SECONDS_PER_HASH
) -> Iterator[VpdqFeature]:
    """Decode ``path`` and yield one vPDQ feature per ``seconds_per_hash`` (Meta's frame-count rule)."""
    stats = VideoStats()
    with open_video(path, limits or Limits(), stats) as (container, stream):
        fps = stats.fps or 25.0
        interval = max(1, round(fps * seconds_per_hash))
        for index, frame in enumerate(decoded_frames(container, stream, stats)):
            if index % interval == 0:
                luma = rotate(_reduce(_luma(frame)), int(getattr(frame, "rotation", 0) or 0) % 360)
                pdq = hash_array(luma)
                yield VpdqFeature(index, pdq.hex, pdq.quality, index / fps)
    if stats.decoded_frames == 0:
        raise MediaError("no decodable video frames", code=ErrorCode.MEDIA_NO_FRAMES)


def hash_video(
    path: Path, limits: Limits | None = None, seconds_per_hash: float = SECONDS_PER_HASH
) -> list[VpdqFeature]:
    return list(iter_features(path, limits, seconds_per_hash))


def summary(features: Sequence[VpdqFeature], seconds_per_hash: float = SECONDS_PER_HASH) -> dict[str, Any]:
    usable = [f for f in features if f.quality >= MIN_MATCH_QUALITY]
    return {
        "frames_hashed": len(features),
        "usable_frames": len(usable),
        "unique_hashes": len({f.hex for f in usable}),
        "seconds_per_hash": seconds_per_hash,
        "mean_quality": int(round(sum(f.quality for f in features) / len(features))) if features else None,
        "digest": digest(features),
        "note": None if usable else "no frame reaches PDQ quality 50: stored but never used for matching",
    }


def digest(features: Sequence[VpdqFeature]) -> str:
    """A stable identity for a vPDQ signal (bank entry value): SHA-256 of its ThreatExchange string."""
    import hashlib

    return hashlib.sha256(to_threatexchange(features).encode()).hexdigest()


def to_threatexchange(features: Sequence[VpdqFeature]) -> str:
    return json.dumps([f"{f.hex},{f.quality},{f.timestamp:.3f}" for f in features])


def from_threatexchange(text: str, fps_hint: float = 1.0) -> list[VpdqFeature]:
    """Parse ThreatExchange's vPDQ string; raises ValueError with the reason on any malformed part."""
    raw = json.loads(text)
    if not isinstance(raw, list) or not raw:
        raise ValueError("vPDQ signal must be a non-empty JSON list")
    features = []
    for position, item in enumerate(raw):
        parts = str(item).split(",")
        if len(parts) != 3:
            raise ValueError(f"vPDQ feature {position} is not 'hex,quality,timestamp'")
        hex_value, quality, timestamp = parts[0].lower(), int(parts[1]), float(parts[2])
        if len(hex_value) != PDQ_HEX_LEN or any(c not in "0123456789abcdef" for c in hex_value):
            raise ValueError(f"vPDQ feature {position} has a malformed PDQ hash")
        if not 0 <= quality <= 100 or timestamp < 0:
            raise ValueError(f"vPDQ feature {position} has an out-of-range quality or timestamp")
        features.append(VpdqFeature(int(round(timestamp * fps_hint)), hex_value, quality, timestamp))
    return features


def prepare(features: Sequence[VpdqFeature]) -> list[VpdqFeature]:
    """HMA's matching input: quality >= 50, first occurrence of each distinct hash."""
    seen: set[str] = set()
    kept = []
    for feature in features:
        if feature.quality >= MIN_MATCH_QUALITY and feature.hex not in seen:
            seen.add(feature.hex)
            kept.append(feature)
    return kept


@dataclass
class VideoMatch:
    query_percent: float
    compared_percent: float
    query_ranges: list[tuple[float, float]]
    compared_ranges: list[tuple[float, float]]

    def is_match(self, percent: float = MATCH_PERCENT) -> bool:
        # HMA's rule is query >= 80%; the compared side catches a banked clip embedded in a longer upload.
        return self.query_percent >= percent or self.compared_percent >= percent


def _ranges(times: list[float], gap: float) -> list[tuple[float, float]]:
    ranges: list[tuple[float, float]] = []
    for t in sorted(times):
        if ranges and t - ranges[-1][1] <= gap:
            ranges[-1] = (ranges[-1][0], t)
        else:
            ranges.append((t, t))
    return [(round(a, 3), round(b, 3)) for a, b in ranges]


def compare(
    query: Sequence[VpdqFeature], compared: Sequence[VpdqFeature], threshold: int = FRAME_THRESHOLD
) -> VideoMatch:
    q, c = prepare(query), prepare(compared)
    if not q or not c:
        return VideoMatch(0.0, 0.0, [], [])
    qa = as_hash_array([f.hex for f in q]).view(np.uint64)
    ca = as_hash_array([f.hex for f in c]).view(np.uint64)
    dist = np.bitwise_count(qa[:, None, :] ^ ca[None, :, :]).sum(axis=2)
    close = dist <= threshold
    q_hit = close.any(axis=1)
    c_hit = close.any(axis=0)
    gap = 2.5 * max(SECONDS_PER_HASH, _step(q), _step(c))
    return VideoMatch(
        round(100.0 * float(q_hit.mean()), 2),
        round(100.0 * float(c_hit.mean()), 2),
        _ranges([f.timestamp for f, hit in zip(q, q_hit, strict=True) if hit], gap),
        _ranges([f.timestamp for f, hit in zip(c, c_hit, strict=True) if hit], gap),
    )


def _step(features: Sequence[VpdqFeature]) -> float:
    if len(features) < 2:
        return SECONDS_PER_HASH
    times = sorted(f.timestamp for f in features)
    return float(np.median(np.diff(times))) or SECONDS_PER_HASH
