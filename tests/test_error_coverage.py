"""Every refusal people meet carries a typed code with a Korean message, for the web pages and the CLI alike.

Walks the source of the areas whose errors reach people (media decoding, intake, the vault, capture, cases,
takedowns: what a scan, an upload, a case page or a notice refuses) and finds every ``raise`` of one of our
errors (``IdolGuardError`` and subclasses). Each must name a code (``code=ErrorCode.X``) or be of a class whose
own code is specific, and every code must have a message (``error_messages.MESSAGES``) with Korean in the
shared catalog (``locales/errcodes.ko.po``) naming the same fields. A new ``raise`` without a code fails here
with the file and line to fix (in the manner of datasette's tests/test_docs.py).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

from idolguard import cli_lang
from idolguard.error_messages import ADMIN_MESSAGES, MESSAGES
from idolguard.errors import ErrorCode, IdolGuardError, StorageFull

SRC = Path(__file__).resolve().parents[1] / "src" / "idolguard"
HANGUL = re.compile(r"[\uac00-\ud7a3]")

# Modules whose refusals reach people through a page, a job's results, a report or a command's output.
USER_FACING = [
    "media/image.py",
    "media/frames.py",
    "media/probe.py",
    "intake/archives.py",
    "intake/ingest.py",
    "intake/source_url.py",
    "evidence/vault.py",
    "capture/views.py",
    "capture/netpolicy.py",
    "capture/fetch.py",
    "capture/service.py",
    "capture/browser.py",
    "capture/archive.py",
    "capture/tsa.py",
    "capture/ytdlp.py",
    "cases/service.py",
    "cases/accounts.py",
    "cases/retention.py",
    "takedowns/notices.py",
    "incidents/views.py",
    "web/triage.py",
    "monitor/service.py",
    "signals/pdq.py",
    "signals/vpdq.py",
    "signals/exchange.py",
    "signals/banks.py",
    "signals/bank_changes.py",
    "signals/formats/csv_format.py",
    "signals/formats/stopncii_json.py",
]


def _error_class(module: object, name: str) -> type[IdolGuardError] | None:
    found = getattr(module, name, None)
    return found if inspect.isclass(found) and issubclass(found, IdolGuardError) else None


def raise_sites(relative: str) -> list[tuple[int, str, ErrorCode | None]]:
    """(line, class name, code) of each ``raise`` of one of our errors in a module; the code is the one named
    at the raise (``code=ErrorCode.X``), else the class's own, ``None`` when neither is specific."""
    path = SRC / relative
    module = importlib.import_module("idolguard." + ".".join(Path(relative).with_suffix("").parts))
    sites = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
            continue
        func = node.exc.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        cls = _error_class(module, name)
        if cls is None:
            continue
        named = [k.value for k in node.exc.keywords if k.arg == "code"]
        positional = [
            a for a in node.exc.args if isinstance(a, ast.Attribute) and ast.unparse(a).startswith("ErrorCode.")
        ]
        code: ErrorCode | None = None
        for expr in named + positional:
            # ``ErrorCode.X``, or one chosen at run time (``A if on else B``): every name in it must exist
            names = re.findall(r"ErrorCode\.(\w+)", ast.unparse(expr))
            code = [ErrorCode[n] for n in names][-1] if names else None
        # A class's own code counts when it says something specific (MediaError's default only says the
        # file is not an image we can read: a decoder's refusal names why).
        if code is None and cls.code not in (ErrorCode.GENERIC, ErrorCode.MEDIA_UNREADABLE):
            code = cls.code
        sites.append((node.lineno, name, code))
    return sites


@pytest.mark.parametrize("relative", USER_FACING)
def test_every_refusal_people_meet_has_a_code(relative: str) -> None:
    sites = raise_sites(relative)
    assert sites, f"{relative}: no raise of our errors found (moved? update USER_FACING)"
    missing = [
        f"{relative}:{line} raise {name}(...)" for line, name, code in sites if code in (None, ErrorCode.GENERIC)
    ]
    assert not missing, (
        "these refusals have no typed code, so Korean readers get a generic sentence on the web and English "
        "on the CLI when no errors.ko.po template matches; add code=ErrorCode.X (and the message, in "
        "error_messages.py and locales/errcodes.ko.po):\n" + "\n".join(missing)
    )


def test_every_code_is_said_in_korean_by_the_cli_too() -> None:
    """The CLI reads the shared catalog: each code's message (the administrators' wording where one exists)
    has real Korean there, naming the same fields as the English."""
    korean = cli_lang.catalog("ko")
    for code in ErrorCode:
        template = ADMIN_MESSAGES.get(code) or MESSAGES[code]
        assert HANGUL.search(korean.get(template, "")), f"{code}: the CLI has no Korean for {template!r}"
        assert set(re.findall(r"{(\w+)}", korean[template])) == set(re.findall(r"{(\w+)}", template)), code


def test_a_coded_error_without_a_cli_template_is_said_from_its_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """An error whose English text no ``errors.ko.po`` template matches is still shown in Korean, with its
    specifics, through its code; English readers keep the English text; an error without a code keeps its text."""
    english = "too many members in the archive (70000; at most 50000)"
    error = IdolGuardError(english, code=ErrorCode.ARCHIVE_ENTRIES, count=70000, limit=50000)
    monkeypatch.setenv("IDOLGUARD_LANG", "ko")
    shown = cli_lang.tr_error(error)
    assert HANGUL.search(shown) and "70000" in shown and "50000" in shown and "members" not in shown
    assert cli_lang.tr_error(IdolGuardError("nothing matches this sentence")) == "nothing matches this sentence"
    assert HANGUL.search(cli_lang.tr_error(StorageFull("disk full while storing x.jpg")))
    monkeypatch.setenv("IDOLGUARD_LANG", "en")
    assert cli_lang.tr_error(error) == english


def test_the_probes_stored_refusals_are_recognised_with_their_codes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The runner stores a failed stage as text: each refusal the probe raises is recognised back to the code it
    was raised with (``media.probe.FAILURE_FORMS``), so the upload job explains it in the reader's language."""
    from idolguard.coded_text import recognise
    from idolguard.config import Limits
    from idolguard.errors import MediaError
    from idolguard.media.probe import FAILURE_FORMS, probe

    cases = {
        "corrupt.jpg": b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF\x00" + b"garbage" * 40,
        "notes.jpg": b"plain text, not a picture\n" * 10,
        "clip.mp4": b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200,
    }
    seen = set()
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(MediaError) as raised:
            probe(path, Limits())
        found = recognise(str(raised.value), FAILURE_FORMS)
        assert found is not None and found["code"] == str(raised.value.code), (name, str(raised.value))
        seen.add(found["code"])
    assert {"media.corrupt", "media.unsupported"} <= seen, seen


@pytest.mark.parametrize(
    "stored",
    [
        "browser: browser time limit of 30 s reached",
        "media https://example.org/a.jpg: corrupt or truncated image: broken data stream",
        "TLS certificate not trusted: self-signed certificate (captured anyway)",
        "screenshot skipped: WebSockets are not captured",
    ],
)
def test_a_captures_stored_problems_are_said_in_korean(stored: str) -> None:
    """A capture's per-step problems are stored as English text (evidence, never rewritten); the capture report
    and the CLI say them from the error templates, keeping data (URLs, a library's own words) as stored."""
    korean = cli_lang.tr_stored(stored, None, None, "ko")
    assert HANGUL.search(korean) and korean != stored
    assert not re.search(r"\b(browser|reached|skipped|captured anyway|media https)\b", korean), korean
    assert cli_lang.tr_stored(stored, None, None, "en") == stored


def test_a_decompression_bomb_is_explained_with_its_pixel_limit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The probe's bomb refusal names the configured limit in its stored English, so the upload job (which
    recognises the code back from that text) says the number in both languages instead of an ellipsis."""
    from PIL import Image

    from idolguard.coded_text import recognise
    from idolguard.config import Limits
    from idolguard.errors import MediaError
    from idolguard.media.probe import FAILURE_FORMS, probe
    from idolguard.web.errors import shown_error
    from idolguard.web.i18n import translator
    from idolguard.web.jobs import _upload_error_code

    path = tmp_path / "bomb.png"
    Image.new("1", (400, 400)).save(path)  # 160,000 pixels: over twice the limit below, so Pillow refuses it
    limits = Limits(max_image_pixels=10_000)
    with pytest.raises(MediaError) as raised:
        probe(path, limits)
    assert raised.value.code is ErrorCode.MEDIA_BOMB, str(raised.value)
    found = recognise(str(raised.value), FAILURE_FORMS)
    assert found is not None and found["code"] == "media.bomb" and found["params"]["limit"] == "10000", found
    job_row = {"error": str(raised.value), "stage_errors": {"probe": str(raised.value)}}
    coded = {"error": str(raised.value), **_upload_error_code(job_row)}
    for lang in ("ko", "en"):
        shown = shown_error(translator(lang), coded, english=lang == "en")
        assert "10000" in shown and "\u2026" not in shown, (lang, shown)
    assert HANGUL.search(shown_error(translator("ko"), coded))
    # A refusal stored before the limit was in our own words still has one: Pillow's, inside its sentence.
    old = (
        "image exceeds the decompression-bomb limit: Image size (160000 pixels) exceeds limit of 20000 pixels, "
        "could be decompression bomb DOS attack.; preserved, not decoded"
    )
    old_found = recognise(old, FAILURE_FORMS)
    assert old_found is not None and old_found["code"] == "media.bomb" and old_found["params"]["limit"] == "20000"
    # The CLI says the new sentence in Korean too, keeping the number.
    korean = cli_lang.tr_stored(str(raised.value), None, None, "ko")
    assert HANGUL.search(korean) and "10000" in korean and "preserved" not in korean, korean
