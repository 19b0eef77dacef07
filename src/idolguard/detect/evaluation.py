"""Score labelled files (``path,label`` CSV with ``real``/``fake``) and measure the detector.

Used by ``idolguard eval detector`` (ROC AUC, accuracy at the operating threshold, ROC plot) and by
``idolguard calibrate detector`` (fit a calibration on an agency's own cases). Files go through the same
path as a scan (faces stage, then the manipulation scoring), so the numbers describe the product, not a
bare model on pre-cut crops. Optional degradations (JPEG quality 50, half and quarter size, WebP q50, an
H.264 CRF 35 frame; ``degradations.py``) measure robustness to the re-encoding that social media apply.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from idolguard.config import Limits
from idolguard.detect.detector import OnnxDetector
from idolguard.detect.stage import score_file
from idolguard.errors import IdolGuardError, MediaError

DEGRADATIONS = ("none", "jpeg50", "half", "quarter", "webp50", "h264crf35")


@dataclass
class LabelledFile:
    path: Path
    rel: str
    label: int  # 1 = fake, 0 = real
    extra: dict[str, str]


@dataclass
class FileScore:
    rel: str
    label: int
    score: float | None
    logit: float | None  # the highest frame logit over faces (what a file-level calibration is fitted on)
    verdict: str | None
    faces: int
    error: str | None
    extra: dict[str, str]


def read_labels(csv_path: Path, root: Path) -> list[LabelledFile]:
    """Rows of ``path,label``; other columns are kept as ``extra``. Bad labels are a clear error."""
    try:
        handle = csv_path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise IdolGuardError(f"cannot read {csv_path}: {exc}") from exc
    rows: list[LabelledFile] = []
    with handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "path" not in reader.fieldnames or "label" not in reader.fieldnames:
            raise IdolGuardError(f"{csv_path} needs a header with columns path,label")
        for line, row in enumerate(reader, start=2):
            label = (row.get("label") or "").strip().lower()
            if label not in ("real", "fake"):
                raise IdolGuardError(f"{csv_path}:{line}: label must be real or fake, got {label!r}")
            rel = (row.get("path") or "").strip()
            extra = {k: v for k, v in row.items() if k not in ("path", "label") and k is not None}
            rows.append(LabelledFile(root / rel, rel, int(label == "fake"), extra))
    return rows


def _degraded_copy(path: Path, how: str, tmp: Path, limits: Limits) -> Path:
    from PIL import Image

    from idolguard.media.image import load_rgb

    image = Image.fromarray(load_rgb(path, limits))
    if how == "half":
        image = image.resize((max(1, image.width // 2), max(1, image.height // 2)), Image.Resampling.LANCZOS)
        out = tmp / (path.stem + ".png")
        image.save(out)  # lossless, so only the downscale is measured
        return out
    if how == "jpeg50":
        out = tmp / (path.stem + ".jpg")
        image.save(out, quality=50)
        return out
    from idolguard.detect.degradations import apply

    out = tmp / (path.stem + ".png")  # the degradation's artefacts, stored losslessly
    Image.fromarray(apply(np.asarray(image), how)).save(out)
    return out


def score_labelled(
    files: list[LabelledFile],
    detector: OnnxDetector,
    *,
    limits: Limits | None = None,
    settings: dict[str, Any] | None = None,
    degrade: str = "none",
    on_done: Callable[[FileScore], None] | None = None,
    calibration: Any = None,
) -> Iterator[FileScore]:
    """Score each file; a broken file yields an error row and the run goes on."""
    from idolguard.detect.faces_input import faces_for_scoring
    from idolguard.media.sniff import sniff_file

    if degrade not in DEGRADATIONS:
        raise IdolGuardError(f"unknown degradation {degrade!r} (use one of {', '.join(DEGRADATIONS)})")
    limits = limits or Limits()
    with tempfile.TemporaryDirectory(prefix="idolguard-eval-") as tmp_name:
        tmp = Path(tmp_name)
        for item in files:
            try:
                if not item.path.is_file():
                    raise MediaError("file not found")
                sniffed = sniff_file(item.path)
                path = item.path
                if degrade != "none":
                    if sniffed.media_type != "image":
                        raise MediaError(f"degradation {degrade} applies to images only")
                    path = _degraded_copy(item.path, degrade, tmp, limits)
                    sniffed = sniff_file(path)
                faces = faces_for_scoring(path, sniffed.media_type, sniffed.mime, limits, settings)
                output, _ = score_file(
                    path,
                    sniffed.media_type,
                    faces,
                    detector=detector,
                    limits=limits,
                    settings=settings,
                    mime=sniffed.mime,
                    calibration=calibration,
                )
                logits = [lg for f in output["manipulation"]["faces"] for _t, lg in f.get("frame_logits") or []]
                result = FileScore(
                    item.rel,
                    item.label,
                    output["manipulation_score"],
                    max(logits) if logits else None,
                    output["verdict"],
                    len(output["manipulation"]["faces"]),
                    None,
                    item.extra,
                )
            except IdolGuardError as exc:
                result = FileScore(item.rel, item.label, None, None, None, 0, str(exc), item.extra)
            if on_done:
                on_done(result)
            yield result


def summarize(scores: list[FileScore], threshold: float) -> dict[str, Any]:
    """ROC AUC over scored files, accuracy at ``threshold``, and how many files could not be scored."""
    from sklearn.metrics import roc_auc_score

    scored = [s for s in scores if s.score is not None]
    labels = np.array([s.label for s in scored])
    values = np.array([s.score for s in scored], dtype=np.float64)
    logits = np.array([s.logit for s in scored], dtype=np.float64)
    summary: dict[str, Any] = {
        "files": len(scores),
        "scored": len(scored),
        "unscored": len(scores) - len(scored),
        "errors": sum(1 for s in scores if s.error),
        "real": int((labels == 0).sum()),
        "fake": int((labels == 1).sum()),
        "threshold": threshold,
    }
    if len(set(labels.tolist())) == 2:
        # The item score saturates at 0/1 after calibration; the logit breaks ties, so AUC uses both.
        summary["roc_auc"] = round(float(roc_auc_score(labels, logits)), 4)
        predicted = values >= threshold
        summary["accuracy"] = round(float((predicted == (labels == 1)).mean()), 4)
        summary["tpr"] = round(float(predicted[labels == 1].mean()), 4)
        summary["fpr"] = round(float(predicted[labels == 0].mean()), 4)
        keep = np.array([s.extra.get("low_visual_difference", "0") != "1" for s in scored])
        if (~keep).any() and len(set(labels[keep].tolist())) == 2:
            summary["roc_auc_visible_fakes"] = round(float(roc_auc_score(labels[keep], logits[keep])), 4)
    else:
        summary["roc_auc"] = None
        summary["note"] = "ROC AUC needs scored real and fake files"
    return summary


def roc_plot(scores: list[FileScore], dest: Path, title: str, lang: str | None = None) -> None:
    """The ROC curve as a PNG at ``dest``; axis labels in ``lang`` (``ko``/``en``, from the report catalog) and
    Korean letters in ``title`` drawn with a Hangul font (``report.charts``)."""
    from sklearn.metrics import roc_auc_score, roc_curve

    from idolguard.report import charts

    scored = [s for s in scores if s.logit is not None]
    labels = np.array([s.label for s in scored])
    if len(set(labels.tolist())) < 2:
        raise IdolGuardError("cannot plot a ROC curve without scored real and fake files")
    logits = np.array([s.logit for s in scored])
    fpr, tpr, _ = roc_curve(labels, logits)
    auc = roc_auc_score(labels, logits)
    text = charts.words(lang)
    with charts.figure(4.5, 4.5, dpi=100) as fig:
        ax = fig.add_subplot()
        ax.plot(fpr, tpr, label=f"AUC {auc:.3f} (n={len(scored)})")
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=0.8)
        ax.set_xlabel(text["false_positive_rate"])
        ax.set_ylabel(text["true_positive_rate"])
        ax.set_title(title, fontsize=9)
        ax.legend(loc="lower right")
        fig.tight_layout()
        dest.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(dest)
