"""Job worker settings (``[worker]`` in ``config.toml``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


def _h(default: Any, text: str, env: str | None = None) -> Any:
    return field(default=default, metadata={"help": text, **({"env": env} if env else {})})


@dataclass
class WorkerSettings:
    """The job worker: its two lanes (analysts' jobs; reported links and watches) and its schedule."""

    section: ClassVar[str] = "worker"
    background_workers: int = _h(
        1,
        "Threads for the background lane (portal reports' captures, scheduled watches); the analysts' uploads "
        "and captures have their own threads, so a flood of reports never delays them.",
    )
    tick_s: float = _h(1.0, "How often the dispatcher looks for new reported links (s).")
    watch_check_s: int = _h(60, "How often the worker looks for due watched sources (s).", "IDOLGUARD_WATCH_CHECK_S")
    watch_lease_s: int = _h(1800, "A scheduled watch run not finished within this may be run again (s).")
    watches: bool = _h(True, "Run due watched sources on schedule (watch run --due).")
