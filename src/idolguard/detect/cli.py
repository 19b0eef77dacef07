"""Commands of the manipulation-detection area: ``detect``, ``eval detector``, ``train detector``,
``calibrate detector``."""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from idolguard.cli_support import (
    PANEL_INTAKE,
    console,
    emit_json,
    exit_for,
    fail,
    home_option,
    interactive,
    json_option,
    open_workspace,
    out,
    progress_bar,
    safe,
    tell,
    tr,
    tr_error,
)
from idolguard.errors import IdolGuardError
from idolguard.evidence.actions import Action


class Degrade(StrEnum):
    """How ``eval detector`` degrades images first (robustness checks)."""

    none = "none"
    jpeg50 = "jpeg50"
    half = "half"
    quarter = "quarter"
    webp50 = "webp50"
    h264crf35 = "h264crf35"


class CalibrationMethod(StrEnum):
    """Score calibration fitted by ``calibrate detector``."""

    platt = "platt"
    isotonic = "isotonic"


def _workspace_for(home: Path | None) -> Any:
    """The workspace when one exists at ``--home`` (or the default home): its calibration and thresholds
    apply. ``detect`` and ``eval detector`` also work without any workspace (the model's calibration)."""
    from idolguard.config import CONFIG_NAME, default_home
    from idolguard.workspace import Workspace

    found = (home or default_home()).expanduser()
    if not (found / CONFIG_NAME).is_file():
        return None
    try:
        return Workspace.open(found)
    except IdolGuardError:
        return None


def _settings_for(ws: Any) -> dict[str, Any]:
    return dict(ws.config.raw) if ws is not None else {}


def _calibration_for(ws: Any) -> Any:
    from idolguard.detect.recalibration import load_workspace_calibration

    return load_workspace_calibration(ws) if ws is not None else None


def _public_faces(faces_output: dict[str, Any], scored: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for face, score in zip(faces_output.get("faces") or [], scored, strict=False):
        out.append(
            {
                "index": face.get("index"),
                "bbox": face.get("bbox"),
                "track_id": face.get("track_id"),
                "frame_t": face.get("frame_t"),
                "manipulation_score": score.get("manipulation_score"),
                "status": score.get("status"),
                "reason": score.get("reason"),
                "frames_scored": score.get("frames_scored"),
                "false_positive_rate": score.get("false_positive_rate"),
                "synthetic_score": score.get("synthetic_score"),
                "synthetic_false_positive_rate": score.get("synthetic_false_positive_rate"),
            }
        )
    return out


def detect_paths(ws: Any, paths: list[Path]) -> Any:
    """Score files where they lie: the ``faces`` and ``manipulation`` stages through the runner with
    ``persist=False`` (nothing stored); the runner hands them the workspace's calibration, if any."""
    from idolguard.detect.detector import default_detector
    from idolguard.pipeline.runner import analyze_files

    model: str | None = None
    unavailable: str | None = None
    try:
        model = default_detector().model_id
    except IdolGuardError as exc:
        unavailable = str(exc)
    for analysed in analyze_files(ws, paths, ["manipulation"]):
        result: dict[str, Any] = {
            "path": str(analysed.path),
            "manipulation_score": None,
            "verdict": None,
            "faces": [],
        }
        if model is not None:
            result["model"] = model
        output = analysed.outputs.get("manipulation")
        error = unavailable or analysed.error
        if error is None and analysed.media_type not in ("image", "video"):
            error = f"not an image or video ({analysed.mime})"
        if error is None and output is None:
            error = analysed.errors.get("manipulation") or next(iter(analysed.errors.values()), "not scored")
        if error is not None or output is None:
            result["error"] = error
            yield result
            continue
        faces = analysed.outputs.get("faces") or {}
        result.update(
            manipulation_score=output["manipulation_score"],
            false_positive_rate=output.get("false_positive_rate"),
            false_positive_reference=output["manipulation"].get("false_positive_reference"),
            thresholds=output["manipulation"]["thresholds"],
            families=output["manipulation"].get("families"),
            deciding_family=output["manipulation"].get("deciding_family"),
            synthetic_model=output["manipulation"].get("synthetic_model"),
            verdict=output["verdict"],
            verdict_reason=output["verdict_reason"],
            verdict_reason_code=output.get("verdict_reason_code"),
            verdict_reason_params=output.get("verdict_reason_params"),
            faces=_public_faces(faces, output["manipulation"]["faces"]),
            calibration=output["manipulation"]["calibration"],
            content_credentials=output["content_credentials"],
            error=None,
        )
        yield result


def detect(
    paths: list[Path] = typer.Argument(..., help="Image or video files, or folders (recursive)."),
    json_out: bool = json_option("One JSON object per file."),
    home: Path = home_option(),
) -> None:
    """Score files for face manipulation without ingesting them (no side effects). Exits 1 when any file
    could not be scored."""
    from idolguard.detect.false_positives import describe

    failed = 0
    for result in detect_paths(_workspace_for(home), paths):
        failed += bool(result.get("error"))
        if json_out:
            emit_json(result)
        elif result.get("error"):
            out().print(f"[red]{safe(tr_error(result['error']))}[/]  {safe(result['path'])}")
        else:
            score = result["manipulation_score"]
            shown = f"{score:.3f}" if isinstance(score, float) else "-"
            faces = tr("{n} face(s)", n=len(result["faces"]))
            reason = safe(_reason(result))
            out().print(
                f"{safe(tr(result['verdict'])):<18} {shown:>6}  {faces}  {safe(result['path'])}  [dim]{reason}[/]"
            )
            if isinstance(score, float):
                out().print(f"{'':<26}[dim]{safe(tr_error(describe(result.get('false_positive_rate'))))}[/]")
    exit_for(failed)


def eval_detector(
    labels: Path = typer.Option(..., "--labels", help="CSV with columns path,label (real/fake)."),
    root: Path = typer.Option(..., "--root", help="Folder the CSV paths are relative to."),
    json_out: bool = typer.Option(False, "--json", help="Per-file JSON lines, then a summary object."),
    plot: Path = typer.Option(Path("detector-roc.png"), "--plot", help="Where to write the ROC curve PNG."),
    degrade: Degrade = typer.Option(
        Degrade.none,
        help="Degrade images first (robustness): JPEG quality 50, half or quarter size, WebP quality 50, "
        "or one H.264 CRF 35 frame.",
    ),
    limit: int = typer.Option(0, help="Score only the first N rows (0 = all)."),
    home: Path = home_option(),
) -> None:
    """ROC AUC and accuracy of the manipulation detector on labelled files."""
    import time

    from idolguard.detect.detector import default_detector
    from idolguard.detect.evaluation import read_labels, roc_plot, score_labelled, summarize
    from idolguard.detect.recalibration import active_calibration
    from idolguard.detect.stage import operating_thresholds

    ws = _workspace_for(home)
    settings = _settings_for(ws)
    workspace_calibration = _calibration_for(ws)
    try:
        files = read_labels(labels, root)
        detector = default_detector()
    except IdolGuardError as exc:
        fail(exc)
    if limit:
        files = files[:limit]
    started = time.perf_counter()
    scores = []
    with progress_bar(interactive(json_out), "scoring", len(files)) as advance:
        for s in score_labelled(
            files, detector, settings=settings, degrade=degrade.value, calibration=workspace_calibration
        ):
            scores.append(s)
            advance()
            if json_out:
                emit_json(
                    {
                        "path": s.rel,
                        "label": "fake" if s.label else "real",
                        "manipulation_score": s.score,
                        "logit": s.logit,
                        "verdict": s.verdict,
                        "faces": s.faces,
                        "error": s.error,
                    }
                )
    cal_id = active_calibration(detector, workspace_calibration)[1]
    threshold = operating_thresholds(detector, cal_id, settings)["uncertain"]
    summary = summarize(scores, threshold)
    summary.update(
        model=detector.model_id,
        calibration=cal_id,
        degrade=degrade.value,
        seconds=round(time.perf_counter() - started, 1),
    )
    try:
        from idolguard.cli_lang import current
        from idolguard.report.charts import words

        title = words(current())["roc_title"].format(
            detector=f"{detector.name} {detector.version}", labels=labels.name, degrade=degrade.value
        )
        roc_plot(scores, plot, title, current())
        summary["plot"] = str(plot)
    except IdolGuardError as exc:
        summary["plot_error"] = str(exc)
    if json_out:
        emit_json({"summary": summary})
    else:
        auc = summary.get("roc_auc")
        tell(
            "ROC AUC {auc}  accuracy@{threshold} {accuracy}  (scored {scored}/{files}, {errors} errors; plot {plot})",
            stdout=True,
            auc=auc if auc is not None else "-",
            threshold=f"{threshold:.2f}",
            accuracy=summary.get("accuracy", "-"),
            scored=summary["scored"],
            files=summary["files"],
            errors=summary["errors"],
            plot=plot,
        )


def train_detector(
    real: Path = typer.Option(..., "--real", help="Folder of real face images (searched recursively)."),
    out: Path = typer.Option(Path("detector.onnx"), "--out", help="ONNX file to write (card: same name .json)."),
    epochs: int = typer.Option(1, help="Passes over the cached training samples (fresh blends beat more passes)."),
    stop_after: int = typer.Option(0, help="Stop after this many epochs (0 = all); the schedule spans --epochs."),
    variants: int = typer.Option(6, help="Self-blended variants per real face (6 for the shipped model)."),
    size: int = typer.Option(128, help="Input size in pixels."),
    frozen_blocks: int = typer.Option(5, help="EfficientNet blocks kept frozen (their outputs are cached)."),
    seed: int = typer.Option(0),
    threads: int = typer.Option(2, help="CPU threads for torch."),
    version: str = typer.Option("", help="Model version for the card (default: today's date)."),
    work_dir: Path = typer.Option(Path(".idolguard/detect-train"), help="Cache folder (landmarks)."),
    device: str = typer.Option("auto", help="auto (CUDA when torch sees one), cpu, cuda or cuda:N."),
    limit: int = typer.Option(0, help="Use only N pool faces, spread evenly (quick trials; 0 = all)."),
    domain: Path = typer.Option(
        None, help="../shared/data: train and calibrate on real idol-style photos too (held-out split kept apart)."
    ),
    degradations: str = typer.Option("platform", help="platform (JPEG/WebP/H.264/H.265, 0.25x) or v1."),
    init_from: Path = typer.Option(None, help="Fine-tune this exported ONNX model instead of ImageNet weights."),
    pool_files: int = typer.Option(0, help="Find faces in only N pool files, spread evenly (0 = all)."),
) -> None:
    """Train the self-blended-image detector on real faces and export it to ONNX (needs torch)."""
    try:
        from idolguard.detect.training.trainer import TrainConfig, train
    except ImportError as exc:
        fail("training needs the train extra (pip install -e '.[train]'): {reason}", reason=exc)
    cfg = TrainConfig(
        real_dir=real,
        out=out,
        work_dir=work_dir,
        size=size,
        variants=variants,
        epochs=epochs,
        frozen_blocks=frozen_blocks,
        stop_after=stop_after or None,
        seed=seed,
        threads=threads,
        version=version,
        device=device,
        limit=limit or None,
        domain_dir=domain,
        init_from=init_from,
        pool_files=pool_files or None,
        degradations=degradations,
    )
    try:
        card = train(cfg, log=lambda msg: console.print(safe(tr_error(msg))))
    except (ImportError, ValueError, FileNotFoundError) as exc:
        fail(exc)
    emit_json({"out": str(out), "card": str(out.with_suffix(".json")), "metrics": card["metrics"]})


def calibrate_detector(
    labels: Path = typer.Option(..., "--labels", help="CSV with columns path,label (real/fake)."),
    root: Path = typer.Option(..., "--root", help="Folder the CSV paths are relative to."),
    method: CalibrationMethod = typer.Option(
        CalibrationMethod.platt, help="platt (robust on few cases) or isotonic (needs hundreds)."
    ),
    json_out: bool = typer.Option(False, "--json"),
    home: Path = home_option(),
) -> None:
    """Fit the detector's calibration on your own labelled cases; used by later scans of this workspace."""
    import numpy as np

    from idolguard.detect.calibration import fit_calibration
    from idolguard.detect.detector import default_detector
    from idolguard.detect.evaluation import read_labels, score_labelled
    from idolguard.detect.recalibration import CALIBRATION_FILE, calibration_id

    ws = open_workspace(home)
    settings = dict(ws.config.raw)
    try:
        files = read_labels(labels, root)
        detector = default_detector()
    except IdolGuardError as exc:
        fail(exc)
    with progress_bar(interactive(json_out), "scoring", len(files)) as advance:
        scores = list(
            score_labelled(
                files,
                detector,
                settings=settings,
                on_done=lambda _s: advance(),
                calibration=_calibration_for(ws),
            )
        )
    usable = [s for s in scores if s.logit is not None]
    try:
        calibration = fit_calibration(
            np.array([s.logit for s in usable]),
            np.array([s.label for s in usable]),
            method.value,
            labels_csv=labels.name,
            created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )
    except ValueError as exc:
        fail(
            "cannot calibrate: {reason} ({used} of {files} files had a scorable face)",
            reason=tr_error(exc),
            used=len(usable),
            files=len(scores),
        )
    record = {"model": detector.model_id, "calibration": calibration.as_dict()}
    data = (json.dumps(record, indent=2, sort_keys=True) + "\n").encode()
    dest = ws.config.home / CALIBRATION_FILE
    dest.parent.mkdir(parents=True, exist_ok=True)
    with ws.write() as (_session, ledger):
        sha = ws.vault.put_bytes(data).sha256
        ledger.append(
            Action.DETECT_CALIBRATE,
            item=sha,
            details={
                "what": "detector",
                "model": f"{detector.name} {detector.version}",
                "method": method.value,
                "files": len(scores),
                "used": len(usable),
                "labels": str(labels),
            },
        )
    dest.write_bytes(data)
    summary = {
        "calibration": calibration.as_dict(),
        "id": "workspace:" + calibration_id(calibration),
        "files": len(scores),
        "used": len(usable),
        "path": str(dest),
        "sha256": sha,
    }
    if json_out:
        emit_json(summary)
    else:
        tell(
            "calibration {id} fitted on {n} files; written to {path}",
            stdout=True,
            id=summary["id"],
            n=len(usable),
            path=dest,
        )


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    app.command("detect", rich_help_panel=PANEL_INTAKE)(detect)
    groups["eval"].command("detector")(eval_detector)
    groups["train"].command("detector")(train_detector)
    groups["calibrate"].command("detector")(calibrate_detector)


def _reason(result: dict[str, Any]) -> str:
    """The verdict's reason in the CLI's language: from its code (the report catalogs' ``said.*`` sentences),
    else the CLI's error templates, else as stored."""
    from idolguard.cli_lang import current
    from idolguard.report.i18n import said

    if result.get("verdict_reason_code"):
        return said(result, "verdict_reason", current())
    return tr_error(result.get("verdict_reason", ""))
