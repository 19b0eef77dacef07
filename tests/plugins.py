"""Install a plug-in the way pip would (a ``*.dist-info`` folder with ``entry_points.txt`` on ``sys.path``), so
tests exercise the real entry-point discovery instead of patching the registry."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from idolguard import registry


def install_plugin(
    root: Path,
    monkeypatch: pytest.MonkeyPatch,
    dist: str,
    entry_points: dict[str, dict[str, str]],
    files: dict[str, str] | None = None,
) -> Path:
    """Write ``files`` (module name -> source) and a dist-info declaring ``entry_points`` (group -> name ->
    "module:attr") under ``root``, put ``root`` first on ``sys.path`` and forget what the registry read."""
    root.mkdir(parents=True, exist_ok=True)
    for relative, source in (files or {}).items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source, encoding="utf-8")
    info = root / f"{dist}-0.1.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n", encoding="utf-8")
    lines = []
    for group, named in entry_points.items():
        lines.append(f"[{group}]")
        lines.extend(f"{name} = {value}" for name, value in named.items())
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(root))
    registry.reset()
    return root


def uninstall_plugins(modules: tuple[str, ...] = ()) -> None:
    """Forget imported plug-in modules and what the registry read (call after the monkeypatch undo)."""
    for name in modules:
        sys.modules.pop(name, None)
    registry.reset()
