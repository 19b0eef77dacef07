"""Manipulation-detector throughput on one core, against face detection measured in the same run.

    taskset -c 0 python bench/detect_speed.py [--repeats 5] [--crops 64]

Prints medians over repeats: YuNet face detection on a 640x480 portrait (the baseline every scored face
already paid for), cutting detector crops, ONNX Runtime inference on crops one at a time and in
batches of 16, and the synthetic-image family's statistics on the same crops (and both together), with
crops/s and the ratio to detection time. ONNX Runtime runs with one intra-op thread.
Test media are made from scikit-image's public-domain astronaut portrait.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from PIL import Image
from skimage import data

from idolguard.detect.crops import crop_face
from idolguard.detect.detector import default_detector
from idolguard.faces.detector import YuNetDetector


def portrait() -> np.ndarray:
    head = Image.fromarray(data.astronaut()).crop((100, 0, 400, 300)).resize((240, 240))
    canvas = Image.new("RGB", (640, 480), (90, 110, 130))
    canvas.paste(head, (200, 120))
    return np.asarray(canvas)


def timed(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    fn()  # warm-up
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--crops", type=int, default=64)
    args = parser.parse_args()
    image = portrait()
    yunet = YuNetDetector()
    faces = yunet.detect(image)
    assert faces, "no face in the benchmark portrait"
    bbox = faces[0].bbox
    detector = default_detector()
    n = args.crops
    t_detect = timed(lambda: [yunet.detect(image) for _ in range(16)], args.repeats) / 16
    t_crop = (
        timed(
            lambda: [crop_face(image, bbox, detector.input_size, detector.crop_scale) for _ in range(n)], args.repeats
        )
        / n
    )
    crop = crop_face(image, bbox, detector.input_size, detector.crop_scale)
    crops = [np.ascontiguousarray(np.roll(crop, i, axis=1)) for i in range(n)]
    t_single = timed(lambda: [detector.raw([c]) for c in crops], args.repeats) / n
    t_batch = timed(lambda: detector.raw(crops, batch=16), args.repeats) / n
    print(f"model {detector.name} {detector.version}, input {detector.input_size}px, ORT threads 1")
    print(f"face detection (YuNet, 640x480):  {t_detect * 1000:7.2f} ms/image  (baseline)")
    print(f"crop cutting:                     {t_crop * 1000:7.2f} ms/face")
    print(
        f"detector, one crop per call:      {t_single * 1000:7.2f} ms/face  {1 / t_single:7.1f} crops/s  "
        f"ratio to detection {t_single / t_detect:.2f}"
    )
    print(
        f"detector, batches of 16:          {t_batch * 1000:7.2f} ms/face  {1 / t_batch:7.1f} crops/s  "
        f"ratio to detection {t_batch / t_detect:.2f}"
    )
    from idolguard.detect.synthetic import default_synthetic

    synthetic = default_synthetic()
    if synthetic is not None:
        t_synth = timed(lambda: synthetic.logits(crops), args.repeats) / n
        both = t_batch + t_synth
        print(
            f"synthetic-image family:           {t_synth * 1000:7.2f} ms/face  {1 / t_synth:7.1f} crops/s  "
            f"ratio to detection {t_synth / t_detect:.2f}"
        )
        print(
            f"both families (batches of 16):    {both * 1000:7.2f} ms/face  {1 / both:7.1f} crops/s  "
            f"ratio to detection {both / t_detect:.2f}"
        )


if __name__ == "__main__":
    main()
