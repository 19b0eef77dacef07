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
CONFIG_NAME = "config.toml"
# Public RFC 3161 services that answer anonymous requests; used for capture manifests and ledger anchors.
DEFAULT_TSA_URLS = ("http://timestamp.digicert.com", "http://timestamp.sectigo.com", "https://freetsa.org/tsr")

DEFAULT_CONFIG = """\
# IdolGuard workspace configuration.
[workspace]
# Who is recorded as the actor of custody events when IDOLGUARD_ACTOR is unset ("" = user@host).
actor = ""

[keys]
# The private signing key. Keep it OUTSIDE the workspace so whoever can write the workspace cannot re-sign
# history: give a path here or in IDOLGUARD_SIGNING_KEY_FILE; IDOLGUARD_SIGNING_KEY_PASSPHRASE encrypts it.
# "" = keys/instance_ed25519.pem inside the workspace.
signing_key_file = ""

[ledger]
# Timestamp the ledger head with the [capture] tsa_urls every this many new entries, and at the end of every
# command that wrote (0 = never). verify checks the tokens and reports the entries after the last anchor.
anchor_every = 1000
anchor_timeout_s = 10

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
zip_max_total_bytes = 4_294_967_296  # 4 GiB written from one archive (and from archives nested in it)
scan_max_total_bytes = 17_179_869_184  # 16 GiB written from archives in one scan/ingest
zip_max_ratio = 200                   # uncompressed/compressed per entry

[capture]
# Hostnames, IPs or CIDRs that capture may reach even though they are private/loopback (tests only).
allow = []
# RFC 3161 Time-Stamping Authorities for capture manifests and ledger anchors ([] = none: nothing is timestamped).
tsa_urls = TSA_LIST
""".replace("TSA_LIST", "[" + ", ".join(f'"{url}"' for url in DEFAULT_TSA_URLS) + "]")


SQLITE_IN_WORKSPACE = "sqlite (idolguard.db in the workspace)"


def public_url(url: str) -> str:
    """A database URL without its password (safe to print and to store in config.toml)."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).set(password=None).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparseable URL is shown as such, never echoed with secrets
        return "<unparseable database URL>"


def same_database(a: str, b: str) -> bool:
    """Same backend, host, port and database name (driver suffix and credentials aside)."""
    from sqlalchemy.engine import make_url

    try:
        left, right = make_url(a), make_url(b)
    except Exception:  # noqa: BLE001
        return False
    if left.get_backend_name() != right.get_backend_name():
        return False
    if left.get_backend_name() == "sqlite":
        return Path(left.database or "").resolve() == Path(right.database or "").resolve()
    return (left.host or "localhost", left.port or 5432, left.database) == (
        right.host or "localhost",
        right.port or 5432,
        right.database,
    )


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
    zip_max_total_bytes: int = 4 * 1024**3
    scan_max_total_bytes: int = 16 * 1024**3
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
        """The database this workspace was created with. ``[database] location`` (written by ``init``, no
        password) names it; ``IDOLGUARD_DB_URL`` supplies the credentials and must point at the same
        database: a workspace never silently opens another one (a fresh SQLite file instead of its
        PostgreSQL database would look empty, and its ledger would fork)."""
        env = os.environ.get(ENV_DB_URL)
        recorded = self.section("database").get("location")
        own_sqlite = f"sqlite:///{self.home / 'idolguard.db'}"
        if not recorded:
            return env or own_sqlite  # a workspace from before the location was recorded
        if recorded == SQLITE_IN_WORKSPACE:
            if env and not same_database(env, own_sqlite):
                raise WorkspaceError(
                    f"this workspace keeps its database in {self.home / 'idolguard.db'}, but IDOLGUARD_DB_URL "
                    f"points to {public_url(env)}: unset it to use this workspace"
                )
            return own_sqlite
        if not env:
            raise WorkspaceError(
                f"this workspace's database is {recorded}: set IDOLGUARD_DB_URL to it (with its password); "
                "refusing to open another database in its place"
            )
        if not same_database(env, str(recorded)):
            raise WorkspaceError(
                f"IDOLGUARD_DB_URL points to {public_url(env)}, but this workspace's database is {recorded}: "
                "refusing to open a different database"
            )
        return env

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
