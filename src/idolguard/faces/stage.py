"""The ``faces`` stage: every face of an image (or face track of a video) with its identity decision.

Output (stored per item, read by later stages through ``ctx.inputs["faces"]``):

- ``faces``: one entry per face (image) or per face track (video, summarising the track's best frame):
  ``index, bbox [x,y,w,h], landmarks [[x,y]x5], det_score, quality, quality_detail, track_id, artist,
  similarity, margin, score, decision, runner_up, crop_sha256, frame_t``;
- ``face_tracks`` (video): ``[{track_id, frames: [{t, bbox, landmarks, det_score}]}]``;
- ``embeddings``: the identity vectors (base64 float32, same order as ``faces``), so the decision can be
  re-made when the gallery changes without decoding the media again;
- ``faces_total``, ``capped``, ``notes``, ``video`` (sampling statistics), ``gallery_revision``, models,
  ``probe_embedding`` (``crop+mirror``: each vector is the mean of the crop's and its mirror image's).

Matching is done at run time against the workspace gallery (the ``gallery`` resource the runner passes in),
and again in ``contribute`` whenever the gallery changed since (new artists enrolled after a file was scanned
still get found by the next ``scan``). Without a workspace there is no gallery and every face is unmatched.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from idolguard.config import Limits
from idolguard.errors import MediaError
from idolguard.faces.analysis import FaceAnalyzer, FaceRecord, crop_png
from idolguard.faces.detector import MAX_FACES
from idolguard.faces.models import ModelUnavailable
from idolguard.faces.settings import FacesSettings
from idolguard.faces.tracking import Tracker
from idolguard.gallery.matching import NO_GALLERY, GalleryIndex, Match
from idolguard.pipeline.resources import Resources
from idolguard.pipeline.stage import Stage, StageContext
from idolguard.settings import load as load_settings

# Video sampling and the detection size are ``[faces]`` settings (``faces/settings.py``). Video frames are
# searched for faces at ``video_detect_side`` (crops still come from the full frame): detection cost grows
# with pixels and dominates the video path; a face of ~40 px in 720p is still ~20 px at 640.
MAX_ANIMATION_FRAMES = 32


@dataclass
class SampledVideo:
    reader: Any
    frames: Any


def sample_video(path: Path, limits: Limits, options: FacesSettings) -> SampledVideo:
    """The frames the faces stage analyses (``manipulation`` calls it with the recorded ``sampling``)."""
    from idolguard.media.frames import VideoReader

    reader = VideoReader(path, limits)
    frames = reader.sample(
        every_s=options.every_s,
        scene_cuts=options.scene_cuts,
        max_frames=options.max_frames,
        max_side=options.max_side,
    )
    return SampledVideo(reader, frames)


def encode_vector(vector: np.ndarray | None) -> str | None:
    if vector is None:
        return None
    return base64.b64encode(np.asarray(vector, "<f4").tobytes()).decode("ascii")


def decode_vector(text: str | None) -> np.ndarray | None:
    if not text:
        return None
    return np.frombuffer(base64.b64decode(text), "<f4").astype(np.float32)


def _settings(ctx_settings: dict[str, Any]) -> FacesSettings:
    return load_settings(FacesSettings, ctx_settings)


def face_entry(index: int, face: FaceRecord, match: Match, crop_sha256: str | None, t: float | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"index": index, **face.detection.as_dict()}
    entry["quality"] = round(face.quality.score, 3)
    entry["quality_detail"] = face.quality.as_dict()
    entry["track_id"] = None
    entry.update(match.as_dict())
    entry["crop_sha256"] = crop_sha256
    entry["frame_t"] = t
    return entry


class FacesStage(Stage):
    name = "faces"
    version = "4"  # 4: scanned faces embedded as crop + mirror (MIRROR_PROBES); 3: inputs under 64 px padded
    needs = ("probe",)
    produces = ("faces",)
    media_types: ClassVar[frozenset[str]] = frozenset({"image", "video"})
    description = "detect faces (YuNet), align, embed (SFace), track in video, match against the artist gallery"
    may_use = ("gallery",)
    refresh_uses = ("gallery",)  # re-match stored embeddings when the gallery changed

    def __init__(self) -> None:
        self._analyzer: FaceAnalyzer | None = None
        self._video_analyzers: dict[int, FaceAnalyzer] = {}

    def unavailable_reason(self) -> str | None:
        try:
            from idolguard.faces.models import SFACE, YUNET, model_path

            model_path(YUNET)
            model_path(SFACE)
        except ModelUnavailable as exc:
            return str(exc)
        except ImportError as exc:
            return f"missing dependency: {exc}"
        return None

    @property
    def analyzer(self) -> FaceAnalyzer:
        if self._analyzer is None:
            self._analyzer = FaceAnalyzer()
        return self._analyzer

    # --- running ---------------------------------------------------------------------------------------------
    def run(self, ctx: StageContext) -> dict[str, Any]:
        options = _settings(ctx.settings)
        output = self._run_video(ctx, options) if ctx.media_type == "video" else self._run_image(ctx, options)
        output["detector"] = self.analyzer.detector.name  # type: ignore[union-attr]
        output["embedder"] = self.analyzer.embedder.name  # type: ignore[union-attr]
        # How the stored vectors were made (the thresholds are calibrated for it; absent before 2026-12-02:
        # the crop alone).
        output["probe_embedding"] = "crop+mirror" if self.analyzer.mirror_probes else "crop"
        apply_matches(output, ctx.resources.get("gallery"))
        return output

    def video_analyzer(self, detect_side: int) -> FaceAnalyzer:
        if detect_side not in self._video_analyzers:
            from idolguard.faces.detector import YuNetDetector

            self._video_analyzers[detect_side] = FaceAnalyzer(
                detector=YuNetDetector(max_side=detect_side), embedder=self.analyzer.embedder
            )
        return self._video_analyzers[detect_side]

    def _crop(self, ctx: StageContext, face: FaceRecord, meta: dict[str, Any]) -> str:
        png = crop_png(face.aligned)
        if ctx.persist:
            return ctx.add_derived(png, "face_crop", "image/png", meta)
        import hashlib

        return hashlib.sha256(png).hexdigest()

    def _run_image(self, ctx: StageContext, options: FacesSettings) -> dict[str, Any]:
        from idolguard.media.image import iter_image_frames, load_rgb

        frames = list(iter_image_frames(ctx.path, ctx.limits, MAX_ANIMATION_FRAMES)) if self._animated(ctx) else []
        if len(frames) > 1:
            # Animated GIF/WebP: the frames become face tracks like a video's; ``frame_t`` is the frame number.
            output = self._run_frames(ctx, [(i, float(i), frame, False) for i, frame in enumerate(frames)])
            output["frame_t_unit"] = "frame"
            return output
        image = frames[0] if frames else load_rgb(ctx.path, ctx.limits)
        found = self.analyzer.analyze(image)
        faces, vectors = [], []
        for i, face in enumerate(found.faces):
            crop = self._crop(ctx, face, {"index": i, "bbox": face.detection.as_dict()["bbox"]})
            faces.append(face_entry(i, face, NO_GALLERY, crop, None))
            vectors.append(encode_vector(face.embedding))
        return {
            "faces": faces,
            "embeddings": vectors,
            "faces_total": found.total_detected,
            "capped": found.capped,
            "notes": found.notes,
            "max_faces": MAX_FACES,
        }

    @staticmethod
    def _animated(ctx: StageContext) -> bool:
        mime = (ctx.item.get("mime") or "").lower()
        return mime in ("image/gif", "image/webp", "image/apng", "image/png")

    def _run_video(self, ctx: StageContext, options: FacesSettings) -> dict[str, Any]:
        sampled = sample_video(ctx.path, ctx.limits, options)
        reader = sampled.reader
        frames = ((f.index, f.t, f.image, f.scene_cut) for f in sampled.frames)
        analyzer = self.video_analyzer(options.video_detect_side)
        output = self._run_frames(ctx, frames, analyzer)
        # The parameters used, so later stages (``manipulation``) decode exactly these frames again.
        output["sampling"] = options.sampling()
        output["video"] = reader.stats.as_dict()
        output["notes"] = list(output["notes"]) + list(reader.stats.notes)
        if reader.stats.stopped_early:
            output["notes"].append(f"sampling stopped early: {reader.stats.stopped_early}")
        return output

    def _run_frames(self, ctx: StageContext, frames: Any, analyzer: FaceAnalyzer | None = None) -> dict[str, Any]:
        analyzer = analyzer or self.analyzer
        tracker = Tracker()
        notes: list[str] = []
        total = 0
        sampled = 0
        for index, t, image, cut in frames:
            sampled += 1
            found = analyzer.analyze(image)
            total += found.total_detected
            if found.capped:
                notes.append(f"t={t:.2f}s: " + "; ".join(found.notes))
            tracker.update(t, index, found.faces, cut)
        faces, vectors, tracks = [], [], []
        for track in tracker.tracks:
            best = track.best()
            crop = self._crop(ctx, best.face, {"track_id": track.track_id, "t": best.t})
            entry = face_entry(len(faces), best.face, NO_GALLERY, crop, best.t)
            entry["track_id"] = track.track_id
            entry["frames"] = len(track.observations)
            faces.append(entry)
            vectors.append(encode_vector(track.embedding()))
            tracks.append(
                {
                    "track_id": track.track_id,
                    "frames": [
                        {"t": o.t, "frame_index": o.frame_index, **o.face.detection.as_dict()}
                        for o in track.observations
                    ],
                }
            )
        return {
            "faces": faces,
            "face_tracks": tracks,
            "embeddings": vectors,
            "faces_total": total,
            "sampled_frames": sampled,
            "capped": bool(notes),
            "notes": notes,
            "max_faces": MAX_FACES,
        }

    # --- matching --------------------------------------------------------------------------------------------
    def contribute(self, obj: dict[str, Any], output: dict[str, Any], resources: Resources | None = None) -> None:
        contribute_faces(obj, output, (resources or Resources()).get("gallery"))


def apply_matches(output: dict[str, Any], index: GalleryIndex | None) -> None:
    """Fill the identity fields of every face from its stored embedding (in place)."""
    faces = output.get("faces") or []
    vectors = [decode_vector(v) for v in output.get("embeddings") or []]
    output["gallery_revision"] = index.revision if index is not None else None
    if index is not None:
        output["match_params"] = {k: v for k, v in index.params.as_dict().items() if k != "source"}
    usable = [i for i, v in enumerate(vectors) if v is not None and i < len(faces)]
    matches: dict[int, Match] = {}
    if index is not None and usable:
        found = index.match(np.stack([vectors[i] for i in usable]), [faces[i]["quality"] for i in usable])
        matches = dict(zip(usable, found, strict=True))
    for i, face in enumerate(faces):
        face.update(matches.get(i, NO_GALLERY).as_dict())


PUBLIC_FIELDS = (
    "index",
    "bbox",
    "landmarks",
    "det_score",
    "quality",
    "track_id",
    "artist",
    "similarity",
    "margin",
    "decision",
    "crop_sha256",
    "frame_t",
)


def contribute_faces(obj: dict[str, Any], output: dict[str, Any], index: GalleryIndex | None = None) -> None:
    output = {**output, "faces": [dict(f) for f in output.get("faces") or []]}
    if index is not None and index.revision != output.get("gallery_revision"):
        apply_matches(output, index)
    obj["faces"] = [
        {**{k: f.get(k) for k in PUBLIC_FIELDS}, "score": f.get("score"), "runner_up": f.get("runner_up")}
        for f in output["faces"]
    ]
    if "face_tracks" in output:
        obj["face_tracks"] = output["face_tracks"]
    if output.get("notes"):
        obj["faces_notes"] = output["notes"]


def analyse_path(
    path: Path,
    media_type: str,
    limits: Limits | None = None,
    settings: dict[str, Any] | None = None,
    mime: str | None = None,
    resources: Resources | None = None,
) -> dict[str, Any]:
    """Run the stage on one file outside the runner (``eval``/``calibrate detector`` on labelled files): no
    derived files, nothing stored; faces are matched only if ``resources`` holds a gallery."""
    ctx = StageContext(
        sha256="",
        path=path,
        media_type=media_type,
        item={"mime": mime},
        inputs={},
        limits=limits or Limits(),
        settings=settings or {},
        persist=False,
        resources=resources or Resources(),
    )
    if media_type not in ("image", "video"):
        raise MediaError(f"not an image or video ({mime or 'unknown type'})")
    return _stage().run(ctx)


_STAGE: FacesStage | None = None


def _stage() -> FacesStage:
    global _STAGE
    if _STAGE is None:
        _STAGE = FacesStage()
    return _STAGE
