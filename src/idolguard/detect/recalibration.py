"""Where a workspace keeps its own detector calibration, and which calibration is active.

``idolguard calibrate detector`` fits a calibration on the agency's labelled cases and writes it to
``HOME/detect/calibration.json`` (and stores a copy in the vault with a custody event). The runner loads it
as the ``detector_calibration`` resource (``load_workspace_calibration``) and hands it to the
``manipulation`` stage; nothing here looks for a workspace. Stored stage outputs keep raw logits and the id
of the calibration they used, so ``contribute`` can re-score old items when the calibration changed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from idolguard.detect.calibration import Calibration
from idolguard.detect.detector import OnnxDetector

CALIBRATION_FILE = Path("detect") / "calibration.json"


@dataclass(frozen=True)
class WorkspaceCalibration:
    """The ``detector_calibration`` resource: the workspace's own calibration file, parsed (or ``None``)."""

    data: dict[str, Any] | None = None


def load_workspace_calibration(ws: Any) -> WorkspaceCalibration:
    path = Path(ws.home) / CALIBRATION_FILE
    if not path.is_file():
        return WorkspaceCalibration(None)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return WorkspaceCalibration(None)  # an unreadable file must not stop scoring: the model's applies
    return WorkspaceCalibration(data if isinstance(data, dict) else None)


def calibration_id(calibration: Calibration) -> str:
    return hashlib.sha256(json.dumps(calibration.as_dict(), sort_keys=True).encode()).hexdigest()[:12]


def active_calibration(detector: OnnxDetector, workspace: WorkspaceCalibration | None) -> tuple[Calibration, str]:
    """The workspace's own calibration for this model if it has a usable one, else the model's."""
    data = workspace.data if workspace is not None else None
    if data is not None and data.get("model") == detector.model_id:
        try:
            calibration = Calibration.from_dict(data["calibration"])
            return calibration, "workspace:" + calibration_id(calibration)
        except (ValueError, KeyError, TypeError):
            pass  # an unusable file must not stop scoring; the model's own calibration applies
    return detector.calibration, "model:" + calibration_id(detector.calibration)
