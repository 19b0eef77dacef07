"""Making untrusted text safe to show: file names, archive members, URLs, notes and ledger details.

Evidence comes from hostile places. A zip member named ``evil\\x1b]0;t\\x07\\x1b[2K\\r\\x1b[32mALL CLEAN.jpg``
printed raw retitles the terminal and overwrites the line with a fake "ALL CLEAN"; a right-to-left override
(U+202E) makes ``gpj.exe`` look like ``exe.jpg``. Every human-readable output (tables, logs, HTML reports,
web pages) passes such text through :func:`safe_text` first, so what is shown is exactly what is stored, made
visible: control characters, bidirectional controls, line and paragraph separators and invisible format
characters become ``\\xNN`` / ``\\uNNNN`` escapes. Backslashes are kept as they are (Windows paths and the
``\\xNN`` that ``intake.paths.display_name`` writes for undecodable bytes stay readable): a name that spells
an escape with real backslashes is ambiguous to read, but it cannot control the terminal.
JSON output is not passed through here: its encoder already escapes control characters and keeps the exact
value for machines.
"""

from __future__ import annotations

import unicodedata

# Unicode categories shown as escapes: Cc control, Cf format (bidi overrides, zero-width joiners, BOM),
# Zl line separator, Zp paragraph separator, Cs lone surrogates (undecodable bytes), Co private use, Cn unassigned.
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
# Format characters that real names need (Korean and other scripts join with these).
_ALLOWED_FORMAT = frozenset({"\u200c", "\u200d"})


def _escape(char: str) -> str:
    code = ord(char)
    if char == "\n":
        return "\\n"
    if char == "\r":
        return "\\r"
    if char == "\t":
        return "\\t"
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def safe_text(value: object) -> str:
    """``value`` as text with every invisible or terminal-controlling character shown as a visible escape."""
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():
        return text  # fast path: isprintable is False for every category escaped below
    out = []
    for char in text:
        if char in _ALLOWED_FORMAT:
            out.append(char)
        elif unicodedata.category(char) in _ESCAPED_CATEGORIES:
            out.append(_escape(char))
        else:
            out.append(char)
    return "".join(out)


def safe_layout(fragment: str) -> str:
    """For text that is already laid out (an HTML fragment, a multi-line block): like :func:`safe_text`
    but newlines and tabs, which are its layout, stay as they are."""
    return "\n".join("\t".join(safe_text(part) for part in line.split("\t")) for line in fragment.split("\n"))


def jinja_visible(value: object) -> object:
    """A Jinja ``finalize`` for HTML templates: every printed text value through :func:`safe_layout` (line
    breaks of notes and bodies kept, ``\r\n`` read as one), so a bidi override or zero-width character in a
    file name, URL or note shows as an escape on any page; ``Markup`` the app built and non-text pass as is."""
    if type(value) is str and not value.isprintable():
        return safe_layout(value.replace("\r\n", "\n"))
    return value


def safe_markup(value: object) -> str:
    """:func:`safe_text` and then Rich markup escaping, for strings printed through a Rich console."""
    from rich.markup import escape

    return escape(safe_text(value))


def json_line(obj: object, indent: int | None = None) -> str:
    """A JSON document for a terminal, a pipe or a ``<pre>``: the same value ``json.loads`` gives back, but
    with DEL, C1 controls, bidirectional overrides and line separators written as ``\\uNNNN`` escapes
    (``json.dumps`` with ``ensure_ascii=False`` emits them raw, and a terminal showing the output obeys
    them). Raw newlines left by ``indent`` are layout (the encoder escapes those inside strings). NaN and
    infinities are written ``null`` (``json.dumps`` would write ``NaN``, which is not JSON)."""
    import json

    try:
        text = json.dumps(obj, ensure_ascii=False, default=str, indent=indent, allow_nan=False)
    except ValueError:  # NaN or an infinity (a rate over no trials): not JSON, a strict parser refuses the line
        text = json.dumps(_finite(obj), ensure_ascii=False, default=str, indent=indent, allow_nan=False)
    if text.replace("\n", "").isprintable():
        return text
    return "".join(_json_escape(c) for c in text)


def _finite(obj: object) -> object:
    """``obj`` with every NaN and infinity (a float, NumPy's float64 included) as ``None``: JSON ``null``."""
    import math

    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {key: _finite(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(value) for value in obj]
    return obj


def _json_escape(char: str) -> str:
    if char == "\n" or char in _ALLOWED_FORMAT or unicodedata.category(char) not in _ESCAPED_CATEGORIES:
        return char
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
    return f"\\u{high:04x}\\u{low:04x}"
