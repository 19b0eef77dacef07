"""Find the workspace whose gallery a stage should match against.

Stages are pure functions of their context and get no database handle, yet matching needs the gallery. The
runner passes the workspace config as ``ctx.settings``; the home folder is taken from
``settings["workspace_home"]`` when the runner provides it, else from the location of the item being analysed
(the runner hands stages a vault path: ``HOME/vault/objects/ab/cd/<sha>`` or ``HOME/vault/tmp/<name>`` for a
decrypted view), else from ``IDOLGUARD_HOME`` / the default home. Opened workspaces are cached per process.
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


def home_from_vault_path(path: Path | None) -> Path | None:
    if path is None:
        return None
    parents = Path(path).parents
    if len(parents) > 4 and parents[2].name == "objects" and parents[3].name == "vault":
        return parents[4]
    if len(parents) > 3 and parents[0].name == "tmp" and parents[1].name == "vault":
        return parents[2]
    return None


def workspace_for(settings: dict[str, Any] | None, item_path: Path | None = None) -> Workspace | None:
    explicit = (settings or {}).get("workspace_home")
    candidates = [Path(explicit).expanduser()] if explicit else []
    candidates.append(home_from_vault_path(item_path))
    env = os.environ.get("IDOLGUARD_HOME")
    candidates.append(Path(env).expanduser() if env else default_home())
    home = next((c for c in candidates if c is not None and (c / CONFIG_NAME).is_file()), None)
    if home is None:
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
