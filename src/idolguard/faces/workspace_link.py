"""Find the workspace whose gallery a stage should match against.

Stages are pure functions of their context and get no database handle, yet matching needs the gallery. The
runner passes the workspace config as ``ctx.settings``; the home folder is taken from
``settings["workspace_home"]`` when the runner provides it, else from ``IDOLGUARD_HOME`` / the default home.
Opened workspaces are cached per process.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from idolguard.config import CONFIG_NAME, default_home
from idolguard.errors import IdolGuardError
from idolguard.workspace import Workspace

_OPEN: dict[tuple[str, str], Workspace] = {}
_LOCK = threading.Lock()


def workspace_for(settings: dict[str, Any] | None) -> Workspace | None:
    home_value = (settings or {}).get("workspace_home") or os.environ.get("IDOLGUARD_HOME")
    home = Path(home_value).expanduser() if home_value else default_home()
    if not (home / CONFIG_NAME).is_file():
        return None
    key = (str(home.resolve()), os.environ.get("IDOLGUARD_DB_URL", ""))
    with _LOCK:
        ws = _OPEN.get(key)
        if ws is None:
            try:
                ws = Workspace.open(home)
            except IdolGuardError:
                return None
            _OPEN[key] = ws
        return ws
