"""Signal types, one class per type (in the spirit of python-threatexchange's ``SignalType``).

Every module of this package defines one ``SignalType`` subclass; ``all_types()`` finds them, so adding a
signal type (e.g. a future video-embedding signal) is one new file here. Code elsewhere asks the type
(``get("pdq").validate(raw)``, ``.index_kind``, ``.exportable``, ``.stopncii_name``...) instead of
branching on type names.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from idolguard.signals.types.base import SignalType


@cache
def all_types() -> dict[str, SignalType]:
    """name -> the signal type, for every module of this package (sorted by module name)."""
    found: dict[str, SignalType] = {}
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name != "base"):
        loaded = importlib.import_module(f"{__name__}.{module}")
        for value in vars(loaded).values():
            ours = isinstance(value, type) and issubclass(value, SignalType) and value is not SignalType
            if ours and value.__module__ == loaded.__name__:
                instance = value()
                if instance.name in found:
                    raise ValueError(f"two signal types are named {instance.name!r}")
                found[instance.name] = instance
    return found


def get(name: str) -> SignalType:
    try:
        return all_types()[name]
    except KeyError:
        raise KeyError(f"unknown signal type {name!r}") from None


def by_exchange_name(name: str) -> SignalType | None:
    """The type a ThreatExchange-style name (``pdq``, ``video_md5``, ``md5``, ...) denotes, or None."""
    wanted = name.strip().lower()
    for signal_type in all_types().values():
        if wanted in signal_type.import_names:
            return signal_type
    return None


def by_stopncii_name(name: str) -> SignalType | None:
    for signal_type in all_types().values():
        if signal_type.stopncii_name and signal_type.stopncii_name == name:
            return signal_type
    return None


def indexed_kinds() -> tuple[str, ...]:
    """The kinds of Hamming index the banks keep (one per indexed signal type)."""
    return tuple(t.name for t in all_types().values() if t.index_kind is not None)


__all__ = ["SignalType", "all_types", "by_exchange_name", "by_stopncii_name", "get", "indexed_kinds"]
