"""Workspace location and settings.

A workspace is one folder holding everything an instance needs: ``config.toml``, the SQLite database (unless
``IDOLGUARD_DB_URL`` points elsewhere), the vault, the custody-ledger mirror and the instance signing key.
Settings are read from TOML so that counsel can see what an analysis ran with; every table is a typed
settings class an area declares (``idolguard.settings``), and the file is validated against them on load.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from idolguard.errors import WorkspaceError

ENV_HOME = "IDOLGUARD_HOME"
ENV_DB_URL = "IDOLGUARD_DB_URL"
ENV_VAULT_KEY = "IDOLGUARD_VAULT_KEY"
ENV_ACTOR = "IDOLGUARD_ACTOR"
ENV_TIMEZONE = "IDOLGUARD_TIMEZONE"
DEFAULT_TIMEZONE = "Asia/Seoul"
CONFIG_NAME = "config.toml"


def default_config() -> str:
    """The ``config.toml`` that ``init`` writes: every declared section and key, at its default, with help."""
    from idolguard.settings import default_config_text

    return default_config_text()


def default_home() -> Path:
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser()
    return Path("~/.idolguard").expanduser()


def _limit(default: int, text: str) -> Any:
    return field(default=default, metadata={"help": text})


@dataclass
class Limits:
    """Safety limits applied before and during decoding; exceeding one is a per-item error, never a crash."""

    section: ClassVar[str] = "limits"
    max_file_bytes: int = _limit(4 * 1024**3, "Largest file accepted (4 GiB).")
    max_image_pixels: int = _limit(178_956_970, "Largest image (pixels): Pillow's decompression-bomb threshold x2.")
    max_video_seconds: int = _limit(4 * 3600, "Longest video (s).")
    max_video_pixels_per_frame: int = _limit(7680 * 4320, "Largest video frame (pixels, 8K).")
    zip_max_entries: int = _limit(10_000, "Most members of one zip archive.")
    zip_max_total_bytes: int = _limit(16 * 1024**3, "Largest uncompressed total of one archive (16 GiB).")
    zip_max_ratio: int = _limit(200, "Largest uncompressed/compressed ratio of one zip member.")

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
        text = path.read_text(encoding="utf-8")
        raw = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise WorkspaceError(f"cannot read {path}: {exc}") from exc
    from idolguard.settings import check_file

    check_file(path, raw, text)  # unknown keys and wrong types are errors naming the key and line
    return Config(home=home, raw=raw)
