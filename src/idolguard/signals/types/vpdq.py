"""vPDQ: Meta's video hash, one PDQ per second of frames (ThreatExchange ``vpdq``, serialised as JSON)."""

from __future__ import annotations

from typing import Any, ClassVar

from idolguard.signals.types.base import SignalType


class VpdqSignal(SignalType):
    name = "vpdq"
    description = "vPDQ video hash (frame PDQs; trimmed clips and clips inside longer uploads match)"
    import_names: ClassVar[frozenset[str]] = frozenset({"vpdq"})
    threatexchange_name = "vpdq"
    index_kind = "vpdq"  # the frames are indexed, each id is (entry id << FRAME_BITS) | frame position
    bits = 256

    def validate(self, raw: str):  # type: ignore[no-untyped-def]
        from idolguard.signals import vpdq
        from idolguard.signals.banks import NewEntry

        try:
            features = vpdq.from_threatexchange(raw)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"malformed vPDQ signal: {exc}") from exc
        return NewEntry("vpdq", vpdq.digest(features), frames=[f.as_list() for f in features])

    def distance(self, a: str, b: str) -> int | None:
        return None  # a vPDQ match is a bag-of-frames comparison (signals.vpdq), not one distance

    def export_value(self, entry: Any) -> str:
        from idolguard.signals import vpdq

        features = [vpdq.VpdqFeature.from_list(f) for f in entry.frames or []]
        return vpdq.to_threatexchange(features)

    def index_rows(self, entry: Any, min_quality: int) -> tuple[list[int], list[str]]:
        from idolguard.signals.store import FRAME_BITS

        ids, hashes = [], []
        seen: set[str] = set()
        for position, frame in enumerate(entry.frames or []):
            hex_value, quality = frame[1], int(frame[2])
            if quality >= min_quality and hex_value not in seen and position < (1 << FRAME_BITS):
                seen.add(hex_value)
                ids.append((entry.id << FRAME_BITS) | position)
                hashes.append(hex_value)
        return ids, hashes
