"""Decode images into plain RGB arrays, the way a person would see them.

Every analysis works on the displayed picture: EXIF orientation applied (a rotated phone photo must show its
face upright), CMYK/16-bit/palette/grayscale/alpha normalised to 8-bit RGB (alpha composited on white, as
most viewers do). The original file is never touched; this only reads it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, ImageSequence, UnidentifiedImageError

from idolguard.config import Limits
from idolguard.errors import ErrorCode, MediaError


def open_image(path: Path, limits: Limits) -> Image.Image:
    """Open (not decode) an image, refusing decompression bombs and images over the pixel limit."""
    # Pillow's own bomb check uses its module-wide MAX_IMAGE_PIXELS (89,478,485 by default), which would
    # silently override the configured limit: make Pillow's threshold the configured one.
    Image.MAX_IMAGE_PIXELS = limits.max_image_pixels
    ImageFile.LOAD_TRUNCATED_IMAGES = False  # truncated is corrupt (WeasyPrint's import sets it True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaError(
            f"image is over the pixel limit of {limits.max_image_pixels} (decompression bomb?): {exc}",
            code=ErrorCode.MEDIA_BOMB,
            limit=limits.max_image_pixels,
        ) from exc
    except UnidentifiedImageError as exc:
        raise MediaError(f"not a decodable image: {exc}", code=ErrorCode.MEDIA_UNREADABLE) from exc
    except OSError as exc:
        raise MediaError(f"cannot open image: {exc}", code=ErrorCode.MEDIA_UNREADABLE) from exc
    width, height = img.size
    if width * height > limits.max_image_pixels:
        img.close()
        raise MediaError(
            f"image is {width}x{height}, over the pixel limit of {limits.max_image_pixels}",
            code=ErrorCode.MEDIA_PIXEL_LIMIT,
            width=width,
            height=height,
            limit=limits.max_image_pixels,
        )
    return img


def to_rgb(img: Image.Image) -> np.ndarray:
    """Normalise any Pillow mode to an HxWx3 uint8 RGB array."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(img, dtype=np.float64)
        top = 65535.0 if array.max() > 255 else 255.0
        grey = np.clip(array / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if mode == "F":
        array = np.asarray(img, dtype=np.float64)
        span = float(array.max() - array.min()) or 1.0
        grey = ((array - array.min()) / span * 255.0).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"))
    return np.asarray(img.convert("RGB"))


def load_rgb(path: Path, limits: Limits | None = None) -> np.ndarray:
    """The displayed image as RGB (first frame of animations). Raises MediaError with a clear reason."""
    limits = limits or Limits()
    img = open_image(path, limits)
    try:
        with img:
            img.seek(0)
            upright = ImageOps.exif_transpose(img)
            return to_rgb(upright)
    except MediaError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise MediaError(f"corrupt or truncated image: {exc}", code=ErrorCode.MEDIA_CORRUPT) from exc


def iter_image_frames(path: Path, limits: Limits | None = None, max_frames: int = 64) -> Iterator[np.ndarray]:
    """Frames of an animated GIF/WebP/APNG (a still image yields one), evenly spread up to ``max_frames``."""
    limits = limits or Limits()
    img = open_image(path, limits)
    try:
        with img:
            total = getattr(img, "n_frames", 1)
            step = max(1, -(-total // max_frames))
            for index, frame in enumerate(ImageSequence.Iterator(img)):
                if index % step:
                    continue
                yield to_rgb(ImageOps.exif_transpose(frame.copy()) if index == 0 else frame.copy())
    except MediaError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise MediaError(f"corrupt or truncated image: {exc}", code=ErrorCode.MEDIA_CORRUPT) from exc


def png_bytes(rgb: np.ndarray) -> bytes:
    """Lossless, deterministic PNG bytes of an RGB array (same pixels -> same bytes -> same hash)."""
    import io

    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "PNG", optimize=False)
    return buffer.getvalue()
