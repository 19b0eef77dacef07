"""The recipients file: shipped ``recipients.toml`` plus the workspace's own ``HOME/takedowns/recipients.toml``
(an entry with the same key replaces the shipped one; new keys are added). Entries are checked on load."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from idolguard.errors import IdolGuardError
from idolguard.takedowns.bases import BASES

CHANNELS = ("email", "web_form", "api", "postal")


@dataclass(frozen=True)
class Recipient:
    key: str
    name_ko: str
    name_en: str
    channel: str
    address: str
    bases: tuple[str, ...]
    required_fields: tuple[str, ...]
    language: str
    response_hours: int
    clock_source: str = ""
    notes: str = ""  # English (notes_en; a workspace entry's plain ``notes``)
    uncertain: tuple[str, ...] = field(default_factory=tuple)
    notes_ko: str = ""
    uncertain_ko: tuple[str, ...] = field(default_factory=tuple)

    def name(self, lang: str) -> str:
        return self.name_ko if lang == "ko" else self.name_en

    def note(self, lang: str) -> str:
        """The advice in the page's language (the English one where no Korean was written)."""
        return (self.notes_ko or self.notes) if lang == "ko" else (self.notes or self.notes_ko)

    def doubts(self, lang: str) -> tuple[str, ...]:
        """What is not confirmed about this recipient, in the page's language where written."""
        return (self.uncertain_ko or self.uncertain) if lang == "ko" else self.uncertain


def _parse(key: str, entry: dict[str, Any], origin: str) -> Recipient:
    def need(name: str, kind: type) -> Any:
        value = entry.get(name)
        if not isinstance(value, kind):
            raise IdolGuardError(f"{origin}: recipient [{key}] needs {name} ({kind.__name__})")
        return value

    channel = need("channel", str)
    if channel not in CHANNELS:
        raise IdolGuardError(f"{origin}: recipient [{key}] channel must be one of {', '.join(CHANNELS)}")
    bases = tuple(need("bases", list))
    unknown = [b for b in bases if b not in BASES]
    if unknown:
        raise IdolGuardError(f"{origin}: recipient [{key}] names unknown legal bases {unknown}")
    language = need("language", str)
    if language not in ("ko", "en"):
        raise IdolGuardError(f"{origin}: recipient [{key}] language must be ko or en")
    hours = need("response_hours", int)
    if hours <= 0:
        raise IdolGuardError(f"{origin}: recipient [{key}] response_hours must be positive")
    return Recipient(
        key=key,
        name_ko=need("name_ko", str),
        name_en=need("name_en", str),
        channel=channel,
        address=str(entry.get("address", "")),
        bases=bases,
        required_fields=tuple(entry.get("required_fields", ())),
        language=language,
        response_hours=hours,
        clock_source=str(entry.get("clock_source", "")),
        notes=str(entry.get("notes_en", entry.get("notes", ""))),
        uncertain=tuple(entry.get("uncertain", ())),
        notes_ko=str(entry.get("notes_ko", "")),
        uncertain_ko=tuple(entry.get("uncertain_ko", ())),
    )


def load_recipients(home: Path | None = None) -> dict[str, Recipient]:
    shipped = tomllib.loads(resources.files("idolguard.takedowns").joinpath("recipients.toml").read_text("utf-8"))
    out = {k: _parse(k, v, "shipped recipients.toml") for k, v in shipped.items()}
    if home is not None:
        override = home / "takedowns" / "recipients.toml"
        if override.exists():
            try:
                data = tomllib.loads(override.read_text("utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise IdolGuardError(f"{override}: not valid TOML ({exc})") from exc
            out.update({k: _parse(k, v, str(override)) for k, v in data.items()})
    return out


def get_recipient(recipients: dict[str, Recipient], key: str) -> Recipient:
    if key not in recipients:
        raise IdolGuardError(f"unknown recipient {key!r}; known: {', '.join(sorted(recipients))}")
    return recipients[key]
