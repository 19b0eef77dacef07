"""SHA-256 of the file bytes (exact copies; not a ThreatExchange or StopNCII signal)."""

from __future__ import annotations

from typing import ClassVar

from idolguard.signals.types.base import SignalType, hex_value


class Sha256Signal(SignalType):
    name = "sha256"
    description = "SHA-256 of the file (exact copies)"
    import_names: ClassVar[frozenset[str]] = frozenset({"sha256"})

    def validate(self, raw: str):  # type: ignore[no-untyped-def]
        from idolguard.signals.banks import NewEntry

        return NewEntry("sha256", hex_value(raw, 64, "SHA-256"))
