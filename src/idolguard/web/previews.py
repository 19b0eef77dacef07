"""Server-made safe previews: heavily blurred, greyscale, small. The browser never gets the original unless
a reveal grants it.

Images: long side 256 px, greyscale, Gaussian blur of radius 10 (faces and bodies unreadable, layout and
colour-free composition visible). Videos: a strip of up to 6 blurred keyframes spread over the video (no
playback). Capture screenshots (whole pages): long side 512 px, same blur. Heat maps are drawn over the
blurred derivative, never over the original.

Previews are cached in ``HOME/cache/previews`` (derivatives for display, not evidence: the vault keeps the
originals). When the vault is encrypted at rest, so is the cache (AES-256-GCM under a key derived from the
object's item key, or the vault key for an object without one): no plaintext derivative of encrypted evidence is
ever written to disk. A preview is stored under the vault lock, and only while its object is still in the
vault, so a concurrent ``vault rekey`` never leaves one under a stale key and a concurrent erasure (``cases
destroy``) never leaves one behind, encrypted or not (``_store``); a cached preview whose object is gone is
deleted instead of served (``_cached``). Files are written under hidden temporary names (``.{sha}...tmp``);
every cleanup that drops an object's previews also drops those (``Workspace.drop_previews``), and ``serve``
sweeps stale ones a killed process left (``Workspace.sweep_preview_tmp``); ``verify`` warns about a cached
preview whose object is gone.
"""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

from PIL import Image, ImageFilter, ImageOps

from idolguard.errors import IdolGuardError
from idolguard.workspace import Workspace

SIDE = 256
BLUR = 10
STRIP_FRAMES = 6
SCREENSHOT_SIDE = 512
MAX_KEYFRAMES = 240
VERSION = "2"


def blur_image(img: Image.Image, side: int = SIDE, tall: int = 1) -> Image.Image:
    """Greyscale, at most ``side`` wide and ``side * tall`` high, Gaussian-blurred."""
    img = ImageOps.exif_transpose(img) if hasattr(img, "getexif") else img
    grey = img.convert("L")
    grey.thumbnail((side, side * tall))
    return grey.filter(ImageFilter.GaussianBlur(BLUR))


def _placeholder(text_side: int = SIDE) -> Image.Image:
    return Image.new("L", (text_side, text_side * 3 // 4), 128)


def _video_strip(path: Path, ws: Workspace) -> Image.Image:
    from idolguard.media.frames import VideoReader

    # Keyframes only (cheap to decode), then up to STRIP_FRAMES of them spread evenly over the video, so the
    # strip shows its whole length and not just its first seconds.
    keyframes = []
    for frame in VideoReader(path, ws.config.limits).sample(
        every_s=0.0, scene_cuts=False, keyframes_only=True, max_side=SIDE, max_frames=MAX_KEYFRAMES
    ):
        keyframes.append(frame.image)
    if len(keyframes) > STRIP_FRAMES:
        step = (len(keyframes) - 1) / (STRIP_FRAMES - 1)
        keyframes = [keyframes[round(i * step)] for i in range(STRIP_FRAMES)]
    frames = [blur_image(Image.fromarray(image), side=SIDE // 2) for image in keyframes]
    if not frames:
        return _placeholder()
    width = sum(f.width for f in frames) + 4 * (len(frames) - 1)
    strip = Image.new("L", (width, max(f.height for f in frames)), 255)
    x = 0
    for f in frames:
        strip.paste(f, (x, 0))
        x += f.width + 4
    return strip


def _cache_path(ws: Workspace, sha: str, kind: str) -> Path:
    suffix = ".png.enc" if ws.vault.encrypted else ".png"
    return ws.preview_cache / VERSION / f"{sha}{'' if kind in ('image', 'video') else '-' + kind}{suffix}"


def _cached(ws: Workspace, sha: str, target: Path) -> bytes | None:
    if not target.exists():
        return None
    if not ws.vault.has(sha):
        # Its object was erased (a destruction) after the preview was cached, or while it was being made: a
        # derivative of destroyed evidence is deleted, never served.
        ws.drop_previews(sha)
        return None
    try:
        if ws.vault.encrypted:
            from idolguard.evidence.crypto import decrypt_stream

            key = ws.vault.cache_key(sha, "preview")
            assert key is not None
            with open(target, "rb") as handle:
                return b"".join(decrypt_stream(key, handle, target.name))
        return target.read_bytes()
    except (OSError, IdolGuardError):
        return None  # unreadable, altered, or its item key destroyed: made again (or refused)


def _store(ws: Workspace, sha: str, target: Path, data: bytes) -> None:
    """Cache a preview; in an encrypted vault under a key derived from the object's own item key, so
    destroying the item leaves no readable preview behind (retention also deletes the file).

    The file is written under the vault lock, and only if the object is still there: ``erase`` destroys an
    object under the same lock (and retention then deletes its previews), so a preview made from an object
    erased meanwhile is never cached, encrypted or not. In an encrypted vault the key is chosen under the lock
    too: ``vault rekey`` swaps an object to its new item key (then drops its previews) under it, so a preview
    made meanwhile is never left encrypted under the old key (the vault key, after a rekey) nor under the vault
    key that ``cache_key`` falls back to for an object that is gone."""
    with ws.vault.locked():
        if not ws.vault.has(sha):
            return  # erased meanwhile: nothing may be cached from it
        if not ws.vault.encrypted:
            _write(target, data, None)
            return
        try:
            key = ws.vault.cache_key(sha, "preview")
        except (OSError, IdolGuardError):
            return  # the object's key is gone: nothing worth caching
        _write(target, data, key)


def _write(target: Path, data: bytes, key: bytes | None) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    # A hidden name, so a half-written file is never served; ``Workspace.drop_previews`` (erasure, rekey) and
    # ``Workspace.sweep_preview_tmp`` (worker/serve start) delete the ones a killed process left.
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "wb") as out:
        if key is not None:
            from idolguard.evidence.crypto import encrypt_stream

            encrypt_stream(key, [data], out)
        else:
            out.write(data)
    os.replace(tmp, target)


def preview_png(ws: Workspace, sha: str, media_type: str) -> bytes:
    """The blurred PNG of a vault object: ``image``, ``video`` (keyframe strip), ``screenshot`` (a capture's
    page screenshot, larger), anything else a grey placeholder."""
    target = _cache_path(ws, sha, media_type)
    cached = _cached(ws, sha, target)
    if cached is not None:
        return cached
    try:
        with ws.vault.materialize(sha) as path:
            if media_type == "video":
                out = _video_strip(path, ws)
            elif media_type in ("image", "screenshot"):
                from idolguard.media.image import open_image

                with open_image(path, ws.config.limits) as img:
                    img.seek(0)
                    out = blur_image(img, SCREENSHOT_SIDE, 4) if media_type == "screenshot" else blur_image(img)
            else:
                out = _placeholder()
    except (IdolGuardError, OSError, ValueError):
        out = _placeholder()
    buffer = io.BytesIO()
    out.save(buffer, "PNG")
    data = buffer.getvalue()
    _store(ws, sha, target, data)
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
