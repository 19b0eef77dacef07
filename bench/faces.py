"""Throughput of the faces area on one core, against raw decoding measured in the same run.

    taskset -c 0 python bench/faces.py [--repeats 5] [--video-seconds 10]

Prints medians over repeats: 640x480 JPEG decode (baseline), face detection alone, the full image path
(decode + detect + align + quality + embed), a 720p 30 fps video through the faces stage's video path versus
decoding every frame, and gallery search latency with 1,000 artists x 20 references. Test media are made
from scikit-image's public-domain astronaut portrait.
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--video-seconds", type=float, default=10.0)
    args = parser.parse_args()
    cv2.setNumThreads(1)

    from idolguard.faces.analysis import FaceAnalyzer, reference_embeddings
    from idolguard.faces.detector import get_detector
    from idolguard.gallery.matching import GalleryIndex, MatchParams
    from idolguard.media.frames import VideoReader
    from idolguard.media.image import load_rgb

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
        # What mirroring the scanned face costs (shipped: crop + mirror, see analysis.MIRROR_PROBES).
        plain_analyzer = FaceAnalyzer(detector=analyzer.detector, embedder=analyzer.embedder, mirror_probes=False)
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
            f"full path, probes unmirrored: {faces_found / full_plain:8.1f} faces/s "
            f"(shipped mirrored: {faces_found / full:.1f} faces/s)"
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

        def faces_video() -> None:
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

        raw = timed(decode_all, max(1, args.repeats // 2))
        stage = timed(faces_video, max(1, args.repeats // 2))
        secs = args.video_seconds
        print(f"720p30 decode all frames   : {secs / raw:8.1f}x real time (baseline)")
        print(f"720p30 faces video path    : {secs / stage:8.1f}x real time ({stage / raw:.2f}x decode time)")

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
