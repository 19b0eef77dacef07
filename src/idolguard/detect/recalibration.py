"""Where a workspace keeps its own detector calibration, and which calibration is active.

``idolguard calibrate detector`` fits a calibration on the agency's labelled cases and writes it to
``HOME/detect/calibration.json`` (and stores a copy in the vault with a custody event). Stages find the
workspace like the faces stage does (``settings["workspace_home"]``, else ``IDOLGUARD_HOME``, else the
default home). Stored stage outputs keep raw logits and the id of the calibration they used, so
``contribute`` can re-score old items when the calibration changed.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from idolguard.config import CONFIG_NAME, default_home
from idolguard.detect.calibration import Calibration
from idolguard.detect.detector import OnnxDetector

CALIBRATION_FILE = Path("detect") / "calibration.json"


def workspace_home(settings: dict[str, Any] | None) -> Path | None:
    value = (settings or {}).get("workspace_home") if isinstance(settings, dict) else None
    value = value or os.environ.get("IDOLGUARD_HOME")
    home = Path(value).expanduser() if value else default_home()
    return home if (home / CONFIG_NAME).is_file() else None


def calibration_id(calibration: Calibration) -> str:
    return hashlib.sha256(json.dumps(calibration.as_dict(), sort_keys=True).encode()).hexdigest()[:12]


def active_calibration(detector: OnnxDetector, settings: dict[str, Any] | None) -> tuple[Calibration, str]:
    """The workspace's own calibration for this model if it has a usable one, else the model's."""
    home = workspace_home(settings)
    if home is not None:
        path = home / CALIBRATION_FILE
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                if data.get("model") == detector.model_id:
                    calibration = Calibration.from_dict(data["calibration"])
                    return calibration, "workspace:" + calibration_id(calibration)
            except (OSError, ValueError, KeyError, TypeError):
                pass  # an unreadable file must not stop scoring; the model's own calibration applies
    return detector.calibration, "model:" + calibration_id(detector.calibration)
