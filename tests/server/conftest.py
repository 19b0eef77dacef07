"""Server fixtures: settings written into the workspace's config.toml (init writes every table)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any


def set_config(home: Path, section: str, **values: Any) -> None:
    """Set keys of one ``[section]`` of the workspace's config (added after the header when absent)."""
    path = home / "config.toml"
    text = path.read_text(encoding="utf-8")
    header = re.search(rf"(?m)^\[{re.escape(section)}\]\s*$", text)
    if header is None:
        text += f"\n[{section}]\n"
        header = re.search(rf"(?m)^\[{re.escape(section)}\]\s*$", text)
        assert header is not None
    end = re.compile(r"(?m)^\[").search(text, header.end())
    stop = end.start() if end else len(text)
    body = text[header.end() : stop]
    for key, value in values.items():
        literal = ("true" if value else "false") if isinstance(value, bool) else json.dumps(value, ensure_ascii=False)
        line = f"{key} = {literal}"
        pattern = re.compile(rf"(?m)^#?\s*{re.escape(key)}\s*=.*$")
        body = pattern.sub(lambda _m, line=line: line, body, count=1) if pattern.search(body) else f"\n{line}" + body
    path.write_text(text[: header.end()] + body + text[stop:], encoding="utf-8")
