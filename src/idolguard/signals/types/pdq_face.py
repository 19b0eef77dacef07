"""Face-anchored PDQ: a PDQ of an aligned face crop. Only meaningful next to our own originals (matches are
verified against the banked picture), so it never leaves the system."""

from __future__ import annotations

from idolguard.signals.types.base import SignalType


class PdqFaceSignal(SignalType):
    name = "pdq_face"
    description = "face-anchored PDQ (internal; verified against the banked original)"
    exportable = False
    index_kind = "pdq_face"
    bits = 256

    def validate(self, raw: str):  # type: ignore[no-untyped-def]
        raise ValueError("face-anchored PDQs are made from banked originals, never imported")
