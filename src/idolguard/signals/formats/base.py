"""The ``ExchangeFormat`` interface: reading and writing one hash-list format, streaming."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar, TextIO


class ExchangeFormat(ABC):
    """A hash-list format. ``read`` streams ``(line or record number, signal type name, raw signal)``; a raw
    signal starting with ``"\\x00"`` is a rejection reason for that line. ``write`` streams entries out and
    returns counts per signal type written (``skipped_<type>`` for those the format cannot carry)."""

    name: ClassVar[str]
    description: ClassVar[str] = ""

    @abstractmethod
    def read(self, handle: TextIO) -> Iterator[tuple[int, str, str]]: ...

    @abstractmethod
    def write(self, entries: Iterable[Any], out: TextIO, is_video_md5: Callable[[Any], bool]) -> dict[str, int]: ...


def counter() -> tuple[dict[str, int], Callable[[str], None]]:
    counts: dict[str, int] = {}

    def count(key: str) -> None:
        counts[key] = counts.get(key, 0) + 1

    return counts, count


def exported_name(entry: Any, attribute: str, is_video_md5: Callable[[Any], bool]) -> str | None:
    """The name ``entry`` carries in a format (``attribute`` of its signal type), or None if it cannot go."""
    from idolguard.signals import types

    signal_type = types.all_types().get(entry.signal_type)
    if signal_type is None or not signal_type.exportable:
        return None
    name = getattr(signal_type, attribute)
    if name is None or (signal_type.video_only_export and not is_video_md5(entry)):
        return None
    return str(name)
