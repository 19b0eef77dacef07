"""``[takedowns]`` and ``[takedowns.smtp]`` settings: who signs notices, and how e-mail is sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar


def _h(default: object, text: str, env: str | None = None) -> object:
    return field(default=default, metadata={"help": text, **({"env": env} if env else {})})


@dataclass
class TakedownSettings:
    """Takedown notices: the reporter named in every notice and the agency's authority to act."""

    section: ClassVar[str] = "takedowns"
    reporter_name: str = _h("", "Name of the person or office sending notices (default for --name).")  # type: ignore[assignment]
    reporter_email: str = _h("", "Reply address named in notices (default for --email).")  # type: ignore[assignment]
    authority: str = _h("", "The agency's authority to act for the artist, e.g. the power of attorney's reference.")  # type: ignore[assignment]


@dataclass
class SmtpSettings:
    """SMTP server for e-mailed notices (the password comes from the environment variable named here)."""

    section: ClassVar[str] = "takedowns.smtp"
    host: str = _h("", "SMTP server host name.")  # type: ignore[assignment]
    port: int = _h(587, "SMTP server port.")  # type: ignore[assignment]
    sender: str = _h("", "Envelope and From address.")  # type: ignore[assignment]
    username: str = _h("", "Login user name (empty: no login).")  # type: ignore[assignment]
    password_env: str = _h("IDOLGUARD_SMTP_PASSWORD", "Environment variable holding the password.")  # type: ignore[assignment]
    starttls: bool = _h(True, "Upgrade the connection with STARTTLS.")  # type: ignore[assignment]
    ssl: bool = _h(False, "Connect with implicit TLS (port 465).")  # type: ignore[assignment]
    timeout_s: float = _h(30.0, "Connect and command timeout (s).")  # type: ignore[assignment]
