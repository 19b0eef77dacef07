"""Typed, validated settings: every ``config.toml`` table is a dataclass an area declares (``Area.settings``).

A settings class is a dataclass with a ``section`` class attribute (its TOML table, dotted for sub-tables:
``"faces.matching"``) and fields with defaults; each field's ``metadata`` may hold ``help`` (written as a
comment by ``idolguard init`` and shown by ``config show``) and ``env`` (an environment variable that
overrides the file). ``validate`` checks a whole ``config.toml`` against every declared class: an unknown
table or key, or a value of the wrong type, is an error naming the key and the file line (typos are never
silently dropped). ``effective`` lists every value with its source (default / file / environment).

This module depends only on the standard library and the registry, so ``config.py`` can validate on load.
"""

from __future__ import annotations

import dataclasses
import os
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin

T = TypeVar("T")

_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\- \"']+?)\s*\]\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+|\"[^\"]+\")\s*=")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the config file, with where it is."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Value:
    """One effective setting and where it came from."""

    section: str
    key: str
    value: Any
    source: str  # "default" | "file" | "environment"
    help: str = ""


def all_settings_classes() -> list[type[Any]]:
    from idolguard import registry

    classes = [cls for _area, cls in registry.settings_classes()]
    sections = [cls.section for cls in classes]
    duplicates = sorted({s for s in sections if sections.count(s) > 1})
    if duplicates:
        raise ValueError(f"two settings classes declare [{', '.join(duplicates)}]")
    return classes


def _key_lines(text: str) -> dict[tuple[str, str], int]:
    """(table, key) -> line number, read from the file text (tomllib does not keep positions)."""
    lines: dict[tuple[str, str], int] = {}
    table = ""
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header and not line.lstrip().startswith("[["):
            table = ".".join(part.strip().strip("\"'") for part in header.group(1).split("."))
            lines.setdefault((table, ""), number)
            continue
        key = _KEY.match(line)
        if key:
            lines.setdefault((table, key.group(1).strip('"')), number)
    return lines


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp) if a is not type(None))
    if origin is list:
        (inner,) = get_args(tp) or (Any,)
        return f"list of {_type_name(inner)}"
    return {bool: "true/false", int: "integer", float: "number", str: "string"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _coerce(tp: Any, value: Any) -> Any:
    """The value as ``tp``, or ``TypeError``. Integers are accepted where numbers are; nothing else is cast."""
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in get_args(tp):
            return None
        for arg in get_args(tp):
            if arg is type(None):
                continue
            try:
                return _coerce(arg, value)
            except TypeError:
                pass
        raise TypeError
    if origin is list:
        (inner,) = get_args(tp) or (Any,)
        if not isinstance(value, list):
            raise TypeError
        return [_coerce(inner, v) for v in value]
    if tp is Any:
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise TypeError
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise TypeError
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise TypeError
    if tp is str:
        if isinstance(value, str):
            return value
        raise TypeError
    if tp is dict or get_origin(tp) is dict:
        if isinstance(value, dict):
            return value
        raise TypeError
    return value


def _hints(cls: type[Any]) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _fields(cls: type[Any]) -> list[dataclasses.Field[Any]]:
    return [f for f in dataclasses.fields(cls) if f.init and not f.name.startswith("_")]


def _table(raw: dict[str, Any], section: str) -> Any:
    value: Any = raw
    for part in section.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def validate(raw: dict[str, Any], text: str = "", path: str = "config.toml") -> list[Problem]:
    """Every problem of a parsed config against all declared settings classes (empty list: valid)."""
    classes = {cls.section: cls for cls in all_settings_classes()}
    lines = _key_lines(text)
    problems: list[Problem] = []

    def walk(table: dict[str, Any], prefix: str) -> None:
        for key, value in table.items():
            name = f"{prefix}.{key}" if prefix else key
            if name in classes:
                if not isinstance(value, dict):
                    problems.append(Problem(path, lines.get((prefix, key)), f"[{name}] must be a table"))
                    continue
                check(classes[name], value, name)
            elif isinstance(value, dict) and any(s.startswith(name + ".") for s in classes):
                walk(value, name)
            elif prefix in classes:
                pass  # reported by check()
            else:
                known = ", ".join(sorted(f"[{s}]" for s in classes))
                line = lines.get((name, "")) or lines.get((prefix, key))
                problems.append(Problem(path, line, f"unknown section [{name}] (known: {known})"))

    def check(cls: type[Any], table: dict[str, Any], section: str) -> None:
        hints = _hints(cls)
        known = {f.name: f for f in _fields(cls)}
        subsections = {
            s.split(".")[-1] for s in classes if s.startswith(section + ".") and s.count(".") == section.count(".") + 1
        }
        for key, value in table.items():
            line = lines.get((section, key))
            if key in subsections:
                continue
            field = known.get(key)
            if field is None:
                suggestion = _closest(key, list(known))
                hint = f"; did you mean {suggestion!r}?" if suggestion else ""
                problems.append(
                    Problem(path, line, f"unknown key {key!r} in [{section}]{hint} (known: {', '.join(sorted(known))})")
                )
                continue
            try:
                _coerce(hints[field.name], value)
            except TypeError:
                problems.append(
                    Problem(
                        path,
                        line,
                        f"[{section}] {key} must be {_type_name(hints[field.name])}, not {value!r}",
                    )
                )
        for key in subsections:
            if key in table and f"{section}.{key}" in classes and isinstance(table[key], dict):
                check(classes[f"{section}.{key}"], table[key], f"{section}.{key}")

    walk(raw, "")
    return problems


def _closest(word: str, candidates: list[str]) -> str | None:
    import difflib

    found = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return found[0] if found else None


def load(cls: type[T], raw: dict[str, Any] | None) -> T:
    """An instance of ``cls`` from a parsed config (validated values; defaults for the rest; environment
    overrides last). Invalid values raise ``ValueError`` (``validate`` reports them with lines first)."""
    table = _table(raw or {}, cls.section)  # type: ignore[attr-defined]
    table = table if isinstance(table, dict) else {}
    hints = _hints(cls)
    values: dict[str, Any] = {}
    for field in _fields(cls):
        if field.name in table:
            try:
                values[field.name] = _coerce(hints[field.name], table[field.name])
            except TypeError as exc:
                raise ValueError(f"[{cls.section}] {field.name} must be {_type_name(hints[field.name])}") from exc  # type: ignore[attr-defined]
        env_name = field.metadata.get("env")
        if env_name and os.environ.get(env_name):
            values[field.name] = _from_env(hints[field.name], os.environ[env_name], values.get(field.name))
    return cls(**values)


def _from_env(tp: Any, text: str, file_value: Any) -> Any:
    origin = get_origin(tp)
    if origin is list:
        extra = [part.strip() for part in text.split(",") if part.strip()]
        return list(file_value or []) + extra  # lists from the environment add to the file's
    if tp is bool:
        return text.strip().lower() in ("1", "true", "yes", "on")
    if tp is int:
        return int(text)
    if tp is float:
        return float(text)
    return text


def effective(raw: dict[str, Any]) -> list[Value]:
    """Every setting of every declared class with its effective value and source."""
    out: list[Value] = []
    for cls in all_settings_classes():
        table = _table(raw, cls.section)
        table = table if isinstance(table, dict) else {}
        loaded = load(cls, raw)
        for field in _fields(cls):
            env_name = field.metadata.get("env")
            if env_name and os.environ.get(env_name):
                source = "environment"
            elif field.name in table:
                source = "file"
            else:
                source = "default"
            out.append(
                Value(cls.section, field.name, getattr(loaded, field.name), source, field.metadata.get("help", ""))
            )
    return out


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:_}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(value)


def default_config_text() -> str:
    """The ``config.toml`` ``idolguard init`` writes: every section, every key at its default, with help."""
    parts = [
        "# IdolGuard workspace configuration. `idolguard config show` prints the effective values and their",
        "# source (default / file / environment); unknown keys and wrong types are refused with their line.",
    ]
    for cls in all_settings_classes():
        parts.append("")
        doc = (cls.__doc__ or "").strip().splitlines()
        if doc and not doc[0].startswith(cls.__name__ + "("):
            parts.append(f"# {doc[0]}")
        parts.append(f"[{cls.section}]")
        defaults = cls()
        for field in _fields(cls):
            help_text = field.metadata.get("help", "")
            env_name = field.metadata.get("env")
            if env_name:
                help_text = (help_text + f" (environment: {env_name})").strip()
            for line in _wrap(help_text):
                parts.append(f"# {line}")
            value = getattr(defaults, field.name)
            if value is None:
                parts.append(f"# {field.name} =")
            else:
                parts.append(f"{field.name} = {_toml_value(value)}")
    return "\n".join(parts) + "\n"


def _wrap(text: str, width: int = 110) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width) if text else []


def check_file(path: Path, raw: dict[str, Any], text: str) -> None:
    """Raise ``WorkspaceError`` listing every problem of the config file (exit code 4)."""
    from idolguard.errors import WorkspaceError

    problems = validate(raw, text, str(path))
    if problems:
        raise WorkspaceError("invalid configuration:\n" + "\n".join(f"  {p}" for p in problems))
