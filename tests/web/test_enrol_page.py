"""The enrolment result page names each photo as it was uploaded, says why a photo was not used (from the
reason's code, in the reader's language) and shows the per-photo and general warnings. Real face pipeline."""

from __future__ import annotations

import html
import io

import numpy as np
from PIL import Image

from .conftest import STRONG, csrf_of, make_user, sign_in


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def test_enrol_result_names_files_and_says_why(app_ws, client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from skimage import data

    face = _png(np.asarray(data.astronaut()))
    faceless = _png(np.full((200, 200, 3), 128, dtype=np.uint8))
    sign_in(client, make_user(app_ws, "root", "admin", password=STRONG), lang="ko")
    csrf = csrf_of(client.get("/artists").text)
    files = [
        ("photos", ("무대 사진 01.png", face, "image/png")),
        ("photos", ("grey wall.png", faceless, "image/png")),
        ("photos", ("notes.jpg", b"plain text, not a picture\n" * 10, "image/jpeg")),
    ]
    response = client.post("/artists/enrol", data={"csrf": csrf, "name": "New Artist"}, files=files)
    assert response.status_code == 200, response.text[:300]
    page = html.unescape(response.text)
    table = page.split('id="enrol-results"')[1].split("</table>")[0]
    rows = {row.split("</td>")[0].split(">")[-1]: row for row in table.split("<tr>")[2:]}
    assert set(rows) == {"무대 사진 01.png", "grey wall.png", "notes.jpg"}  # the names as uploaded
    assert "등록됨" in rows["무대 사진 01.png"]
    assert "이 사진에서 얼굴을 찾지 못했습니다." in rows["grey wall.png"]
    assert "읽을 수 있는 이미지 파일이 아닙니다." in rows["notes.jpg"]
    assert "no face found" not in page and "cannot identify" not in page and str(app_ws.home) not in page
    # One distinct reference: the general advice (more photos needed) is shown, in Korean.
    assert 'id="enrol-advice"' in page and "기준 사진" in page.split('id="enrol-advice"')[1]

    # Nothing usable: a 400 that says nothing was stored and lists each photo's reason.
    csrf = csrf_of(client.get("/artists").text)
    files = [("photos", ("grey wall.png", faceless, "image/png"))]
    refused = client.post("/artists/enrol", data={"csrf": csrf, "name": "Other Artist"}, files=files)
    assert refused.status_code == 400
    text = html.unescape(refused.text)
    assert "Other Artist의 기준 사진으로 쓸 수 있는 사진이 없어 아무것도 저장하지 않았습니다." in text
    assert "grey wall.png" in text and "이 사진에서 얼굴을 찾지 못했습니다." in text

    # English readers get the same in English.
    sign_in(client, make_user(app_ws, "eve", "admin", password=STRONG), lang="en", timezone="UTC")
    csrf = csrf_of(client.get("/artists").text)
    refused = client.post("/artists/enrol", data={"csrf": csrf, "name": "Other Artist"}, files=files)
    assert "No face was found in this photo." in html.unescape(refused.text)


def test_artists_page_warns_when_references_need_reembedding(app_ws, client) -> None:  # type: ignore[no-untyped-def]
    """References embedded otherwise than the calibration's (an older enrolment) are said on the artists page,
    in the reader's language, until ``artists reembed`` converts them."""
    from skimage import data
    from sqlalchemy import select

    from idolguard.gallery.models import ArtistReference

    sign_in(client, make_user(app_ws, "root", "admin", password=STRONG), lang="ko")
    csrf = csrf_of(client.get("/artists").text)
    files = [("photos", ("stage.png", _png(np.asarray(data.astronaut())), "image/png"))]
    assert client.post("/artists/enrol", data={"csrf": csrf, "name": "New Artist"}, files=files).status_code == 200
    assert 'id="reembed-warning"' not in client.get("/artists").text  # enrolled as calibrated: nothing to say
    with app_ws.write() as (session, _ledger):
        for row in session.execute(select(ArtistReference)).scalars():
            row.face = {k: v for k, v in dict(row.face).items() if k != "reference_embedding"}
    page = html.unescape(client.get("/artists").text)
    warning = page.split('id="reembed-warning"')[1].split("</p>")[0]
    assert "idolguard artists reembed" in warning and "가능성 있음" in warning and "1장" in warning


def test_artists_page_says_an_old_local_calibration_block_needs_redoing(app_ws, client) -> None:  # type: ignore[no-untyped-def]
    """A local ``[faces.matching]`` block from before ``reference_embedding`` was written is read as fitted for
    crop + mirror references: multi-scale references under it are flagged, and the page says to re-run
    ``calibrate faces`` or remove the block (re-embedding would not help)."""
    from skimage import data

    sign_in(client, make_user(app_ws, "root", "admin", password=STRONG), lang="ko")
    csrf = csrf_of(client.get("/artists").text)
    files = [("photos", ("stage.png", _png(np.asarray(data.astronaut())), "image/png"))]
    assert client.post("/artists/enrol", data={"csrf": csrf, "name": "New Artist"}, files=files).status_code == 200
    app_ws.config.raw.setdefault("faces", {})["matching"] = {"match_threshold": 0.5, "possible_threshold": 0.4}
    page = html.unescape(client.get("/artists").text)
    warning = page.split('id="reembed-warning"')[1].split("</p>")[0]
    assert "idolguard calibrate faces" in warning and "블록을 지워" in warning
    sign_in(client, make_user(app_ws, "eve", "admin", password=STRONG), lang="en", timezone="UTC")
    page = html.unescape(client.get("/artists").text)
    assert "remove the block" in page.split('id="reembed-warning"')[1].split("</p>")[0]
