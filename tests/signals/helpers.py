"""Benign test media for signals: the public-domain astronaut photo and edits of it, generated shapes."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from idolguard.workspace import Workspace
from tests.conftest import astronaut


def photo(size: tuple[int, int] = (640, 480)) -> Image.Image:
    return astronaut().resize(size, Image.Resampling.BICUBIC)


def other_photo(size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A different natural picture (scikit-image's public-domain coffee photo)."""
    from skimage import data

    return Image.fromarray(np.asarray(data.coffee())).resize(size, Image.Resampling.BICUBIC)


def save_jpeg(img: Image.Image, path: Path, quality: int = 90) -> Path:
    img.convert("RGB").save(path, "JPEG", quality=quality)
    return path


def jpeg(img: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    img.convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def flat_image(path: Path) -> Path:
    Image.new("RGB", (200, 200), (128, 128, 128)).save(path, "PNG")
    return path


def write_video(
    path: Path, img: Image.Image, seconds: float, fps: int = 10, size: tuple[int, int] = (320, 240), start: float = 0.0
) -> Path:
    """A slow pan across ``img``: natural texture so vPDQ frames have quality, different content over time."""
    import av

    canvas = (320, 240)  # content is rendered at one size, then scaled: a smaller copy shows the same picture
    base = np.asarray(img.convert("RGB").resize((canvas[0] * 2, canvas[1] * 2)))
    total = int(seconds * fps)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for i in range(total):
            t = start + i / fps
            x = int((t * 12) % canvas[0])
            y = int((t * 7) % canvas[1])
            view = Image.fromarray(np.ascontiguousarray(base[y : y + canvas[1], x : x + canvas[0]])).resize(size)
            frame = av.VideoFrame.from_ndarray(np.asarray(view), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def in_thread(home: Path, work: Callable[[Workspace], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Run ``work`` on a workspace of its own in a thread (as another process would: its own connection); the
    result or the exception lands in the dict once the thread has finished."""
    out: dict[str, Any] = {}

    def run() -> None:
        ws = Workspace.open(home)
        try:
            out["result"] = work(ws)
        except BaseException as exc:  # noqa: BLE001 - the test asserts on it
            out["error"] = exc
        finally:
            ws.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out
