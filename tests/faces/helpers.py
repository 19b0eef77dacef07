"""Benign face media for the faces tests, all made from scikit-image's public-domain astronaut portrait."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from tests.conftest import astronaut


def astronaut_array() -> np.ndarray:
    return np.asarray(astronaut())


def save(image: Image.Image, path: Path, fmt: str = "JPEG", **kwargs: object) -> Path:
    image.save(path, fmt, **kwargs)
    return path


def exif_rotated_jpeg(path: Path) -> Path:
    """Pixels stored turned a quarter turn, with EXIF Orientation=6 so viewers show the portrait upright."""
    stored = astronaut().rotate(90, expand=True)  # counter-clockwise
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    return save(stored, path, exif=exif.tobytes())


def two_astronauts() -> Image.Image:
    """Side-by-side copies: a photo with two faces (refused as a gallery reference)."""
    portrait = astronaut().crop((96, 0, 416, 320))
    canvas = Image.new("RGB", (640, 320), "white")
    canvas.paste(portrait, (0, 0))
    canvas.paste(portrait, (320, 0))
    return canvas


def jpeg(image: Image.Image, quality: int = 85) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def write_face_clip(path: Path, seconds: float = 3.0, fps: int = 10, size: tuple[int, int] = (640, 360)) -> Path:
    """A short H.264 clip of the astronaut's head drifting left to right over a grey background."""
    import av

    head = np.asarray(astronaut().crop((140, 20, 320, 220)).resize((150, 166)))
    width, height = size
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        frames = int(seconds * fps)
        for i in range(frames):
            canvas = np.full((height, width, 3), 90, dtype=np.uint8)
            x = 40 + int((width - 230) * i / max(1, frames - 1))
            canvas[90 : 90 + head.shape[0], x : x + head.shape[1]] = head
            for packet in stream.encode(av.VideoFrame.from_ndarray(canvas, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
