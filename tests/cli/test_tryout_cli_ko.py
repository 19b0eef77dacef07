"""CLI findings of the 2026-12-03 new-user tryout, in Korean: ``cases show`` crashed with a traceback as soon as a
case had a note (the template's ``{text}`` collided with ``say``'s own parameter) and printed its times as raw UTC
ISO strings; ``watch add`` of a private or malformed link said why in English inside a Korean sentence."""

from __future__ import annotations

import re

import pytest

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def test_cases_show_with_a_note_in_korean_and_local_time(cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    number = cli("cases", "open", "Ring on X", "--artist", "Artist A").stdout.strip()
    cli("cases", "note", number, "상담 메모: 캡처 요청")
    monkeypatch.setenv("IDOLGUARD_LANG", "ko")
    monkeypatch.setenv("IDOLGUARD_TIMEZONE", "Asia/Seoul")
    shown = cli("cases", "show", number).stdout
    assert "메모" in shown and "상담 메모: 캡처 요청" in shown
    assert "KST" in shown and "+00:00" not in shown and not re.search(r"\d{2}:\d{2}:\d{2}\.\d+", shown)
    assert cli.json_lines("cases", "show", number, "--json")[0]["opened_at"].endswith("+00:00")  # JSON keeps ISO


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://169.254.169.254/latest/",
        "http://[::ffff:10.0.0.1]/",
        "http://localhost:8000/",
        "http://2130706433/",
        "http://user:pw@example.org/",
        "http://exa mple.org/",
    ],
)
def test_watch_add_refusals_are_said_in_korean(cli, monkeypatch, url: str) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("IDOLGUARD_LANG", "ko")
    refused = cli("watch", "add", url, "--kind", "page", "--every", "1h", ok=False)
    assert refused.exit_code != 0
    said = " ".join(refused.output.split())
    reason = said.split("감시할 수 없습니다:", 1)[1]
    assert HANGUL.search(reason), said
    for english in ("address", "link", "host", "accepted", "public site", "embedded"):
        assert english not in reason, said
