"""Web app settings (``[web]`` in ``config.toml``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

ENV_QUEUE = "IDOLGUARD_QUEUE"


@dataclass
class WebSettings:
    """The team web app: job queue, upload limits, reveal window."""

    section: ClassVar[str] = "web"
    queue: str = field(
        default="",
        metadata={
            "help": 'Job queue: "" = SQLite file in the workspace (embedded default), or a redis:// URL '
            "(e.g. redis://127.0.0.1:6379/0).",
            "env": ENV_QUEUE,
        },
    )
    lang: str = field(
        default="ko",
        metadata={
            "help": 'Default page language, "ko" or "en": used until a person saves their own (the browser\'s '
            "language does not override it)."
        },
    )
    max_upload_bytes: int = field(default=2 * 1024**3, metadata={"help": "Largest upload (all files together)."})
    reveal_seconds: int = field(default=60, metadata={"help": "How long a revealed original stays visible."})
    login_ip_max_failures: int = field(
        default=20,
        metadata={
            "help": "Failed sign-ins from one client address (any accounts) within 15 minutes that block the "
            "address; behind a reverse proxy, let it set X-Forwarded-For (trusted from 127.0.0.1)."
        },
    )
    login_ip_block_minutes: int = field(default=15, metadata={"help": "How long a blocked address waits."})
