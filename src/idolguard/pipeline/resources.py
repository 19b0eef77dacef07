"""Workspace reference data that stages read (the gallery, the hash banks, the detector calibration).

Stages get no database handle and must not go looking for a workspace: the runner, which knows the workspace,
loads every resource the selected stages declare (``Stage.uses`` required, ``Stage.may_use`` optional) through
the loaders areas declare (``Area.resources``), and hands them in as ``ctx.resources``. Values are picklable,
so the same object reaches an in-process stage, a process-pool worker and a Ray actor (``ray_engine``); a value
that needs the database (the banks) carries a ``WorkspaceHandle`` that reopens the same workspace in the
worker. A stage that needs a resource and gets none fails loudly (``MissingResource``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from idolguard.errors import ErrorCode, IdolGuardError


class MissingResource(IdolGuardError):
    """A stage needed workspace data the runner did not provide (e.g. matching outside any workspace)."""


class Resources(Mapping[str, Any]):
    """Read-only mapping of resource name -> value, as provided by the runner."""

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        self._values = dict(values or {})

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def need(self, name: str, stage: str = "") -> Any:
        """The resource, or a ``MissingResource`` error naming the stage and what is missing."""
        value = self._values.get(name)
        if value is None:
            who = f"stage {stage!r}" if stage else "this stage"
            raise MissingResource(
                f"{who} needs the workspace's {name!r} and the runner provided none (run it inside a workspace)",
                code=ErrorCode.STAGE_MISSING_RESOURCE,
                resource=name,
            )
        return value

    def __repr__(self) -> str:
        return f"Resources({sorted(self._values)})"


_OPEN: dict[tuple[str, str], Any] = {}
_OPEN_LOCK = threading.Lock()


@dataclass
class WorkspaceHandle:
    """A picklable reference to one workspace (home + database URL). In the process that made it, it holds
    the open workspace; unpickled in a worker, it reopens it once per process."""

    home: str
    db_url: str
    _ws: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, ws: Any) -> WorkspaceHandle:
        return cls(str(ws.home), ws.config.db_url, ws)

    def __getstate__(self) -> dict[str, Any]:
        return {"home": self.home, "db_url": self.db_url, "_ws": None}

    def open(self) -> Any:
        if self._ws is not None:
            return self._ws
        from idolguard.workspace import Workspace

        key = (self.home, self.db_url)
        with _OPEN_LOCK:
            ws = _OPEN.get(key)
            if ws is None:
                ws = Workspace.open(Path(self.home))
                if ws.config.db_url != self.db_url:  # e.g. a worker started without IDOLGUARD_DB_URL
                    raise MissingResource(
                        f"this worker opens {self.home} on another database than the runner's; "
                        "give workers the same IDOLGUARD_DB_URL"
                    )
                _OPEN[key] = ws
        self._ws = ws
        return ws


def load_resources(ws: Any, names: Iterable[str]) -> Resources:
    """Load the named resources from ``ws`` with the loaders the areas declare (``None`` when there is no
    workspace: every resource is then absent, and stages that need one fail with ``MissingResource``)."""
    from idolguard import registry

    wanted = sorted(set(names))
    if ws is None or not wanted:
        return Resources()
    loaders = registry.resource_loaders()
    values: dict[str, Any] = {}
    for name in wanted:
        loader = loaders.get(name)
        if loader is None:
            raise MissingResource(f"no area provides the resource {name!r}")
        values[name] = loader(ws)
    return Resources(values)
