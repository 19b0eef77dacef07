"""The faces stage's output and ``scan --json`` face entries, typed (read by ``manipulation``,
``face_match``, the report and the web app)."""

from __future__ import annotations

from typing import Any, TypedDict


class FaceEntry(TypedDict, total=False):
    """One face (image) or face track (video, its best frame), as stored and as shown in ``scan --json``."""

    index: int
    bbox: list[float]  # x, y, w, h in displayed pixels
    landmarks: list[list[float]]  # 5 x [x, y]
    det_score: float
    quality: float
    quality_detail: dict[str, Any]
    track_id: int | None
    frames: int
    artist: str | None
    similarity: float | None
    margin: float | None
    score: float | None
    decision: str  # match | possible | no_match
    views: str  # what the stored vector was made from: crop | crop+mirror (absent before stage version 5)
    review_reason: str  # why the decision was capped at ``possible`` (a crop-only vector in the mirror band)
    runner_up: str | None
    crop_sha256: str | None
    frame_t: float | None
    # added by the manipulation stage's contribute
    manipulation_score: float | None
    manipulation_status: str
    heatmap_sha256: str


class FacesOutput(TypedDict, total=False):
    """What the faces stage stores (see the module docstring of ``faces.stage``)."""

    faces: list[FaceEntry]
    face_tracks: list[dict[str, Any]]
    embeddings: list[str | None]  # base64 float32, same order as ``faces``
    faces_total: int
    capped: bool
    notes: list[str]
    max_faces: int
    sampled_frames: int
    sampling: dict[str, Any]  # the [faces] video sampling used (video only)
    video: dict[str, Any]
    frame_t_unit: str
    detector: str
    embedder: str
    gallery_revision: str | None
    match_params: dict[str, Any]
    probe_embedding: str  # lazy (per-face ``views``); crop+mirror (version 4); absent: crop (version <= 3)
    mirrored: int  # faces (tracks) whose mirror view was embedded at scan time


def named_only_when_matched(face: dict[str, Any]) -> dict[str, Any]:
    """A face as people and scripts are shown it: a ``no_match`` face names no artist (issue #10). The closest
    enrolled artist is reported under its own field (``closest_artist``), never as ``artist``, so no reader takes
    a rejected candidate for an identification. The stored output keeps ``artist`` (the matcher's data)."""
    if face.get("decision") != "no_match" or not face.get("artist"):
        return face
    return {**face, "artist": None, "closest_artist": face["artist"]}
