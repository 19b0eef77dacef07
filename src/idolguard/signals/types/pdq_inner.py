"""Inner-face PDQ of an official photo: the tight, landmark-aligned crop that source-face attribution
compares (``source_attribution.py``). Made only for items banked in ``negative`` (official media) banks,
verified against the banked original, never exported."""

from __future__ import annotations

from idolguard.signals.types.base import SignalType


class PdqInnerSignal(SignalType):
    name = "pdq_inner"
    description = "inner-face PDQ of an official photo (internal; source-face attribution)"
    exportable = False
    index_kind = "pdq_inner"
    bits = 256

    def validate(self, raw: str):  # type: ignore[no-untyped-def]
        raise ValueError("inner-face PDQs are made from banked official photos, never imported")
