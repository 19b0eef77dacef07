"""``[cases]`` settings: limits of the evidence package and the report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar


@dataclass
class CasesSettings:
    """Cases: evidence package and report limits."""

    section: ClassVar[str] = "cases"
    max_package_bytes: int = field(
        default=64 * 1024**3,
        metadata={"help": "`cases package` refuses (before writing) a package whose files exceed this (bytes)."},
    )
    report_previews: int = field(
        default=24, metadata={"help": "Blurred greyscale previews in a case report (the first N images)."}
    )
