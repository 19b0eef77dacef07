"""Turn a stored item into bank entries, hashed by the reference-exact path (entries may be exported)."""

from __future__ import annotations

from typing import Any

from idolguard.db.models import Item
from idolguard.errors import IdolGuardError
from idolguard.signals.banks import NewEntry
from idolguard.signals.compute import LOW_QUALITY_NOTE, all_signals
from idolguard.workspace import Workspace


def entries_for_item(ws: Workspace, sha256: str, case: str | None = None) -> tuple[list[NewEntry], list[str]]:
    with ws.sessions() as session:
        item = session.get(Item, sha256)
    if item is None:
        raise IdolGuardError(f"no item {sha256}")
    notes: list[str] = []
    face_hashes: list[dict[str, Any]] = []
    with ws.vault.materialize(sha256) as path:
        signals = all_signals(path, item.media_type, ws.config.limits, exact=True)
        if item.media_type == "image":
            from idolguard.signals.face_match import item_face_hashes

            # Faces hashed at nine landmark perturbations, so a re-detection on a copy lands close to one.
            face_hashes, _luma = item_face_hashes(path, ws.config.limits, jitter=True)
    common: dict[str, Any] = {"source_kind": "item", "source_item": sha256, "source_ref": case}
    entries = [NewEntry("sha256", signals["sha256"], **common), NewEntry("md5", signals["md5"], **common)]
    if signals.get("pdq"):
        entries.append(NewEntry("pdq", signals["pdq"], quality=signals["pdq_quality"], **common))
        if not signals["pdq_usable"]:
            notes.append(LOW_QUALITY_NOTE)
    for face in face_hashes:
        for value in dict.fromkeys([face["pdq"], *face["jitter"], *face.get("tight", [])]):
            entries.append(NewEntry("pdq_face", value, quality=face["quality"], note=f"face {face['face']}", **common))
    if signals.get("vpdq_frames"):
        entries.append(NewEntry("vpdq", signals["vpdq"]["digest"], frames=signals["vpdq_frames"], **common))
        if signals["vpdq"].get("note"):
            notes.append(signals["vpdq"]["note"])
    return entries, notes
