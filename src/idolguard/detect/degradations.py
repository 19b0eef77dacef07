"""What platforms do to a picture before we see it: re-encoding (JPEG, WebP, H.264/H.265) and resizing.

Used three ways, so that training, evaluation and the robustness table agree on what "JPEG q50" means:

- training (``random_degradation``): real and self-blended crops get the same random mix, so compression
  itself stops looking like manipulation (the 1.2.0 model saw only JPEG 40-95 and mild rescales, and real
  heavily compressed video scored as high as fakes);
- evaluation (``apply``): one named, deterministic degradation per run (``jpeg50``, ``half``, ``h264crf35``);
- the video dev clips (``bench/detector_robustness.py``) use PyAV's H.264 encoder the same way.

Video codecs run through PyAV (FFmpeg's libx264/libx265 bundled in the ``av`` wheel), one intra-coded frame
per call: cheap enough for training, and the block/deblocking artefacts are those of a platform re-encode.
"""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np

#: Named degradations for evaluation (``--degrade``) and the robustness table.
NAMED = ("none", "jpeg50", "half", "quarter", "webp50", "h264crf35")


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1] if ok else image


def webp(image: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".webp", image[..., ::-1], [cv2.IMWRITE_WEBP_QUALITY, int(quality)])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1] if ok else image


def rescale(image: np.ndarray, factor: float) -> np.ndarray:
    """Downscale by ``factor`` and back to the original size (a thumbnail or a screenshot at low zoom)."""
    h, w = image.shape[:2]
    small = cv2.resize(image, (max(8, round(w * factor)), max(8, round(h * factor))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


@cache
def video_codecs() -> tuple[str, ...]:
    """The encoders PyAV offers here, of those platforms use."""
    try:
        import av
    except ImportError:
        return ()
    found = []
    for name in ("libx264", "libx265"):
        try:
            av.codec.Codec(name, "w")
            found.append(name)
        except Exception:  # noqa: BLE001 - PyAV raises different errors for unknown codecs across versions
            continue
    return tuple(found)


def video_frame(image: np.ndarray, crf: int, codec: str = "libx264") -> np.ndarray:
    """Encode one frame with H.264/H.265 at ``crf`` (yuv420p, as platforms deliver) and decode it again."""
    import av

    h, w = image.shape[:2]
    even = image[: h - h % 2, : w - w % 2]
    if even.shape[0] < 16 or even.shape[1] < 16:
        return image
    encoder = av.CodecContext.create(codec, "w")
    encoder.width, encoder.height = even.shape[1], even.shape[0]
    encoder.pix_fmt = "yuv420p"
    encoder.options = {"crf": str(int(crf)), "preset": "veryfast"}
    if codec == "libx265":
        encoder.options = {**encoder.options, "x265-params": "log-level=none"}
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(even), format="rgb24")
    packets = list(encoder.encode(frame)) + list(encoder.encode(None))
    decoder = av.CodecContext.create("hevc" if codec == "libx265" else "h264", "r")
    decoded = []
    for packet in packets:
        decoded.extend(decoder.decode(packet))
    decoded.extend(decoder.decode(None))
    if not decoded:
        return image
    out = decoded[-1].to_ndarray(format="rgb24")
    if out.shape[:2] != image.shape[:2]:  # odd sizes lost a row/column: put them back from the input
        full = image.copy()
        full[: out.shape[0], : out.shape[1]] = out
        out = full
    return out


def random_degradation(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The training mix, applied alike to real and blended crops (flip, resize, then one codec)."""
    out = image
    if rng.random() < 0.5:
        out = np.ascontiguousarray(out[:, ::-1])
    if rng.random() < 0.35:
        out = rescale(out, float(rng.uniform(0.25, 0.9)))
    pick = rng.random()
    codecs = video_codecs()
    if pick < 0.45:
        out = jpeg(out, int(rng.integers(30, 96)))
    elif pick < 0.6:
        out = webp(out, int(rng.integers(30, 96)))
    elif pick < 0.8 and codecs:
        codec = codecs[int(rng.integers(0, len(codecs)))]
        out = video_frame(out, int(rng.integers(23, 39)), codec)
    return np.ascontiguousarray(out)


def apply(image: np.ndarray, name: str) -> np.ndarray:
    """One named degradation (evaluation); ``half``/``quarter`` keep the smaller size (what a thumbnail is)."""
    if name == "none":
        return image
    if name == "jpeg50":
        return jpeg(image, 50)
    if name == "webp50":
        return webp(image, 50)
    if name in ("half", "quarter"):
        f = 0.5 if name == "half" else 0.25
        h, w = image.shape[:2]
        return cv2.resize(image, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    if name == "h264crf35":
        return video_frame(image, 35)
    raise ValueError(f"unknown degradation {name!r} (use one of {', '.join(NAMED)})")
