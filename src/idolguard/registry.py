"""The one registry of areas: built-in ``idolguard/<area>/area.py`` files plus the ``idolguard.areas`` entry points.

Everything that used to be a hand-kept list (stages, command modules, model imports, report sections) is read
from here, so adding an area or a stage touches only that area's own files. Third-party packages declare

    [project.entry-points."idolguard.areas"]
    mything = "mything.area:AREA"

The older ``idolguard.stages`` group (one entry point per ``Stage`` class) still works for this release and
emits a ``DeprecationWarning``; each such stage becomes its own one-stage area.

A part that fails to import (an optional dependency missing) is left out and reported by ``problems()``
(``idolguard stages`` lists them); it never breaks the other areas.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Iterator
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from idolguard.area import Area, People, Ref, ReportSection, ref_name, resolve

AREA_GROUP = "idolguard.areas"
LEGACY_STAGE_GROUP = "idolguard.stages"  # deprecated: kept working for one release
CORE = "core"

_PROBLEMS: dict[str, str] = {}


def _builtin_area_modules() -> list[str]:
    """``idolguard.<pkg>.area`` for every package of ours that has an ``area.py``; the core first."""
    root = Path(__file__).resolve().parent
    names = sorted(p.parent.name for p in root.glob("*/area.py"))
    names.sort(key=lambda name: name != CORE)
    return [f"idolguard.{name}.area" for name in names]


@cache
def all_areas() -> tuple[Area, ...]:
    """Every area, built-ins first; an area that fails to import is reported by ``problems()``."""
    areas: list[Area] = []
    for module in _builtin_area_modules():
        try:
            areas.append(_check(importlib.import_module(module).AREA, module))
        except Exception as exc:  # noqa: BLE001 - one broken area must not take the others down
            _PROBLEMS[module] = _describe(exc)
    for ep in entry_points(group=AREA_GROUP):
        try:
            areas.append(_check(ep.load(), ep.value))
        except Exception as exc:  # noqa: BLE001
            _PROBLEMS[ep.value] = _describe(exc)
    for ep in entry_points(group=LEGACY_STAGE_GROUP):
        warnings.warn(
            f"entry point group {LEGACY_STAGE_GROUP!r} ({ep.name} = {ep.value}) is deprecated; declare an "
            f"Area in {AREA_GROUP!r} instead (see docs/ARCHITECTURE.md)",
            DeprecationWarning,
            stacklevel=2,
        )
        areas.append(
            Area(name=f"stage:{ep.name}", description="legacy idolguard.stages entry point", stages=(ep.value,))
        )
    names = [a.name for a in areas]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"two areas share a name: {', '.join(duplicates)}")
    return tuple(areas)


def _check(value: Any, where: str) -> Area:
    if not isinstance(value, Area):
        raise TypeError(f"{where} is not an idolguard.area.Area")
    return value


def _describe(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, ImportError) else f"{type(exc).__name__}: {exc}"


def get_area(name: str) -> Area:
    for area in all_areas():
        if area.name == name:
            return area
    raise KeyError(name)


def problems() -> dict[str, str]:
    """Parts that could not be loaded, by reference (e.g. a stage whose optional package is missing)."""
    all_areas()
    return dict(_PROBLEMS)


def _resolved(kind: str, pick: Callable[[Area], tuple[Ref, ...]]) -> Iterator[tuple[Area, Ref, Any]]:
    for area in all_areas():
        for ref in pick(area):
            try:
                yield area, ref, resolve(ref)
            except Exception as exc:  # noqa: BLE001 - reported, not fatal
                _PROBLEMS[ref_name(ref)] = f"{kind}: {_describe(exc)}"


def stage_classes() -> list[type[Any]]:
    """Every importable stage class, in area order (``pipeline.registry`` orders them by ``needs``)."""
    return [value for _area, _ref, value in _resolved("stage", lambda a: a.stages)]


def command_registrars() -> list[tuple[str, Any]]:
    """(area name, ``register(app, groups)`` callable or named Typer app) for every area."""
    return [(area.name, value) for area, _ref, value in _resolved("commands", lambda a: a.commands)]


def report_sections() -> list[tuple[str, Callable[..., str]]]:
    """(name, render) of every report section in display order."""
    found: list[tuple[int, str, Callable[..., str]]] = []
    for area in all_areas():
        for section in area.report_sections:
            if not isinstance(section, ReportSection):
                raise TypeError(f"area {area.name}: report_sections takes ReportSection entries")
            try:
                found.append((section.order, section.name, resolve(section.render)))
            except Exception as exc:  # noqa: BLE001
                _PROBLEMS[ref_name(section.render)] = f"report section: {_describe(exc)}"
    return [(name, render) for _order, name, render in sorted(found, key=lambda t: (t[0], t[1]))]


def import_models() -> list[str]:
    """Import every area's model modules so ``Base.metadata`` is complete; returns the module names."""
    loaded = []
    for area in all_areas():
        for module in area.models:
            importlib.import_module(module)  # a missing model module is a broken install: fail loudly
            loaded.append(module)
    return loaded


def resource_loaders() -> dict[str, Callable[[Any], Any]]:
    """Resource name -> loader, from every area (two areas providing one name is a declaration error)."""
    loaders: dict[str, Callable[[Any], Any]] = {}
    for area in all_areas():
        for provider in area.resources:
            if provider.name in loaders:
                raise ValueError(f"resource {provider.name!r} is provided twice (area {area.name})")
            try:
                loaders[provider.name] = resolve(provider.load)
            except Exception as exc:  # noqa: BLE001
                _PROBLEMS[ref_name(provider.load)] = f"resource: {_describe(exc)}"
    return loaders


def item_hooks() -> list[tuple[str, Callable[[Any, list[str]], Any]]]:
    """(area name, ``hook(workspace, shas)``) called by the runner after items' analysis is up to date."""
    return [(area.name, value) for area, _ref, value in _resolved("item hook", lambda a: a.item_hooks)]


def init_hooks() -> list[tuple[str, Callable[[Any, Callable[[str], None]], Any]]]:
    """(area name, ``hook(workspace, say)``) run once by ``idolguard init``."""
    return [(area.name, value) for area, _ref, value in _resolved("init hook", lambda a: a.init_hooks)]


def match_folds() -> list[tuple[str, Callable[[Any, Any], int]]]:
    """(area name, ``fold(session, ledger)``) that record stored match results before a bank change drops them.

    A declared fold that cannot be imported is not skipped (as a report section would be): the caller is about
    to delete results only the fold would have recorded, so the import error is raised and the change refused."""
    found: list[tuple[str, Callable[[Any, Any], int]]] = []
    for area in all_areas():
        for ref in area.match_folds:
            found.append((area.name, resolve(ref)))
    return found


def fold_matches(session: Any, ledger: Any) -> int:
    """Run every area's ``match_folds`` in the caller's write transaction; returns how many items they recorded.
    The one loop behind ``signals.banks.fold_matches`` (bank changes) and the runner's ``persist_batch``."""
    return sum(fold(session, ledger) for _area, fold in match_folds())


def people() -> tuple[Callable[[Any], bool], Callable[[Any, str], tuple[str, str] | None]] | None:
    """(has_accounts, lookup) of the area that keeps user accounts, or None when no area does."""
    declared = [area for area in all_areas() if area.people is not None]
    if len(declared) > 1:
        raise ValueError(f"two areas declare the user directory: {', '.join(a.name for a in declared)}")
    if not declared:
        return None
    found = declared[0].people
    assert isinstance(found, People)
    return resolve(found.has_accounts), resolve(found.lookup)


def settings_classes() -> list[tuple[str, Any]]:
    """(area name, settings class) for every area."""
    return [(area.name, value) for area, _ref, value in _resolved("settings", lambda a: a.settings)]


_RESET_HOOKS: list[Callable[[], None]] = []


def on_reset(hook: Callable[[], None]) -> None:
    """Let a cache built from the areas (e.g. the instantiated stages) be dropped by ``reset()``."""
    _RESET_HOOKS.append(hook)


def reset() -> None:
    """Forget what was read (tests that install a plug-in at run time call this)."""
    all_areas.cache_clear()
    _PROBLEMS.clear()
    for hook in _RESET_HOOKS:
        hook()
