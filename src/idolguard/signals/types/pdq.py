"""PDQ: Meta's 256-bit perceptual image hash (ThreatExchange ``pdq``, StopNCII ``ImagePDQ``)."""

from __future__ import annotations

from typing import ClassVar

from idolguard.signals.types.base import SignalType, hex_value


class PdqSignal(SignalType):
    name = "pdq"
    description = "PDQ perceptual hash of an image"
    import_names: ClassVar[frozenset[str]] = frozenset({"pdq"})
    threatexchange_name = "pdq"
    stopncii_name = "ImagePDQ"
    index_kind = "pdq"
    bits = 256

    def validate(self, raw: str):  # type: ignore[no-untyped-def]
        from idolguard.signals.banks import NewEntry

        value = hex_value(raw, 64, "PDQ hash")
        if value in ("0" * 64, "f" * 64):
            raise ValueError("PDQ hash is all zeros/ones (a blank image): refusing it")
        return NewEntry("pdq", value)
