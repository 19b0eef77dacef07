"""Benign demo media made on the spot: generated shapes and a clip, plus public-domain photos that installed
packages carry (scikit-image's NASA astronaut portrait). Nothing is downloaded and nothing sexual is made."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def shapes_image(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", size, tuple(int(v) for v in rng.integers(0, 255, 3)))
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        x0, y0 = rng.integers(0, size[0]), rng.integers(0, size[1])
        x1, y1 = x0 + rng.integers(20, 200), y0 + rng.integers(20, 200)
        colour = tuple(int(v) for v in rng.integers(0, 255, 3))
        if rng.random() < 0.5:
            draw.ellipse([x0, y0, x1, y1], fill=colour)
        else:
            draw.rectangle([x0, y0, x1, y1], fill=colour)
    return img


def write_clip(path: Path, seconds: float = 2.0, fps: int = 15, size: tuple[int, int] = (320, 240)) -> None:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for index in range(int(seconds * fps)):
            frame = np.zeros((size[1], size[0], 3), np.uint8)
            frame[:, :, 2] = 80
            x = (index * 7) % (size[0] - 40)
            frame[100:140, x : x + 40] = (240, 200, 30)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def public_domain_photos() -> dict[str, Image.Image]:
    try:
        from skimage import data
    except ImportError:
        return {}
    return {"astronaut.png": Image.fromarray(data.astronaut()), "coffee.jpg": Image.fromarray(data.coffee())}


def make_demo_media(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def save(name: str, img: Image.Image, **kwargs: object) -> None:
        path = folder / name
        img.save(path, **kwargs)
        written.append(path)

    exif = Image.Exif()
    exif[0x010F] = "IdolGuard demo camera"  # Make
    exif[0x0132] = "2026:11:01 12:00:00"  # DateTime
    save("shapes-1.jpg", shapes_image(1), quality=90, exif=exif)
    save("shapes-2.png", shapes_image(2))
    for name, img in public_domain_photos().items():
        save(name, img)
    clip = folder / "moving-box.mp4"
    write_clip(clip)
    written.append(clip)
    # A re-upload of the same bytes under another name: becomes a second sighting, not a second item.
    repost = folder / "shapes-1-repost.jpg"
    repost.write_bytes((folder / "shapes-1.jpg").read_bytes())
    written.append(repost)
    bundle = folder / "bundle.zip"
    with zipfile.ZipFile(bundle, "w") as archive:
        buffer = io.BytesIO()
        shapes_image(3).save(buffer, "JPEG", quality=85)
        archive.writestr("inside/shapes-3.jpg", buffer.getvalue())
    written.append(bundle)
    truncated = folder / "truncated.jpg"
    truncated.write_bytes((folder / "shapes-1.jpg").read_bytes()[:2000])
    written.append(truncated)
    return written
