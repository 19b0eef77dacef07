"""Link per-frame face detections of a video into face tracks.

Frames are sampled sparsely (about one per second plus scene cuts), so boxes can move a lot between samples:
a detection joins a track when it overlaps the track's last box and looks at least loosely like it, or when
its embedding alone is clearly the same person (the face came back after a cut). Each track keeps all its
observations so later stages can revisit the same frames, and matches on the mean embedding of its best
frames, which is steadier than any single frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from idolguard.faces.analysis import FaceRecord
from idolguard.faces.embedder import normalise

IOU_LINK = 0.3
COS_WITH_OVERLAP = 0.2
COS_ALONE = 0.5
MAX_GAP_S = 3.0  # overlap only counts between samples this close in time


@dataclass
class Observation:
    t: float
    frame_index: int
    face: FaceRecord


@dataclass
class Track:
    track_id: int
    observations: list[Observation] = field(default_factory=list)

    @property
    def last(self) -> Observation:
        return self.observations[-1]

    def best(self) -> Observation:
        return max(self.observations, key=lambda o: (o.face.quality.score, o.face.detection.score))

    def top(self, top: int = 3) -> list[Observation]:
        """The best-quality embedded observations, whose vectors make the track's identity vector."""
        return sorted(
            (o for o in self.observations if o.face.embedding is not None),
            key=lambda o: -o.face.quality.score,
        )[:top]

    def views(self, top: int = 3) -> str:
        """``crop+mirror`` when every observation behind ``embedding`` has its mirror view, else ``crop``."""
        ranked = self.top(top)
        return "crop+mirror" if ranked and all(o.face.views == "crop+mirror" for o in ranked) else "crop"

    def embedding(self, top: int = 3) -> np.ndarray | None:
        ranked = self.top(top)
        if not ranked:
            return None
        weights = np.array([max(o.face.quality.score, 1e-3) for o in ranked], dtype=np.float32)
        mean = (np.stack([o.face.embedding for o in ranked]) * weights[:, None]).sum(axis=0)
        return normalise(mean[None, :])[0]

    def centroid(self) -> np.ndarray | None:
        vectors = [o.face.embedding for o in self.observations[-5:] if o.face.embedding is not None]
        if not vectors:
            return None
        return normalise(np.mean(vectors, axis=0)[None, :])[0]


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


class Tracker:
    def __init__(self) -> None:
        self.tracks: list[Track] = []

    def update(self, t: float, frame_index: int, faces: list[FaceRecord], scene_cut: bool = False) -> None:
        candidates: list[tuple[float, int, int]] = []
        for ti, track in enumerate(self.tracks):
            centroid = track.centroid()
            close = (t - track.last.t) <= MAX_GAP_S and not scene_cut
            for fi, face in enumerate(faces):
                cos = float(centroid @ face.embedding) if centroid is not None and face.embedding is not None else 0.0
                overlap = iou(track.last.face.bbox, face.bbox) if close else 0.0
                if (overlap >= IOU_LINK and cos >= COS_WITH_OVERLAP) or cos >= COS_ALONE:
                    candidates.append((cos + overlap, ti, fi))
        used_tracks: set[int] = set()
        used_faces: set[int] = set()
        for _, ti, fi in sorted(candidates, reverse=True):
            if ti in used_tracks or fi in used_faces:
                continue
            used_tracks.add(ti)
            used_faces.add(fi)
            self.tracks[ti].observations.append(Observation(t, frame_index, faces[fi]))
        for fi, face in enumerate(faces):
            if fi not in used_faces:
                self.tracks.append(Track(len(self.tracks), [Observation(t, frame_index, face)]))
