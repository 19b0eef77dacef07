"""ASGI entry point for ``uvicorn idolguard.portal.asgi:app`` (workspace from IDOLGUARD_PORTAL_HOME or
IDOLGUARD_HOME, public URL for status links from IDOLGUARD_PORTAL_URL or ``[portal] public_url``)."""

from __future__ import annotations

import os
from pathlib import Path

from idolguard.portal.app import create_app

_home = os.environ.get("IDOLGUARD_PORTAL_HOME") or os.environ.get("IDOLGUARD_HOME")
app = create_app(Path(_home) if _home else None, public_url=os.environ.get("IDOLGUARD_PORTAL_URL", ""))
