"""Core settings: ``[workspace]``, ``[display]`` and ``[vault]`` (``[limits]`` is ``config.Limits``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar


@dataclass
class WorkspaceSettings:
    """Who this workspace records as the actor of custody events."""

    section: ClassVar[str] = "workspace"
    actor: str = field(
        default="",
        metadata={"help": 'Actor of custody events ("" = user@host).', "env": "IDOLGUARD_ACTOR"},
    )


@dataclass
class VaultSettings:
    """Evidence at rest. The key is never stored in this file or in the database."""

    section: ClassVar[str] = "vault"
    encrypt: bool = field(default=False, metadata={"help": "Encrypt evidence at rest with AES-256-GCM."})
    key_file: str = field(
        default="",
        metadata={"help": "File holding the 64-hex-char key (else the IDOLGUARD_VAULT_KEY environment variable)."},
    )


@dataclass
class KeysSettings:
    """The private signing key: keep it outside the workspace, so whoever can write the workspace cannot
    re-sign its history (docs/EVIDENCE.md, "Keys")."""

    section: ClassVar[str] = "keys"
    signing_key_file: str = field(
        default="",
        metadata={
            "help": 'Path of the private signing key ("" = keys/instance_ed25519.pem in the workspace). '
            "IDOLGUARD_SIGNING_KEY_PASSPHRASE decrypts a passphrase-protected key.",
            "env": "IDOLGUARD_SIGNING_KEY_FILE",
        },
    )


@dataclass
class LedgerSettings:
    """RFC 3161 anchors of the custody ledger's head (docs/EVIDENCE.md, "Anchored heads")."""

    section: ClassVar[str] = "ledger"
    anchor_every: int = field(
        default=1000,
        metadata={
            "help": "Timestamp the ledger head with [capture] tsa_urls every this many new entries and at the end "
            "of every command that wrote (0 = never)."
        },
    )
    anchor_timeout_s: float = field(default=10.0, metadata={"help": "Seconds to wait for each TSA."})


@dataclass
class DatabaseSettings:
    """Where this workspace's database is. Commands refuse to open any other database in its place."""

    section: ClassVar[str] = "database"
    location: str = field(
        default="",
        metadata={
            "help": "Written by init, without password; IDOLGUARD_DB_URL supplies the credentials and must name "
            'the same database ("" = not recorded: a workspace from before this check).'
        },
    )


@dataclass
class DisplaySettings:
    """Times in tables and messages use this zone; stored times and JSON output stay ISO 8601 with offset."""

    section: ClassVar[str] = "display"
    timezone: str = field(
        default="Asia/Seoul",
        metadata={
            "help": "IANA time zone for times shown in tables (e.g. Asia/Seoul, UTC).",
            "env": "IDOLGUARD_TIMEZONE",
        },
    )
