"""The one declaration an area makes: its stages, commands, report sections, database models and settings.

Every area (``faces``, ``gallery``, ``detect``, ``signals``, ``incidents``, ``capture``, the core, and any
third-party package) exports one ``AREA = Area(...)`` and nothing else registers anything: no list in
``cli.py``, no import-time side effects. ``idolguard.registry`` reads the built-in areas
(``src/idolguard/<area>/area.py``) and the ``idolguard.areas`` entry-point group.

Parts are named by ``"module:attribute"`` strings (or given as the objects themselves, which is handy for a
one-file plug-in). Strings keep ``idolguard --help`` fast (nothing heavy is imported to list commands) and
let an area whose optional dependency is missing lose only its own parts: the registry reports the import
problem (``idolguard stages``) instead of breaking every command.

This module imports nothing from IdolGuard, so any layer may depend on it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# "package.module:attribute" or the object itself.
Ref = str | object


@dataclass(frozen=True)
class ReportSection:
    """A per-item block of the HTML report: ``render(workspace, scan_object) -> escaped HTML or ""``.

    Sections render in ascending ``order`` (then name); the core blocks (hashes, metadata, sightings) come
    first and are not sections.
    """

    name: str
    render: Ref
    order: int = 100


@dataclass(frozen=True)
class ResourceProvider:
    """Workspace reference data a stage may read: ``load(workspace) -> picklable value`` (see
    ``idolguard.pipeline.resources``). The runner calls it in the parent process, never a stage."""

    name: str
    load: Ref


@dataclass(frozen=True)
class People:
    """Who stands behind an operator name, for steps that need a role (two-person destruction, legal hold).

    Declared by the area that keeps user accounts (the web app) so lower areas (cases) can ask without
    importing it: ``has_accounts(workspace) -> bool`` and ``lookup(workspace, actor) -> (user, role) | None``
    (``None``: the actor is no active user). ``actor`` is a ledger actor: a CLI operator name or ``web:NAME``.
    """

    has_accounts: Ref
    lookup: Ref


@dataclass(frozen=True)
class Area:
    """What one area contributes. Every field is optional; an area may declare only models, say.

    - ``stages``: ``Stage`` subclasses (``"idolguard.faces.stage:FacesStage"``), ordered by ``needs``.
    - ``commands``: callables ``register(app, groups)`` (``groups`` holds the shared ``eval``/``train``/
      ``calibrate`` Typer groups) or Typer apps with a name (added as a command group).
    - ``report_sections``: ``ReportSection`` entries for the HTML report.
    - ``models``: modules defining SQLAlchemy models on ``idolguard.db.base.Base`` (migrations stay one
      Alembic branch per area off ``0001_core``).
    - ``settings``: settings classes (dataclasses with a ``section`` class attribute naming their
      ``config.toml`` table), validated when a workspace opens.
    - ``resources``: ``ResourceProvider`` entries for the read-only workspace data stages declare in
      ``Stage.uses`` / ``Stage.may_use`` (gallery, banks, detector calibration).
    - ``item_hooks``: callables ``hook(workspace, shas)`` the runner calls after it brought those items'
      analysis up to date (e.g. the web app's triage rows), whoever ran it: ``scan``, a capture, a job. A
      front door reacts to new evidence without the pipeline importing it.
    - ``init_hooks``: callables ``hook(workspace, say)`` run once by ``idolguard init`` on the new workspace
      (``say(line)`` prints a line for the person at the terminal, e.g. the first administrator's login).
    - ``match_folds``: callables ``fold(session, ledger) -> int`` that consume stored match-stage results
      (``match``, ``face_match``) into the area's own records (entry hits, incidents) inside the caller's write
      transaction. ``signals.banks.invalidate_matches`` calls them before it deletes those results on a bank
      change, and ``bank delete``/``bank remove`` before they look for recorded matches, so no match a scan
      stored is lost to a bank change that came before ``sync`` (the incidents area declares its ``fold``).
    - ``people``: the user directory (``People``); at most one area declares it.
    """

    name: str
    description: str = ""
    stages: tuple[Ref, ...] = ()
    commands: tuple[Ref, ...] = ()
    report_sections: tuple[ReportSection, ...] = ()
    models: tuple[str, ...] = ()
    settings: tuple[Ref, ...] = ()
    resources: tuple[ResourceProvider, ...] = ()
    item_hooks: tuple[Ref, ...] = ()
    init_hooks: tuple[Ref, ...] = ()
    match_folds: tuple[Ref, ...] = ()
    people: People | None = None


def resolve(ref: Ref) -> Any:
    """The object a reference names (importing its module), or the object itself."""
    if not isinstance(ref, str):
        return ref
    module_name, _, attr = ref.partition(":")
    module = importlib.import_module(module_name)
    if not attr:
        return module
    value: Any = module
    for part in attr.split("."):
        value = getattr(value, part)
    return value


def ref_name(ref: Ref) -> str:
    """A readable name for a reference, for error messages and listings."""
    if isinstance(ref, str):
        return ref
    module = getattr(ref, "__module__", "?")
    return f"{module}:{getattr(ref, '__qualname__', type(ref).__name__)}"


CommandRegistrar = Callable[[Any, dict[str, Any]], None]
