"""The ``faces`` stage: every face of an image (or face track of a video) with its identity decision.

Output (stored per item, read by later stages through ``ctx.inputs["faces"]``):

- ``faces``: one entry per face (image) or per face track (video, summarising the track's best frame):
  ``index, bbox [x,y,w,h], landmarks [[x,y]x5], det_score, quality, quality_detail, track_id, artist,
  similarity, margin, score, decision, runner_up, crop_sha256, frame_t, views`` (``views``: what the stored
  vector was made from, ``crop`` or ``crop+mirror``; see "Lazy mirroring" below);
- ``face_tracks`` (video): ``[{track_id, frames: [{t, bbox, landmarks, det_score}]}]``;
- ``embeddings``: the identity vectors (base64 float32, same order as ``faces``), so the decision can be
  re-made when the gallery changes without decoding the media again;
- ``faces_total``, ``capped``, ``notes``, ``video`` (sampling statistics), ``gallery_revision``, models,
  ``probe_embedding`` (``lazy``: per-face ``views``; version 4 stored ``crop+mirror`` for every face, and
  versions up to 3 nothing, meaning ``crop``), ``mirrored`` (how many faces got their mirror view; from
  version 6 certain matches are not among them, except video tracks of several frames).

Lazy mirroring: the thresholds are calibrated on crop + mirror vectors. Each face (track) is embedded from
its crop; its mirror view is embedded and fused only when some artist's crop-only score comes within the
band's width (``mirror_band`` at the thresholds it was measured at, else ``mirror_delta``;
``GalleryIndex.band_widths``) of that artist's ``possible`` threshold and the face is not a certain ``match``
(``GalleryIndex.mirror_needed``), so faces far from every artist (``no_match`` either way) and faces far
above one artist's match threshold and far ahead of every other artist (``match`` to that artist either
way) are decided on the crop, the rest on crop + mirror. A certain match's stored ``similarity``, ``margin``
and ``score`` are then the crop's (``views: crop`` says so), a little lower than crop + mirror would give
(fusing raises scores by 0.025 at the median). The certain-match skip applies to pictures and one-frame
video tracks only: a track of several frames in the band is always mirrored, since its mirror cannot be made
later (below). When a later gallery puts a stored crop-only vector into that band, the refresh
(``contribute``) embeds the mirror of the face crop stored in the vault (the ``face_crops`` resource:
lossless, so the fused vector is exactly the one a scan would store). Where that cannot be done (a video
track's vector averages several frames and only one crop is stored; no stored crop; an
unreadable crop) the face is decided at most ``possible``, with ``review_reason``, until the item is analysed
again.

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
from idolguard.faces.analysis import (
    CROP,
    CROP_MIRROR,
    FaceAnalyzer,
    FaceRecord,
    add_mirror,
    complete_views,
    crop_png,
    fuse_views,
)
from idolguard.faces.crop_resource import FaceCrops
from idolguard.faces.detector import MAX_FACES
from idolguard.faces.models import ModelUnavailable
from idolguard.faces.settings import FacesSettings
from idolguard.faces.tracking import Tracker
from idolguard.gallery.matching import NO_GALLERY, POSSIBLE, GalleryIndex, Match
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
    entry["views"] = face.views
    return entry


class FacesStage(Stage):
    name = "faces"
    # 7: the mirror band below ``possible`` is ``mirror_band`` wide (0.07) at the thresholds it was measured at,
    # ``mirror_delta`` (0.08) elsewhere, so a face 0.07-0.08 below is stored crop-only (``no_match`` with either
    # vector; a version 6 output that mirrored it holds the same decision); and a video track of several frames
    # in the mirror band is always mirrored, even when a certain match (that came after review of version 6
    # without a new version, so a version 6 output of a video may hold such a track crop-only, which a later
    # gallery refresh could at worst cap at ``possible``; this version re-analyses it: ``analyze --stale``). Such
    # a track is decided with the ``mirror_delta``-wide band, not the narrower ``mirror_band`` (review A, finding
    # 10), without a new version: its decision at the measured threshold is the same either way; a version 7
    # output stored before may hold a track 0.07-0.08 below crop-only, which a later threshold change can at
    # worst cap at ``possible``, never a wrong ``match``;
    # 6: a certain ``match`` is left crop-only too (its vector, similarity and margin are the crop's; version 5
    # stored crop + mirror for it, read as it is);
    # 5: lazy probe mirroring, per-face ``views``; 4: every scanned face crop + mirror; 3: inputs under 64 px
    # padded. A new version makes every stored output of this stage, and of the stages that need it
    # (``manipulation``, ``face_match``, ``source_attribution``), no longer current: the item page shows them
    # marked as older, other views leave them out, until ``idolguard analyze --stale`` (docs/ARCHITECTURE.md,
    # "The faces stage" and "Older stage versions").
    version = "7"
    needs = ("probe",)
    produces = ("faces",)
    media_types: ClassVar[frozenset[str]] = frozenset({"image", "video"})
    description = "detect faces (YuNet), align, embed (SFace), track in video, match against the artist gallery"
    may_use = ("gallery",)
    # Re-match stored embeddings when the gallery changed; stored crops give crop-only faces their mirror view.
    refresh_uses = ("gallery", "face_crops")

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
        gallery = ctx.resources.get("gallery")
        if ctx.media_type == "video":
            output = self._run_video(ctx, options, gallery)
        else:
            output = self._run_image(ctx, options, gallery)
        output["detector"] = self.analyzer.detector.name  # type: ignore[union-attr]
        output["embedder"] = self.analyzer.embedder.name  # type: ignore[union-attr]
        # How the stored vectors were made: per face in ``views`` (the thresholds are calibrated on crop +
        # mirror; see "Lazy mirroring" above). Version 4 stored ``crop+mirror`` here, versions up to 3 nothing.
        output["probe_embedding"] = self.analyzer.probe_views
        output["mirrored"] = sum(1 for f in output["faces"] if f.get("views") == CROP_MIRROR)
        apply_matches(output, gallery)
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

    def _run_image(self, ctx: StageContext, options: FacesSettings, gallery: GalleryIndex | None) -> dict[str, Any]:
        from idolguard.media.image import iter_image_frames, load_rgb

        frames = list(iter_image_frames(ctx.path, ctx.limits, MAX_ANIMATION_FRAMES)) if self._animated(ctx) else []
        if len(frames) > 1:
            # Animated GIF/WebP: the frames become face tracks like a video's; ``frame_t`` is the frame number.
            frame_list = [(i, float(i), frame, False) for i, frame in enumerate(frames)]
            output = self._run_frames(ctx, frame_list, gallery)
            output["frame_t_unit"] = "frame"
            return output
        image = frames[0] if frames else load_rgb(ctx.path, ctx.limits)
        found = self.analyzer.analyze(image)
        assert self.analyzer.embedder is not None
        complete_views(self.analyzer.embedder, found.faces, gallery)
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

    def _run_video(self, ctx: StageContext, options: FacesSettings, gallery: GalleryIndex | None) -> dict[str, Any]:
        sampled = sample_video(ctx.path, ctx.limits, options)
        reader = sampled.reader
        frames = ((f.index, f.t, f.image, f.scene_cut) for f in sampled.frames)
        analyzer = self.video_analyzer(options.video_detect_side)
        output = self._run_frames(ctx, frames, gallery, analyzer)
        # The parameters used, so later stages (``manipulation``) decode exactly these frames again.
        output["sampling"] = options.sampling()
        output["video"] = reader.stats.as_dict()
        output["notes"] = list(output["notes"]) + list(reader.stats.notes)
        if reader.stats.stopped_early:
            output["notes"].append(f"sampling stopped early: {reader.stats.stopped_early}")
        return output

    def _run_frames(
        self, ctx: StageContext, frames: Any, gallery: GalleryIndex | None, analyzer: FaceAnalyzer | None = None
    ) -> dict[str, Any]:
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
        self._complete_track_views(tracker, gallery, analyzer)
        faces, vectors, tracks = [], [], []
        for track in tracker.tracks:
            best = track.best()
            crop = self._crop(ctx, best.face, {"track_id": track.track_id, "t": best.t})
            entry = face_entry(len(faces), best.face, NO_GALLERY, crop, best.t)
            entry["track_id"] = track.track_id
            entry["frames"] = len(track.observations)
            entry["views"] = track.views()
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

    @staticmethod
    def _complete_track_views(tracker: Tracker, gallery: GalleryIndex | None, analyzer: FaceAnalyzer) -> None:
        """Lazy mirroring per track: the track's crop-only vector (mean of its best frames) decides whether
        the mirror views of those frames are embedded (the same rule as a picture's face), except that a
        track of several frames is mirrored as a certain match too. Its vector averages several frames and
        only one crop is stored, so a later refresh cannot add the mirror: left crop-only, a gallery change
        that made it uncertain would cap it at ``possible`` (``mirror_view_missing``) where a fresh scan
        says ``match``. For the same reason such a track is decided with the ``mirror_delta``-wide band, not the
        narrower ``mirror_band`` (measured at one threshold, on single pictures): a later threshold outside its
        range would widen the band over a crop-only track and cap it at ``possible`` (review A, finding 10). A
        one-frame track's vector is its stored crop's, so the refresh can."""
        if gallery is None or gallery.empty or analyzer.embedder is None:
            return
        pending = [t for t in tracker.tracks if t.views() == CROP and t.embedding() is not None]
        if not pending:
            return
        vectors = np.stack([t.embedding() for t in pending])  # type: ignore[misc]
        qualities = [round(t.best().face.quality.score, 3) for t in pending]
        # A track of several frames: the ``mirror_delta``-wide band (``narrow=False``), certain matches included.
        wide = gallery.mirror_needed(vectors, qualities, skip_certain=False, narrow=False)
        uncertain = gallery.mirror_needed(vectors, qualities)  # the band less the certain matches
        for track, in_wide, needed in zip(pending, wide, uncertain, strict=True):
            if needed or (in_wide and len(track.observations) > 1):
                add_mirror(analyzer.embedder, [o.face for o in track.top()])

    # --- matching --------------------------------------------------------------------------------------------
    def contribute(self, obj: dict[str, Any], output: dict[str, Any], resources: Resources | None = None) -> None:
        resources = resources or Resources()
        contribute_faces(obj, output, resources.get("gallery"), resources.get("face_crops"))


def apply_matches(output: dict[str, Any], index: GalleryIndex | None, crops: FaceCrops | None = None) -> None:
    """Fill the identity fields of every face from its stored embedding (in place).

    A stored crop-only vector that ``index`` puts in the mirror band first gets its mirror view from the
    stored face crop (``crops``: single pictures and one-frame tracks, whose vector is that crop's); where
    that is impossible it is decided at most ``possible`` (see "Lazy mirroring" in the module docstring)."""
    faces = output.get("faces") or []
    vectors = [decode_vector(v) for v in output.get("embeddings") or []]
    if index is not None and not index.empty:
        _mirror_stored(output, faces, vectors, index, crops)
    output["gallery_revision"] = index.revision if index is not None else None
    if index is not None:
        output["match_params"] = {k: v for k, v in index.params.as_dict().items() if k != "source"}
    usable = [i for i, v in enumerate(vectors) if v is not None and i < len(faces)]
    matches: dict[int, Match] = {}
    capped: set[int] = set()
    if index is not None and usable:
        stacked = np.stack([vectors[i] for i in usable])
        qualities = [faces[i]["quality"] for i in usable]
        found = index.match(stacked, qualities)
        matches = dict(zip(usable, found, strict=True))
        # A crop-only vector where the mirror could change the decision: the thresholds are for crop + mirror,
        # and a stored result has no media to embed the mirror from, so a person decides (at most ``possible``).
        # A video track of several frames is checked with the stage's own band for such tracks, the
        # ``mirror_delta``-wide one (``narrow=False``, see ``_complete_track_views``); the rest with the narrow.
        crop_only = [k for k, i in enumerate(usable) if face_views(output, faces[i]) == CROP]
        if crop_only:
            probes, quality = stacked[crop_only], [qualities[k] for k in crop_only]
            needed = index.mirror_needed(probes, quality)
            wide = index.mirror_needed(probes, quality, narrow=False)
            capped = {
                usable[k]
                for k, flag, in_wide in zip(crop_only, needed, wide, strict=True)
                if flag or (in_wide and _several_frames(faces[usable[k]]))
            }
    for i, face in enumerate(faces):
        face.pop("review_reason", None)
        face.update(matches.get(i, NO_GALLERY).as_dict())
        if i in capped:
            face["decision"] = POSSIBLE
            face["review_reason"] = MIRROR_MISSING


def _several_frames(face: dict[str, Any]) -> bool:
    """A video track of several frames: its vector averages frames of which one crop is stored."""
    return face.get("track_id") is not None and (face.get("frames") or 1) > 1


# ``review_reason`` code (machine-readable; reports translate codes, never show it raw): a crop-only vector near a
# threshold whose mirror view could not be embedded, decided at most ``possible`` until the item is re-analysed.
MIRROR_MISSING = "mirror_view_missing"


def _mirror_stored(
    output: dict[str, Any],
    faces: list[dict[str, Any]],
    vectors: list[np.ndarray | None],
    index: GalleryIndex,
    crops: FaceCrops | None,
) -> None:
    """Give the stored crop-only vectors that ``index`` needs mirrored their mirror view, in place (vectors,
    ``embeddings`` and each face's ``views``), from the stored crop; the others are left for the cap."""
    pending = [
        i
        for i, v in enumerate(vectors)
        if v is not None
        and i < len(faces)
        and face_views(output, faces[i]) == CROP
        and faces[i].get("crop_sha256")
        # a video track's vector is the mean of several frames, only one of whose crops is stored
        and (faces[i].get("track_id") is None or faces[i].get("frames") == 1)
    ]
    if crops is None or not pending:
        return
    needed = index.mirror_needed(np.stack([vectors[i] for i in pending]), [faces[i]["quality"] for i in pending])
    embeddings = list(output.get("embeddings") or [])
    for i, flag in zip(pending, needed, strict=True):
        mirror = crops.mirror_vector(str(faces[i]["crop_sha256"])) if flag else None
        crop_vector = vectors[i]
        if mirror is None or crop_vector is None:
            continue
        vectors[i] = fuse_views(crop_vector, mirror)
        embeddings[i] = encode_vector(vectors[i])
        faces[i]["views"] = CROP_MIRROR
    output["embeddings"] = embeddings


def face_views(output: dict[str, Any], face: dict[str, Any]) -> str:
    """What a stored face's vector was made from: its own ``views`` (version 5), else the whole output's
    ``probe_embedding`` (version 4: ``crop+mirror``), else ``crop`` (versions up to 3 stored neither)."""
    views = face.get("views") or output.get("probe_embedding")
    return CROP_MIRROR if views == CROP_MIRROR else CROP


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
    "views",
)


def contribute_faces(
    obj: dict[str, Any], output: dict[str, Any], index: GalleryIndex | None = None, crops: FaceCrops | None = None
) -> None:
    output = {**output, "faces": [dict(f) for f in output.get("faces") or []]}
    if index is not None and index.revision != output.get("gallery_revision"):
        apply_matches(output, index, crops)
    obj["faces"] = [
        {
            **{k: f.get(k) for k in PUBLIC_FIELDS},
            "views": face_views(output, f),
            "score": f.get("score"),
            "runner_up": f.get("runner_up"),
            **({"review_reason": f["review_reason"]} if f.get("review_reason") else {}),
        }
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
