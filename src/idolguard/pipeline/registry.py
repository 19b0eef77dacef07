"""Which stages exist, in dependency order.

Built-in stages are listed by import path so that a stage whose optional dependency or model is missing is
reported as unavailable instead of breaking every command; third-party packages can add stages through the
``idolguard.stages`` entry-point group.
"""

from __future__ import annotations

import importlib
from functools import cache
from importlib.metadata import entry_points

from idolguard.pipeline.stage import Stage

BUILTIN: tuple[str, ...] = (
    "idolguard.pipeline.stages.probe:ProbeStage",
    "idolguard.faces.stage:FacesStage",
    "idolguard.signals.stage:SignalsStage",
    "idolguard.signals.stage:MatchStage",
    "idolguard.signals.stage:FaceMatchStage",
    "idolguard.detect.stage:ManipulationStage",
    "idolguard.cases.provenance_stage:ProvenanceStage",
)


def _load(spec: str) -> type[Stage]:
    module_name, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module_name), attr)


@cache
def all_stages() -> tuple[Stage, ...]:
    """Instantiate every known stage once per process (models load lazily inside the stages)."""
    classes: list[type[Stage]] = []
    problems: dict[str, str] = {}
    for spec in BUILTIN:
        try:
            classes.append(_load(spec))
        except ImportError as exc:
            problems[spec] = str(exc)
    for ep in entry_points(group="idolguard.stages"):
        try:
            classes.append(ep.load())
        except ImportError as exc:
            problems[ep.value] = str(exc)
    _IMPORT_PROBLEMS.update(problems)
    return tuple(order_stages([cls() for cls in classes]))


_IMPORT_PROBLEMS: dict[str, str] = {}


def import_problems() -> dict[str, str]:
    all_stages()
    return dict(_IMPORT_PROBLEMS)


def order_stages(stages: list[Stage]) -> list[Stage]:
    """Topological order by ``needs``; a stage needing an unknown stage is dropped at run time, not here."""
    by_name = {stage.name: stage for stage in stages}
    if len(by_name) != len(stages):
        raise ValueError("two stages share a name")
    ordered: list[Stage] = []
    state: dict[str, int] = {}

    def visit(stage: Stage) -> None:
        mark = state.get(stage.name)
        if mark == 2:
            return
        if mark == 1:
            raise ValueError(f"stage dependency cycle through {stage.name}")
        state[stage.name] = 1
        for need in stage.needs:
            if need in by_name:
                visit(by_name[need])
        state[stage.name] = 2
        ordered.append(stage)

    for stage in stages:
        visit(stage)
    return ordered


def get_stage(name: str) -> Stage:
    for stage in all_stages():
        if stage.name == name:
            return stage
    raise KeyError(name)
