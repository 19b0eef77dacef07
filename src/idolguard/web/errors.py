"""Errors as pages show them: typed refusals in the reader's language, never internals.

The areas raise errors in English written for the command line (they name flags such as ``--again`` and config
keys such as ``capture.allow``), and operating-system errors carry server paths. Pages never read those texts:
every refusal people need explained carries a stable ``ErrorCode`` (``idolguard.errors``) and the values its
message names, and ``MESSAGES`` maps each code to a catalog message (KO/EN; ``tests/web/test_error_codes.py``
checks every code has both). Stored failures (a job's per-file results, a reported link) keep the code beside
the text, so they are translated later too.

Anything without a code is not explained in words of its own: the page says a generic translated sentence;
an English reader also gets the text of our own refusals (written for people in English; paths, errno codes
and, except for admins, config keys taken out), and admins get the detail of anything. It is logged with
paths, URLs' queries and errno codes taken out, never media. A refusal that readers meet often deserves a
code: add it to ``ErrorCode`` and ``MESSAGES`` (KO/EN).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from idolguard.errors import ErrorCode, IdolGuardError
from idolguard.web.i18n import N_

Gettext = Callable[..., str]
log = logging.getLogger("idolguard.web.errors")

# Form field names for the filing fields a case status change may lack (``CASE_FILED_NEEDS``'s ``fields``).
FILING_FIELDS = {"kind": N_("Kind"), "ref": N_("Reference"), "date": N_("Date"), "again": N_("Send again")}

# One catalog message per code; ``{name}`` fields come from the error's params.
MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.GENERIC: N_("The request could not be completed."),
    ErrorCode.CAPTURE_PRIVATE_ADDRESS: N_(
        "Not captured: {url} leads to a private or internal network address, which capture never reaches."
    ),
    ErrorCode.CAPTURE_HOST_NOT_FOUND: N_("Not captured: the address {host} could not be found."),
    ErrorCode.CAPTURE_DNS_TIMEOUT: N_("Not captured: looking up the address {host} took too long."),
    ErrorCode.CAPTURE_SCHEME: N_("Not captured: only http and https addresses can be captured."),
    ErrorCode.CAPTURE_INVALID_URL: N_("Not captured: this is not a valid web address."),
    ErrorCode.CAPTURE_CREDENTIALS: N_("Not captured: addresses with a user name or password in them are not captured."),
    ErrorCode.CAPTURE_BAD_IDN: N_("Not captured: the international host name is not valid."),
    ErrorCode.CAPTURE_UNREACHABLE: N_("Not captured: the site {host} did not answer or refused the connection."),
    ErrorCode.CAPTURE_TIME_LIMIT: N_("The capture stopped at its time limit; what arrived before is kept."),
    ErrorCode.CAPTURE_SIZE_LIMIT: N_("The capture stopped at its size limit; what arrived before is kept."),
    ErrorCode.CAPTURE_LIMIT: N_("The capture stopped at a safety limit; what arrived before is kept."),
    ErrorCode.CAPTURE_REDIRECTS: N_("Not captured: the address redirects in a loop or too many times."),
    ErrorCode.CAPTURE_HTTP_STATUS: N_("The page answered with HTTP status {status} (preserved as it was)."),
    ErrorCode.CAPTURE_FAILED: N_("The capture failed; try again later."),
    ErrorCode.RECORD_UNKNOWN: N_("There is no record {ref}."),
    ErrorCode.ROLE_NOT_ALLOWED: N_("Your role ({role}) may not do this; it needs: {roles}."),
    ErrorCode.CASE_FILED_NEEDS: N_("To mark the case as filed, fill in: {fields}."),
    ErrorCode.CASE_FILING_DATE: N_("'{text}' is not a date: write it as YYYY-MM-DD."),
    ErrorCode.CASE_FILING_FUTURE: N_("The filing date {day} is in the future."),
    ErrorCode.CASE_DESTROYED: N_("The evidence of {number} was destroyed; the case only keeps hashes."),
    ErrorCode.CASE_BAD_TRANSITION: N_("The case cannot go from '{current}' to '{status}'."),
    ErrorCode.CASE_ALREADY: N_("The case already has the status '{status}'."),
    ErrorCode.CASE_EMPTY_NOTE: N_("An empty note is not recorded: write something first."),
    ErrorCode.CASE_NOT_ASSIGNED: N_("{name} is not assigned to this case in this role."),
    ErrorCode.CASE_ALREADY_ASSIGNED: N_("{name} is already assigned to this case in this role."),
    ErrorCode.CASE_NEEDS_REASON: N_("Give a reason: it is recorded in the custody log."),
    ErrorCode.CASE_HOLD_ON: N_("The case is already under legal hold."),
    ErrorCode.CASE_HOLD_OFF: N_("The case is not under legal hold."),
    ErrorCode.CASE_RETENTION: N_("Retention is a number of days, 0 or more."),
    ErrorCode.CASE_ON_HOLD: N_("The case is under legal hold: lift the hold before destroying its evidence."),
    ErrorCode.CASE_NOT_CLOSED: N_("Close the case before destroying its evidence."),
    ErrorCode.CASE_SECOND_APPROVER: N_("Destroying evidence needs two different managers or admins to approve."),
    ErrorCode.TAKEDOWN_DUPLICATE: N_(
        "Notice {id} to this recipient already covers {url}. To send another one, tick 'Send again'."
    ),
    ErrorCode.TAKEDOWN_NOT_DRAFT: N_("Notice {id} is no longer a draft."),
    ErrorCode.TAKEDOWN_NO_SMTP: N_("E-mail sending is not set up; an administrator can set it up."),
    ErrorCode.TAKEDOWN_SEND_FAILED: N_("Sending notice {id} failed; it stays a draft. Try again later."),
    ErrorCode.TAKEDOWN_ALREADY: N_("Notice {id} already has the status '{status}'."),
    ErrorCode.TAKEDOWN_NOT_SENT: N_("Notice {id} has not been sent yet."),
    ErrorCode.TAKEDOWN_NO_URL: N_("The case has no sighting with a URL to report: a notice needs the exact location."),
    ErrorCode.PORTAL_NOT_FAILED: N_("Only a link whose capture failed can be retried."),
    ErrorCode.USER_EXISTS: N_("A user named {name} already exists."),
    ErrorCode.USER_UNKNOWN: N_("There is no user named {name}."),
    ErrorCode.USER_DISABLED: N_("The user {name} is disabled."),
    ErrorCode.USER_ALREADY_DISABLED: N_("{name} is already disabled."),
    ErrorCode.USER_NOT_DISABLED: N_("{name} is not disabled."),
    ErrorCode.USER_SELF_DISABLE: N_("You cannot disable your own account. Another administrator can."),
    ErrorCode.USER_LAST_ADMIN: N_(
        "{name} is the last active administrator. Add or enable another administrator first."
    ),
    ErrorCode.USER_NAME_INVALID: N_("User names are 1 to 64 characters: Latin letters, Hangul, digits and . _ - @"),
    ErrorCode.ROLE_UNKNOWN: N_("Choose one of the roles in the list."),
    ErrorCode.SCOPE_UNKNOWN_ARTISTS: N_(
        "Unknown artist(s) in the scope: {names}. Enrol them first, or check the spelling."
    ),
    ErrorCode.TOKEN_UNKNOWN: N_("There is no token {id}."),
    ErrorCode.TOKEN_SCOPE: N_("Choose read or write access."),
    ErrorCode.TOKEN_TTL: N_("Tokens must expire within {days} days: write for example 30d, 12h or 2w."),
    ErrorCode.TOKEN_READ_ONLY_ROLE: N_("{name}'s role can only read: issue a read-only token."),
    ErrorCode.DURATION_INVALID: N_(
        "'{text}' is not a duration: write for example 30d (days), 12h (hours) or 2w (weeks)."
    ),
    ErrorCode.PASSWORD_SHORT: N_("Passwords need at least 12 characters."),
    ErrorCode.PASSWORD_LONG: N_("Passwords have at most 1024 characters."),
    ErrorCode.PASSWORD_REPEATED: N_(
        "This password repeats one character or a short pattern. Choose a longer mix, e.g. a few words."
    ),
    ErrorCode.PASSWORD_SEQUENCE: N_(
        "This password is a keyboard or alphabet sequence. Choose something less guessable."
    ),
    ErrorCode.PASSWORD_COMMON: N_("This is a common password (digits added at the end do not help). Choose another."),
    ErrorCode.PASSWORD_NAME: N_("The password must not contain your user name."),
    ErrorCode.PASSWORD_SAME: N_("The new password is the same as the current one."),
    ErrorCode.PASSWORD_WRONG_CURRENT: N_("The current password is wrong."),
    ErrorCode.MEDIA_UNREADABLE: N_("This is not an image file we can read."),
    ErrorCode.MEDIA_UNSUPPORTED: N_("The file is kept, but it is not an image or video that can be analysed."),
    ErrorCode.ENROL_NO_FACE: N_("No face was found in this photo."),
    ErrorCode.ENROL_MANY_FACES: N_("{count} faces were found: a reference photo must show only the artist."),
    ErrorCode.ENROL_FACE_SMALL: N_("The face is too small ({px} px; at least {need} px are needed)."),
    ErrorCode.ENROL_POOR_QUALITY: N_(
        "The face is not clear enough (quality {score}; at least {need}): choose a sharper, more frontal photo."
    ),
    ErrorCode.ENROL_NONE_USABLE: N_("No photo could be used as a reference for {name}; nothing was stored."),
    ErrorCode.BATCH_PARTLY_FAILED: N_("{failed} of {total} failed."),
}

# What admins read instead (they may change settings, so the setting is named).
ADMIN_MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.TAKEDOWN_NO_SMTP: N_(
        "E-mail sending is not set up: set host and sender in [takedowns.smtp] of config.toml."
    ),
    ErrorCode.CAPTURE_PRIVATE_ADDRESS: N_(
        "Not captured: {url} leads to a private address; allow it with capture.allow if it is meant."
    ),
}


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
