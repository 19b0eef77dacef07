"""Portal settings from the workspace config's ``[portal]`` section (every limit has a safe default).

``artists`` is the public list the agency chooses to show reporters (never the whole gallery: which artists an
agency monitors, trainees and unannounced members included, is not public). Reporters may always answer "not
sure / someone else" (the report is stored with no artist and analysts identify who is shown), so an empty list
still accepts every report; ``artists_warning`` says so at start-up. The portal
secret (HMAC key for challenges, IP and reporter hashes) lives in the workspace's keys folder, created on
first use with mode 0600, never in the config or the repository.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from idolguard.workspace import Workspace

ENV_REDIS = "IDOLGUARD_PORTAL_REDIS"
CATEGORIES = ("ai_deepfake", "harassment", "impersonation", "leak", "other")
LANGUAGES = ("ko", "en", "ja", "zh")


def _h(default: Any, text: str, env: str | None = None) -> Any:
    meta = {"help": text, **({"env": env} if env else {})}
    if isinstance(default, list):
        return field(default_factory=list, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class PortalSettings:
    """The public link-report portal: who may be named, limits, proof of work, proxies, rate-limit store."""

    section: ClassVar[str] = "portal"
    artists: list[str] = _h(
        [],
        "The public list of artists reporters may choose (the agency decides; never the whole gallery). Reporters "
        "can always answer 'not sure / someone else'; with an empty list that is the only choice.",
    )
    lang: str = _h(
        "ko",
        "Language for visitors who ask for none (no ?lang= and no browser language among ko, en, ja, zh); "
        "Korean unless configured, like the team app.",
    )
    public_url: str = _h("", "Public base URL of the portal; status links are built on it (never on Host).")
    pow_bits: int = _h(18, "Proof-of-work difficulty: leading zero bits of SHA-256 a solution needs.")
    challenge_ttl_s: int = _h(600, "How long a challenge may be solved and used (s).")
    max_urls: int = _h(20, "Links per report.")
    max_note_chars: int = _h(2000, "Characters in the optional note.")
    max_body_bytes: int = _h(64 * 1024, "Size of one report request.")
    per_ip_per_minute: int = _h(6, "Reports per client address per minute.")
    per_ip_per_hour: int = _h(30, "Reports per client address per hour.")
    global_per_second: int = _h(400, "Reports per second from everyone together.")
    challenges_per_ip_per_minute: int = _h(30, "Challenges per client address per minute.")
    trusted_proxies: list[str] = _h([], "CIDRs of reverse proxies whose X-Forwarded-For is believed.")
    redis_url: str = _h(
        "", "Keep rate limits in Redis (e.g. redis://127.0.0.1:6379/0) instead of the database.", ENV_REDIS
    )
    batch_ms: float = _h(4.0, "Group commit: how long the writer gathers concurrent reports (ms).")
    busy_batch_ms: float = _h(
        40.0, "Group commit under steady load (a commit in the last 100 ms): fewer, larger transactions (ms)."
    )
    worker_lease_s: int = _h(900, "A running job not finished within this is taken again by another worker (s).")

    @classmethod
    def from_workspace(cls, ws: Workspace, **overrides: Any) -> PortalSettings:
        from idolguard.settings import load

        settings = load(cls, ws.config.raw)
        for key, value in overrides.items():
            if value is not None:
                setattr(settings, key, value)
        return settings


def artists_warning(ws: Workspace) -> str | None:
    """The start-up warning when ``[portal] artists`` is empty, as Rich markup (the section name escaped, so
    Rich does not take "[portal]" for a style tag and swallow it); None when a list is set."""
    from rich.markup import escape

    if ws.config.section("portal").get("artists"):
        return None
    return "[yellow]warning:[/] " + escape(
        "[portal] artists is empty: the report form offers only 'not sure / someone else' for the artist; "
        "reports are accepted and analysts identify who is shown. Set [portal] artists in config.toml to the "
        "public names the agency wants fans to choose from (docs/PORTAL.md)."
    )


def portal_secret(ws: Workspace) -> bytes:
    """The portal's HMAC key (32 random bytes), created once per workspace."""
    path = Path(ws.config.keys_dir) / "portal-secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".portal-secret-{os.getpid()}-{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_bytes(32).hex().encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # atomic: two processes starting at once agree on one secret
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return bytes.fromhex(path.read_text().strip())
