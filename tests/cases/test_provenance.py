"""Provenance leads on benign generated files that carry the metadata real tools write."""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image, PngImagePlugin

from idolguard.cases import provenance
from idolguard.demo import shapes_image

SD_PARAMETERS = (
    "a red circle and a blue square on a grey background\n"
    "Negative prompt: blurry\n"
    "Steps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234567890, Size: 512x512, "
    "Model hash: 6ce0161689, Model: v1-5-pruned-emaonly"
)
COMFY_PROMPT = json.dumps(
    {
        "3": {"class_type": "KSampler", "inputs": {"seed": 42, "steps": 20}},
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"}},
        "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "ComfyUI"}},
    }
)


def png_with_text(path: Path, chunks: dict[str, str]) -> Path:
    info = PngImagePlugin.PngInfo()
    for key, value in chunks.items():
        info.add_text(key, value)
    shapes_image(3, (160, 120)).save(path, "PNG", pnginfo=info)
    return path


def jpeg_with_exif(
    path: Path, *, software: str, make: str = "", model: str = "", thumbnail_of: Image.Image | None = None
) -> Path:
    image = shapes_image(5, (320, 240))
    exif = Image.Exif()
    exif[0x0131] = software
    if make:
        exif[0x010F] = make
        exif[0x0110] = model
    exif[0x0132] = "2026:11:01 10:00:00"
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="FaceFusion 3.0" '
        b'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        b'Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"/>'
        b"</rdf:RDF></x:xmpmeta>"
    )
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, exif=exif.tobytes(), xmp=xmp)
    data = buffer.getvalue()
    if thumbnail_of is not None:
        data = _with_thumbnail(data, thumbnail_of)
    path.write_bytes(data)
    return path


def _with_thumbnail(jpeg: bytes, picture: Image.Image) -> bytes:
    """Rebuild the EXIF APP1 segment with an IFD1 JPEG thumbnail (what cameras write)."""
    import struct

    thumb = io.BytesIO()
    picture.resize((160, 120)).save(thumb, "JPEG", quality=80)
    thumb_bytes = thumb.getvalue()
    # TIFF header (little endian), IFD0 with one entry (Software), IFD1 with thumbnail offset/length.
    software = b"Camera Firmware 1.0\x00"
    ifd0_offset = 8
    ifd0 = struct.pack("<H", 1) + struct.pack("<HHII", 0x0131, 2, len(software), 0) + struct.pack("<I", 0)
    ifd1_offset = ifd0_offset + len(ifd0)
    ifd1_size = 2 + 2 * 12 + 4
    software_offset = ifd1_offset + ifd1_size
    thumb_offset = software_offset + len(software)
    ifd0 = (
        struct.pack("<H", 1)
        + struct.pack("<HHII", 0x0131, 2, len(software), software_offset)
        + struct.pack("<I", ifd1_offset)
    )
    ifd1 = (
        struct.pack("<H", 2)
        + struct.pack("<HHII", 0x0201, 4, 1, thumb_offset)
        + struct.pack("<HHII", 0x0202, 4, 1, len(thumb_bytes))
        + struct.pack("<I", 0)
    )
    tiff = b"II*\x00" + struct.pack("<I", ifd0_offset) + ifd0 + ifd1 + software + thumb_bytes
    payload = b"Exif\x00\x00" + tiff
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    # Drop existing APP1 segments, insert ours right after SOI.
    pos, out = 2, [b"\xff\xd8", segment]
    while jpeg[pos] == 0xFF and jpeg[pos + 1] not in (0xDA,):
        length = int.from_bytes(jpeg[pos + 2 : pos + 4], "big")
        if jpeg[pos + 1] != 0xE1:
            out.append(jpeg[pos : pos + 2 + length])
        pos += 2 + length
    out.append(jpeg[pos:])
    return b"".join(out)


def _kinds(leads: list[dict]) -> dict[str, dict]:
    return {lead["kind"]: lead for lead in leads}


def test_stable_diffusion_and_comfyui_png_chunks(tmp_path: Path) -> None:
    sd = png_with_text(tmp_path / "00012-1234567890.png", {"parameters": SD_PARAMETERS})
    leads, thumb = provenance.image_leads(sd)
    found = _kinds(leads)["generator_parameters"]
    assert (
        found["seed"] == "1234567890"
        and found["model"] == "v1-5-pruned-emaonly"
        and found["model_hash"] == "6ce0161689"
    )
    assert found["trust"] == "medium" and found["has_prompt"] is True and thumb is None
    comfy = png_with_text(tmp_path / "ComfyUI_00001_.png", {"prompt": COMFY_PROMPT, "workflow": "{}"})
    leads, _ = provenance.image_leads(comfy)
    workflow = [lead for lead in leads if lead["kind"] == "generator_workflow" and lead["tool"] == "ComfyUI"]
    assert workflow and workflow[0]["nodes"] == ["CheckpointLoaderSimple", "KSampler", "SaveImage"]
    names = provenance.file_name_leads(["/uploads/ComfyUI_00001_.png", "00012-1234567890.png", "holiday.jpg"])
    assert [n["value"] for n in names] == ["ComfyUI_00001_.png", "00012-1234567890.png"]
    assert all(n["trust"] == "low" for n in names)
    plain = tmp_path / "plain.png"
    shapes_image(1, (100, 80)).save(plain, "PNG")
    assert provenance.image_leads(plain) == ([], None)


def test_exif_xmp_and_differing_thumbnail(tmp_path: Path) -> None:
    path = jpeg_with_exif(tmp_path / "a.jpg", software="FaceApp 11.2", make="Samsung", model="SM-S918N")
    leads = _kinds(provenance.image_leads(path)[0])
    assert leads["exif_software"]["value"] == "FaceApp 11.2" and leads["exif_software"]["trust"] == "medium"
    assert leads["exif_device"]["value"] == "Samsung SM-S918N"
    assert leads["xmp_software"]["value"] == "FaceFusion 3.0"
    assert leads["xmp_source_type"]["meaning"] == "declared AI-generated"
    # A thumbnail of the same picture is no lead; a thumbnail of another picture is.
    same = tmp_path / "same.jpg"
    same.write_bytes(_with_thumbnail(_plain_jpeg(shapes_image(5, (320, 240))), shapes_image(5, (320, 240))))
    assert "thumbnail_differs" not in _kinds(provenance.image_leads(same)[0])
    edited = tmp_path / "edited.jpg"
    edited.write_bytes(_with_thumbnail(_plain_jpeg(shapes_image(5, (320, 240))), shapes_image(77, (320, 240))))
    leads_list, thumb = provenance.image_leads(edited)
    assert "thumbnail_differs" in _kinds(leads_list) and thumb is not None and thumb.startswith(b"\xff\xd8")


def _plain_jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def test_video_container_tags(tmp_path: Path) -> None:
    import av
    import numpy as np

    path = tmp_path / "clip.mp4"
    with av.open(str(path), "w") as container:
        container.metadata["encoder"] = "Lavf60.16.100"
        container.metadata["comment"] = "made with roop 1.3"
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 40, dtype=np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    leads = _kinds(provenance.video_leads(path))
    assert leads["video_encoder"]["value"].startswith("Lavf")
    assert leads["video_generator"]["value"] == "made with roop 1.3" and leads["video_generator"]["trust"] == "medium"


def test_provenance_stage_through_scan(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sd = png_with_text(tmp_path / "00012-1234567890.png", {"parameters": SD_PARAMETERS})
    [obj] = cli.json_lines("scan", sd, "--json")
    kinds = [lead["kind"] for lead in obj["provenance"]["leads"]]
    assert "generator_parameters" in kinds
    number = cli("cases", "open", "t", "--artist", "A").stdout.strip()
    cli("cases", "add", number, obj["sha256"])
    detail = cli.json_lines("cases", "show", number, "--json")[0]
    assert detail["items"][0]["sha256"] == obj["sha256"]


def test_c2pa_manifest_is_a_lead(tmp_path: Path) -> None:
    from idolguard.cases.provenance_stage import _c2pa_leads
    from idolguard.pipeline.stage import StageContext
    from tests.detect.c2pa_signing import write_ai_signed_jpeg

    path = write_ai_signed_jpeg(tmp_path / "signed.jpg")
    ctx = StageContext(
        sha256="0" * 64, path=path, media_type="image", item={"mime": "image/jpeg"}, inputs={}, limits=None
    )  # type: ignore[arg-type]
    [lead] = _c2pa_leads(ctx)
    assert lead["kind"] == "c2pa" and lead["ai_generated"] is True
    assert lead["trust"] == "high" and lead["signer"] == "IdolGuard tests"  # a valid signature
    assert lead["meaning"] == "Content Credentials declare the file AI-generated"


def test_every_lead_meaning_has_a_code_and_korean(tmp_path: Path) -> None:
    """What a lead means is stored with a stable code beside the English; both catalogs say every code, the
    English catalog exactly as stored."""
    import re

    from idolguard.report.i18n import catalog

    ko, en = catalog("ko"), catalog("en")
    for code, english in provenance.MEANINGS.items():
        assert en[f"said.{code}"] == english, code
        assert re.search(r"[\uac00-\ud7a3]", ko[f"said.{code}"]), code
    sd = png_with_text(tmp_path / "00012-1234567890.png", {"parameters": SD_PARAMETERS, "Software": "ComfyUI"})
    photo = jpeg_with_exif(tmp_path / "a.jpg", software="FaceApp 11.2", make="Samsung", model="SM-S918N")
    leads = provenance.image_leads(sd)[0] + provenance.image_leads(photo)[0]
    leads += provenance.file_name_leads([str(sd)])
    assert leads and all(lead.get("meaning_code") in provenance.MEANINGS for lead in leads), leads
    png = next(lead for lead in leads if lead["source"] == "PNG text 'parameters'")
    assert png["source_code"] == "prov.src.png_text" and png["source_params"] == {"key": "parameters"}


def test_a_korean_report_says_where_a_lead_was_found_and_what_it_means(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import html
    import re

    from idolguard.cases.report_section import provenance_section
    from idolguard.report.i18n import said, speaking

    sd = png_with_text(tmp_path / "00012-1234567890.png", {"parameters": SD_PARAMETERS})
    report = tmp_path / "ko.html"
    [obj] = cli.json_lines("--lang", "ko", "scan", sd, "--json", "--report", report)
    text = html.unescape(re.sub(r"<pre.*?</pre>", "", report.read_text(encoding="utf-8"), flags=re.S))
    (lead,) = [lead for lead in obj["provenance"]["leads"] if lead["kind"] == "generator_parameters"]
    assert "Stable Diffusion WebUI 생성 설정값" in text and "PNG 텍스트 'parameters'" in text and "보통" in text
    assert lead["meaning"] not in text and "PNG text" not in text
    # A lead stored before the codes (evidence is never rewritten) is said from its English text when this
    # version knows the sentence (``provenance.recoded``); the stored lead stays as it was.
    old = {k: v for k, v in lead.items() if not k.endswith(("_code", "_params"))}
    kept = dict(old)
    with speaking("ko"):
        block = html.unescape(provenance_section(None, {"provenance": {"leads": [old]}}))  # type: ignore[arg-type]
    assert "Stable Diffusion WebUI 생성 설정값" in block and "PNG 텍스트 'parameters'" in block and old == kept
    unknown = {**old, "meaning": "a sentence this version does not know", "source": "somewhere new"}
    with speaking("ko"):
        block = html.unescape(provenance_section(None, {"provenance": {"leads": [unknown]}}))  # type: ignore[arg-type]
    assert "a sentence this version does not know" in block and "somewhere new" in block  # shown as stored
    assert said(lead, "meaning", "en") == lead["meaning"]
