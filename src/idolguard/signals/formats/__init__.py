"""Hash-list exchange formats, one class per format; every module of this package defines one.

``get("threatexchange").read(handle)`` yields ``(line, signal type name, raw signal)`` (a raw value starting
with NUL is a line-level rejection reason); ``.write(entries, out, is_video_md5)`` writes a bank's entries
and returns counts. Adding a format is one new file here; signal-type specifics come from
``signals.types``.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from idolguard.signals.formats.base import ExchangeFormat


@cache
def all_formats() -> dict[str, ExchangeFormat]:
    found: dict[str, ExchangeFormat] = {}
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name != "base"):
        loaded = importlib.import_module(f"{__name__}.{module}")
        for value in vars(loaded).values():
            ours = isinstance(value, type) and issubclass(value, ExchangeFormat) and value is not ExchangeFormat
            if ours and value.__module__ == loaded.__name__:
                instance = value()
                found[instance.name] = instance
    return found


def names() -> tuple[str, ...]:
    order = ("threatexchange", "stopncii-json", "csv")  # the documented order; others after
    known = all_formats()
    return tuple([n for n in order if n in known] + sorted(n for n in known if n not in order))


def get(name: str) -> ExchangeFormat:
    from idolguard.errors import ErrorCode, IdolGuardError

    try:
        return all_formats()[name]
    except KeyError:
        choices = ", ".join(names())
        raise IdolGuardError(
            f"format must be one of {choices}", code=ErrorCode.HASHES_FORMAT, formats=choices
        ) from None


__all__ = ["ExchangeFormat", "all_formats", "get", "names"]
