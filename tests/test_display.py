"""safe_text / json_line: hostile names are shown visibly, never obeyed by a terminal."""

from __future__ import annotations

import json

from idolguard.display import json_line, safe_markup, safe_text

EVIL = "evil\x1b]0;title\x07\x1b[2K\r\x1b[32mALL CLEAN\x1b[0m.jpg"


def test_terminal_escapes_become_visible() -> None:
    shown = safe_text(EVIL)
    assert "\x1b" not in shown and "\x07" not in shown and "\r" not in shown
    assert shown == "evil\\x1b]0;title\\x07\\x1b[2K\\r\\x1b[32mALL CLEAN\\x1b[0m.jpg"


def test_rtl_override_newline_and_c1_are_shown() -> None:
    assert safe_text("photo\u202egpj.exe") == "photo\\u202egpj.exe"
    assert safe_text("a\nb") == "a\\nb"
    assert safe_text("x\x9by\x7f") == "x\\x9by\\x7f"
    assert safe_text("line\u2028sep") == "line\\u2028sep"


def test_ordinary_names_unchanged() -> None:
    for name in ("리사_사진 (1).jpg", "C:\\evidence\\a.png", "naïve café.mp4", "zwj\u200dname"):
        assert safe_text(name) == name


def test_markup_is_escaped_for_rich() -> None:
    assert "\\[red]" in safe_markup("[red]fake[/]")


def test_json_line_round_trips_and_hides_controls() -> None:
    value = {"path": EVIL + "\u202e\x9b", "name": "리사"}
    line = json_line(value)
    assert json.loads(line) == value
    assert all(c not in line for c in "\x1b\x07\r\u202e\x9b")
    assert "리사" in line
