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
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG), lang="en")
    page = client.get(f"/items/{suspect}")
    assert page.status_code == 200
    assert "Copied from official photos" in page.text and official[:12] in page.text
    assert "keyframe" not in page.text, "a photo's row says nothing about tracks or keyframes"
    start = page.text.index(f"/items/{suspect}/attribution/") + len(f"/items/{suspect}/attribution/")
    pair = page.text[start : start + 64]
    figure = client.get(f"/items/{suspect}/attribution/{pair}.png")
    assert figure.status_code == 200
    shown = Image.open(io.BytesIO(figure.content))
    assert shown.mode == "L", "greyscale, blurred like every preview"
    assert client.get(f"/items/{suspect}/attribution/{official}.png").status_code == 404, "not this item's file"
    sign_in(client, make_user(app_ws, "kim", "analyst", password=STRONG), lang="ko")
    korean = client.get(f"/items/{suspect}")
    assert "공식 사진에서 복제된 얼굴" in korean.text


def test_artists_page_counts_each_artists_official_collection(client, app_ws, tmp_path):  # type: ignore[no-untyped-def]
    """`artists official add` shows on the artists page (KO and EN), only for artists the user may see."""
    import pytest
    from skimage import data

    from idolguard.faces.detector import get_detector
    from idolguard.faces.models import ModelUnavailable
    from idolguard.signals.official import add_official

    try:
        get_detector()
    except ModelUnavailable as exc:
        pytest.skip(f"face detector model unavailable: {exc}")
    from idolguard.faces.analysis import FaceAnalyzer
    from idolguard.gallery.store import enrol_artist

    folder = tmp_path / "media"
    folder.mkdir()
    portrait = Image.fromarray(np.asarray(data.astronaut()))
    portrait.save(folder / "official.jpg", quality=95)
    for quality, name in ((92, "Han Yuri"), (90, "Other Artist")):  # one photo file cannot be two artists'
        portrait.crop((40, 0, 480, 440)).save(folder / f"ref-{quality}.jpg", quality=quality)
        enrol_artist(app_ws, name, [folder / f"ref-{quality}.jpg"], None, analyzer=FaceAnalyzer())
    _summary, records = add_official(app_ws, "Han Yuri", [folder / "official.jpg"])
    assert records[0]["error"] is None
    sign_in(client, make_user(app_ws, "mgr", "manager", ["Han Yuri"], password=STRONG), lang="en")
    en = client.get("/artists")
    assert en.status_code == 200 and "Official collection" in en.text and "1 official item(s)" in en.text
    assert "Other Artist" not in en.text, "artists outside the user's scope stay hidden"
    sign_in(client, make_user(app_ws, "mgr2", "manager", ["Han Yuri"], password=STRONG), lang="ko")
    ko = client.get("/artists")
    assert "공식 컬렉션" in ko.text and "공식 자료 1개" in ko.text


def test_a_video_row_names_its_track_and_the_official_keyframe() -> None:
    """The item page's block for a video: the track, its best keyframe and how many keyframes agreed (KO/EN)."""
    from idolguard.web.deps import TEMPLATES
    from idolguard.web.i18n import translator

    row = {
        "face": 1,
        "track_id": 4,
        "t": 2.4,
        "frames_verified": 3,
        "frames_checked": 4,
        "official_item": "ab" * 32,
        "bank": "official.Han_Yuri",
        "official_frame": 50,
        "official_t": 2.0,
        "inliers": 97,
        "matches": 120,
        "scale": 1.01,
        "rotation_deg": 0.4,
    }
    template = TEMPLATES.get_template("_source_attribution.html.j2")
    en = template.render(o={"sha256": "cd" * 32, "source_attribution": [row]}, _=translator("en"))
    assert "track 4 at 2.4 s, verified on 3 of 4 keyframes" in en and "video keyframe at 2.0 s" in en
    ko = template.render(o={"sha256": "cd" * 32, "source_attribution": [row]}, _=translator("ko"))
    assert "트랙 4, 2.4초, 키프레임 4개 중 3개에서 확인" in ko and "영상 키프레임 2.0초" in ko
