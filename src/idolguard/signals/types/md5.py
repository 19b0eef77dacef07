"""MD5 of the file bytes (ThreatExchange ``video_md5``, StopNCII ``VideoMD5``: exported for videos only)."""

from __future__ import annotations

from typing import ClassVar

from idolguard.signals.types.base import SignalType, hex_value


class Md5Signal(SignalType):
    name = "md5"
    description = "MD5 of the file (exact copies)"
    import_names: ClassVar[frozenset[str]] = frozenset({"md5", "video_md5"})
    threatexchange_name = "video_md5"
    stopncii_name = "VideoMD5"
    video_only_export = True

    def validate(self, raw: str):  # type: ignore[no-untyped-def]
        from idolguard.signals.banks import NewEntry

        return NewEntry("md5", hex_value(raw, 32, "MD5"))
