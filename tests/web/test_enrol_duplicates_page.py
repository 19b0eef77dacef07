"""The enrolment page says, in the reader's language, why a photo already enrolled was not used again: for
this artist (``enrol.duplicate``) or for another one (``enrol.other_artist``: one face cannot be two artists,
and a new name with no other photo is not created). Real face pipeline (new-user tryout 2026-12-03)."""

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


def test_a_photo_already_enrolled_is_said_in_korean(app_ws, client) -> None:  # type: ignore[no-untyped-def]
    from skimage import data

    face = _png(np.asarray(data.astronaut()))
    sign_in(client, make_user(app_ws, "root", "admin", password=STRONG), lang="ko")

    def enrol(name: str):  # type: ignore[no-untyped-def]
        csrf = csrf_of(client.get("/artists").text)
        files = [("photos", ("무대 사진.png", face, "image/png"))]
        return client.post("/artists/enrol", data={"csrf": csrf, "name": name}, files=files)

    assert enrol("Eileen Collins").status_code == 200
    again = html.unescape(enrol("Eileen Collins").text)
    assert "이 사진은 이미 Eileen Collins의 기준 사진입니다." in again and "already enrolled" not in again
    other = enrol("Someone Else")
    assert other.status_code == 400  # nothing usable: nothing stored, no artist without references
    text = html.unescape(other.text)
    assert "이 사진은 이미 Eileen Collins의 기준 사진입니다. 한 얼굴이 두 아티스트일 수는 없습니다." in text
    assert "already a reference" not in text
    assert "Someone Else" not in html.unescape(client.get("/artists").text)
