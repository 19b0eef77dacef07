"""PDQ perceptual hashes (Meta's 256-bit image hash), computed two ways.

* ``reference``: full-resolution decode, EXIF orientation applied, RGB handed to ``pdqhash`` exactly as Meta's
  ``threatexchange`` library does. Hashes that leave the system (exports, bank entries) use this path, because
  partners compare our hashes with theirs and Meta's port-correctness rule allows only a few bits of drift.
* ``fast``: JPEG decoded at reduced scale by libjpeg's DCT scaling, luma only (Pillow ``draft('L', ...)``).
  PDQ blurs to 64x64 before its DCT, so the skipped detail barely matters; decoding is most of the cost, and
  this cuts it 5-7x. Used for matching scanned items, where a few bits of drift are well inside the
  31-bit threshold. ``bench/signals_hash.py`` measures the speed and the drift against the reference.

Hex strings follow ThreatExchange: bit 0 of pdqhash's vector is the most significant bit of the first byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pdqhash
from PIL import Image

from idolguard.config import Limits
from idolguard.errors import ErrorCode, MediaError
from idolguard.media.image import open_image

PDQ_BITS = 256
PDQ_HEX_LEN = 64
MIN_MATCH_QUALITY = 50  # Meta's guidance: below this a PDQ hash is too flat to match reliably
FAST_MIN_SIDE = 384  # the reduced decode keeps at least this many pixels on the short side

# pdqhash.compute_dihedral's order, named by the operation applied to the picture (rotations counter-clockwise;
# checked against hashes of the transformed arrays in tests/signals/test_pdq.py). A match through variant
# "flip_horizontal" means the query is the banked picture mirrored left-right.
DIHEDRAL = (
    "none",
    "rotate90",
    "rotate180",
    "rotate270",
    "flip_vertical",
    "flip_horizontal",
    "transpose",
    "transverse",
)


@dataclass(frozen=True)
class PdqHash:
    hex: str
    quality: int

    @property
    def usable(self) -> bool:
        return self.quality >= MIN_MATCH_QUALITY


def bits_to_hex(bits: np.ndarray) -> str:
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


def hex_to_bytes(value: str) -> bytes:
    return bytes.fromhex(value)


def hamming_hex(a: str, b: str) -> int:
    return int.from_bytes(bytes.fromhex(a), "big").__xor__(int.from_bytes(bytes.fromhex(b), "big")).bit_count()


def _as_rgb3(array: np.ndarray) -> np.ndarray:
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    return np.ascontiguousarray(array, dtype=np.uint8)


def hash_array(array: np.ndarray) -> PdqHash:
    """PDQ of an RGB (HxWx3) or luma (HxW) uint8 array."""
    bits, quality = pdqhash.compute(_as_rgb3(array))
    return PdqHash(bits_to_hex(bits), int(quality))


def hash_array_dihedral(array: np.ndarray) -> tuple[list[str], int]:
    """The eight dihedral variants (order: ``DIHEDRAL``) from one DCT, and the quality."""
    vectors, quality = pdqhash.compute_dihedral(_as_rgb3(array))
    return [bits_to_hex(v) for v in vectors], int(quality)


# EXIF orientation -> the transpose that shows the picture upright (as ImageOps.exif_transpose does).
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def fast_luma(path: Path, limits: Limits | None = None) -> np.ndarray:
    """Upright luma at reduced scale: DCT-scaled for JPEG, box-reduced for other formats."""
    limits = limits or Limits()
    img = open_image(path, limits)
    try:
        with img:
            width, height = img.size
            short = max(1, min(width, height))
            if img.format == "JPEG" and short > FAST_MIN_SIDE:
                ratio = FAST_MIN_SIDE / short
                img.draft("L", (max(1, int(width * ratio + 0.999)), max(1, int(height * ratio + 0.999))))
            if img.mode in ("RGBA", "LA", "PA", "P") or img.mode.startswith("I"):
                from idolguard.media.image import to_rgb

                grey = Image.fromarray(to_rgb(img)).convert("L")
            else:
                grey = img.convert("L")
            factor = min(grey.size) // FAST_MIN_SIDE
            if factor >= 2:
                grey = grey.reduce(factor)
            orientation = img.getexif().get(0x0112, 1)
            if orientation in _ORIENTATION:
                grey = grey.transpose(_ORIENTATION[orientation])
            return np.asarray(grey)
    except MediaError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise MediaError(f"corrupt or truncated image: {exc}", code=ErrorCode.MEDIA_CORRUPT) from exc


def reference_rgb(path: Path, limits: Limits | None = None) -> np.ndarray:
    from idolguard.media.image import load_rgb

    return load_rgb(path, limits or Limits())


def hash_file(path: Path, limits: Limits | None = None, *, exact: bool = False) -> PdqHash:
    """PDQ of an image file: ``exact`` selects the reference path (full decode, RGB)."""
    array = reference_rgb(path, limits) if exact else fast_luma(path, limits)
    return hash_array(array)
