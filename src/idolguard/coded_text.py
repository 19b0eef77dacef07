"""Sentences the analysis stores for people, kept as a stable code and its values beside the English text.

A stage that explains itself (why a verdict, why a face was not judged, what a provenance lead means) stores
the English sentence as before (``verdict_reason``: old readers and ``--json`` consumers read it) and, next to
it, ``<field>_code`` and ``<field>_params``. Renderers in another language (the HTML reports, the web pages, the
case report) say the code from their catalog (``report/locales/{en,ko}.json``, keys ``said.<code>``) with the
values filled in; a value may itself be coded (``{"code": ..., "params": ...}``: a family's name, a nested
reason) or a list of coded values (joined with "; "). Stored outputs are evidence and never rewritten: an old
output without a code, or a code the catalog does not know, shows its stored English text.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from typing import Any

Lookup = Callable[[str], "str | None"]


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
        return None if any(p is None for p in parts) else "; ".join(p for p in parts if p is not None)
    return str(value)
