"""Decoding helpers every analysis relies on: displayed orientation, odd formats, damaged and unusual videos."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from idolguard.config import Limits
from idolguard.errors import MediaError
from idolguard.media.frames import VideoReader
from idolguard.media.image import iter_image_frames, load_rgb
from idolguard.media.probe import probe


def _write_video(
    path: Path,
    frames: list[np.ndarray],
    *,
    rate: int = 10,
    pts_ms: list[int] | None = None,
    rotation: int = 0,
    codec: str = "mpeg4",
) -> None:
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if pts_ms is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        if rotation:
            stream.set_display_rotation(rotation)
        for index, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            if pts_ms is not None:
                frame.pts, frame.time_base = pts_ms[index], Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _flat(value: int, size: tuple[int, int] = (48, 64)) -> np.ndarray:
    return np.full((*size, 3), value, np.uint8)


def test_exif_rotated_photo_is_loaded_upright(tmp_path):
    img = np.zeros((20, 40, 3), np.uint8)
    img[:, :20] = 255  # white left half in stored orientation
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated 90 degrees clockwise
    path = tmp_path / "rotated.jpg"
    Image.fromarray(img).save(path, exif=exif, quality=95)
    shown = load_rgb(path)
    assert shown.shape == (40, 20, 3)
    assert shown[:15].mean() > 200 and shown[-15:].mean() < 50, "the left half is on top after rotating 90° CW"


@pytest.mark.parametrize("mode", ["CMYK", "L", "LA", "RGBA", "P", "I;16"])
def test_any_mode_becomes_rgb(tmp_path, mode):
    base = Image.fromarray((np.arange(30 * 20) % 256).astype(np.uint8).reshape(20, 30))
    img = (
        Image.fromarray((np.arange(30 * 20) * 100).astype(np.uint16).reshape(20, 30))
        if mode == "I;16"
        else (base.convert("RGB").convert(mode))
    )
    path = tmp_path / ("x.tif" if mode in ("CMYK", "I;16") else "x.png")
    img.save(path)
    array = load_rgb(path)
    assert array.shape == (20, 30, 3) and array.dtype == np.uint8
    assert array.std() > 10, "content survives the conversion"


def test_transparent_pixels_are_composited_on_white(tmp_path):
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[..., 3] = 0
    path = tmp_path / "clear.png"
    Image.fromarray(rgba, "RGBA").save(path)
    assert load_rgb(path).min() == 255


def test_animated_gif_frames(tmp_path):
    frames = [Image.new("RGB", (16, 16), (i * 40, 0, 0)) for i in range(6)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    decoded = list(iter_image_frames(path, max_frames=3))
    assert len(decoded) == 3 and decoded[0][0, 0, 0] < decoded[-1][0, 0, 0]
    assert load_rgb(path)[0, 0, 0] == decoded[0][0, 0, 0]


def test_pixel_limit_is_enforced_before_decoding(tmp_path):
    path = tmp_path / "big.png"
    Image.new("L", (3000, 3000)).save(path)
    with pytest.raises(MediaError, match="pixel limit"):
        load_rgb(path, Limits(max_image_pixels=1_000_000))


def test_video_sampling_times_and_limits(tmp_path):
    path = tmp_path / "clip.mp4"
    _write_video(path, [_flat(i * 8) for i in range(30)], rate=10)
    reader = VideoReader(path)
    frames = list(reader.sample(every_s=1.0, scene_cuts=False))
    assert [f.t for f in frames] == [0.0, 1.0, 2.0]
    assert reader.stats.decoded_frames == 30 and reader.stats.duration_s == pytest.approx(3.0, abs=0.15)
    capped = VideoReader(path)
    assert len(list(capped.sample(every_s=0.1, max_frames=5))) == 5 and capped.stats.stopped_early
    with pytest.raises(MediaError, match="over the limit"):
        list(VideoReader(path, Limits(max_video_seconds=1)).sample())


def test_scene_cuts_are_sampled_between_uniform_samples(tmp_path):
    path = tmp_path / "cut.mp4"
    frames = [_flat(20)] * 15 + [_flat(230)] * 15  # a hard cut at 1.5 s
    _write_video(path, frames, rate=10)
    sampled = list(VideoReader(path).sample(every_s=10.0))
    cuts = [f for f in sampled if f.scene_cut]
    assert len(cuts) == 1 and cuts[0].t == pytest.approx(1.5, abs=0.11)


def test_variable_frame_rate_uses_real_timestamps(tmp_path):
    path = tmp_path / "vfr.mkv"
    pts = [0, 100, 200, 1500, 1600, 3200, 3300]
    _write_video(path, [_flat(i * 30) for i in range(len(pts))], pts_ms=pts, rate=10)
    times = [f.t for f in VideoReader(path).sample(every_s=1.0, scene_cuts=False)]
    assert times == pytest.approx([0.0, 1.5, 3.2], abs=0.01)


def test_rotation_metadata_is_applied(tmp_path):
    path = tmp_path / "rot.mp4"
    image = np.zeros((32, 64, 3), np.uint8)
    image[:, :32] = 255
    _write_video(path, [image] * 5, rotation=90)
    reader = VideoReader(path)
    frame = next(reader.sample())
    assert frame.image.shape == (64, 32, 3) and reader.stats.rotation == 90
    assert frame.image[-10:].mean() > 200 and frame.image[:10].mean() < 50


def test_corrupt_packets_in_the_middle_are_skipped(tmp_path):
    path = tmp_path / "damaged.ts"
    _write_video(path, [_flat((i * 9) % 256, (96, 128)) for i in range(60)], rate=10)
    raw = bytearray(path.read_bytes())
    middle = len(raw) // 2
    raw[middle : middle + 4000] = bytes(np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8))
    path.write_bytes(bytes(raw))
    reader = VideoReader(path)
    frames = list(reader.sample(every_s=1.0, scene_cuts=False))
    assert frames and frames[-1].t >= 4.0, "sampling continues past the damage"


def test_container_without_video_stream(tmp_path):
    path = tmp_path / "audio.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=44100)
        for index in range(5):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 44100, index * 1024
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with pytest.raises(MediaError, match="no video stream"):
        probe(path, Limits())
    with pytest.raises(MediaError, match="no video stream"):
        list(VideoReader(path).sample())


def test_truncated_video_is_a_media_error_or_partial(tmp_path):
    path = tmp_path / "cut.mp4"
    _write_video(path, [_flat(i * 8) for i in range(20)])
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(MediaError):
        probe(path, Limits())


def test_a_cut_short_jpeg_stays_corrupt_after_weasyprint_is_imported(tmp_path, monkeypatch):
    """WeasyPrint's import sets Pillow's process-wide LOAD_TRUNCATED_IMAGES = True; in a long-lived ``serve``
    that makes a report first, a cut-short upload must still be refused as damaged, not analysed as whole.

    The import's side effect happens once per process (at the first import), so in the full run an earlier test
    may already have imported WeasyPrint and a probe reset the flag; the test therefore puts the process in the
    state the import leaves — the flag set — itself, rather than relying on being the first importer."""
    import io

    import weasyprint  # noqa: F401 - the real library is present in the process, as in `serve`
    from PIL import ImageFile

    from idolguard.errors import ErrorCode

    buffer = io.BytesIO()
    Image.effect_noise((256, 192), 64).convert("RGB").save(buffer, "JPEG", quality=90)
    whole = buffer.getvalue()
    path = tmp_path / "cut.jpg"
    path.write_bytes(whole[: len(whole) // 3])
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)  # what WeasyPrint's first import leaves
    with pytest.raises(MediaError) as refused:
        probe(path, Limits())
    assert refused.value.code == ErrorCode.MEDIA_CORRUPT
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(MediaError):
        load_rgb(path, Limits())
