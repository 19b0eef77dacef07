"""Source-face attribution during scans: was a suspect face copied from one of the artist's official photos?

The official collection is the ``negative`` banks (official media that must never be reported as abuse):
``bank add`` gives each official face nine inner-face PDQs (``pdq_inner`` entries). For each face the
``faces`` stage found in a scanned picture, the inner-face crop (``source_attribution.inner_face``) is
hashed; banked official pictures within ``CANDIDATE_BITS`` are re-read from the vault, their faces
re-detected, and each candidate face pair is verified with ORB + RANSAC on the aligned inner crops
(``source_attribution.verify_copy``). A verified pair is reported as "face copied from official item X"
with the verification figures, and the aligned pair is kept as a derived file (shown blurred).

The figures behind the thresholds (recall on pasted faces, false attributions on other photos of the same
people) are in docs/BENCHMARKS.md (``bench/detector_attribution.py``).
"""

from __future__ import annotations

import io
from collections import OrderedDict
from typing import Any

import numpy as np
from sqlalchemy import select

from idolguard.signals.models import Bank, BankEntry
from idolguard.signals.store import IndexStore
from idolguard.workspace import Workspace

MAX_ITEMS = 20  # official pictures verified per suspect face (nearest first)


def _png(gray: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(gray).save(buffer, "PNG")
    return buffer.getvalue()


def parse_note(note: Any) -> tuple[int | None, int]:
    """(sampled frame index or None, face index) of a ``pdq_inner`` entry's note: ``face K`` for a photo,
    ``frame F face K`` for a keyframe of an official video; face -1 when the note says neither."""
    parts = str(note or "").split()
    try:
        if len(parts) == 4 and parts[0] == "frame" and parts[2] == "face":
            return int(parts[1]), int(parts[3])
        if len(parts) == 2 and parts[0] == "face":
            return None, int(parts[1])
    except ValueError:
        pass
    return None, -1


def _candidates(ws: Workspace, store: IndexStore, hashes: list[str]) -> list[tuple[str, str, int | None, int, int]]:
    """(official item, bank name, keyframe or None, banked face index, best distance) within
    ``CANDIDATE_BITS``, nearest first."""
    from idolguard.source_attribution import CANDIDATE_BITS

    index = store.get("pdq_inner")
    if not len(index):
        return []
    best: dict[int, int] = {}
    for value in hashes:
        for hit in index.query(value, CANDIDATE_BITS):
            best[hit.entry_id] = min(hit.distance, best.get(hit.entry_id, 999))
    if not best:
        return []
    with ws.sessions() as session:
        rows = session.execute(
            select(BankEntry.id, BankEntry.source_item, BankEntry.note, Bank.name)
            .join(Bank, Bank.id == BankEntry.bank_id)
            .where(
                BankEntry.id.in_(sorted(best)),
                BankEntry.enabled.is_(True),
                Bank.enabled.is_(True),
                Bank.kind == "negative",
            )
        ).tuples()
        found: dict[tuple[str, int | None, int], tuple[str, int]] = {}
        for entry_id, item, note, bank in rows:
            if not item:
                continue
            frame, face = parse_note(note)
            key = (item, frame, face)
            if key not in found or best[entry_id] < found[key][1]:
                found[key] = (bank, best[entry_id])
    ordered = sorted(found.items(), key=lambda kv: kv[1][1])
    return [(item, bank, frame, face, distance) for (item, frame, face), (bank, distance) in ordered]


def sampled_frames(path: Any, limits: Any, sampling: dict[str, Any] | None, wanted: set[int]) -> dict[int, Any]:
    """The video frames (RGB, as the faces stage saw them) with these sampled-frame indices. ``sampling`` is
    the faces stage's recorded sampling (None: the default settings, as official keyframes are banked)."""
    from idolguard.faces.settings import FacesSettings
    from idolguard.faces.stage import sample_video

    options = FacesSettings(**sampling) if isinstance(sampling, dict) and sampling else FacesSettings()
    found: dict[int, Any] = {}
    remaining = set(wanted)
    for frame in sample_video(path, limits, options).frames:
        if frame.index in remaining:
            remaining.discard(frame.index)
            found[frame.index] = (frame.t, frame.image)
        if not remaining:
            break
    return found


OFFICIAL_CACHE = 128  # official pictures/keyframes whose aligned faces and keypoints a process keeps
_official_cache: OrderedDict[tuple[str, int | None], list[tuple[int, np.ndarray, Any]]] = OrderedDict()
_official_times: dict[tuple[str, int], float] = {}


class _OfficialFaces:
    """Aligned inner crops (and their ORB keypoints) of official pictures and official video keyframes.

    Kept per process across scanned items (``OFFICIAL_CACHE`` most recent): an item is content-addressed, so
    its faces never change, and re-reading and re-detecting the same official candidates for every scanned
    picture (or every keyframe) was most of the stage's time. Only candidates the index returns are looked
    up, so a removed official item is never used again."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.times = _official_times

    def get(self, item: str, frame: int | None) -> list[tuple[int, np.ndarray, Any]]:
        key = (item, frame)
        if key in _official_cache:
            _official_cache.move_to_end(key)
            return _official_cache[key]
        try:
            found = self._read(item, frame)
        except Exception:  # noqa: BLE001 - an unreadable original cannot verify anything
            return []
        _official_cache[key] = found
        while len(_official_cache) > OFFICIAL_CACHE:
            _official_cache.popitem(last=False)
        return found

    def _read(self, item: str, frame: int | None) -> list[tuple[int, np.ndarray, Any]]:
        from idolguard.signals.face_match import detect_faces, luma_of
        from idolguard.signals.pdq import reference_rgb
        from idolguard.signals.verify import features
        from idolguard.source_attribution import inner_face

        with self.ws.vault.materialize(item) as path:
            if frame is None:
                rgb = reference_rgb(path, self.ws.config.limits)
            else:
                frames = sampled_frames(path, self.ws.config.limits, None, {frame})
                if frame not in frames:
                    return []
                t, rgb = frames[frame]
                self.times[(item, frame)] = float(t)
        official_luma = luma_of(rgb)
        crops = []
        for k, detected in enumerate(detect_faces(rgb) or []):
            official_crop = inner_face(official_luma, detected["landmarks"])
            if official_crop is not None:
                crops.append((k, official_crop, features(official_crop)))
        return crops


def attribute_faces(
    ws: Workspace,
    store: IndexStore,
    luma: np.ndarray,
    faces: list[dict[str, Any]],
    own_sha256: str,
    add_pair: Any = None,
    official: _OfficialFaces | None = None,
) -> list[dict[str, Any]]:
    """Verified official sources of each face (best first per face). ``add_pair(png) -> sha256`` keeps the
    aligned pair (``StageContext.add_derived``); None keeps nothing."""
    from idolguard.source_attribution import inner_face, pair_image, query_features, query_hashes, verify_copy

    official = official or _OfficialFaces(ws)
    results: list[dict[str, Any]] = []
    for face in faces:
        crop = inner_face(luma, face.get("landmarks") or [])
        if crop is None:
            continue
        seen: set[str] = set()
        found: list[dict[str, Any]] = []
        keypoints: Any = None  # the suspect crop's (and its mirror's) ORB keypoints, once per face
        for item, bank, frame, banked_face, distance in _candidates(ws, store, query_hashes(crop)):
            if item == own_sha256:
                continue  # the official picture itself (scanned again): nothing was copied
            if item not in seen and len(seen) >= MAX_ITEMS:
                continue
            seen.add(item)
            for k, official_crop, official_keypoints in official.get(item, frame):
                if banked_face >= 0 and k != banked_face:
                    continue
                keypoints = keypoints or query_features(crop)
                figures = verify_copy(keypoints, official_keypoints)
                if not figures.pop("copied"):
                    continue
                row: dict[str, Any] = {
                    "face": int(face.get("index", len(results))),
                    "official_item": item,
                    "bank": bank,
                    "official_face": k,
                    "pdq_distance": distance,
                    **{key: _plain(value) for key, value in figures.items()},
                }
                if frame is not None:
                    row["official_frame"] = frame
                    row["official_t"] = round(official.times.get((item, frame), 0.0), 3)
                if add_pair is not None:
                    row["pair_sha256"] = add_pair(_png(pair_image(crop, official_crop)))
                found.append(row)
        results += sorted(found, key=lambda r: -int(r["inliers"]))
    return results


KEYFRAMES_PER_TRACK = 4  # suspect video: frames of each face track checked (spread over the track)
MAX_VIDEO_KEYFRAMES = 48  # ... and at most this many frames per video


def track_keyframes(faces_output: dict[str, Any]) -> list[tuple[int, int, float, list[Any]]]:
    """(face index, sampled frame index, t, landmarks) to check per face track: up to ``KEYFRAMES_PER_TRACK``
    frames spread over the track, its best-detected frame always among them."""
    faces = faces_output.get("faces") or []
    by_track = {f.get("track_id"): i for i, f in enumerate(faces)}
    chosen: list[tuple[int, int, float, list[Any]]] = []
    tracks = faces_output.get("face_tracks") or []
    per_track = max(1, min(KEYFRAMES_PER_TRACK, MAX_VIDEO_KEYFRAMES // max(1, len(tracks))))
    for track in tracks:
        index = by_track.get(track.get("track_id"))
        frames = [f for f in track.get("frames") or [] if f.get("landmarks") and isinstance(f.get("frame_index"), int)]
        if index is None or not frames:
            continue
        best = max(range(len(frames)), key=lambda j: float(frames[j].get("det_score") or 0.0))
        spread = {round(j * (len(frames) - 1) / max(1, per_track - 1)) for j in range(per_track)}
        picks = sorted({best, *spread})
        while len(picks) > per_track:  # keep the best frame, drop the spread pick nearest to it
            picks.remove(min((j for j in picks if j != best), key=lambda j: abs(j - best)))
        for j in picks:
            f = frames[j]
            chosen.append(
                (int(faces[index].get("index", index)), int(f["frame_index"]), float(f.get("t") or 0.0), f["landmarks"])
            )
    return chosen


def attribute_video(
    ws: Workspace,
    store: IndexStore,
    path: Any,
    limits: Any,
    faces_output: dict[str, Any],
    own_sha256: str,
    add_pair: Any = None,
) -> list[dict[str, Any]]:
    """Source attribution per face track of a video: keyframes of each track are checked like photos; a
    track's row per official face names the keyframe with the most inliers and how many of the track's
    checked keyframes verified (``frames_verified`` of ``frames_checked``)."""
    from idolguard.signals.face_match import luma_of

    keyframes = track_keyframes(faces_output)
    if not keyframes:
        return []
    frames = sampled_frames(path, limits, faces_output.get("sampling"), {k[1] for k in keyframes})
    faces = faces_output.get("faces") or []
    official = _OfficialFaces(ws)
    checked: dict[int, int] = {}
    best: dict[tuple[int, str, int | None, int], dict[str, Any]] = {}
    verified: dict[tuple[int, str, int | None, int], set[int]] = {}
    pairs: dict[tuple[int, str, int | None, int], bytes] = {}
    lumas: dict[int, np.ndarray] = {}
    for face_index, frame_index, t, landmarks in keyframes:
        if frame_index not in frames:
            continue
        if frame_index not in lumas:
            lumas[frame_index] = luma_of(frames[frame_index][1])
        checked[face_index] = checked.get(face_index, 0) + 1
        kept: list[bytes] = []

        def hold(png: bytes, kept: list[bytes] = kept) -> str:  # the best pair per track is stored at the end
            kept.append(png)
            return str(len(kept) - 1)

        rows = attribute_faces(
            ws,
            store,
            lumas[frame_index],
            [{"index": face_index, "landmarks": landmarks}],
            own_sha256,
            hold if add_pair is not None else None,
            official,
        )
        for row in rows:
            key = (face_index, row["official_item"], row.get("official_frame"), int(row["official_face"]))
            verified.setdefault(key, set()).add(frame_index)
            if key not in best or int(row["inliers"]) > int(best[key]["inliers"]):
                pair = row.pop("pair_sha256", None)
                best[key] = {**row, "frame_index": frame_index, "t": round(t, 3)}
                if pair is not None:
                    pairs[key] = kept[int(pair)]
    results = []
    for key, row in best.items():
        face = faces[key[0]] if 0 <= key[0] < len(faces) else {}
        row["track_id"] = face.get("track_id")
        row["frames_verified"] = len(verified[key])
        row["frames_checked"] = checked.get(key[0], 0)
        if key in pairs and add_pair is not None:
            row["pair_sha256"] = add_pair(pairs[key])
        results.append(row)
    return sorted(results, key=lambda r: (r["face"], -int(r["inliers"])))


def _plain(value: Any) -> Any:
    if isinstance(value, (np.floating, float)):
        return round(float(value), 4)
    if isinstance(value, (np.integer, np.bool_)):
        return value.item()
    return value
