"""A tiny end-to-end training run (only where torch is installed): pool -> SBI -> train -> ONNX -> runtime."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import astronaut

pytestmark = pytest.mark.slow  # browser / subprocess / training: `make test-fast` skips these


@pytest.fixture
def pool(tmp_path: Path) -> Path:
    """Six benign 'real' faces: crops, flips and rescales of the public-domain astronaut portrait."""
    from PIL import ImageOps

    root = tmp_path / "pool" / "nested"
    root.mkdir(parents=True)
    img = astronaut()
    boxes = [(100, 0, 360, 260), (120, 10, 340, 230), (80, 0, 400, 320), (110, 5, 350, 245)]
    for i, box in enumerate(boxes):
        crop = img.crop(box)
        crop.save(root / f"a{i}.jpg", quality=85)
        ImageOps.mirror(crop).resize((200, 200)).save(root / f"b{i}.png")
    (root / "notes.txt").write_text("not an image")
    return tmp_path / "pool"


def tiny_config(pool: Path, tmp_path: Path, **overrides: object):  # type: ignore[no-untyped-def]
    """The smallest training run that still exercises every step: 64 px, one blend per face, batches of 4."""
    from idolguard.detect.training.trainer import TrainConfig

    settings: dict[str, object] = dict(
        real_dir=pool, work_dir=tmp_path / "work", size=64, variants=1, epochs=1, batch=4, holdout=0.25, threads=1
    )
    return TrainConfig(**{**settings, **overrides})  # type: ignore[arg-type]


def test_samples_are_reproducible(pool: Path, tmp_path: Path) -> None:
    from idolguard.detect.training.pool import cached_pool
    from idolguard.detect.training.trainer import iter_pairs

    faces = cached_pool(pool, tmp_path / "work")
    assert len(faces) >= 6  # a face below the minimum size may be skipped
    first = list(iter_pairs(pool, faces[:2], 64, 1, seed=3, stream=0))
    again = list(iter_pairs(pool, faces[:2], 64, 1, seed=3, stream=0))
    other = list(iter_pairs(pool, faces[:2], 64, 1, seed=4, stream=0))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(first, other, strict=True))


def test_tiny_training_run_exports_a_working_detector(pool: Path, tmp_path: Path) -> None:
    pytest.importorskip("torch", reason="training needs the optional torch extra")
    pytest.importorskip("efficientnet_lite_pytorch", reason="training needs the optional backbone packages")
    from idolguard.detect.crops import crop_face
    from idolguard.detect.detector import OnnxDetector
    from idolguard.detect.training.trainer import train

    out = tmp_path / "model" / "tiny.onnx"
    cfg = tiny_config(pool, tmp_path, out=out, version="test")
    card = train(cfg, log=lambda _msg: None)
    assert out.is_file() and out.with_suffix(".json").is_file()
    n = card["training"]["faces"]
    assert card["training"]["holdout_faces"] == round(n * 0.25)
    assert card["training"]["train_samples"] == 2 * (n - round(n * 0.25))  # one real + one blend per face
    assert card["calibration"]["method"] == "platt" and card["version"] == "test"
    detector = OnnxDetector(out)
    crop = crop_face(np.asarray(astronaut()), (178.0, 62.4, 90.8, 114.0), 64, detector.crop_scale)
    (pred,) = detector.predict([crop])
    assert 0.0 <= pred.probability <= 1.0 and pred.heatmap is not None
    # Same command, same seed: the same model (the documented training command is reproducible).
    again = tmp_path / "model" / "again.onnx"
    train(tiny_config(pool, tmp_path, out=again, version="test"), log=lambda _msg: None)
    (pred_again,) = OnnxDetector(again).predict([crop])
    assert abs(pred_again.logit - pred.logit) < 1e-5


def test_limit_takes_faces_spread_over_the_pool_and_device_is_resolved(pool: Path, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch", reason="training needs the optional torch extra")
    pytest.importorskip("efficientnet_lite_pytorch", reason="training needs the optional backbone packages")
    from idolguard.detect.training.trainer import resolve_device, train

    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(ValueError, match="unknown --device"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            resolve_device("cuda")
    cfg = tiny_config(pool, tmp_path, out=tmp_path / "limited.onnx", limit=4, device="cpu")
    card = train(cfg, log=lambda _msg: None)
    assert card["training"]["faces"] == 4
    assert card["training"]["config"]["device"] == "cpu"


def test_spread_subset_covers_every_source_folder(pool: Path, tmp_path: Path) -> None:
    from idolguard.detect.training.pool import cached_pool
    from idolguard.detect.training.trainer import spread_subset

    faces = cached_pool(pool, tmp_path / "work")
    names = [Path(f.path).name[0] for f in spread_subset(faces, 4)]
    assert len(names) == 4 and "a" in names and "b" in names  # the first four alone are all "a"
    assert spread_subset(faces, None) == faces and spread_subset(faces, 10_000) == faces


def test_fine_tuning_starts_exactly_from_an_exported_model(pool: Path, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch", reason="training needs the optional torch extra")
    pytest.importorskip("efficientnet_lite_pytorch", reason="training needs the optional backbone packages")
    from idolguard.detect.crops import crop_face
    from idolguard.detect.detector import OnnxDetector
    from idolguard.detect.training.model import SbiNet, load_fused_onnx
    from idolguard.detect.training.trainer import train

    base = tmp_path / "base.onnx"
    train(tiny_config(pool, tmp_path, out=base, version="base"), log=lambda _msg: None)
    crop = crop_face(np.asarray(astronaut()), (178.0, 62.4, 90.8, 114.0), 64, 1.3)
    (expected,) = OnnxDetector(base).raw([crop])[0]
    net = SbiNet(64, 5)
    load_fused_onnx(net, base)
    net.train()  # batch-norms stay in inference mode, so the folded weights keep their meaning
    assert all(not m.training for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d))
    net.eval()
    with torch.no_grad():
        got, _cam = net(torch.from_numpy(crop[None]).float())
    assert abs(float(got[0]) - float(expected)) < 1e-3
    # A fine-tuning run from it (platform degradations, a few pool files) exports a model that differs.
    tuned = tmp_path / "tuned.onnx"
    card = train(
        tiny_config(pool, tmp_path, out=tuned, version="tuned", init_from=base, pool_files=6, lr=1e-2),
        log=lambda _msg: None,
    )
    assert card["training"]["config"]["init_from"] == str(base)
    assert card["training"]["config"]["degradations"] == "platform"
    (after,) = OnnxDetector(tuned).raw([crop])[0]
    assert abs(float(after) - float(expected)) > 1e-4


def test_train_detector_on_an_absent_accelerator_says_so_before_any_work(cli, pool: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`train detector --device cuda` on a machine without CUDA: a one-line refusal (no traceback), given
    before the pool is read (nothing cached), so a GPU recipe never half-runs on the CPU."""
    torch = pytest.importorskip("torch", reason="training needs the optional torch extra")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the refusal cannot be seen here")
    work = tmp_path / "work-cuda"
    args = ["train", "detector", "--real", str(pool), "--out", str(tmp_path / "m.onnx"), "--work-dir", str(work)]
    result = cli(*args, "--device", "cuda", ok=False)
    assert result.exit_code != 0
    assert "no CUDA device" in result.output and "Traceback" not in result.output
    assert not work.exists() and not (tmp_path / "m.onnx").exists()
    result = cli(*args, "--device", "gpu0", ok=False)
    assert result.exit_code != 0 and "unknown --device 'gpu0'" in result.output
