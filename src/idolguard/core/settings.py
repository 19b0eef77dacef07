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
