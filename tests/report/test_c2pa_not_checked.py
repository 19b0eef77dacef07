"""The evidence report's Content Credentials line says what was checked: a file whose credentials were never
read (the reader not installed) is "not checked", never "absent"; present but unreadable credentials say why,
not only "INVALID". Korean and English, from the report catalogs."""

from __future__ import annotations

import html

import pytest

from idolguard.detect import report_section
from idolguard.detect.content_credentials import NOT_INSTALLED
from idolguard.report.i18n import speaking

BASE = {"manipulation": {"model": {}, "faces": []}, "verdict": "no_evidence", "manipulation_score": 0.1}


def _block(credentials: dict, lang: str) -> str:  # type: ignore[type-arg]
    with speaking(lang):
        return html.unescape(report_section.render(None, {**BASE, "content_credentials": credentials}))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("lang", "not_checked", "absent"),
    [("en", "were not checked", "No C2PA Content Credentials"), ("ko", "확인하지 않았습니다", "자격 증명 없음")],
)
def test_never_read_credentials_are_not_checked_not_absent(lang: str, not_checked: str, absent: str) -> None:
    block = _block({"present": None, "error": NOT_INSTALLED}, lang)
    assert not_checked in block and absent not in block and "c2pa-python" in block
    assert absent in _block({"present": False}, lang)  # a file that was read and has none: absent


def test_unreadable_present_credentials_say_why() -> None:
    block = _block({"present": True, "signature_valid": False, "error": "manifest is truncated"}, "en")
    assert "INVALID" in block and "could not be read or verified" in block and "manifest is truncated" in block
