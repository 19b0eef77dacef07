"""``POST /api/v1/uploads`` when the spool cannot be written (disk full, a name the file system refuses): as the
page does, a coded 507 (``upload.not_stored``), no job left "receiving", nothing left in the spool, and a log
line for the admin with the error's kind and errno but not the path (it holds the client's file name)."""

from __future__ import annotations

import io
import logging

from sqlalchemy import func, select

from idolguard.web import jobs
from idolguard.web.models import Job

from .test_api import bearer, token_for


def _jpeg() -> bytes:
    from idolguard.demo import shapes_image

    buffer = io.BytesIO()
    shapes_image(31, (128, 96)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def test_an_api_upload_that_cannot_be_spooled_leaves_nothing_and_is_coded(client, app_ws, caplog):
    token = token_for(app_ws, "ana", "analyst")
    # A real file-system refusal: a plain file stands where the next job's upload folder would be created.
    (app_ws.home / "uploads").mkdir(exist_ok=True)
    in_the_way = jobs.uploads_dir(app_ws, 1)
    in_the_way.write_bytes(b"in the way")
    with caplog.at_level(logging.WARNING, logger="idolguard.web.pages_intake"):
        response = client.post(
            "/api/v1/uploads",
            headers=bearer(token),
            files=[("files", ("secret-name.jpg", _jpeg(), "image/jpeg"))],
        )
    assert response.status_code == 507, response.text
    error = response.json()["error"]
    assert error["code"] == "not_stored" and error["reason"] == "upload.not_stored"
    assert "Errno" not in response.text and "Traceback" not in response.text
    with app_ws.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0  # no job left "receiving"
    assert in_the_way.read_bytes() == b"in the way"  # nothing spooled anywhere
    logged = [r.getMessage() for r in caplog.records if "could not be spooled" in r.getMessage()]
    assert logged and "errno" in logged[0] and "secret-name" not in logged[0] and str(app_ws.home) not in logged[0]

    in_the_way.unlink()  # the next upload is stored and queued as usual
    ok = client.post("/api/v1/uploads", headers=bearer(token), files=[("files", ("one.jpg", _jpeg(), "image/jpeg"))])
    assert ok.status_code == 202, ok.text
