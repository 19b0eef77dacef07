"""Benign media for the detect tests: scikit-image's public-domain astronaut portrait and generated shapes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from tests.conftest import astronaut


def astronaut_array() -> np.ndarray:
    return np.asarray(astronaut())


# Where YuNet finds the astronaut's face (x, y, w, h) and its 5 landmarks in the 512x512 original.
ASTRONAUT_BBOX = (178.0, 62.4, 90.8, 114.0)


def write_partial_face_clip(path: Path, seconds: float = 4.0, fps: int = 5) -> Path:
    """A clip whose first half shows the astronaut's head and whose second half shows no face at all."""
    import av

    head = np.asarray(astronaut().crop((140, 20, 320, 220)).resize((150, 166)))
    width, height = 480, 272
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        frames = int(seconds * fps)
        for i in range(frames):
            canvas = np.full((height, width, 3), 90, dtype=np.uint8)
            if i < frames // 2:
                canvas[50 : 50 + head.shape[0], 150 : 150 + head.shape[1]] = head
            for packet in stream.encode(av.VideoFrame.from_ndarray(canvas, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def save_variants(folder: Path) -> dict[str, Path]:
    """The astronaut as JPEG, grayscale, tiny (face too small), an extreme strip, and a faceless picture."""
    folder.mkdir(parents=True, exist_ok=True)
    img = astronaut()
    paths = {
        "photo": folder / "astronaut.jpg",
        "gray": folder / "astronaut-gray.png",
        "tiny": folder / "astronaut-tiny.png",
        "strip": folder / "strip.png",
        "noface": folder / "shapes.png",
    }
    img.save(paths["photo"], quality=92)
    img.convert("L").save(paths["gray"])
    # 1/5 scale: the face box is about 18x23 px, below the minimum the detector judges (if YuNet finds it).
    img.resize((img.width // 5, img.height // 5), Image.Resampling.LANCZOS).save(paths["tiny"])
    Image.new("RGB", (3000, 12), (200, 30, 30)).save(paths["strip"])
    Image.new("RGB", (320, 240), (30, 120, 200)).save(paths["noface"])
    return paths
