"""Sample frames from videos for analysis, tolerating the damage real re-uploads carry.

Sampling is uniform in time (``every_s``) plus scene cuts (a cheap 32x18 luma difference), because a swapped
face may appear only in one shot. Timestamps come from packet PTS, so variable-frame-rate phone videos get
true times. Display rotation is applied, so faces are upright. Undecodable packets in the middle of a file are
skipped and counted rather than ending the analysis. Limits on duration, frame size and sampled frame count
raise ``MediaError`` before work starts, or stop sampling with a note once reached.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from idolguard.config import Limits
from idolguard.errors import ErrorCode, MediaError

SCENE_THUMB = (32, 18)
SCENE_THRESHOLD = 28.0  # mean absolute luma difference (0-255) between consecutive checked thumbnails


@dataclass
class Frame:
    index: int  # decoded frame number from the start
    t: float  # seconds from the start of the stream
    image: np.ndarray  # HxWx3 uint8 RGB, display rotation applied
    scene_cut: bool = False
    keyframe: bool = False


@dataclass
class VideoStats:
    duration_s: float | None = None
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    rotation: int = 0
    decoded_frames: int = 0
    sampled_frames: int = 0
    corrupt_packets: int = 0
    stopped_early: str | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def rotate(image: np.ndarray, rotation: int) -> np.ndarray:
    """Apply a frame's display rotation (FFmpeg: counter-clockwise degrees; np.rot90 k>0 is counter-clockwise)."""
    turns = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(image, k=turns)) if turns else image


@contextmanager
def open_video(path: Path, limits: Limits, stats: VideoStats) -> Iterator[tuple[Any, Any]]:
    """(container, first video stream), with the safety limits checked and ``stats`` filled in; one place for
    every decoder of the project (frame sampling, vPDQ) to open videos the same way."""
    import av

    try:
        container = av.open(str(path), metadata_errors="replace")
    except (av.error.FFmpegError, OSError, ValueError) as exc:  # type: ignore[attr-defined]
        raise MediaError(f"corrupt or unreadable video: {exc}", code=ErrorCode.MEDIA_CORRUPT) from exc
    with container:
        if not container.streams.video:
            raise MediaError("container has no video stream", code=ErrorCode.MEDIA_NO_VIDEO)
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        width, height = stream.codec_context.width, stream.codec_context.height
        stats.width, stats.height = width or None, height or None
        duration = None
        if stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        elif container.duration:
            duration = container.duration / 1_000_000
        stats.duration_s = duration
        stats.fps = float(stream.average_rate) if stream.average_rate else None
        if width and height and width * height > limits.max_video_pixels_per_frame:
            raise MediaError(
                f"video frames are {width}x{height}, over the per-frame pixel limit",
                code=ErrorCode.MEDIA_FRAME_LIMIT,
                width=width,
                height=height,
            )
        if duration is not None and duration > limits.max_video_seconds:
            raise MediaError(
                f"video lasts {duration:.0f} s, over the limit of {limits.max_video_seconds} s",
                code=ErrorCode.MEDIA_TOO_LONG,
                seconds=round(duration),
                limit=limits.max_video_seconds,
            )
        yield container, stream


def decoded_frames(container: Any, stream: Any, stats: VideoStats) -> Iterator[Any]:
    """Every decodable frame; packets that fail to demux or decode are skipped and counted in ``stats``."""
    import av

    errors = (av.error.FFmpegError, ValueError)  # type: ignore[attr-defined]
    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except errors:
            stats.corrupt_packets += 1
            if stats.corrupt_packets > 1000:
                stats.stopped_early = "too many corrupt packets"
                return
            continue
        try:
            frames = packet.decode()  # the final flush packet (size 0) drains the decoder
        except errors:
            stats.corrupt_packets += 1
            continue
        for frame in frames:
            stats.decoded_frames += 1
            yield frame


class VideoReader:
    """One pass over a video's packets; ``stats`` describes what happened (for the evidence record)."""

    def __init__(self, path: Path, limits: Limits | None = None) -> None:
        self.path = path
        self.limits = limits or Limits()
        self.stats = VideoStats()

    def sample(
        self,
        *,
        every_s: float = 1.0,
        scene_cuts: bool = True,
        max_frames: int = 600,
        max_side: int | None = None,
        keyframes_only: bool = False,
    ) -> Iterator[Frame]:
        with open_video(self.path, self.limits, self.stats) as (container, stream):
            if keyframes_only:
                stream.codec_context.skip_frame = "NONKEY"
            time_base = float(stream.time_base) if stream.time_base else None
            fps = self.stats.fps or 25.0
            next_t = 0.0
            previous_thumb: np.ndarray | None = None
            for index, frame in enumerate(decoded_frames(container, stream, self.stats)):
                if frame.pts is not None and time_base:
                    t = frame.pts * time_base - (float(stream.start_time or 0) * time_base)
                else:
                    t = index / fps
                cut = False
                if scene_cuts:
                    thumb = frame.reformat(width=SCENE_THUMB[0], height=SCENE_THUMB[1], format="gray")
                    small = thumb.to_ndarray().astype(np.int16)
                    if previous_thumb is not None:
                        cut = float(np.abs(small - previous_thumb).mean()) > SCENE_THRESHOLD
                    previous_thumb = small
                due = t + 1e-6 >= next_t
                if not (due or cut or keyframes_only):
                    continue
                if due:
                    next_t = (int(t / every_s) + 1) * every_s if every_s > 0 else t
                image = self._to_rgb(frame, max_side)
                self.stats.sampled_frames += 1
                yield Frame(index, round(max(t, 0.0), 4), image, cut, bool(frame.key_frame))
                if self.stats.sampled_frames >= max_frames:
                    self.stats.stopped_early = f"reached the limit of {max_frames} sampled frames"
                    return
        if self.stats.corrupt_packets:
            self.stats.notes.append(f"{self.stats.corrupt_packets} undecodable packet(s) skipped")
        if self.stats.decoded_frames == 0:
            raise MediaError("no decodable video frames", code=ErrorCode.MEDIA_NO_FRAMES)

    def _to_rgb(self, frame: Any, max_side: int | None) -> np.ndarray:
        rotation = int(getattr(frame, "rotation", 0) or 0) % 360
        self.stats.rotation = rotation
        if max_side and max(frame.width, frame.height) > max_side:
            scale = max_side / max(frame.width, frame.height)
            width = max(2, int(frame.width * scale) // 2 * 2)
            height = max(2, int(frame.height * scale) // 2 * 2)
            image = frame.reformat(width=width, height=height, format="rgb24").to_ndarray()
        else:
            image = frame.to_ndarray(format="rgb24")
        return rotate(image, rotation)


def sample_frames(
    path: Path,
    limits: Limits | None = None,
    *,
    every_s: float = 1.0,
    scene_cuts: bool = True,
    max_frames: int = 600,
    max_side: int | None = None,
) -> Iterator[Frame]:
    """Convenience wrapper over ``VideoReader.sample`` when the stats are not needed."""
    yield from VideoReader(path, limits).sample(
        every_s=every_s, scene_cuts=scene_cuts, max_frames=max_frames, max_side=max_side
    )
