"""The item page says which official photo a face was copied from, with the aligned pair only blurred."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from .conftest import STRONG, make_user, sign_in


def _official_bank_and_collage(ws, folder: Path) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    from skimage import data

    from idolguard.intake.ingest import Ingestor, SightingInfo
    from idolguard.pipeline.scan import scan_paths
    from idolguard.signals.banks import add_entries, create_bank
    from idolguard.signals.entries import entries_for_item
    from idolguard.web.triage import sync_reviews

    folder.mkdir(parents=True, exist_ok=True)
    portrait = Image.fromarray(np.asarray(data.astronaut()))
    portrait.save(folder / "official.jpg", quality=95)
    head = portrait.crop((120, 0, 360, 260)).resize((216, 234), Image.Resampling.BICUBIC).rotate(3)
    canvas = Image.fromarray(np.asarray(data.coffee())).resize((640, 480))
    canvas.paste(head, (300, 120))
    canvas.save(folder / "collage.jpg", quality=80)
    create_bank(ws, "official", "negative")
    official = next(iter(Ingestor(ws, SightingInfo(purpose="bank_reference")).ingest([folder / "official.jpg"])))
    assert official.sha256
    entries, _notes = entries_for_item(ws, official.sha256, official=True)
    add_entries(ws, "official", entries, event_details={"item": official.sha256})
    objects = scan_paths(ws, [folder / "collage.jpg"])
    sync_reviews(ws, [objects[0]["sha256"]])
    return official.sha256, objects[0]["sha256"]


def test_item_page_names_the_official_source_and_blurs_the_pair(client, app_ws, tmp_path):  # type: ignore[no-untyped-def]
    from idolguard.faces.detector import get_detector
    from idolguard.faces.models import ModelUnavailable

    try:
        get_detector()
    except ModelUnavailable as exc:
        import pytest

        pytest.skip(f"face detector model unavailable: {exc}")
    official, suspect = _official_bank_and_collage(app_ws, tmp_path / "media")
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG))
    page = client.get(f"/items/{suspect}", headers={"accept-language": "en-US,en;q=0.9"})
    assert page.status_code == 200
    assert "Copied from official photos" in page.text and official[:12] in page.text
    start = page.text.index(f"/items/{suspect}/attribution/") + len(f"/items/{suspect}/attribution/")
    pair = page.text[start : start + 64]
    figure = client.get(f"/items/{suspect}/attribution/{pair}.png")
    assert figure.status_code == 200
    shown = Image.open(io.BytesIO(figure.content))
    assert shown.mode == "L", "greyscale, blurred like every preview"
    assert client.get(f"/items/{suspect}/attribution/{official}.png").status_code == 404, "not this item's file"
    korean = client.get(f"/items/{suspect}", headers={"Accept-Language": "ko"})
    assert "공식 사진에서 복제된 얼굴" in korean.text
