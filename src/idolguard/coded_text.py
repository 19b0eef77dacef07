"""Sentences the analysis stores for people, kept as a stable code and its values beside the English text.

A stage that explains itself (why a verdict, why a face was not judged, what a provenance lead means) stores
the English sentence as before (``verdict_reason``: old readers and ``--json`` consumers read it) and, next to
it, ``<field>_code`` and ``<field>_params``. Renderers in another language (the HTML reports, the web pages, the
case report) say the code from their catalog (``report/locales/{en,ko}.json``, keys ``said.<code>``) with the
values filled in; a value may itself be coded (``{"code": ..., "params": ...}``: a family's name, a nested
reason) or a list of coded values (joined with the catalog's ``LIST_JOIN`` entry: "; " in English, ". " in
Korean, where a semicolon reads as foreign punctuation; "; " when a catalog has none). Stored outputs are
evidence and never rewritten: an old output without a code, or a code the catalog does not know, shows its
stored English text.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Lookup = Callable[[str], "str | None"]

# The pseudo-code under which a catalog gives the separator of a list of coded values (``said._list_join``).
LIST_JOIN = "_list_join"


def coded(code: str, **params: Any) -> dict[str, Any]:
    """A code with its values (a value to nest in another's params, or a field's code and params)."""
    return {"code": code, "params": params}


def put(obj: dict[str, Any], field: str, text: str, code: str, **params: Any) -> None:
    """Store ``text`` as ``obj[field]`` and its code and values beside it."""
    obj[field] = text
    obj[f"{field}_code"] = code
    obj[f"{field}_params"] = params


def said(obj: Mapping[str, Any], field: str, lookup: Lookup) -> str:
    """``obj[field]`` in the renderer's language: its code's catalog sentence, filled; else the stored text."""
    stored = str(obj.get(field) or "")
    code = obj.get(f"{field}_code")
    if not code:
        return stored
    text = render(str(code), obj.get(f"{field}_params") or {}, lookup)
    return stored if text is None else text


def render(code: str, params: Mapping[str, Any], lookup: Lookup) -> str | None:
    """The catalog sentence of ``code`` filled with ``params`` (nested codes rendered too), or ``None`` when the
    catalog lacks the code or a value it names (the caller then shows the stored English)."""
    template = lookup(code)
    if template is None:
        return None
    values: dict[str, str] = {}
    for _literal, name, _spec, _conv in string.Formatter().parse(template):
        if not name:
            continue
        if name not in params:
            return None
        value = _value(params[name], lookup)
        if value is None:
            return None
        values[name] = value
    return template.format(**values)


def _value(value: Any, lookup: Lookup) -> str | None:
    if isinstance(value, Mapping) and "code" in value:
        return render(str(value["code"]), value.get("params") or {}, lookup)
    if isinstance(value, list) and all(isinstance(v, Mapping) and "code" in v for v in value):
        parts = [_value(v, lookup) for v in value]
        if any(p is None for p in parts):
            return None
        return (lookup(LIST_JOIN) or "; ").join(p for p in parts if p is not None)
    return str(value)


def template_pattern(template: str) -> re.Pattern[str]:
    """An English template as a pattern its filled-in text ``fullmatch``es: the literal text escaped, each
    ``{name}`` a lazy group of that name, a name used twice the same value both times. Shared by the readers
    that take a sentence's values back from its text (``cli_lang``'s error templates, ``verify``'s findings);
    stdlib only, so any layer may import it."""
    pattern, seen = "", set()
    for literal, name in re.findall(r"([^{]*)(?:\{(\w+)\})?", template):
        pattern += re.escape(literal)
        if name:
            pattern += f"(?P={name})" if name in seen else f"(?P<{name}>.+?)"
            seen.add(name)
    return re.compile(pattern, re.S)


Forms = Mapping[str, str] | Sequence[tuple[str, str]]


def recognised(field: str, text: str | None, forms: Forms) -> dict[str, Any]:
    """``{<field>_code, <field>_params}`` for ``text`` when it is one of ``forms`` (see ``recognise``), else
    nothing: merged into a view beside the stored text."""
    found = recognise(text or "", forms)
    return {f"{field}_code": found["code"], f"{field}_params": found["params"]} if found else {}


def recognise(text: str, forms: Forms) -> dict[str, Any] | None:
    """The code and values of ``text`` when it is one of ``forms`` (code -> English template with ``{name}``
    fields, or (code, template) pairs when a code has several) filled in: for sentences a module writes into a
    plain text column from its own fixed templates, so readers get the code back without a column of its own.
    ``None`` for any other text."""
    pairs = forms.items() if isinstance(forms, Mapping) else forms
    for code, template in pairs:
        pattern = ""
        for literal, name, _spec, _conv in string.Formatter().parse(template):
            pattern += re.escape(literal)
            if name:
                pattern += f"(?P<{name}>.+?)"
        matched = re.fullmatch(pattern, text, flags=re.S)
        if matched:
            return coded(code, **matched.groupdict())
    return None
