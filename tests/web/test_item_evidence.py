"""The item page's media and capture artefacts: a real video shown only as a strip of blurred keyframes, and a
real web capture job (the local fixture site, Chromium, the in-process Huey worker) whose screenshot is shown
blurred and whose WACZ is an authorised, recorded, never-cached download."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter
from sqlalchemy import select

from idolguard.capture.models import Capture
from idolguard.db.models import LedgerEntry
from idolguard.web import jobs
from idolguard.web.triage import sync_reviews
from tests.capture.server import Site

from .conftest import STRONG, csrf_of, make_user, sign_in


def sharpness(img: Image.Image) -> float:
    """Mean absolute Laplacian response: high for edges and detail, near zero once blurred."""
    grey = np.asarray(img.convert("L"), dtype=np.float32)
    lap = np.asarray(img.convert("L").filter(ImageFilter.FIND_EDGES), dtype=np.float32)
    return float(lap[2:-2, 2:-2].mean()) if grey.size else 0.0


def test_video_item_is_a_strip_of_blurred_keyframes(client, app_ws, tmp_path: Path) -> None:
    from idolguard.demo import write_clip
    from idolguard.pipeline.scan import scan_paths

    clip = tmp_path / "clip.mp4"
    write_clip(clip, seconds=4.0, fps=15)  # a moving yellow square on blue; a keyframe every 12 frames
    [obj] = scan_paths(app_ws, [clip])
    sha = obj["sha256"]
    sync_reviews(app_ws, [sha])
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG))

    page = client.get(f"/items/{sha}")
    assert page.status_code == 200
    assert "<video" not in page.text  # nothing plays until a reveal, and then muted, never autoplay
    response = client.get(f"/items/{sha}/preview.png")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    strip = Image.open(io.BytesIO(response.content))
    assert strip.mode == "L"  # greyscale
    # Several keyframes side by side (128 px each, 4 px gaps), spread over the clip: the square has moved.
    frames = (strip.width + 4) // 132
    assert frames >= 4, strip.size
    tiles = [np.asarray(strip.crop((i * 132, 0, i * 132 + 128, strip.height)), dtype=np.float32) for i in range(frames)]
    assert np.abs(tiles[0] - tiles[-1]).mean() > 1.0
    # Blurred: far less detail than the same frame unblurred.
    from idolguard.media.frames import VideoReader

    first = next(VideoReader(clip, app_ws.config.limits).sample(every_s=0.0, keyframes_only=True))
    sharp = Image.fromarray(first.image).convert("L").resize((128, 96))
    assert sharpness(Image.fromarray(tiles[0].astype(np.uint8))) < sharpness(sharp) / 3

    # Revealed (with a reason): the original plays muted, with controls, never by itself.
    csrf = csrf_of(page.text)
    posted = client.post(f"/items/{sha}/reveal", data={"csrf": csrf, "reason": "identity_check"})
    assert posted.status_code == 303
    revealed = client.get(posted.headers["location"])
    assert revealed.status_code == 200
    assert "<video" in revealed.text and "muted" in revealed.text and "autoplay" not in revealed.text


def wait_done(client, job_id: int, timeout: float = 240) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.get(f"/jobs/{job_id}/progress.json").json()
        if state["state"] in ("done", "error"):
            return state
        time.sleep(0.5)
    raise AssertionError(f"capture job {job_id} did not finish")


@pytest.mark.slow
def test_capture_job_end_to_end_with_blurred_screenshot_and_wacz(
    client, app_ws, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    from idolguard.capture.browser import BrowserPool
    from idolguard.capture.settings import CHROMIUM_PATH

    if reason := BrowserPool(CHROMIUM_PATH).unavailable_reason():
        pytest.skip(reason)
    # Loopback is allowed for this test only, and only 127.0.0.1: the 'internal' server on 127.0.0.2 stays
    # forbidden, so the form refuses its URL (nothing queued) without a single request reaching it.
    monkeypatch.setenv("IDOLGUARD_CAPTURE_ALLOW", "127.0.0.1/32")
    sign_in(client, make_user(app_ws, "ana", "analyst", password=STRONG))
    csrf = csrf_of(client.get("/intake").text)
    urls = f"{site.base}/post/1\n{site.internal}/secret"
    refused = client.post("/intake/capture", data={"csrf": csrf, "urls": urls, "note": "fan report"})
    assert refused.status_code == 422 and "2번째 줄" in refused.text and "1번째 줄" not in refused.text
    with app_ws.sessions() as session:
        from idolguard.web.models import Job

        assert session.query(Job).count() == 0
    response = client.post("/intake/capture", data={"csrf": csrf, "urls": f"{site.base}/post/1", "note": "fan report"})
    assert response.status_code == 303
    job_id = int(response.headers["location"].rsplit("/", 1)[1])
    worker = jobs.InProcessWorker(app_ws)
    worker.start()
    try:
        state = wait_done(client, job_id)
    finally:
        worker.stop()
    assert state["state"] == "done"
    with app_ws.sessions() as session:
        from idolguard.web.models import Job

        results = session.get(Job, job_id).results
    [post] = results
    assert post["state"] == "ok" and len(post["media"]) == 3, post
    assert site.count("internal:") == 0  # the page links to it too: capture never follows it there

    # Every captured medium reached the triage queue (no artist: analysts see them).
    queue = client.get("/triage?status=all").text
    assert all(sha[:12] in queue for sha in post["media"])

    photo = post["media"][0]
    with app_ws.sessions() as session:
        capture = session.get(Capture, post["capture_id"])
        screenshot, wacz = capture.screenshot_sha256, capture.wacz_sha256
    assert screenshot and wacz
    page = client.get(f"/items/{photo}")
    assert f'id="capture-{post["capture_id"]}"' in page.text
    assert f"/items/{photo}/captures/{post['capture_id']}/screenshot.png" in page.text

    # The screenshot: only a blurred greyscale derivative, smaller than the page render.
    shot = client.get(f"/items/{photo}/captures/{post['capture_id']}/screenshot.png")
    assert shot.status_code == 200 and shot.headers["cache-control"] == "no-store"
    blurred = Image.open(io.BytesIO(shot.content))
    original = Image.open(io.BytesIO(app_ws.vault.read_bytes(screenshot)))
    assert blurred.mode == "L" and blurred.width <= 512 < original.width
    assert sharpness(blurred) < sharpness(original.convert("L").resize(blurred.size)) / 2
    # Its original only within a reveal of the item.
    assert client.get(f"/items/{photo}/captures/{post['capture_id']}/screenshot/999999").status_code == 403
    posted = client.post(f"/items/{photo}/reveal", data={"csrf": csrf_of(page.text), "reason": "legal_review"})
    assert posted.status_code == 303
    revealed = client.get(posted.headers["location"])
    assert revealed.status_code == 200
    link = f"/items/{photo}/captures/{post['capture_id']}/screenshot/"
    grant = revealed.text.split(link, 1)[1].split('"', 1)[0]
    full = client.get(link + grant)
    assert full.status_code == 200 and full.content == app_ws.vault.read_bytes(screenshot)
    assert full.headers["cache-control"] == "no-store"

    # A capture of another item is not reachable through this item.
    other = client.get(f"/items/{photo}/captures/{post['capture_id'] + 1000}/screenshot.png")
    assert other.status_code == 404

    # The WACZ: a reason is required; the download is the stored archive, never cached, and recorded.
    where = f"/items/{photo}/captures/{post['capture_id']}/wacz"
    assert client.post(where, data={"csrf": csrf_of(page.text), "reason": " "}).status_code == 400
    download = client.post(where, data={"csrf": csrf_of(page.text), "reason": "police request 2026-77"})
    assert download.status_code == 200
    assert download.content == app_ws.vault.read_bytes(wacz) and download.content[:2] == b"PK"
    assert download.headers["cache-control"] == "no-store"
    assert download.headers["content-disposition"].startswith("attachment;")
    with app_ws.sessions() as session:
        events = list(
            session.scalars(
                select(LedgerEntry).where(LedgerEntry.action == "web.download_wacz", LedgerEntry.item_sha256 == photo)
            )
        )
    assert len(events) == 1 and events[0].actor == "web:ana"
    assert events[0].details["capture_id"] == post["capture_id"] and events[0].details["wacz_sha256"] == wacz
    assert events[0].details["reason"] == "police request 2026-77"
    # Without the CSRF token nothing is downloaded or recorded.
    assert client.post(where, data={"csrf": "forged", "reason": "x"}).status_code == 403


def test_previews_of_an_encrypted_vault_are_encrypted_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No plaintext derivative of encrypted evidence on disk: the preview cache uses the vault's key."""
    import os

    from idolguard.evidence import crypto
    from idolguard.pipeline.scan import scan_paths
    from idolguard.web import previews
    from idolguard.workspace import Workspace, init_workspace
    from tests.web.conftest import media_file

    monkeypatch.setenv("IDOLGUARD_VAULT_KEY", os.urandom(32).hex())
    monkeypatch.delenv("IDOLGUARD_DB_URL", raising=False)
    home = tmp_path / "enc"
    init_workspace(home, encrypt=True)
    ws = Workspace.open(home)
    try:
        [obj] = scan_paths(ws, [media_file(tmp_path / "in", "a.jpg", 3)])
        first = previews.preview_png(ws, obj["sha256"], "image")
        assert first[:8] == b"\x89PNG\r\n\x1a\n"
        written = [p for p in (home / "cache").rglob("*") if p.is_file()]
        assert written, "the preview is cached"
        for path in written:
            data = path.read_bytes()
            assert crypto.is_encrypted_file(path) and b"PNG" not in data[:64] and first not in data
        assert previews.preview_png(ws, obj["sha256"], "image") == first  # read back through the key
        # An altered cache file is not trusted: the preview is made again from the vault.
        path = written[0]
        path.write_bytes(path.read_bytes()[:-1] + b"\x00")
        assert previews.preview_png(ws, obj["sha256"], "image") == first
    finally:
        ws.close()
