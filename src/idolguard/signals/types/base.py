"""The ``SignalType`` interface: what IdolGuard needs to know about one kind of hash."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from idolguard.signals.banks import NewEntry

HEX = frozenset("0123456789abcdef")


def hex_value(value: str, length: int, what: str) -> str:
    value = value.strip().lower()
    if len(value) != length:
        raise ValueError(f"{what} must be {length} hex characters, got {len(value)}")
    if not set(value) <= HEX:
        raise ValueError(f"{what} is not hexadecimal")
    return value


class SignalType(ABC):
    """One kind of signal stored in bank entries (``signal_bank_entries.signal_type`` holds ``name``).

    - ``import_names``: names accepted in ThreatExchange-style and CSV imports (lower case);
    - ``threatexchange_name`` / ``stopncii_name``: the names written on export (None: not in that format);
      ``video_only_export``: exported only when the entry came from a video (StopNCII and ThreatExchange
      know MD5 only as ``VideoMD5`` / ``video_md5``);
    - ``exportable``: may leave the system at all (face-anchored PDQs never do);
    - ``index_kind``: the Hamming index the banks keep for it (None: exact lookup by value);
    - ``bits``: hash length for Hamming distances (None: compared for equality).
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    import_names: ClassVar[frozenset[str]] = frozenset()
    threatexchange_name: ClassVar[str | None] = None
    stopncii_name: ClassVar[str | None] = None
    video_only_export: ClassVar[bool] = False
    exportable: ClassVar[bool] = True
    index_kind: ClassVar[str | None] = None
    bits: ClassVar[int | None] = None

    @abstractmethod
    def validate(self, raw: str) -> NewEntry:
        """A bank entry from a signal as written in a hash list; ``ValueError`` with a reason otherwise."""

    def distance(self, a: str, b: str) -> int | None:
        """Hamming distance for bit hashes; 0 or None (different) for exact ones."""
        if self.bits is None:
            return 0 if a.lower() == b.lower() else None
        return (int(a, 16) ^ int(b, 16)).bit_count()

    def export_value(self, entry: Any) -> str:
        """The signal as written in an export line (the stored value for most types)."""
        return str(entry.value)

    def index_rows(self, entry: Any, min_quality: int) -> tuple[list[int], list[str]]:
        """(index id, hash) rows the entry contributes to its index; low-quality hashes are never indexed."""
        if self.index_kind is None:
            return [], []
        if (entry.quality if entry.quality is not None else 100) >= min_quality:
            return [entry.id], [entry.value]
        return [], []
