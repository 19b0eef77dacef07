"""Which stages exist, in dependency order.

Stages come from the areas (``idolguard.registry``: built-in ``<area>/area.py`` declarations and the
``idolguard.areas`` entry points; the deprecated ``idolguard.stages`` group still works). A stage whose module
cannot be imported (optional dependency missing) is reported by ``import_problems()`` instead of breaking
every command.
"""

from __future__ import annotations

from functools import cache

from idolguard import registry
from idolguard.pipeline.stage import Stage


@cache
def all_stages() -> tuple[Stage, ...]:
    """Instantiate every known stage once per process (models load lazily inside the stages)."""
    classes = registry.stage_classes()
    for cls in classes:
        if not (isinstance(cls, type) and issubclass(cls, Stage)):
            raise TypeError(f"{cls!r} is declared as a stage but is not a Stage subclass")
    return tuple(order_stages([cls() for cls in classes]))


registry.on_reset(all_stages.cache_clear)


def import_problems() -> dict[str, str]:
    all_stages()
    return registry.problems()


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
