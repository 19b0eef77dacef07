"""Throughput of the faces area on one core, against raw decoding measured in the same run.

    taskset -c 1 python bench/faces.py [--repeats 5] [--video-seconds 10] [--data ../shared/data]

Prints medians over repeats: 640x480 JPEG decode (baseline), face detection alone, the full image path
(decode + detect + align + quality + embed) with no gallery, a 720p 30 fps video through the faces stage's
video path versus decoding every frame (with no gallery, with the clip's face enrolled, and with a look-alike
enrolled next to it, so every track needs its mirror views), and gallery search latency with 1,000 artists x
20 references. Test media are made from scikit-image's public-domain astronaut portrait.

With ``--data`` (the shared East Asian sets, read as ``bench/faces_calibration_sets.py`` does): the full image
path *with a realistic gallery* (``--artists`` identities enrolled with 3 references each, crop + mirror as at
enrolment) on probes that are mostly people who are not enrolled (every photo of the other labelled
identities and ``--strangers`` unlabelled faces: actors and UTKFace adults) plus one unseen photo of each
enrolled artist, each letterboxed into 640x480, decided against the gallery exactly as the faces stage does,
with scanned faces embedded four ways in the same run: crop only, crop + mirror for every face, lazy with
a ``mirror_delta``-wide band below every ``possible`` threshold (and the certain-match skip: the rule shipped
until 2026-12-03), and lazy as shipped (``GalleryIndex.mirror_needed``: the narrower ``mirror_band`` below
the thresholds it was measured at, and no mirror for a certain ``match``). The per-group counts also give the
band rule alone (no certain-match skip, ``mirror_delta`` wide: the rule before 2026-12-02 evening).
Reports faces/s (wall clock, median of repeats), CPU time per face
(``time.process_time``, steadier on a loaded machine), the share of faces mirrored, and how many decisions
differ between each lazy rule and full mirroring.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from skimage import data


def portrait_jpegs(count: int) -> list[bytes]:
    head = Image.fromarray(data.astronaut()).crop((100, 0, 400, 300))
    out = []
    rng = np.random.default_rng(0)
    for _ in range(count):
        canvas = Image.new("RGB", (640, 480), tuple(int(v) for v in rng.integers(40, 200, 3)))
        size = int(rng.integers(160, 300))
        canvas.paste(head.resize((size, size)), (int(rng.integers(0, 640 - size)), int(rng.integers(0, 480 - size))))
        buffer = io.BytesIO()
        canvas.save(buffer, "JPEG", quality=85)
        out.append(buffer.getvalue())
    return out


def write_video(path: Path, seconds: float, fps: int = 30, size: tuple[int, int] = (1280, 720)) -> None:
    import av

    head = np.asarray(Image.fromarray(data.astronaut()).crop((100, 0, 400, 300)).resize((240, 240)))
    width, height = size
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        frames = int(seconds * fps)
        for i in range(frames):
            canvas = np.full((height, width, 3), 70 + (i // (fps * 4)) * 40 % 150, dtype=np.uint8)
            x = 40 + int((width - 320) * (i % (fps * 4)) / (fps * 4))
            canvas[200:440, x : x + 240] = head
            for packet in stream.encode(av.VideoFrame.from_ndarray(canvas, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def timed(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def timed_both(fn, repeats: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(median wall seconds, median process CPU seconds) over ``repeats`` calls."""
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def letterbox_jpeg(path: Path, size: tuple[int, int] = (640, 480)) -> bytes:
    """The photo scaled to fit a 640x480 grey canvas, as JPEG (a scanned picture of the usual size)."""
    image = Image.open(path).convert("RGB")
    image.thumbnail(size)
    canvas = Image.new("RGB", size, (120, 120, 120))
    canvas.paste(image, ((size[0] - image.width) // 2, (size[1] - image.height) // 2))
    buffer = io.BytesIO()
    canvas.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def gallery_bench(data: Path, folder: Path, artists: int, strangers: int, repeats: int, seed: int = 0) -> None:
    """Full image path with a realistic gallery: crop only vs crop + mirror vs lazy (see module docstring)."""
    import random
    import sys

    from idolguard.faces.analysis import (
        CROP,
        CROP_MIRROR,
        LAZY,
        FaceAnalyzer,
        complete_views,
        primary_face,
    )
    from idolguard.gallery.matching import GalleryIndex, MatchParams
    from idolguard.media.image import load_rgb

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from faces_calibration_sets import rows_for

    rows = rows_for(data)
    by_identity: dict[str, list[str]] = {}
    unlabelled = []
    for path, identity, _source in rows:
        if identity:
            by_identity.setdefault(identity, []).append(path)
        else:
            unlabelled.append(path)
    rng = random.Random(seed)
    eligible = sorted(i for i, paths in by_identity.items() if len(paths) >= 4)
    enrolled = sorted(rng.sample(eligible, min(artists, len(eligible) - 1)))
    lazy = FaceAnalyzer(probe_views=LAZY)
    names, refs, owners, probe_paths, genuine = [], [], [], [], []
    for identity in sorted(by_identity):
        paths = rng.sample(by_identity[identity], len(by_identity[identity]))
        if identity in enrolled:
            vectors = []
            for path in paths[:3]:
                image = load_rgb(Path(path))
                face = primary_face(lazy.analyze(image, reference=True).faces, image.shape)
                if face is not None and face.embedding is not None:
                    vectors.append(face.embedding)
            if vectors:
                owners += [len(names)] * len(vectors)
                names.append(identity)
                refs += vectors
                probe_paths.append(paths[3])
                genuine.append(True)
        else:
            probe_paths += paths
            genuine += [False] * len(paths)
    for path in rng.sample(unlabelled, min(strangers, len(unlabelled))):
        probe_paths.append(path)
        genuine.append(False)
    index = GalleryIndex(names, np.stack(refs), np.array(owners), params=MatchParams.shipped())
    files = []
    for i, path in enumerate(probe_paths):
        files.append(folder / f"probe{i}.jpg")
        files[-1].write_bytes(letterbox_jpeg(Path(path)))
    band = "lazy-delta"  # the band mirror_delta wide everywhere, with the certain-match skip (until 2026-12-03)
    wide = GalleryIndex(
        names, np.stack(refs), np.array(owners), params=MatchParams(**{**index.params.as_dict(), "mirror_band": None})
    )
    analyzers = {
        CROP: FaceAnalyzer(lazy.detector, lazy.embedder, probe_views=CROP),
        CROP_MIRROR: FaceAnalyzer(lazy.detector, lazy.embedder, probe_views=CROP_MIRROR),
        band: lazy,
        LAZY: lazy,
    }

    def scan(policy: str) -> tuple[list[tuple[str, str | None]], int, int]:
        """Decode, detect, align, embed and decide every probe file as the faces stage does."""
        analyzer = analyzers[policy]
        assert analyzer.embedder is not None
        decisions, faces, mirrored = [], 0, 0
        for file in files:
            found = analyzer.analyze(load_rgb(file))
            if policy == LAZY:
                mirrored += complete_views(analyzer.embedder, found.faces, index)
            elif policy == band:
                mirrored += complete_views(analyzer.embedder, found.faces, wide)  # decided by ``index`` below
            elif policy == CROP_MIRROR:
                mirrored += len(found.faces)
            usable = [f for f in found.faces if f.embedding is not None]
            if usable:
                matches = index.match(
                    np.stack([f.embedding for f in usable]), [round(f.quality.score, 3) for f in usable]
                )
                decisions += [(m.decision, m.artist if m.decision != "no_match" else None) for m in matches]
            faces += len(found.faces)
        return decisions, faces, mirrored

    scan(LAZY)  # warm up
    results = {policy: scan(policy) for policy in analyzers}
    faces = results[CROP][1]
    differ = sum(a != b for a, b in zip(results[LAZY][0], results[CROP_MIRROR][0], strict=True))
    band_differ = sum(a != b for a, b in zip(results[band][0], results[CROP_MIRROR][0], strict=True))
    crop_differ = sum(a != b for a, b in zip(results[CROP][0], results[CROP_MIRROR][0], strict=True))
    print(
        f"gallery: {len(names)} artists x 3 references (crop + mirror), probes: {len(files)} files "
        f"({sum(genuine)} enrolled artists' unseen photos, {len(files) - sum(genuine)} people not enrolled), "
        f"{faces} faces; shipped calibration (match {index.params.match_threshold}, possible "
        f"{index.params.possible_threshold}, mirror_delta {index.params.mirror_delta}, mirror_band "
        f"{index.params.mirror_band} at possible {index.params.mirror_band_from}-{index.params.mirror_band_upto})"
    )
    timings: dict[str, list[tuple[float, float]]] = {}
    policies = (CROP, CROP_MIRROR, band, LAZY)
    for _ in range(repeats):  # interleaved, so load changes hit every policy alike
        for policy in policies:
            timings.setdefault(policy, []).append(timed_both(lambda p=policy: scan(p), 1))  # type: ignore[misc]
    for policy, label in (
        (CROP, "crop only (unmirrored)"),
        (CROP_MIRROR, "crop + mirror, every face"),
        (band, "lazy, delta-wide band + certain"),
        (LAZY, "lazy (narrow band + certain)"),
    ):
        wall = statistics.median(t[0] for t in timings[policy])
        cpu = statistics.median(t[1] for t in timings[policy])
        print(
            f"full path with gallery, {label:31s}: {faces / wall:6.1f} faces/s wall, {cpu / faces * 1000:6.1f} ms "
            f"CPU/face ({faces / cpu:5.1f} faces/CPU-s); mirrored {results[policy][2]}/{faces}"
        )
    groups = {"enrolled artists' unseen photos": [], "labelled people not enrolled": [], "unlabelled strangers": []}
    for file, is_genuine, path in zip(files, genuine, probe_paths, strict=True):
        labelled = any(path in paths for paths in by_identity.values())
        key = (
            "enrolled artists' unseen photos"
            if is_genuine
            else ("labelled people not enrolled" if labelled else "unlabelled strangers")
        )
        groups[key].append(file)
    lazy_embedder = lazy.embedder
    assert lazy_embedder is not None
    for name, members in groups.items():
        count = needed = before = delta_wide = 0
        for file in members:
            found = lazy.analyze(load_rgb(file))
            if found.faces:
                vectors = np.stack([f.embedding for f in found.faces])
                qualities = [round(f.quality.score, 3) for f in found.faces]
                before += int(wide.mirror_needed(vectors, qualities, skip_certain=False).sum())
                delta_wide += int(wide.mirror_needed(vectors, qualities).sum())
            needed += complete_views(lazy_embedder, found.faces, index)
            count += len(found.faces)
        print(
            f"  mirrored, {name:32s}: {needed}/{count} faces (delta-wide band + certain {delta_wide}, "
            f"band rule alone {before})"
        )
    print(
        f"lazy vs every face mirrored: {differ} of {len(results[LAZY][0])} decisions differ, delta-wide band "
        f"{band_differ} (crop only vs mirrored: {crop_differ}); share mirrored {results[LAZY][2] / max(faces, 1):.1%}"
        f" (delta-wide band {results[band][2] / max(faces, 1):.1%})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--video-seconds", type=float, default=10.0)
    parser.add_argument("--data", type=Path, help="../shared/data: also run the realistic-gallery comparison")
    parser.add_argument("--artists", type=int, default=40, help="identities enrolled (3 references each)")
    parser.add_argument("--strangers", type=int, default=120, help="unlabelled never-enrolled faces as probes")
    parser.add_argument("--only-gallery", action="store_true", help="run only the realistic-gallery comparison")
    args = parser.parse_args()
    cv2.setNumThreads(1)

    import os

    from idolguard.faces.analysis import FaceAnalyzer, reference_embeddings
    from idolguard.faces.detector import get_detector
    from idolguard.gallery.matching import GalleryIndex, MatchParams
    from idolguard.media.frames import VideoReader
    from idolguard.media.image import load_rgb

    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    if args.data is not None:
        with tempfile.TemporaryDirectory() as tmp:
            gallery_bench(args.data, Path(tmp), args.artists, args.strangers, args.repeats)
        print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
        if args.only_gallery:
            return
    analyzer = FaceAnalyzer()
    detector = get_detector()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = []
        for i, blob in enumerate(portrait_jpegs(args.images)):
            paths.append(folder / f"{i}.jpg")
            paths[-1].write_bytes(blob)
        arrays = [load_rgb(p) for p in paths]
        analyzer.analyze(arrays[0])  # warm up both models

        decode = timed(lambda: [load_rgb(p) for p in paths], args.repeats)
        detect = timed(lambda: [detector.detect(a) for a in arrays], args.repeats)
        faces_found = sum(len(analyzer.analyze(load_rgb(p)).faces) for p in paths)
        full = timed(lambda: [analyzer.analyze(load_rgb(p)) for p in paths], args.repeats)
        n = len(paths)
        print(f"640x480 JPEG decode        : {n / decode:8.1f} images/s (baseline)")
        print(f"detection alone            : {n / detect:8.1f} images/s  ({detect / decode:.2f}x decode time)")
        print(
            f"full path (decode+det+align+quality+embed): {faces_found / full:8.1f} faces/s "
            f"({n / full:.1f} images/s, {faces_found} faces in {n} images; {full / decode:.2f}x decode time)"
        )
        # What mirroring every scanned face costs (no gallery here: the shipped lazy path embeds the crop alone).
        plain_analyzer = FaceAnalyzer(detector=analyzer.detector, embedder=analyzer.embedder, probe_views="crop+mirror")
        full_plain = timed(lambda: [plain_analyzer.analyze(load_rgb(p)) for p in paths], args.repeats)
        crops = [f.aligned for a in arrays for f in analyzer.analyze(a, embed=False).faces]
        assert analyzer.embedder is not None
        embedder = analyzer.embedder
        one_view = timed(lambda: embedder.embed(crops), args.repeats)
        two_views = timed(lambda: reference_embeddings(embedder, crops), args.repeats)
        k = max(1, len(crops))
        print(
            f"embedding per face        : {one_view / k * 1000:8.2f} ms crop only, {two_views / k * 1000:.2f} ms "
            f"crop + mirror (+{(two_views - one_view) / k * 1000:.2f} ms)"
        )
        print(
            f"full path, every probe mirrored: {faces_found / full_plain:8.1f} faces/s "
            f"(shipped, no gallery so no mirror: {faces_found / full:.1f} faces/s)"
        )

        video = folder / "clip.mp4"
        write_video(video, args.video_seconds)

        def decode_all() -> None:
            import av

            with av.open(str(video)) as container:
                for frame in container.decode(video=0):
                    frame.to_ndarray(format="rgb24")

        from idolguard.faces.settings import FacesSettings
        from idolguard.faces.stage import FacesStage

        sampling = FacesSettings()  # the defaults a scan uses
        video_analyzer = FacesStage().video_analyzer(sampling.video_detect_side)

        # With a gallery the shipped path also adds the mirror views of a track's 3 best frames where its
        # crop-only track vector needs them (``FacesStage._complete_track_views``): the clip's face enrolled
        # alone (a certain match: no mirror) or next to a look-alike enrolled with the same references (never
        # certain: every track mirrored, the worst case).
        reference = analyzer.analyze(np.asarray(data.astronaut()), reference=True).faces[0].embedding
        strangers = np.random.default_rng(2).normal(size=(4, 128)).astype(np.float32)
        strangers /= np.linalg.norm(strangers, axis=1, keepdims=True)

        def clip_gallery(twin: bool) -> GalleryIndex:
            refs = np.concatenate([np.stack([reference] * (4 if twin else 2)), strangers])
            owners = np.array([0, 0, 1, 1, 2, 2, 3, 3][: len(refs)] if twin else [0, 0, 1, 1, 2, 2])
            names = ["astronaut", "twin", "b", "c"] if twin else ["astronaut", "b", "c"]
            return GalleryIndex(names, refs, owners, params=MatchParams.shipped())

        mirrored_tracks: dict[str, str] = {}

        def faces_video(gallery: GalleryIndex | None = None, label: str = "") -> None:
            from idolguard.faces.analysis import CROP_MIRROR
            from idolguard.faces.tracking import Tracker

            reader = VideoReader(video)
            tracker = Tracker()
            sampled = reader.sample(
                every_s=sampling.every_s,
                scene_cuts=sampling.scene_cuts,
                max_frames=sampling.max_frames,
                max_side=sampling.max_side,
            )
            for frame in sampled:
                tracker.update(frame.t, frame.index, video_analyzer.analyze(frame.image).faces, frame.scene_cut)
            if gallery is not None:
                FacesStage._complete_track_views(tracker, gallery, video_analyzer)
                done = sum(t.views() == CROP_MIRROR for t in tracker.tracks)
                mirrored_tracks[label] = f"{done}/{len(tracker.tracks)} tracks mirrored"

        runs = max(1, args.repeats // 2)
        raw, raw_cpu = timed_both(decode_all, runs)
        stage, stage_cpu = timed_both(faces_video, runs)
        certain, certain_cpu = timed_both(lambda: faces_video(clip_gallery(False), "certain"), runs)
        twins, twins_cpu = timed_both(lambda: faces_video(clip_gallery(True), "twin"), runs)
        secs = args.video_seconds
        # Real time per wall second and per CPU second (the latter steadier on a shared machine).
        print(f"720p30 decode all frames   : {secs / raw:8.1f}x real time (baseline; {secs / raw_cpu:.1f}x per CPU-s)")
        print(
            f"720p30 faces video path    : {secs / stage:8.1f}x real time ({stage / raw:.2f}x decode time; "
            f"{secs / stage_cpu:.1f}x per CPU-s), no gallery"
        )
        print(
            f"  with the face enrolled   : {secs / certain:8.1f}x real time ({secs / certain_cpu:.1f}x per CPU-s; "
            f"{mirrored_tracks['certain']}); with a look-alike enrolled too: {secs / twins:.1f}x "
            f"({secs / twins_cpu:.1f}x per CPU-s; {mirrored_tracks['twin']})"
        )

    rng = np.random.default_rng(1)
    refs = rng.normal(size=(20_000, 128)).astype(np.float32)
    refs /= np.linalg.norm(refs, axis=1, keepdims=True)
    owners = np.repeat(np.arange(1000), 20)
    index = GalleryIndex([f"artist{i}" for i in range(1000)], refs, owners, params=MatchParams())
    probes = rng.normal(size=(100, 128)).astype(np.float32)
    probes /= np.linalg.norm(probes, axis=1, keepdims=True)
    one = timed(lambda: index.match(probes[:1]), args.repeats * 4)
    hundred = timed(lambda: index.match(probes), args.repeats)
    print(f"gallery 1000x20, 1 face    : {one * 1000:8.2f} ms")
    print(f"gallery 1000x20, 100 faces : {hundred * 1000:8.2f} ms ({hundred * 10:.2f} ms/face)")


if __name__ == "__main__":
    main()
