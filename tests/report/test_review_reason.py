"""Why a face was capped at ``possible`` (``review_reason``) is said in the reports, in Korean and English from
the catalogs, never as the raw code: the HTML evidence report's faces block and the case report."""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from idolguard.faces.report import faces_section
from idolguard.gallery.matching import POSSIBLE, REFERENCE_MISMATCH
from idolguard.report.i18n import speaking
from tests.conftest import astronaut
from tests.faces.helpers import jpeg
from tests.faces.test_reembed import _enrol, _make_legacy

FACE = {"artist": "Eileen Collins", "decision": "possible", "similarity": 0.61, "margin": 0.2, "quality": 0.8}


def _block(face: dict, lang: str) -> str:  # type: ignore[type-arg]
    with speaking(lang):
        return html.unescape(faces_section(None, {"faces": [face]}))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("lang", "mismatch", "mirror"),
    [
        ("en", "embedded otherwise than the face thresholds", "mirrored face was not compared"),
        ("ko", "다르게 임베딩되어", "좌우 반전한 얼굴을 비교하지 않았습니다"),
    ],
)
def test_evidence_report_says_why_a_face_is_only_possible(lang: str, mismatch: str, mirror: str) -> None:
    said = _block({**FACE, "review_reason": "reference_embedding_mismatch"}, lang)
    assert mismatch in said and "reference_embedding_mismatch" not in said
    said = _block({**FACE, "review_reason": "mirror_view_missing"}, lang)
    assert mirror in said and "mirror_view_missing" not in said
    assert 'class="review-reason"' not in _block(FACE, lang)  # no reason, nothing added
    # a code this version does not know is shown as it is, not hidden
    assert "some_future_reason" in _block({**FACE, "review_reason": "some_future_reason"}, lang)


def test_case_report_says_why_a_face_is_only_possible(cli, tmp_path: Path, workspace) -> None:  # type: ignore[no-untyped-def]
    _enrol(cli, tmp_path)
    _make_legacy(workspace)  # references of the older kind: the face is capped at possible
    media = tmp_path / "media"
    media.mkdir()
    (media / "repost.jpg").write_bytes(jpeg(astronaut().resize((400, 400)), quality=60))
    obj = cli.json_lines("scan", media, "--json")[0]
    assert obj["faces"][0]["decision"] == POSSIBLE and obj["faces"][0]["review_reason"] == REFERENCE_MISMATCH
    number = cli("cases", "open", "t", "--artist", "Eileen Collins").stdout.strip()
    cli("cases", "add", number, obj["sha256"])
    pages = {}
    for lang in ("ko", "en"):
        cli("cases", "report", number, "--out", tmp_path / f"{lang}.html", "--lang", lang, "--format", "html")
        pages[lang] = html.unescape((tmp_path / f"{lang}.html").read_text(encoding="utf-8"))
    assert "다르게 임베딩되어" in pages["ko"] and "embedded otherwise" not in pages["ko"]
    assert "embedded otherwise than the face thresholds" in pages["en"]
    assert all("reference_embedding_mismatch" not in page for page in pages.values())
