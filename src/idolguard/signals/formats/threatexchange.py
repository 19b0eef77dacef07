"""``threatexchange``: one signal per line, ``<signal type> <signal>`` (``pdq <hex>``, ``video_md5 <hex>``,
``vpdq <json>``): what Meta's ``threatexchange`` library loads with its local-file exchange. Bare hex lines
are read as PDQ on import."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TextIO

from idolguard.signals.formats.base import ExchangeFormat, counter, exported_name


class ThreatExchangeFormat(ExchangeFormat):
    name = "threatexchange"
    description = "ThreatExchange local-file lines: <signal type> <signal>"

    def read(self, handle: TextIO) -> Iterator[tuple[int, str, str]]:
        for number, line in enumerate(handle, 1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            signal_type, _, signal = text.partition(" ")
            if not signal:
                signal_type, signal = "pdq", signal_type  # a bare hash line
            yield number, signal_type, signal.strip()

    def write(self, entries: Iterable[Any], out: TextIO, is_video_md5: Callable[[Any], bool]) -> dict[str, int]:
        from idolguard.signals import types

        counts, count = counter()
        for entry in entries:
            name = exported_name(entry, "threatexchange_name", is_video_md5)
            if name is None:
                count(f"skipped_{entry.signal_type}")
                continue
            out.write(f"{name} {types.get(entry.signal_type).export_value(entry)}\n")
            count(entry.signal_type)
        return counts
