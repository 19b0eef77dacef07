from __future__ import annotations

from pathlib import Path

import numpy as np
import pdqhash
import pytest
from PIL import Image

from idolguard.errors import MediaError
from idolguard.signals import pdq
from tests.signals.helpers import flat_image, other_photo, photo, save_jpeg


def test_hex_matches_threatexchange_encoding(tmp_path: Path) -> None:
    from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_file

    path = save_jpeg(photo(), tmp_path / "a.jpg")
    ours = pdq.hash_file(path, exact=True)
    theirs, quality = pdq_from_file(path)
    assert ours.hex == theirs
    assert ours.quality == quality


def test_fast_path_is_close_to_reference(tmp_path: Path) -> None:
    path = save_jpeg(photo((1024, 768)), tmp_path / "big.jpg")
    fast, exact = pdq.hash_file(path), pdq.hash_file(path, exact=True)
    assert pdq.hamming_hex(fast.hex, exact.hex) <= 16
    other = pdq.hash_file(save_jpeg(other_photo((1024, 768)), tmp_path / "other.jpg"))
    assert pdq.hamming_hex(fast.hex, other.hex) > 64


def test_fast_path_applies_exif_orientation(tmp_path: Path) -> None:
    upright = photo()
    rotated = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display": undoes ROTATE_90 (counter-clockwise)
    path = tmp_path / "oriented.jpg"
    rotated.save(path, "JPEG", quality=92, exif=exif.tobytes())
    reference = pdq.hash_file(save_jpeg(upright, tmp_path / "upright.jpg"))
    assert pdq.hamming_hex(pdq.hash_file(path).hex, reference.hex) <= 16
    assert pdq.hamming_hex(pdq.hash_file(path, exact=True).hex, reference.hex) <= 16


def test_dihedral_names_describe_the_operation() -> None:
    image = np.ascontiguousarray(np.asarray(photo((400, 300))))
    variants, _ = pdq.hash_array_dihedral(image)
    operations = {
        "rotate90": np.rot90(image, 1),
        "rotate180": np.rot90(image, 2),
        "rotate270": np.rot90(image, 3),
        "flip_vertical": np.flipud(image),
        "flip_horizontal": np.fliplr(image),
        "transpose": image.transpose(1, 0, 2),
    }
    for name, transformed in operations.items():
        direct = pdq.hash_array(np.ascontiguousarray(transformed)).hex
        distances = [pdq.hamming_hex(direct, v) for v in variants]
        assert int(np.argmin(distances)) == pdq.DIHEDRAL.index(name), name


def test_flat_image_is_low_quality(tmp_path: Path) -> None:
    result = pdq.hash_file(flat_image(tmp_path / "flat.png"))
    assert result.quality < pdq.MIN_MATCH_QUALITY
    assert not result.usable


def test_corrupt_image_is_a_media_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 50)
    with pytest.raises(MediaError):
        pdq.hash_file(path)


def test_bits_to_hex_is_msb_first() -> None:
    bits = np.zeros(256, dtype=np.uint8)
    bits[0] = 1
    assert pdq.bits_to_hex(bits) == "80" + "0" * 62
    # Every bit position, on the bits pdqhash really returns: the hex is the 256-bit number read MSB first.
    real_bits, _quality = pdqhash.compute(np.ascontiguousarray(np.asarray(photo((400, 300)))))
    as_number = int("".join(str(int(b)) for b in real_bits), 2)
    assert pdq.bits_to_hex(real_bits) == format(as_number, "064x")
    assert 64 < int(np.sum(real_bits)) < 192, "a real photo's hash is not degenerate"


def test_verification_accepts_copies_and_rejects_other_pictures() -> None:
    from idolguard.signals import verify
    from tests.signals.helpers import other_photo

    base = np.asarray(photo().convert("L"))
    edited = photo().crop((30, 20, 600, 460)).rotate(4, expand=True)
    mirrored = photo().transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    ok = verify.verify(np.asarray(edited.convert("L")), base)
    assert ok.verified and ok.correlation is not None and ok.correlation >= verify.MIN_CORRELATION
    flipped = verify.verify(np.asarray(mirrored.convert("L")), base)
    assert flipped.verified and flipped.mirrored
    assert not verify.verify(np.asarray(other_photo().convert("L")), base).verified
