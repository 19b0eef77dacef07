"""Provenance leads: traces in a file that point towards the tool, device or person that made it.

Each lead says what it is, where it was found, what it suggests and how far it can be trusted. Metadata is
easy to strip and easy to forge, so no lead proves authorship; leads tell investigators where to ask next
(a generator's hosting service, a device's owner, an app's operator). Only the stored original is read;
nothing here writes.

Trust levels:
* ``high``: cryptographically signed by the tool that made the file (a valid C2PA manifest).
* ``medium``: written automatically by a tool and rarely edited by hand (generator parameters in PNG text
  chunks, an embedded thumbnail that shows a different picture, camera make/model).
* ``low``: trivially typed or changed by anyone (file names, free-text comments, container encoder tags).
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

from PIL import ExifTags, Image

MAX_TEXT = 2000  # characters kept of any one metadata text (prompts can be long)
MAX_SCAN_BYTES = 4 * 1024 * 1024  # bytes of the file head searched for XMP packets

# Names that image generators and face-swap tools give their outputs (matched case-insensitively).
FILE_NAME_PATTERNS: tuple[tuple[str, str, str], ...] = (
    (r"^ComfyUI_\d{5}_", "ComfyUI default output name", "low"),
    (r"^\d{5}-\d{6,12}(-.+)?\.(png|jpg|jpeg|webp)$", "AUTOMATIC1111 Stable Diffusion WebUI name (counter-seed)", "low"),
    (r"^grid-\d{4,5}", "AUTOMATIC1111 WebUI grid image", "low"),
    (r"\bs-\d{6,12}\b", "NovelAI-style seed suffix", "low"),
    (
        r"^[a-z0-9_]+_[a-z0-9_]+_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "Midjourney download name (user_prompt_uuid)",
        "low",
    ),
    (r"(roop|facefusion|deepfacelab|dfl_|faceswap|simswap|inswapper|reface|deepswap)", "face-swap tool name", "low"),
    (r"^photo_\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}", "Telegram Desktop export name (photo_DATE_TIME)", "low"),
    (r"^video_\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}", "Telegram Desktop export name (video_DATE_TIME)", "low"),
    (r"^(IMG|DSC|DSCN|PXL|DJI)_\d", "camera or phone file name (not a generator)", "low"),
    (r"^(Screenshot|Screen Shot|스크린샷)", "screenshot name", "low"),
    (r"^KakaoTalk_\d{8}_\d+", "KakaoTalk export name", "low"),
)

GENERATOR_SOFTWARE = re.compile(
    r"(stable ?diffusion|comfyui|automatic1111|invokeai|novelai|midjourney|dall-?e|firefly|leonardo|fooocus|"
    r"faceapp|facefusion|roop|deepfacelab|reface|swapface|flux)",
    re.IGNORECASE,
)


# Every sentence a lead's ``meaning`` can be, under a stable code (``meaning_code``: reports in other languages
# say it from their catalog, keys ``said.<code>``; the English stays in ``meaning`` for old readers).
MEANINGS: dict[str, str] = {
    "prov.generator_software": "generator or face-swap software wrote this file",
    "prov.last_program": "last program that saved the file",
    "prov.device": "camera or phone that recorded the source picture (a platform or editor may keep it)",
    "prov.person": "a name or machine typed into the camera or editor",
    "prov.generator_parameters": "image-generator parameters (prompt, seed, model)",
    "prov.device_clock": "device clock when the picture was taken or saved (no time zone)",
    "prov.sd_parameters": "Stable Diffusion WebUI generation parameters",
    "prov.comfy_workflow": "ComfyUI workflow saved by the generator",
    "prov.prompt_text": "generator prompt text",
    "prov.comment": "free-text comment",
    "prov.generator_json": "image-generator parameters",
    "prov.png_software": "software that wrote the PNG",
    "prov.declared_ai": "declared AI-generated",
    "prov.declared_source": "declared source type",
    "prov.xmp_tool": "tool that created or edited the file",
    "prov.xmp_person": "name typed into the editor",
    "prov.xmp_document": "editor document id: the same id in another file means the same project",
    "prov.thumbnail_differs": "the picture was changed after its embedded thumbnail was written; the thumbnail may "
    "show the unaltered source (kept as a derived file)",
    "prov.ffmpeg": "written by FFmpeg (libavformat): re-encoded or re-muxed by a tool",
    "prov.muxer": "muxer that wrote the file",
    "prov.video_device": "device or app that recorded the video",
    "prov.video_time": "time the muxer wrote (device or tool clock)",
    "prov.video_brand": "container flavour chosen by the writing tool",
    "prov.stream_tag": "stream tag written by the tool that made the file",
    "prov.video_generator": "names a generator or face-swap tool",
    "prov.handler_apple": "Apple device or software (Core Media)",
    "prov.handler_ffmpeg": "FFmpeg/libavformat default handler name",
    "prov.handler_google": "Google/Android or YouTube processing",
    "prov.handler_android": "Android MediaRecorder",
    "prov.name_comfyui": "ComfyUI default output name",
    "prov.name_a1111": "AUTOMATIC1111 Stable Diffusion WebUI name (counter-seed)",
    "prov.name_a1111_grid": "AUTOMATIC1111 WebUI grid image",
    "prov.name_novelai": "NovelAI-style seed suffix",
    "prov.name_midjourney": "Midjourney download name (user_prompt_uuid)",
    "prov.name_faceswap": "face-swap tool name",
    "prov.name_telegram_photo": "Telegram Desktop export name (photo_DATE_TIME)",
    "prov.name_telegram_video": "Telegram Desktop export name (video_DATE_TIME)",
    "prov.name_camera": "camera or phone file name (not a generator)",
    "prov.name_screenshot": "screenshot name",
    "prov.name_kakaotalk": "KakaoTalk export name",
    "prov.c2pa_ai": "Content Credentials declare the file AI-generated",
    "prov.c2pa_tool": "Content Credentials name the tool and signer",
    "prov.c2pa_ai_invalid": "Content Credentials declare the file AI-generated (signature not valid: may be altered)",
    "prov.c2pa_tool_invalid": "Content Credentials name the tool and signer (signature not valid: may be altered)",
}
_MEANING_CODES = {text: code for code, text in MEANINGS.items()}
# Where a lead was read, when the place is described in words (``source_code``/``source_params``); technical
# names (``EXIF Software``, ``XMP dc:creator``) are the same in every language and carry no code.
SOURCES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("prov.src.file_name", re.compile(r"submitted file name\Z")),
    ("prov.src.container_tags", re.compile(r"container tags\Z")),
    ("prov.src.container_brand", re.compile(r"container brand\Z")),
    ("prov.src.container_tag", re.compile(r"container tag '(?P<key>.*)'\Z", re.S)),
    ("prov.src.stream_tag", re.compile(r"stream tag '(?P<key>.*)'\Z", re.S)),
    ("prov.src.png_text", re.compile(r"PNG text '(?P<key>.*)'\Z", re.S)),
    ("prov.src.exif_thumbnail", re.compile(r"EXIF embedded thumbnail\Z")),
    ("prov.src.c2pa_manifest", re.compile(r"C2PA manifest\Z")),
)
# The value of a C2PA lead whose manifest names no generator, tool or signer (said by renderers from their
# catalogs: ``prov.manifest_present``).
MANIFEST_PRESENT = "manifest present"


def lead(kind: str, source: str, value: Any, meaning: str, trust: str, **extra: Any) -> dict[str, Any]:
    if isinstance(value, str) and len(value) > MAX_TEXT:
        value = value[:MAX_TEXT] + "…"
    found: dict[str, Any] = {"kind": kind, "source": source, "value": value, "meaning": meaning, "trust": trust}
    if meaning in _MEANING_CODES:
        found["meaning_code"] = _MEANING_CODES[meaning]
    for code, form in SOURCES:
        matched = form.match(source)
        if matched:
            found["source_code"], found["source_params"] = code, matched.groupdict()
            break
    return {**found, **extra}


def recoded(found: dict[str, Any]) -> dict[str, Any]:
    """A stored lead with the codes of its meaning and place added where it was stored without them (before
    this version knew the sentence): renderers then say it in their language. The stored lead is not changed."""
    extra: dict[str, Any] = {}
    if not found.get("meaning_code") and found.get("meaning") in _MEANING_CODES:
        extra["meaning_code"] = _MEANING_CODES[found["meaning"]]
    if not found.get("source_code"):
        for code, form in SOURCES:
            matched = form.match(str(found.get("source") or ""))
            if matched:
                extra["source_code"], extra["source_params"] = code, matched.groupdict()
                break
    return {**found, **extra} if extra else found


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        for prefix in (b"ASCII\x00\x00\x00", b"UNICODE\x00", b"\x00" * 8):
            if value.startswith(prefix):
                value = value[len(prefix) :]
                try:
                    return value.decode("utf-16-be" if prefix == b"UNICODE\x00" else "utf-8", "replace").strip("\x00 ")
                except LookupError:
                    break
        return value.decode("utf-8", "replace").strip("\x00 ")
    return str(value).strip("\x00 ")


def exif_leads(img: Image.Image) -> list[dict[str, Any]]:
    try:
        exif = img.getexif()
    except Exception:  # noqa: BLE001 - a broken EXIF block is not a lead
        return []
    fields: dict[str, Any] = {ExifTags.TAGS.get(tag, str(tag)): value for tag, value in exif.items()}
    try:
        fields.update({ExifTags.TAGS.get(t, str(t)): v for t, v in exif.get_ifd(ExifTags.IFD.Exif).items()})
    except Exception:  # noqa: BLE001
        pass
    out = []
    software = _text(fields.get("Software", "")).strip()
    if software:
        generator = bool(GENERATOR_SOFTWARE.search(software))
        out.append(
            lead(
                "exif_software",
                "EXIF Software",
                software,
                "generator or face-swap software wrote this file" if generator else "last program that saved the file",
                "medium" if generator else "low",
            )
        )
    make, model = _text(fields.get("Make", "")), _text(fields.get("Model", ""))
    if make or model:
        out.append(
            lead(
                "exif_device",
                "EXIF Make/Model",
                " ".join(p for p in (make, model) if p),
                "camera or phone that recorded the source picture (a platform or editor may keep it)",
                "medium",
                serial=_text(fields.get("BodySerialNumber", "")) or None,
            )
        )
    for name in ("Artist", "Copyright", "HostComputer", "CameraOwnerName"):
        value = _text(fields.get(name, ""))
        if value:
            out.append(
                lead("exif_person", f"EXIF {name}", value, "a name or machine typed into the camera or editor", "low")
            )
    for name in ("UserComment", "ImageDescription"):
        value = _text(fields.get(name, ""))
        if value and ("Steps:" in value or "Seed:" in value or "sampler" in value.lower()):
            out.append(
                lead(
                    "generator_parameters",
                    f"EXIF {name}",
                    value,
                    "image-generator parameters (prompt, seed, model)",
                    "medium",
                    **_sd_summary(value),
                )
            )
    when = _text(fields.get("DateTimeOriginal", "") or fields.get("DateTime", ""))
    if when:
        out.append(
            lead(
                "exif_time",
                "EXIF DateTimeOriginal/DateTime",
                when,
                "device clock when the picture was taken or saved (no time zone)",
                "low",
            )
        )
    return out


def _sd_summary(text: str) -> dict[str, Any]:
    """Model, seed, sampler and steps from an AUTOMATIC1111-style "parameters" text."""
    summary: dict[str, Any] = {"tool": "Stable Diffusion (AUTOMATIC1111-style parameters)"}
    for key, pattern in (
        ("model", r"Model: ([^,\n]+)"),
        ("model_hash", r"Model hash: ([0-9a-fA-F]+)"),
        ("seed", r"Seed: (\d+)"),
        ("sampler", r"Sampler: ([^,\n]+)"),
        ("steps", r"Steps: (\d+)"),
    ):
        found = re.search(pattern, text)
        if found:
            summary[key] = found.group(1).strip()
    summary["has_prompt"] = bool(text.split("Negative prompt:")[0].split("Steps:")[0].strip())
    return summary


def png_text_leads(img: Image.Image) -> list[dict[str, Any]]:
    text_chunks: dict[str, Any] = {}
    for source in (getattr(img, "text", None) or {}, img.info):
        for key, value in source.items():
            if isinstance(value, str | bytes) and key not in text_chunks:
                text_chunks[key] = _text(value)
    out = []
    for key, value in text_chunks.items():
        lowered = key.lower()
        if lowered == "parameters":
            out.append(
                lead(
                    "generator_parameters",
                    f"PNG text '{key}'",
                    value,
                    "Stable Diffusion WebUI generation parameters",
                    "medium",
                    **_sd_summary(value),
                )
            )
        elif lowered in ("prompt", "workflow"):
            nodes = _comfy_nodes(value)
            out.append(
                lead(
                    "generator_workflow",
                    f"PNG text '{key}'",
                    value,
                    "ComfyUI workflow saved by the generator" if nodes is not None else "generator prompt text",
                    "medium",
                    tool="ComfyUI" if nodes is not None else None,
                    nodes=nodes,
                )
            )
        elif lowered in ("invokeai_metadata", "sd-metadata", "dream", "comment") and value:
            tool = {
                "invokeai_metadata": "InvokeAI",
                "sd-metadata": "InvokeAI (legacy)",
                "dream": "InvokeAI (dream)",
            }.get(lowered)
            if lowered == "comment" and not ('"steps"' in value or '"seed"' in value):
                out.append(lead("comment", f"PNG text '{key}'", value, "free-text comment", "low"))
                continue
            out.append(
                lead(
                    "generator_parameters",
                    f"PNG text '{key}'",
                    value,
                    "image-generator parameters",
                    "medium",
                    tool=tool or "unknown generator (JSON parameters)",
                )
            )
        elif lowered == "software" and value:
            generator = bool(GENERATOR_SOFTWARE.search(value))
            out.append(
                lead(
                    "png_software",
                    f"PNG text '{key}'",
                    value,
                    "software that wrote the PNG",
                    "medium" if generator else "low",
                )
            )
        elif lowered in ("xml:com.adobe.xmp",):
            continue  # read with the other XMP packets
    return out


def _comfy_nodes(value: str) -> list[str] | None:
    """Distinct node types of a ComfyUI prompt/workflow JSON (None when the text is not one)."""
    try:
        data = json.loads(value)
    except ValueError:
        return None
    types: set[str] = set()
    if isinstance(data, dict) and isinstance(data.get("nodes"), list):
        types.update(str(n.get("type")) for n in data["nodes"] if isinstance(n, dict) and n.get("type"))
    elif isinstance(data, dict):
        types.update(str(n.get("class_type")) for n in data.values() if isinstance(n, dict) and n.get("class_type"))
    return sorted(types) if types else None


XMP_FIELDS = (
    ("CreatorTool", r"(?:xmp:CreatorTool|CreatorTool)(?:=\"|>)([^\"<]+)"),
    ("DigitalSourceType", r"DigitalSourceType(?:=\"|>)([^\"<]+)"),
    ("creator", r"<dc:creator>.*?<rdf:li[^>]*>([^<]+)</rdf:li>"),
    ("HistorySoftware", r"stEvt:softwareAgent(?:=\"|>)([^\"<]+)"),
    ("DocumentID", r"xmpMM:(?:OriginalDocumentID|DocumentID)(?:=\"|>)([^\"<]+)"),
)


def xmp_leads(head: bytes) -> list[dict[str, Any]]:
    start = head.find(b"<x:xmpmeta")
    if start < 0:
        return []
    end = head.find(b"</x:xmpmeta>", start)
    packet = head[start : end + 12 if end > 0 else start + 65536].decode("utf-8", "replace")
    out = []
    seen: set[tuple[str, str]] = set()
    for name, pattern in XMP_FIELDS:
        for value in re.findall(pattern, packet, flags=re.DOTALL):
            value = value.strip()
            if not value or (name, value) in seen:
                continue
            seen.add((name, value))
            if name == "DigitalSourceType":
                ai = "algorithmicmedia" in value.lower().replace(" ", "")
                out.append(
                    lead(
                        "xmp_source_type",
                        "XMP Iptc4xmpExt:DigitalSourceType",
                        value,
                        "declared AI-generated" if ai else "declared source type",
                        "medium" if ai else "low",
                    )
                )
            elif name in ("CreatorTool", "HistorySoftware"):
                generator = bool(GENERATOR_SOFTWARE.search(value))
                out.append(
                    lead(
                        "xmp_software",
                        f"XMP {name}",
                        value,
                        "tool that created or edited the file",
                        "medium" if generator else "low",
                    )
                )
            elif name == "creator":
                out.append(lead("xmp_person", "XMP dc:creator", value, "name typed into the editor", "low"))
            else:
                out.append(
                    lead(
                        "xmp_document_id",
                        f"XMP {name}",
                        value,
                        "editor document id: the same id in another file means the same project",
                        "medium",
                    )
                )
    return out


def exif_thumbnail(data: bytes) -> bytes | None:
    """The JPEG thumbnail inside a JPEG's EXIF APP1 segment, if any."""
    if not data.startswith(b"\xff\xd8"):
        return None
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker == 0xE1 and data[pos + 4 : pos + 10] == b"Exif\x00\x00":
            segment = data[pos + 10 : pos + 2 + length]
            start = segment.find(b"\xff\xd8", 8)
            if start < 0:
                return None
            end = segment.rfind(b"\xff\xd9")
            return segment[start : end + 2] if end > start else None
        if marker in (0xDA, 0xD9):
            break
        pos += 2 + length
    return None


def thumbnail_difference(main: Image.Image, thumb: Image.Image) -> float:
    """Mean absolute grey-level difference (0..255) of both pictures at 32x32, thumbnail aspect kept."""
    import numpy as np

    size = (32, 32)
    a = np.asarray(main.convert("L").resize(size, Image.Resampling.BILINEAR), dtype=np.float32)
    b = np.asarray(thumb.convert("L").resize(size, Image.Resampling.BILINEAR), dtype=np.float32)
    a = (a - a.mean()) / (a.std() + 1e-6)
    b = (b - b.mean()) / (b.std() + 1e-6)
    return float(np.abs(a - b).mean())


THUMB_DIFFERS = 0.35  # normalised units; resizing/recompression of the same picture stays well below


def thumbnail_leads(path: Path, img: Image.Image) -> tuple[list[dict[str, Any]], bytes | None]:
    with open(path, "rb") as handle:
        head = handle.read(70_000)
    thumb_bytes = exif_thumbnail(head)
    if not thumb_bytes:
        return [], None
    try:
        thumb = Image.open(io.BytesIO(thumb_bytes))
        thumb.load()
        main = img.copy()
        main.draft("RGB", (256, 256))
        difference = thumbnail_difference(main, thumb)
    except Exception:  # noqa: BLE001 - an unreadable thumbnail is no lead
        return [], None
    if difference < THUMB_DIFFERS:
        return [], None
    return (
        [
            lead(
                "thumbnail_differs",
                "EXIF embedded thumbnail",
                f"difference {difference:.2f} (threshold {THUMB_DIFFERS})",
                "the picture was changed after its embedded thumbnail was written; the thumbnail may show the "
                "unaltered source (kept as a derived file)",
                "medium",
                difference=round(difference, 3),
            )
        ],
        thumb_bytes,
    )


def image_leads(path: Path) -> tuple[list[dict[str, Any]], bytes | None]:
    """All leads of an image file, plus the bytes of an embedded thumbnail that differs (or None)."""
    with Image.open(path) as img:
        leads = exif_leads(img) + png_text_leads(img)
        thumb_leads, thumb = thumbnail_leads(path, img) if img.format == "JPEG" else ([], None)
    with open(path, "rb") as handle:
        head = handle.read(MAX_SCAN_BYTES)
    return leads + xmp_leads(head) + thumb_leads, thumb


KNOWN_HANDLERS = {
    "core media video": "Apple device or software (Core Media)",
    "videohandler": "FFmpeg/libavformat default handler name",
    "iso media file produced by google inc.": "Google/Android or YouTube processing",
    "vidchandler": "Android MediaRecorder",
}


def video_leads(path: Path) -> list[dict[str, Any]]:
    import av

    out = []
    with av.open(str(path)) as container:
        tags = {str(k).lower(): str(v) for k, v in (container.metadata or {}).items()}
        streams = [{str(k).lower(): str(v) for k, v in (s.metadata or {}).items()} for s in container.streams]
    encoder = tags.get("encoder")
    if encoder:
        meaning = (
            "written by FFmpeg (libavformat): re-encoded or re-muxed by a tool"
            if encoder.lower().startswith("lavf")
            else "muxer that wrote the file"
        )
        out.append(lead("video_encoder", "container tag 'encoder'", encoder, meaning, "low"))
    for key in (
        "com.apple.quicktime.software",
        "software",
        "com.android.version",
        "com.apple.quicktime.model",
        "com.apple.quicktime.make",
    ):
        if tags.get(key):
            out.append(
                lead(
                    "video_device",
                    f"container tag '{key}'",
                    tags[key],
                    "device or app that recorded the video",
                    "medium",
                )
            )
    if tags.get("creation_time"):
        out.append(
            lead(
                "video_time",
                "container tag 'creation_time'",
                tags["creation_time"],
                "time the muxer wrote (device or tool clock)",
                "low",
            )
        )
    if tags.get("major_brand"):
        out.append(
            lead(
                "video_brand",
                "container brand",
                tags["major_brand"],
                "container flavour chosen by the writing tool",
                "low",
            )
        )
    seen: set[str] = set()
    for stream in streams:
        for key in ("handler_name", "encoder", "vendor_id"):
            value = stream.get(key)
            if value and value not in seen:
                seen.add(value)
                meaning = KNOWN_HANDLERS.get(value.lower(), "stream tag written by the tool that made the file")
                out.append(lead("video_stream_tag", f"stream tag '{key}'", value, meaning, "low"))
    for text in tags.values():
        if GENERATOR_SOFTWARE.search(text):
            out.append(lead("video_generator", "container tags", text, "names a generator or face-swap tool", "medium"))
            break
    return out


def file_name_leads(names: list[str]) -> list[dict[str, Any]]:
    """Leads from the names a file was submitted under (case view adds these; names are not in the file)."""
    out = []
    seen: set[tuple[str, str]] = set()
    for name in names:
        base = Path(name).name
        for pattern, meaning, trust in FILE_NAME_PATTERNS:
            if re.search(pattern, base, flags=re.IGNORECASE) and (base, meaning) not in seen:
                seen.add((base, meaning))
                out.append(lead("file_name", "submitted file name", base, meaning, trust))
    return out
