"""Read dimensions, duration and embedded metadata without decoding whole files, enforcing safety limits.

The limits protect the analysis host, not the evidence: a file that breaks one is still preserved byte-exact,
and the reason is recorded as the item's error.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from PIL import ExifTags, Image, ImageFile, UnidentifiedImageError

from idolguard.config import Limits
from idolguard.errors import ErrorCode, MediaError
from idolguard.media.sniff import sniff_file


@dataclass
class Probe:
    media_type: str
    mime: str
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    frames: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex() if len(value) <= 64 else f"<{len(value)} bytes>"
    if isinstance(value, Fraction) or type(value).__name__ == "IFDRational":
        try:
            return float(value)
        except (ZeroDivisionError, ValueError):
            return None
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (int, float, str, bool)) or value is None:
        if isinstance(value, str):
            return value.replace("\x00", "")
        return value
    return str(value)


def _exif(img: Image.Image) -> dict[str, Any]:
    try:
        exif = img.getexif()
    except Exception:  # noqa: BLE001 - broken EXIF must not hide the image
        return {}
    out: dict[str, Any] = {}
    for tag, value in exif.items():
        out[ExifTags.TAGS.get(tag, str(tag))] = _jsonable(value)
    for ifd_id in (ExifTags.IFD.Exif, ExifTags.IFD.GPSInfo):
        try:
            sub = exif.get_ifd(ifd_id)
        except Exception:  # noqa: BLE001
            continue
        names = ExifTags.GPSTAGS if ifd_id == ExifTags.IFD.GPSInfo else ExifTags.TAGS
        prefix = "GPS." if ifd_id == ExifTags.IFD.GPSInfo else ""
        for tag, value in sub.items():
            out[prefix + names.get(tag, str(tag))] = _jsonable(value)
    return out


# The sentences the probe's refusals say, by code (the runner stores a failed stage as text: front doors get
# the code and values back with ``coded_text.recognise``; ``tests/media`` checks each refusal is recognised).
FAILURE_FORMS: tuple[tuple[str, str], ...] = (
    (
        "media.pixel_limit",
        "image is {width}x{height} = {pixels} pixels, over the limit of {limit} (possible decompression bomb); "
        "preserved, not decoded",
    ),
    ("media.bomb", "image exceeds the decompression-bomb limit of {limit} pixels: {detail}; preserved, not decoded"),
    # Refusals stored before the limit was named in our own words: the limit is in Pillow's sentence (the
    # threshold Pillow enforced, twice the configured one), so old records still show a number.
    (
        "media.bomb",
        "image exceeds the decompression-bomb limit: Image size ({pixels} pixels) exceeds limit of {limit} "
        "pixels, could be decompression bomb DOS attack.; preserved, not decoded",
    ),
    ("media.unreadable", "not a decodable image ({mime}): {detail}"),
    ("media.corrupt", "corrupt or truncated image: {detail}"),
    ("media.corrupt", "corrupt or unreadable video: {detail}"),
    ("media.no_video", "container has no video stream"),
    ("media.frame_limit", "video frames are {width}x{height}, over the limit; preserved, not decoded"),
    ("media.too_long", "video lasts {seconds} s, over the limit of {limit} s"),
    ("media.unsupported", "unsupported media type ({mime}); the file is preserved but not analysed"),
)


def probe_image(path: Path, limits: Limits) -> Probe:
    sniffed = sniff_file(path)
    Image.MAX_IMAGE_PIXELS = limits.max_image_pixels  # the configured limit, not Pillow's default (89.5 MP)
    # Truncated data is corruption here, whatever another library set process-wide (WeasyPrint's import sets
    # LOAD_TRUNCATED_IMAGES = True, which in a long-lived `serve` would let cut-short uploads pass as whole).
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own check below names the limit
            with Image.open(path) as img:
                width, height = img.size
                if width * height > limits.max_image_pixels:
                    raise MediaError(
                        f"image is {width}x{height} = {width * height} pixels, over the limit of "
                        f"{limits.max_image_pixels} (possible decompression bomb); preserved, not decoded",
                        code=ErrorCode.MEDIA_PIXEL_LIMIT,
                        width=width,
                        height=height,
                        limit=limits.max_image_pixels,
                    )
                meta: dict[str, Any] = {
                    "format": img.format,
                    "mode": img.mode,
                    "frames": getattr(img, "n_frames", 1),
                    "exif": _exif(img),
                }
                info = {k: _jsonable(v) for k, v in img.info.items() if k not in {"exif", "icc_profile", "xmp"}}
                if "icc_profile" in img.info:
                    info["icc_profile_bytes"] = len(img.info["icc_profile"])
                if "xmp" in img.info or "XML:com.adobe.xmp" in img.info:
                    raw = img.info.get("xmp") or img.info.get("XML:com.adobe.xmp")
                    info["xmp"] = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
                meta["info"] = info
                orientation = meta["exif"].get("Orientation")
                if orientation in (5, 6, 7, 8):
                    meta["display_size"] = [height, width]
                if img.format == "JPEG":
                    # Decoding at 1/8 scale still walks all entropy-coded data, so truncation and corruption are
                    # caught, at a fraction of a full decode's cost.
                    img.draft(img.mode, (max(1, width // 8), max(1, height // 8)))
                img.load()  # decode now: report truncated/corrupt data here rather than in every stage
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaError(
            f"image exceeds the decompression-bomb limit of {limits.max_image_pixels} pixels: {exc}; "
            "preserved, not decoded",
            code=ErrorCode.MEDIA_BOMB,
            limit=limits.max_image_pixels,
        ) from exc
    except UnidentifiedImageError as exc:
        raise MediaError(f"not a decodable image ({sniffed.mime}): {exc}", code=ErrorCode.MEDIA_UNREADABLE) from exc
    except MediaError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise MediaError(f"corrupt or truncated image: {exc}", code=ErrorCode.MEDIA_CORRUPT) from exc
    return Probe("image", sniffed.mime, width, height, None, meta["frames"], meta)


def probe_video(path: Path, limits: Limits) -> Probe:
    import av

    sniffed = sniff_file(path)
    try:
        with av.open(str(path), metadata_errors="replace") as container:
            streams = container.streams.video
            meta: dict[str, Any] = {
                "container": container.format.name,
                "tags": {str(k): str(v) for k, v in (container.metadata or {}).items()},
                "streams": [
                    {
                        "index": s.index,
                        "type": s.type,
                        "codec": s.codec_context.name if s.codec_context else None,
                    }
                    for s in container.streams
                ],
            }
            duration = float(container.duration / 1_000_000) if container.duration else None
            if not streams:
                raise MediaError("container has no video stream", code=ErrorCode.MEDIA_NO_VIDEO)
            stream = streams[0]
            width = stream.codec_context.width
            height = stream.codec_context.height
            if stream.duration and stream.time_base:
                duration = float(stream.duration * stream.time_base)
            rate = stream.average_rate
            meta["fps"] = float(rate) if rate else None
            meta["frames"] = stream.frames or None
            rotation = _rotation(stream)
            if rotation:
                meta["rotation"] = rotation
            meta["stream_tags"] = {str(k): str(v) for k, v in (stream.metadata or {}).items()}
    except MediaError:
        raise
    except (av.error.FFmpegError, OSError, ValueError) as exc:  # type: ignore[attr-defined]
        raise MediaError(f"corrupt or unreadable video: {exc}", code=ErrorCode.MEDIA_CORRUPT) from exc
    if width and height and width * height > limits.max_video_pixels_per_frame:
        raise MediaError(
            f"video frames are {width}x{height}, over the limit; preserved, not decoded",
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
    return Probe("video", sniffed.mime, width or None, height or None, duration, meta.get("frames"), meta)


def _rotation(stream: Any) -> int | None:
    tag = (stream.metadata or {}).get("rotate")
    if tag:
        try:
            return int(tag) % 360
        except ValueError:
            return None
    for side in getattr(stream, "side_data", {}) or []:
        if "DISPLAYMATRIX" in str(getattr(side, "type", "")).upper():
            return None  # PyAV exposes no angle helper here; decoders apply it when auto-rotating
    return None


def probe(path: Path, limits: Limits) -> Probe:
    sniffed = sniff_file(path)
    if sniffed.media_type == "image":
        return probe_image(path, limits)
    if sniffed.media_type == "video":
        return probe_video(path, limits)
    if sniffed.mime == "application/zip":
        # Archives are preserved as received; their members were ingested as items of their own.
        return Probe("other", sniffed.mime, meta={"container": "zip"})
    raise MediaError(
        f"unsupported media type ({sniffed.mime}); the file is preserved but not analysed",
        code=ErrorCode.MEDIA_UNSUPPORTED,
        mime=sniffed.mime,
    )
