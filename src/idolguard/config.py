"""Workspace location and settings.

A workspace is one folder holding everything an instance needs: ``config.toml``, the SQLite database (unless
``IDOLGUARD_DB_URL`` points elsewhere), the vault, the custody-ledger mirror and the instance signing key.
Settings are read from TOML so that counsel can see what an analysis ran with.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from idolguard.errors import WorkspaceError

ENV_HOME = "IDOLGUARD_HOME"
ENV_DB_URL = "IDOLGUARD_DB_URL"
ENV_VAULT_KEY = "IDOLGUARD_VAULT_KEY"
ENV_ACTOR = "IDOLGUARD_ACTOR"
ENV_TIMEZONE = "IDOLGUARD_TIMEZONE"
DEFAULT_TIMEZONE = "Asia/Seoul"
CONFIG_NAME = "config.toml"

DEFAULT_CONFIG = """\
# IdolGuard workspace configuration.
[workspace]
# Who is recorded as the actor of custody events when IDOLGUARD_ACTOR is unset ("" = user@host).
actor = ""

[display]
# Time zone in which tables and messages show times (IANA name; IDOLGUARD_TIMEZONE overrides it).
# Stored times and JSON output are always ISO 8601 with their offset.
timezone = "Asia/Seoul"

[vault]
# Encrypt evidence at rest with AES-256-GCM. The key is read from IDOLGUARD_VAULT_KEY (64 hex chars)
# or from key_file; it is never stored in this file or in the database.
encrypt = false
key_file = ""

[limits]
max_file_bytes = 4_294_967_296        # 4 GiB per file
max_image_pixels = 178_956_970        # Pillow's own decompression-bomb threshold x2
max_video_seconds = 14_400            # 4 h
max_video_pixels_per_frame = 33_177_600  # 8K
zip_max_entries = 10_000
zip_max_total_bytes = 17_179_869_184  # 16 GiB uncompressed per archive
zip_max_ratio = 200                   # uncompressed/compressed per entry

[capture]
# Hostnames, IPs or CIDRs that capture may reach even though they are private/loopback (tests only).
allow = []
tsa_urls = []
"""


def default_home() -> Path:
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser()
    return Path("~/.idolguard").expanduser()


@dataclass
class Limits:
    """Safety limits applied before and during decoding; exceeding one is a per-item error, never a crash."""

    max_file_bytes: int = 4 * 1024**3
    max_image_pixels: int = 178_956_970
    max_video_seconds: int = 4 * 3600
    max_video_pixels_per_frame: int = 7680 * 4320
    zip_max_entries: int = 10_000
    zip_max_total_bytes: int = 16 * 1024**3
    zip_max_ratio: int = 200

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Limits:
        known = {k: int(v) for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class Config:
    home: Path
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def db_url(self) -> str:
        env = os.environ.get(ENV_DB_URL)
        if env:
            return env
        return f"sqlite:///{self.home / 'idolguard.db'}"

    @property
    def vault_dir(self) -> Path:
        return self.home / "vault"

    @property
    def ledger_path(self) -> Path:
        return self.home / "ledger.jsonl"

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def limits(self) -> Limits:
        return Limits.from_dict(self.raw.get("limits", {}))

    def section(self, name: str) -> dict[str, Any]:
        value = self.raw.get(name, {})
        return value if isinstance(value, dict) else {}

    @property
    def actor(self) -> str:
        env = os.environ.get(ENV_ACTOR)
        if env:
            return env
        configured = self.section("workspace").get("actor") or ""
        if configured:
            return str(configured)
        import getpass
        import socket

        try:
            user = getpass.getuser()
        except Exception:  # no passwd entry in some containers
            user = "unknown"
        return f"{user}@{socket.gethostname()}"


def display_timezone(config: Config | None = None) -> Any:
    """The ``ZoneInfo`` times are shown in: IDOLGUARD_TIMEZONE, else ``[display] timezone``, else Asia/Seoul.
    An unknown name is a workspace error naming the setting, not a silent fallback to UTC."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = os.environ.get(ENV_TIMEZONE) or (config.section("display").get("timezone") if config else None)
    name = str(name or DEFAULT_TIMEZONE)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise WorkspaceError(
            f"unknown time zone {name!r} ([display] timezone or {ENV_TIMEZONE}; e.g. Asia/Seoul, UTC)"
        ) from exc


def load_config(home: Path | None = None) -> Config:
    """Read the workspace config; a missing workspace is an error that tells the user to run ``init``."""
    home = (home or default_home()).expanduser().resolve()
    path = home / CONFIG_NAME
    if not path.is_file():
        raise WorkspaceError(f"no IdolGuard workspace at {home} (run `idolguard init --home {home}` first)")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise WorkspaceError(f"cannot read {path}: {exc}") from exc
    return Config(home=home, raw=raw)
