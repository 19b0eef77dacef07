"""The stage plug-in interface.

A stage has a ``name`` and a ``version``; it declares the stages whose outputs it ``needs`` and the top-level
fields it ``produces`` in ``scan --json`` objects. Its output (a JSON object) is stored per item under
(name, version), so a re-run reuses it until the version changes: bump ``version`` whenever code, model or
parameters change what the stage would output.

``run`` must be a pure function of its context: it reads the original through ``ctx.path`` (never modifies
it), may add derived files (crops, frames, heat maps) with ``ctx.add_derived``, and returns its output. The
runner does all storage and custody logging, so a stage works the same in a worker process and in the
no-side-effect commands (``identify``, ``detect``, ``match``).
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from idolguard.config import Limits


@dataclass
class DerivedFile:
    data: bytes
    kind: str  # e.g. "face_crop", "frame", "heatmap", "thumbnail"
    mime: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class StageContext:
    sha256: str
    path: Path
    media_type: str
    item: dict[str, Any]  # the item record as scan prints it (width, height, duration_s, mime, ...)
    inputs: dict[str, dict[str, Any]]  # outputs of the stages named in ``needs``
    limits: Limits
    # The workspace config, read-only, plus "workspace_home" (absent in no-side-effect commands).
    settings: dict[str, Any] = field(default_factory=dict)
    derived: list[DerivedFile] = field(default_factory=list)
    persist: bool = True  # False in no-side-effect commands: skip making derived files if costly

    def add_derived(self, data: bytes, kind: str, mime: str, meta: dict[str, Any] | None = None) -> str:
        """Queue a derived file; returns its SHA-256 so the output can reference it."""
        derived = DerivedFile(data, kind, mime, meta or {})
        self.derived.append(derived)
        return derived.sha256


class Stage(ABC):
    name: ClassVar[str]
    version: ClassVar[str]
    needs: ClassVar[tuple[str, ...]] = ()
    produces: ClassVar[tuple[str, ...]] = ()
    media_types: ClassVar[frozenset[str]] = frozenset({"image", "video"})
    description: ClassVar[str] = ""

    def unavailable_reason(self) -> str | None:
        """Why this stage cannot run on this installation (missing model or optional package), or None."""
        return None

    def applies_to(self, ctx: StageContext) -> bool:
        return ctx.media_type in self.media_types

    @abstractmethod
    def run(self, ctx: StageContext) -> dict[str, Any]:
        """Analyse one item. Raise ``MediaError`` for a per-item problem with a user-facing message."""

    def contribute(self, obj: dict[str, Any], output: dict[str, Any]) -> None:
        """Add this stage's stored output to a ``scan --json`` object (called in dependency order).

        The default copies the ``produces`` fields; override to annotate fields of earlier stages, e.g. to
        attach per-face scores to the ``faces`` list made by the faces stage.
        """
        for name in self.produces:
            if name in output:
                obj[name] = output[name]
