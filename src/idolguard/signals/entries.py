"""Turn a stored item into bank entries, hashed by the reference-exact path (entries may be exported)."""

from __future__ import annotations

from typing import Any

from idolguard.db.models import Item
from idolguard.errors import IdolGuardError
from idolguard.signals.banks import NewEntry
from idolguard.signals.compute import LOW_QUALITY_NOTE, all_signals
from idolguard.workspace import Workspace


def entries_for_item(
    ws: Workspace, sha256: str, case: str | None = None, *, official: bool = False
) -> tuple[list[NewEntry], list[str]]:
    """The item's bank entries. ``official`` (a ``negative`` bank: the artist's official media) adds the
    inner-face PDQs source-face attribution searches (``pdq_inner``, nine per face)."""
    with ws.sessions() as session:
        item = session.get(Item, sha256)
    if item is None:
        raise IdolGuardError(f"no item {sha256}")
    notes: list[str] = []
    face_hashes: list[dict[str, Any]] = []
    inner: list[tuple[str, list[str]]] = []
    with ws.vault.materialize(sha256) as path:
        signals = all_signals(path, item.media_type, ws.config.limits, exact=True)
        if item.media_type == "image":
            # Faces hashed at nine landmark perturbations, so a re-detection on a copy lands close to one.
            from idolguard.signals.face_match import detect_faces, item_face_hashes, luma_of
            from idolguard.signals.pdq import reference_rgb

            rgb = reference_rgb(path, ws.config.limits)
            faces = detect_faces(rgb) or []
            face_hashes, _luma = item_face_hashes(path, ws.config.limits, faces, jitter=True)
            if official:
                from idolguard.source_attribution import inner_hashes

                luma = luma_of(rgb)
                inner = [
                    (f"face {i}", inner_hashes(luma, f["landmarks"])) for i, f in enumerate(faces) if f.get("landmarks")
                ]
        elif item.media_type == "video" and official:
            inner = official_video_hashes(path, ws)
    common: dict[str, Any] = {"source_kind": "item", "source_item": sha256, "source_ref": case}
    entries = [NewEntry("sha256", signals["sha256"], **common), NewEntry("md5", signals["md5"], **common)]
    if signals.get("pdq"):
        entries.append(NewEntry("pdq", signals["pdq"], quality=signals["pdq_quality"], **common))
        if not signals["pdq_usable"]:
            notes.append(LOW_QUALITY_NOTE)
    for face in face_hashes:
        for value in dict.fromkeys([face["pdq"], *face["jitter"], *face.get("tight", [])]):
            entries.append(NewEntry("pdq_face", value, quality=face["quality"], note=f"face {face['face']}", **common))
    for note, values in inner:
        for value in values:
            entries.append(NewEntry("pdq_inner", value, note=note, **common))
    if signals.get("vpdq_frames"):
        entries.append(NewEntry("vpdq", signals["vpdq"]["digest"], frames=signals["vpdq_frames"], **common))
        if signals["vpdq"].get("note"):
            notes.append(signals["vpdq"]["note"])
    return entries, notes


OFFICIAL_KEYFRAMES = 24  # keyframes of an official video whose faces are banked for source attribution


def official_video_hashes(path: Any, ws: Workspace) -> list[tuple[str, list[str]]]:
    """Inner-face PDQs of the faces in up to ``OFFICIAL_KEYFRAMES`` keyframes of an official video, spread
    over the frames the faces stage samples with the default settings (notes ``frame F face K``: scans
    decode that frame again to verify a candidate)."""
    from idolguard.faces.settings import FacesSettings
    from idolguard.faces.stage import sample_video
    from idolguard.signals.face_match import detect_faces, luma_of
    from idolguard.source_attribution import inner_hashes

    sampled = sample_video(path, ws.config.limits, FacesSettings())
    frames: list[Any] = []
    every = 0.0
    next_t = 0.0
    for frame in sampled.frames:  # a stream: only the kept keyframes stay in memory
        if not frames:
            duration = sampled.reader.stats.duration_s or 0.0
            every = duration / OFFICIAL_KEYFRAMES if duration > 0 else 0.0
        if frame.t + 1e-6 >= next_t and len(frames) < OFFICIAL_KEYFRAMES:
            frames.append(frame)
            next_t = frame.t + every
    found: list[tuple[str, list[str]]] = []
    for frame in frames:
        faces = detect_faces(frame.image) or []
        if not faces:
            continue
        luma = luma_of(frame.image)
        for k, face in enumerate(faces):
            hashes = inner_hashes(luma, face["landmarks"]) if face.get("landmarks") else []
            if hashes:
                found.append((f"frame {frame.index} face {k}", hashes))
    return found
