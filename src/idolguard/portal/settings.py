"""Portal settings from the workspace config's ``[portal]`` section (every limit has a safe default).

``artists`` is the public list the agency chooses to show reporters (never the whole gallery). The portal
secret (HMAC key for challenges, IP and reporter hashes) lives in the workspace's keys folder, created on
first use with mode 0600, never in the config or the repository.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from idolguard.workspace import Workspace

ENV_REDIS = "IDOLGUARD_PORTAL_REDIS"
CATEGORIES = ("ai_deepfake", "harassment", "impersonation", "leak", "other")
LANGUAGES = ("ko", "en", "ja", "zh")


@dataclass
class PortalSettings:
    artists: list[str] = field(default_factory=list)
    public_url: str = ""  # e.g. https://report.example-agency.com (status links are built on it)
    pow_bits: int = 18  # leading zero bits of SHA-256 a challenge solution needs (~260k hashes on average)
    challenge_ttl_s: int = 600
    max_urls: int = 20
    max_note_chars: int = 2000
    max_body_bytes: int = 64 * 1024
    per_ip_per_minute: int = 6
    per_ip_per_hour: int = 30
    global_per_second: int = 400
    challenges_per_ip_per_minute: int = 30
    trusted_proxies: list[str] = field(default_factory=list)  # CIDRs whose X-Forwarded-For is believed
    redis_url: str = ""  # redis://127.0.0.1:6379/0 to keep rate limits in Redis instead of the database
    batch_ms: float = 4.0  # group commit: how long the writer waits to gather concurrent reports
    worker_lease_s: int = 900

    @classmethod
    def from_workspace(cls, ws: Workspace, **overrides: Any) -> PortalSettings:
        section = dict(ws.config.section("portal"))
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in section:
                continue
            value = section[f.name]
            if f.name in ("artists", "trusted_proxies"):
                values[f.name] = [str(v) for v in (value or [])]
            elif f.type in ("int", int):
                values[f.name] = int(value)
            elif f.type in ("float", float):
                values[f.name] = float(value)
            else:
                values[f.name] = str(value)
        settings = cls(**values)
        if os.environ.get(ENV_REDIS):
            settings.redis_url = os.environ[ENV_REDIS]
        for key, value in overrides.items():
            if value is not None:
                setattr(settings, key, value)
        return settings


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
