"""Errors as pages show them: typed refusals in the reader's language, never internals.

The areas raise errors in English written for the command line (they name flags such as ``--again`` and config
keys such as ``capture.allow``), and operating-system errors carry server paths. Pages never read those texts:
every refusal people need explained carries a stable ``ErrorCode`` (``idolguard.errors``) and the values its
message names, and ``MESSAGES`` (``idolguard/error_messages.py``, shared with the CLI) maps each code to a
catalog message (KO in ``locales/errcodes.ko.po``; ``tests/web/test_error_codes.py`` checks every code has
both). Stored failures (a job's per-file results, a reported link) keep the code beside the text, so they are
translated later too.

Anything without a code is not explained in words of its own: the page says a generic translated sentence;
an English reader also gets the text of our own refusals (written for people in English; paths, errno codes
and, except for admins, config keys taken out), and admins get the detail of anything. It is logged with
paths, URLs' queries and errno codes taken out, never media. A refusal that readers meet often deserves a
code: add it to ``ErrorCode``, ``error_messages.MESSAGES`` and ``locales/errcodes.ko.po`` (a raise without a code
in the modules ``tests/test_error_coverage.py`` walks fails there).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from idolguard import error_messages
from idolguard.errors import ErrorCode, IdolGuardError
from idolguard.web.i18n import N_

Gettext = Callable[..., str]
log = logging.getLogger("idolguard.web.errors")

# Form field names for the filing fields a case status change may lack (``CASE_FILED_NEEDS``'s ``fields``).
FILING_FIELDS = {"kind": N_("Kind"), "ref": N_("Reference"), "date": N_("Date"), "again": N_("Send again")}

MESSAGES = error_messages.MESSAGES  # one table for both front doors: idolguard/error_messages.py
ADMIN_MESSAGES = error_messages.ADMIN_MESSAGES


# A message's values that are themselves catalog words (the filing form's field names, statuses, roles).
def _words(*names: str) -> Callable[[dict[str, Any], Gettext], dict[str, str]]:
    return lambda params, gettext: {
        n: ", ".join(gettext(w.strip()) for w in str(params.get(n, "")).split(",") if w.strip()) for n in names
    }


_BUILD: dict[ErrorCode, Callable[[dict[str, Any], Gettext], dict[str, str]]] = {
    ErrorCode.ROLE_NOT_ALLOWED: _words("role", "roles"),
    ErrorCode.CASE_BAD_TRANSITION: _words("current", "status"),
    ErrorCode.CASE_ALREADY: _words("status"),
    ErrorCode.TAKEDOWN_ALREADY: _words("status"),
    ErrorCode.CASE_FILED_NEEDS: lambda params, gettext: {
        "fields": ", ".join(
            gettext(FILING_FIELDS.get(f, f)) for f in str(params.get("fields", "")).split(",") if f.strip()
        )
    },
}

# Internals never shown: an absolute path, an errno, an exception class name before a colon, a config key.
_PATH = re.compile(r"""(?<![\w:/.])(?:'|")?(?:/[\w.\-@+~]+){2,}/?(?:'|")?""")  # not a URL's path
_ERRNO = re.compile(r"\[Errno [-\d]+\]")
_CLASS = re.compile(r"^\s*[A-Z]\w*(?:Error|Exception)\s*:\s*")
_CONFIG = re.compile(r"\b(?:IDOLGUARD_[A-Z_]+|[a-z_]+\.[a-z_]+ ?=)")
_QUERY = re.compile(r"(https?://[^\s?#'\"]+)[?#][^\s'\"]*")


def message(gettext: Gettext, code: ErrorCode, params: Mapping[str, Any] | None = None, *, admin: bool = False) -> str:
    """The catalog message for ``code`` in the reader's language, filled with ``params`` (missing values are
    shown as an ellipsis rather than failing the page)."""
    params = dict(params or {})
    template = (ADMIN_MESSAGES.get(code) if admin else None) or MESSAGES[code]
    if code in _BUILD:
        params.update(_BUILD[code](params, gettext))
    values = {name: params.get(name, "\u2026") for name in re.findall(r"{(\w+)}", template)}
    return gettext(template, **values) if values else gettext(template)


def shown_error(
    gettext: Gettext,
    error: BaseException | Mapping[str, Any] | str | None,
    *,
    admin: bool = False,
    english: bool | None = None,
) -> str:
    """The text a page shows for ``error``:

    - an error with a code: its catalog message;
    - a stored record (``{"error", "error_code", "error_params"}``, e.g. a job's per-file result or a reported
      link): the code's message, else as an unexplained error;
    - a string: text the page composed itself (already in the reader's language): shown without internals;
    - anything else: the generic message (plus the cleaned text for English readers of our own refusals and for
      admins), and a log line without paths or media.
    """
    if error is None or error == "":
        return ""
    if isinstance(error, str):
        return _clean(error, admin) or gettext(MESSAGES[ErrorCode.GENERIC])
    if isinstance(error, Mapping):
        text = str(error.get("error") or "")
        if not text and not error.get("error_code"):
            return ""
        code = _known(error.get("error_code"))
        if code is not None and code is not ErrorCode.GENERIC:
            return message(gettext, code, error.get("error_params") or {}, admin=admin)
        return _unexplained(gettext, text, ours=True, admin=admin, english=english)
    code = getattr(error, "code", None) if isinstance(error, IdolGuardError) else None
    if code is not None and code is not ErrorCode.GENERIC and code in MESSAGES:
        return message(gettext, code, getattr(error, "params", {}), admin=admin)
    return _unexplained(gettext, error, ours=isinstance(error, IdolGuardError), admin=admin, english=english)


def stored_failure(
    gettext: Gettext, text: Any, code: Any = None, params: Any = None, *, stage: str | None = None, admin: bool = False
) -> str:
    """A failure stored as English text with, since codes were stored beside it, its code and values (a stage's
    error in its result or its custody event): the code's catalog message; else, for a ``probe`` refusal stored
    before codes, the code recognised from its text (``media.probe.FAILURE_FORMS``); else the stored text
    without internals: old rows keep saying what they said, never a generic sentence that hides it."""
    known = _known(code)
    if known is not None and known is not ErrorCode.GENERIC and known in MESSAGES:
        return message(gettext, known, params if isinstance(params, Mapping) else {}, admin=admin)
    if stage in (None, "probe") and text:
        from idolguard.coded_text import recognise
        from idolguard.media.probe import FAILURE_FORMS

        found = recognise(str(text), FAILURE_FORMS)
        if found and _known(found["code"]) in MESSAGES:
            return message(gettext, ErrorCode(found["code"]), found["params"], admin=admin)
    return _clean(str(text or ""), admin)


def _known(code: object) -> ErrorCode | None:
    try:
        return ErrorCode(str(code)) if code else None
    except ValueError:
        return None  # a code from a newer version: explained as unknown


def _unexplained(gettext: Gettext, error: BaseException | str, *, ours: bool, admin: bool, english: bool | None) -> str:
    detail = _clean(str(error), admin=True) if not isinstance(error, OSError) or ours else ""
    kind = type(error).__name__ if isinstance(error, BaseException) else "stored"
    log.warning(
        "unexplained error shown as generic (%s): %s", kind, _QUERY.sub(lambda m: m.group(1) + "?\u2026", detail)[:300]
    )
    generic = gettext(MESSAGES[ErrorCode.GENERIC])
    if english is None:
        english = generic == MESSAGES[ErrorCode.GENERIC]
    if detail and (admin or (english and ours)):
        shown = detail if admin else _clean(str(error), admin=False)
        return f"{generic} {shown}" if shown else generic
    return generic


def _clean(text: str, admin: bool) -> str:
    if _ERRNO.search(text):
        text = _ERRNO.sub("", text)
    text = _CLASS.sub("", text)
    text = _PATH.sub("\u2026", text)
    if not admin:
        text = _CONFIG.sub("\u2026", text)
    return text.strip()
