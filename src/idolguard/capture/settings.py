"""Capture settings from the workspace config's ``[capture]`` section plus ``IDOLGUARD_CAPTURE_ALLOW``.

Every limit has a conservative default so a hostile page cannot exhaust disk, memory or time; a workspace
can raise them in ``config.toml`` (the values used are recorded in each capture manifest).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from idolguard.workspace import Workspace

ENV_ALLOW = "IDOLGUARD_CAPTURE_ALLOW"
ENV_TSA = "IDOLGUARD_CAPTURE_TSA"
CHROMIUM_PATH = "/usr/bin/chromium"
DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
)


@dataclass
class CaptureSettings:
    """Limits and switches for one capture run; ``allow`` and ``tsa_urls`` come from config + environment."""

    allow: list[str] = field(default_factory=list)
    tsa_urls: list[str] = field(default_factory=list)
    max_redirects: int = 10
    max_total_bytes: int = 512 * 1024**2  # everything fetched for one URL (page, assets, media)
    max_file_bytes: int = 256 * 1024**2  # one media file / one response
    max_html_bytes: int = 8 * 1024**2  # the page itself; larger pages are kept truncated
    max_media: int = 40
    max_browser_requests: int = 400
    timeout_s: float = 120.0  # wall time per URL, all steps together
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 20.0  # longest silence while reading (slow-loris)
    browser_timeout_s: float = 30.0  # page load + screenshot + PDF
    screenshot_max_height: int = 16_000
    recheck_hours: float = 24.0
    user_agent: str = DEFAULT_USER_AGENT
    browser: bool = True
    wacz: bool = True  # package the WARC as WACZ (the WARC itself is always kept)
    media: bool = True
    ytdlp: bool = True
    chromium_path: str = CHROMIUM_PATH

    @classmethod
    def from_workspace(cls, ws: Workspace, **overrides: Any) -> CaptureSettings:
        section = dict(ws.config.section("capture"))
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in section.items():
            if key not in known:
                continue
            default = known[key].default
            if isinstance(default, bool):
                values[key] = bool(value)
            elif isinstance(default, int):
                values[key] = int(value)
            elif isinstance(default, float):
                values[key] = float(value)
            elif key in ("allow", "tsa_urls"):
                values[key] = [str(v) for v in (value or [])]
            else:
                values[key] = value
        settings = cls(**values)
        settings.allow = settings.allow + split_env(os.environ.get(ENV_ALLOW))
        settings.tsa_urls = settings.tsa_urls + split_env(os.environ.get(ENV_TSA))
        settings.max_file_bytes = min(settings.max_file_bytes, ws.config.limits.max_file_bytes)
        for key, value in overrides.items():
            if value is not None:
                setattr(settings, key, value)
        return settings

    def recorded(self) -> dict[str, Any]:
        """The settings as stored in the manifest (so counsel can see what limits applied)."""
        data = asdict(self)
        return {k: (str(v) if isinstance(v, float) else v) for k, v in data.items()}


def split_env(value: str | None) -> list[str]:
    if not value:
        return []
    return [part.strip() for part in value.split(",") if part.strip()]
