"""Pipeline stages: ``signals`` (hashes; pure) and ``match`` (bank lookup).

``signals`` needs nothing but the file, so its output is reused until its version changes. ``match`` reads
the banks, so its stored output describes the banks at analysis time; every bank change clears stored match
results (``banks`` module) so the next ``scan`` matches again against the current banks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from idolguard.errors import IdolGuardError
from idolguard.pipeline.stage import Stage, StageContext
from idolguard.signals.compute import all_signals

SIGNALS_VERSION = "1"
MATCH_VERSION = "1"


class SignalsStage(Stage):
    name: ClassVar[str] = "signals"
    version: ClassVar[str] = SIGNALS_VERSION
    needs: ClassVar[tuple[str, ...]] = ("probe",)
    produces: ClassVar[tuple[str, ...]] = ("md5", "pdq", "pdq_quality", "pdq_note", "vpdq")
    description: ClassVar[str] = "SHA-256, MD5, PDQ + quality (images), vPDQ (videos)"

    def run(self, ctx: StageContext) -> dict[str, Any]:
        return all_signals(ctx.path, ctx.media_type, ctx.limits)

    def contribute(self, obj: dict[str, Any], output: dict[str, Any]) -> None:
        super().contribute(obj, output)
        if output.get("extra_pdq"):
            obj["pdq_extra"] = [{k: e[k] for k in ("signal", "pdq", "quality")} for e in output["extra_pdq"]]


def workspace_home(ctx: StageContext) -> Path:
    """The workspace this item belongs to: stated in the settings, else the folder holding the vault copy.

    Vault objects and the vault's temporary plaintext copies both live under ``HOME/vault``, so walking up
    from the materialised path finds ``config.toml``.
    """
    explicit = ctx.settings.get("workspace_home") or ctx.settings.get("home")
    if explicit:
        return Path(explicit)
    for parent in Path(ctx.path).resolve().parents:
        if (parent / "config.toml").is_file() and (parent / "vault").is_dir():
            return parent
    raise IdolGuardError("cannot tell which workspace this item belongs to; matching skipped")


_OPEN: dict[Path, tuple[Any, Any]] = {}


def workspace_and_store(ctx: StageContext) -> tuple[Any, Any]:
    """One open workspace and index store per workspace per process: opening checks the schema and loading
    an index maps files, neither of which should be paid per item. The store re-checks the bank revision on
    every query, so a cached one never serves a stale index."""
    from idolguard.signals.store import IndexStore
    from idolguard.workspace import Workspace

    home = workspace_home(ctx)
    if home not in _OPEN:
        ws = Workspace.open(home)
        _OPEN[home] = (ws, IndexStore(ws))
    return _OPEN[home]


class MatchStage(Stage):
    name: ClassVar[str] = "match"
    version: ClassVar[str] = MATCH_VERSION
    needs: ClassVar[tuple[str, ...]] = ("signals",)
    produces: ClassVar[tuple[str, ...]] = ("matches",)
    description: ClassVar[str] = "match hashes against the enabled banks (exact, PDQ + dihedral, vPDQ)"

    def run(self, ctx: StageContext) -> dict[str, Any]:
        from idolguard.signals.matcher import match_signals

        ws, store = workspace_and_store(ctx)
        return {"matches": match_signals(ws, ctx.inputs["signals"], store)}


class FaceMatchStage(Stage):
    """Face-anchored PDQ of each detected face, matched against banked faces and geometrically verified.

    Separate from ``match`` so that plain matching never waits for (or depends on) face detection.
    """

    name: ClassVar[str] = "face_match"
    version: ClassVar[str] = "3"  # 2: query faces hashed with landmark jitter; 3: re-run after faces v3
    needs: ClassVar[tuple[str, ...]] = ("faces", "signals", "match")
    produces: ClassVar[tuple[str, ...]] = ("pdq_faces",)
    media_types: ClassVar[frozenset[str]] = frozenset({"image"})
    description: ClassVar[str] = "face-anchored PDQ + ORB/RANSAC verification (survives crops, rotation, screenshots)"

    def run(self, ctx: StageContext) -> dict[str, Any]:
        from idolguard.signals.face_match import item_face_hashes, match_faces, query_jitter

        faces = [f for f in ctx.inputs["faces"].get("faces") or [] if f.get("landmarks")]
        hashes, luma = item_face_hashes(ctx.path, ctx.limits, faces, jitter=query_jitter(ctx.settings))
        output: dict[str, Any] = {
            "pdq_faces": [{k: h[k] for k in ("face", "pdq", "quality")} for h in hashes],
            "face_matches": [],
        }
        if hashes:
            ws, store = workspace_and_store(ctx)
            already = {m["source_item"] for m in ctx.inputs["match"].get("matches", []) if m.get("source_item")}
            output["face_matches"] = match_faces(ws, hashes, luma, store, already=already)
        return output

    def contribute(self, obj: dict[str, Any], output: dict[str, Any]) -> None:
        from idolguard.signals.matcher import merge_face_matches

        super().contribute(obj, output)
        obj["matches"] = merge_face_matches(obj.get("matches") or [], output.get("face_matches", []))
