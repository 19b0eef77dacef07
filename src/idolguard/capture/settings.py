"""Capture settings from the workspace config's ``[capture]`` section plus ``IDOLGUARD_CAPTURE_ALLOW``.

Every limit has a conservative default so a hostile page cannot exhaust disk, memory or time; a workspace
can raise them in ``config.toml`` (the values used are recorded in each capture manifest).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from idolguard.workspace import Workspace

ENV_ALLOW = "IDOLGUARD_CAPTURE_ALLOW"
ENV_TSA = "IDOLGUARD_CAPTURE_TSA"
CHROMIUM_PATH = "/usr/bin/chromium"
DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
)


def _h(default: Any, text: str, env: str | None = None) -> Any:
    meta = {"help": text, **({"env": env} if env else {})}
    if isinstance(default, list):
        return field(default_factory=list, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class CaptureSettings:
    """Evidence-grade URL capture: what may be reached, limits per URL, switches (recorded in every manifest)."""

    section: ClassVar[str] = "capture"
    allow: list[str] = _h(
        [], "Hostnames, IPs or CIDRs capture may reach although private/loopback (tests only).", ENV_ALLOW
    )
    tsa_urls: list[str] = _h([], "RFC 3161 timestamp authorities to stamp each capture manifest.", ENV_TSA)
    max_redirects: int = _h(10, "Redirects followed per URL.")
    max_total_bytes: int = _h(512 * 1024**2, "Everything fetched for one URL (page, assets, media).")
    max_file_bytes: int = _h(256 * 1024**2, "One media file / one response (never above [limits] max_file_bytes).")
    max_html_bytes: int = _h(8 * 1024**2, "The page itself; larger pages are kept truncated.")
    max_media: int = _h(40, "Media files kept per page.")
    max_browser_requests: int = _h(400, "Requests the browser may make while rendering.")
    timeout_s: float = _h(120.0, "Wall time per URL, all steps together (s).")
    connect_timeout_s: float = _h(10.0, "Connect timeout (s).")
    read_timeout_s: float = _h(20.0, "Longest silence while reading (slow-loris) (s).")
    browser_timeout_s: float = _h(30.0, "Page load + screenshot + PDF (s).")
    screenshot_max_height: int = _h(16_000, "Full-page screenshots are cut at this height (px).")
    recheck_hours: float = _h(24.0, "`recheck --due` picks captures not checked for this long.")
    user_agent: str = _h(DEFAULT_USER_AGENT, "User-Agent of every request.")
    browser: bool = _h(True, "Render a screenshot and PDF with Chromium.")
    wacz: bool = _h(True, "Package the WARC as WACZ (the WARC itself is always kept).")
    media: bool = _h(True, "Download the images and videos of the page.")
    ytdlp: bool = _h(True, "Use yt-dlp for URLs a dedicated extractor claims.")
    chromium_path: str = _h(CHROMIUM_PATH, "The Chromium binary (Debian package).")

    @classmethod
    def from_workspace(cls, ws: Workspace, **overrides: Any) -> CaptureSettings:
        from idolguard.settings import load

        settings = load(cls, ws.config.raw)  # validated when the workspace opened; environment lists added
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
