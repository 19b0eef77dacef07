"""Errors as pages show them: known refusals in the reader's language, never internals.

The areas raise errors in English written for the command line (they name flags such as ``--again`` and config
keys such as ``capture.allow``) and operating-system errors carry server paths. Pages never show those texts as
they are: ``shown_error`` maps each known refusal to a catalog message (with the values it names), hides config
keys from anyone but admins, says CLI flags as the form's field names, and replaces anything else that looks like
a path, an errno or an OS error with a plain sentence.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from idolguard.web.i18n import N_

Gettext = Callable[..., str]

# Form field names for the CLI flags some refusals name (the case status form's filing fields).
FLAG_FIELDS = {"--kind": N_("Kind"), "--ref": N_("Reference"), "--date": N_("Date"), "--again": N_("Send again")}


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    message: str  # a catalog message; ``{name}`` fields come from the pattern's named groups
    admin_message: str | None = None  # what admins see instead (may name settings)
    build: Callable[[re.Match[str], Gettext], dict[str, str]] | None = None


def _missing_fields(match: re.Match[str], gettext: Gettext) -> dict[str, str]:
    flags = re.findall(r"--[a-z]+", match.group("flags"))
    return {"fields": ", ".join(gettext(FLAG_FIELDS.get(flag, flag.lstrip("-"))) for flag in flags)}


_PRIVATE = N_("Not captured: {url} leads to a private or internal network address, which capture never reaches.")
_PRIVATE_ADMIN = N_("Not captured: {url} leads to a private address; allow it with capture.allow if it is meant.")
_AGAIN = N_("Notice {id} to this recipient already covers {url}. To send another one, tick 'Send again'.")
_DURATION = N_("'{text}' is not a duration: write for example 30d (days), 12h (hours) or 2w (weeks).")
_USER_NAME = N_("User names are 1 to 64 characters: letters, digits and . _ - @")

RULES: tuple[Rule, ...] = (
    Rule(re.compile(r"refused (?P<url>\S+?): .*capture only reaches public addresses"), _PRIVATE, _PRIVATE_ADMIN),
    Rule(
        re.compile(r"cannot resolve host '(?P<host>[^']*)'|host '(?P<host2>[^']*)' has no addresses"),
        N_("Not captured: the address {host} could not be found."),
    ),
    Rule(
        re.compile(r"DNS lookup of '(?P<host>[^']*)' took longer"),
        N_("Not captured: looking up the address {host} took too long."),
    ),
    Rule(
        re.compile(r"refused (?P<url>.+?): only http and https URLs"),
        N_("Not captured: only http and https addresses can be captured."),
    ),
    Rule(
        re.compile(r"refused (?P<url>.+?): (?:whitespace or control characters|malformed URL|no host name)"),
        N_("Not captured: this is not a valid web address."),
    ),
    Rule(
        re.compile(r"refused (?P<url>.+?): URLs with embedded credentials"),
        N_("Not captured: addresses with a user name or password in them are not captured."),
    ),
    Rule(
        re.compile(r"refused (?P<url>.+?): invalid international host name"),
        N_("Not captured: the international host name is not valid."),
    ),
    Rule(
        re.compile(r"status filed needs (?P<flags>[-a-z, ]+)"),
        N_("To mark the case as filed, fill in: {fields}."),
        build=_missing_fields,
    ),
    Rule(re.compile(r"notice (?P<id>\d+) to (?P<recipient>\S+) already covers (?P<url>\S+); use --again"), _AGAIN),
    Rule(re.compile(r"user '(?P<name>.*)' already exists"), N_("A user named {name} already exists.")),
    Rule(re.compile(r"no user '(?P<name>.*)'"), N_("There is no user named {name}.")),
    Rule(re.compile(r"user '(?P<name>.*)' is disabled"), N_("The user {name} is disabled.")),
    Rule(re.compile(r"no token (?P<id>\d+)"), N_("There is no token {id}.")),
    Rule(re.compile(r"bad duration '(?P<text>.*)'"), _DURATION),
    Rule(re.compile(r"unknown role '(?P<role>.*)'"), N_("Choose one of the roles in the list.")),
    Rule(re.compile(r"passwords need at least 12 characters"), N_("Passwords need at least 12 characters.")),
    Rule(re.compile(r"^scope is read or write"), N_("Choose read or write access.")),
    Rule(re.compile(r"^user names are 1-64 characters"), _USER_NAME),
    Rule(
        re.compile(r"cannot identify image file|not an image|cannot decode|UnidentifiedImageError|truncated"),
        N_("This is not an image file we can read."),
    ),
    Rule(re.compile(r"^(?P<failed>\d+) of (?P<total>\d+) failed$"), N_("{failed} of {total} failed.")),
)

# Anything that looks like internals: an absolute path, an errno, an exception class name before a colon.
_PATH = re.compile(r"""(?:'|")?(?:/[\w.\-@+~]+){2,}/?(?:'|")?""")
_ERRNO = re.compile(r"\[Errno [-\d]+\]")
_CLASS = re.compile(r"^\s*[A-Z]\w*(?:Error|Exception)\s*:\s*")
_CONFIG = re.compile(r"\b(?:IDOLGUARD_[A-Z_]+|[a-z_]+\.[a-z_]+ ?=)")


def shown_error(gettext: Gettext, error: BaseException | str | None, *, admin: bool = False) -> str:
    """The text a page shows for ``error``: a known refusal in the reader's language, else the text with
    paths, errno codes and class names taken out; an OS error (not one of ours) only as a plain sentence."""
    if error is None:
        return ""
    if isinstance(error, OSError) and not _ours(error):
        return gettext(N_("The file or address could not be read."))
    text = str(error)
    for rule in RULES:
        match = rule.pattern.search(text)
        if match is None:
            continue
        values = {key.rstrip("2"): value for key, value in match.groupdict().items() if value is not None}
        if rule.build is not None:
            values.update(rule.build(match, gettext))
        message = rule.admin_message if admin and rule.admin_message else rule.message
        return gettext(message, **values)
    if _ERRNO.search(text):
        return gettext(N_("The file or address could not be read."))
    text = _CLASS.sub("", text)
    text = _PATH.sub("\u2026", text)
    if not admin:
        text = _CONFIG.sub("\u2026", text)
    return text.strip() or gettext(N_("Something went wrong."))


def _ours(error: BaseException) -> bool:
    from idolguard.errors import IdolGuardError

    return isinstance(error, IdolGuardError)
