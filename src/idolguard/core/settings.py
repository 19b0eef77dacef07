"""Core settings: ``[workspace]`` and ``[vault]`` (``[limits]`` is ``config.Limits``)."""

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
