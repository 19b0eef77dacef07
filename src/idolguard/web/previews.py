"""Server-made safe previews: heavily blurred, greyscale, small. The browser never gets the original unless
a reveal grants it.

Images: long side 256 px, greyscale, Gaussian blur of radius 10 (faces and bodies unreadable, layout and
colour-free composition visible). Videos: a strip of up to 6 blurred keyframes (no playback). Heat maps are
drawn over the blurred derivative, never over the original. Previews are cached as PNG in
``HOME/cache/previews`` (derivatives for display, not evidence: the vault keeps the originals).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import Image, ImageFilter, ImageOps

from idolguard.errors import IdolGuardError
from idolguard.workspace import Workspace

SIDE = 256
BLUR = 10
STRIP_FRAMES = 6
VERSION = "1"


def blur_image(img: Image.Image, side: int = SIDE) -> Image.Image:
    img = ImageOps.exif_transpose(img) if hasattr(img, "getexif") else img
    grey = img.convert("L")
    grey.thumbnail((side, side))
    return grey.filter(ImageFilter.GaussianBlur(BLUR))


def _placeholder(text_side: int = SIDE) -> Image.Image:
    return Image.new("L", (text_side, text_side * 3 // 4), 128)


def _video_strip(path: Path, ws: Workspace) -> Image.Image:
    from idolguard.media.frames import VideoReader

    frames = []
    for frame in VideoReader(path, ws.config.limits).sample(
        every_s=0.0, scene_cuts=False, keyframes_only=True, max_side=SIDE
    ):
        frames.append(blur_image(Image.fromarray(frame.image), side=SIDE // 2))
        if len(frames) >= STRIP_FRAMES:
            break
    if not frames:
        return _placeholder()
    width = sum(f.width for f in frames) + 4 * (len(frames) - 1)
    strip = Image.new("L", (width, max(f.height for f in frames)), 255)
    x = 0
    for f in frames:
        strip.paste(f, (x, 0))
        x += f.width + 4
    return strip


def preview_png(ws: Workspace, sha: str, media_type: str) -> bytes:
    cache = ws.home / "cache" / "previews" / VERSION
    target = cache / f"{sha}.png"
    if target.exists():
        return target.read_bytes()
    try:
        with ws.vault.materialize(sha) as path:
            if media_type == "video":
                out = _video_strip(path, ws)
            elif media_type == "image":
                from idolguard.media.image import open_image

                with open_image(path, ws.config.limits) as img:
                    img.seek(0)
                    out = blur_image(img)
            else:
                out = _placeholder()
    except (IdolGuardError, OSError, ValueError):
        out = _placeholder()
    buffer = io.BytesIO()
    out.save(buffer, "PNG")
    data = buffer.getvalue()
    cache.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return data


def blurred_derived(ws: Workspace, sha: str) -> bytes:
    """A derived image (e.g. a source-attribution face pair) as a blurred greyscale PNG, width kept."""
    with ws.vault.materialize(sha) as path, Image.open(path) as img:
        out = blur_image(img, side=max(img.size))
    buffer = io.BytesIO()
    out.save(buffer, "PNG")
    return buffer.getvalue()


def heatmap_over_blur(ws: Workspace, heatmap_sha: str) -> bytes:
    """A heat-map derivative (crop | overlay, as the detector stores it) redrawn over a blurred greyscale
    crop: the heat is where the overlay differs from the crop, itself blurred so it carries no detail."""
    from PIL import ImageChops

    with ws.vault.materialize(heatmap_sha) as path, Image.open(path) as img:
        rgb = img.convert("RGB")
    width, height = rgb.size
    half = width // 2
    crop, overlay = rgb.crop((0, 0, half, height)), rgb.crop((half, 0, half * 2, height))
    heat = ImageOps.autocontrast(ImageChops.difference(overlay, crop).convert("L")).filter(ImageFilter.GaussianBlur(4))
    base = crop.convert("L").filter(ImageFilter.GaussianBlur(BLUR))
    out = Image.merge("RGB", (ImageChops.lighter(base, heat), base, base))
    buffer = io.BytesIO()
    out.save(buffer, "PNG")
    return buffer.getvalue()
