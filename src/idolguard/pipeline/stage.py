"""The stage plug-in interface.

A stage has a ``name`` and a ``version``; it declares the stages whose outputs it ``needs`` and the top-level
fields it ``produces`` in ``scan --json`` objects. Its output (a JSON object) is stored per item under
(name, version), so a re-run reuses it until the version changes: bump ``version`` whenever code, model or
parameters change what the stage would output.

``run`` must be a pure function of its context: it reads the original through ``ctx.path`` (never modifies
it), may add derived files (crops, frames, heat maps) with ``ctx.add_derived``, and returns its output. The
runner does all storage and custody logging, so a stage works the same in a worker process and in the
no-side-effect commands (``identify``, ``detect``, ``match``), which call the runner with ``persist=False``.

Workspace reference data (the gallery, the banks, the detector calibration) reaches a stage only through
``ctx.resources``, loaded by the runner: a stage lists what it requires in ``uses`` (missing -> the stage
fails with ``MissingResource``) and what it can do without in ``may_use``. A stage never opens a workspace.

The runner records, with every output, the versions of the upstream outputs it was computed from
(``_inputs``), so a new version of an upstream stage re-runs everything downstream of it by itself.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from idolguard.config import Limits
from idolguard.pipeline.resources import Resources


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
    # The workspace config (config.toml), read-only. Never used to locate a workspace: see ``resources``.
    settings: dict[str, Any] = field(default_factory=dict)
    derived: list[DerivedFile] = field(default_factory=list)
    persist: bool = True  # False in no-side-effect commands: skip making derived files if costly
    resources: Resources = field(default_factory=Resources)  # read-only workspace data, from the runner

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
    uses: ClassVar[tuple[str, ...]] = ()  # resources this stage cannot run without
    may_use: ClassVar[tuple[str, ...]] = ()  # resources it uses when the runner has a workspace
    refresh_uses: ClassVar[tuple[str, ...]] = ()  # resources ``contribute`` reads to refresh a stored output
    # A failure of a gating stage (the probe: media that cannot be read) stops the item's other stages and
    # is final: re-running cannot fix the file, so it is not retried.
    gates_item: ClassVar[bool] = False
    always: ClassVar[bool] = False  # selected even when only other stages are asked for

    def item_fields(self, output: dict[str, Any]) -> dict[str, Any]:
        """Fields of the item record this stage's output establishes (the probe: type, size, duration). The
        runner gives them to later stages (``ctx.item``, ``ctx.media_type``) and stores them on the item."""
        return {}

    def not_storable(self, session: Any, output: Mapping[str, Any]) -> str | None:
        """Why ``output``, computed a moment ago, must not be stored now (None: store it). The runner asks
        under the write lock, in the storing transaction: workspace data the stage read may have changed since
        (a ``match`` naming a bank entry ``bank delete`` has just removed). A refused output is left out, with
        its custody event and derived files, and the item is analysed again by the next scan."""
        return None

    def unavailable_reason(self) -> str | None:
        """Why this stage cannot run on this installation (missing model or optional package), or None."""
        return None

    def applies_to(self, ctx: StageContext) -> bool:
        return ctx.media_type in self.media_types

    @abstractmethod
    def run(self, ctx: StageContext) -> Mapping[str, Any]:
        """Analyse one item and return its output, a JSON object (areas type theirs as TypedDicts, e.g.
        ``ProbeOutput``). Raise ``MediaError`` for a per-item problem with a user-facing message."""

    def contribute(self, obj: dict[str, Any], output: dict[str, Any], resources: Resources | None = None) -> None:
        """Add this stage's stored output to a ``scan --json`` object (called in dependency order).

        The default copies the ``produces`` fields; override to annotate fields of earlier stages, e.g. to
        attach per-face scores to the ``faces`` list made by the faces stage. ``resources`` holds the
        stage's ``uses``/``may_use`` resources, so a stored result can be refreshed against current
        workspace data (a re-match against a changed gallery) without running the stage again.
        """
        for name in self.produces:
            if name in output:
                obj[name] = output[name]
