"""``scan``: ingest, bring every item up to date with all available stages, and build one result per file.

The result object is the public interface other tools consume (``scan --json``): base fields are fixed here,
and each stage contributes the top-level fields it declares in ``produces``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from idolguard.db.models import Item
from idolguard.errors import ErrorCode, StorageFull
from idolguard.intake.ingest import Ingestor, IngestResult, SightingInfo
from idolguard.pipeline.outputs import ScanObject
from idolguard.pipeline.registry import all_stages
from idolguard.pipeline.resources import Resources, load_resources
from idolguard.pipeline.runner import (
    INPUTS_KEY,
    Engine,
    analyze,
    inputs_of,
    item_record,
    load_state,
    select_stages,
    stage_error_code,
    upstream_record,
    version_key,
)
from idolguard.workspace import Workspace

BASE_FIELDS = ("sha256", "md5", "path", "size", "media_type", "mime", "width", "height", "duration_s")


def item_object(ws: Workspace, sha256: str, *, path: str | None = None, duplicate: bool = False) -> ScanObject:
    """The scan object for one stored item, from the stored result of each current stage version."""
    return item_objects(ws, [(sha256, path, duplicate)])[0]


def item_objects(ws: Workspace, wanted: list[tuple[str, str | None, bool]], *, older: bool = False) -> list[ScanObject]:
    """Scan objects for many items ((sha256, path shown, duplicate) each) with two queries per 500 items.

    Only current results count (``stages``). With ``older`` (the item page, for people), a stage without a
    current result shows its latest older ``ok`` result instead, named in ``older_stages`` ({stage: {"stored",
    "current"}}); triage, incidents, reports and ``scan --json`` never ask for them (docs/ARCHITECTURE.md)."""
    current = {s.name: s for s in select_stages()}
    order = {name: index for index, name in enumerate(s.name for s in all_stages())}
    items, stored = load_state(ws, list(dict.fromkeys(sha for sha, _, _ in wanted)))
    resources = load_resources(ws, {name for s in current.values() for name in s.refresh_uses})
    objects = []
    for sha256, path, duplicate in wanted:
        item = items.get(sha256)
        if item is None:
            raise KeyError(sha256)
        rows = stored.get(sha256, {}).values()
        obj = _build(item, rows, current, order, path, duplicate, resources)
        if older:
            _add_older(cast(dict[str, Any], obj), rows, current, order, resources)
        objects.append(obj)
    return objects


def _add_older(
    obj: dict[str, Any], rows: Any, current: dict[str, Any], order: dict[str, int], resources: Resources
) -> None:
    """Fill in each stage that has no current result from its latest older ``ok`` result, marked as such.
    An older output the current code cannot read is left out (it is still stored, and in the custody log)."""
    obj["older_stages"] = {}
    latest: dict[str, Any] = {}
    for row in rows:
        if row.status == "ok" and row.stage in current and row.stage not in obj["stages"]:
            seen = latest.get(row.stage)
            newer = (row.created_at, version_key(row.version))
            if seen is None or newer > (seen.created_at, version_key(seen.version)):
                latest[row.stage] = row
    for name in sorted(latest, key=lambda n: order.get(n, len(order))):
        stage, row = current[name], latest[name]
        try:
            if stage.refresh_uses:
                stage.contribute(obj, row.output, Resources({k: resources.get(k) for k in stage.refresh_uses}))
            else:
                stage.contribute(obj, row.output)
        except Exception:  # noqa: BLE001 - an older output's shape may have changed; shown without it
            continue
        obj["older_stages"][name] = {"stored": row.version, "current": stage.version}


def _build(
    item: Item,
    rows: Any,
    current: dict[str, Any],
    order: dict[str, int],
    path: str | None,
    duplicate: bool,
    resources: Resources,
) -> ScanObject:
    obj: dict[str, Any] = {
        "path": path if path is not None else item.original_name,
        **item_record(item),
        "duplicate": duplicate,
        "stages": {},
        "error": None,
        "stage_errors": {},
        "stage_error_codes": {},
    }
    shown: dict[str, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: order.get(r.stage, len(order))):
        stage = current.get(row.stage)
        if stage is None or stage.version != row.version:
            continue
        if INPUTS_KEY in (row.output or {}) and inputs_of(row.output) != upstream_record(stage, current, shown):
            continue  # computed from upstream outputs that are no longer current
        obj["stages"][row.stage] = row.version
        if row.status == "ok":
            shown[row.stage] = row.output
            if stage.refresh_uses:
                stage.contribute(obj, row.output, Resources({k: resources.get(k) for k in stage.refresh_uses}))
            else:
                stage.contribute(obj, row.output)
        else:
            obj["stage_errors"][row.stage] = row.error
            found = stage_error_code(row.output)
            if found:  # the error as a code and values, for pages and reports in another language
                obj["stage_error_codes"][row.stage] = found
    # Stages with a stored result that is not current (an older version, or computed from upstream results that
    # are no longer current): their fields are left out above, and named here so a report or an API reader never
    # takes a missing section for "nothing found" when the analysis is only out of date. Names only: the older
    # values stay out of everything but the item page (``older``).
    have = {row.stage for row in rows}
    obj["outdated_stages"] = sorted(
        (name for name in current if name in have and name not in obj["stages"]), key=lambda n: order.get(n, len(order))
    )
    if obj["stage_errors"]:
        first = next(name for name in obj["stages"] if name in obj["stage_errors"])
        obj["error"] = f"{first}: {obj['stage_errors'][first]}"
        coded = obj["stage_error_codes"].get(first)
        if coded and coded["code"] != str(ErrorCode.GENERIC):
            obj["error_code"], obj["error_params"] = coded["code"], coded["params"]
    return cast(ScanObject, obj)  # stages add their own fields: built as a plain dict, typed at the boundary


def failed_object(result: IngestResult) -> ScanObject:
    obj: dict[str, Any] = {name: None for name in BASE_FIELDS}
    obj.update(
        {
            "path": result.path,
            "sha256": result.sha256,
            "duplicate": False,
            "stages": {},
            "error": result.error,
        }
    )
    if result.error_code:  # the refusal's code and values (``idolguard.errors``), for other languages
        obj["error_code"], obj["error_params"] = result.error_code, result.error_params or {}
    obj["media_type"] = result.media_type or "other"  # the interface promises image|video|other
    obj["stage_errors"] = {}
    obj["stage_error_codes"] = {}
    obj["outdated_stages"] = []
    return cast(ScanObject, obj)


def scan_paths(
    ws: Workspace,
    paths: list[Path],
    info: SightingInfo | None = None,
    *,
    stage_names: list[str] | None = None,
    workers: int = 1,
    on_ingested: Callable[[int], None] | None = None,
    on_analyzed: Callable[[str], None] | None = None,
    on_analysis_start: Callable[[int], None] | None = None,
    engine: Engine | None = None,
    labels: dict[Path, str] | None = None,
) -> list[ScanObject]:
    return scan_paths_checked(
        ws,
        paths,
        info,
        stage_names=stage_names,
        workers=workers,
        on_ingested=on_ingested,
        on_analyzed=on_analyzed,
        on_analysis_start=on_analysis_start,
        engine=engine,
        labels=labels,
    ).objects


@dataclass
class ScanOutcome:
    objects: list[ScanObject]
    stopped: str | None = None  # why the run stopped early (disk full); the objects are what was committed


def scan_paths_checked(
    ws: Workspace,
    paths: list[Path],
    info: SightingInfo | None = None,
    *,
    stage_names: list[str] | None = None,
    workers: int = 1,
    on_ingested: Callable[[int], None] | None = None,
    on_analyzed: Callable[[str], None] | None = None,
    on_analysis_start: Callable[[int], None] | None = None,
    engine: Engine | None = None,
    labels: dict[Path, str] | None = None,
) -> ScanOutcome:
    """Like ``scan_paths``, but a full disk stops the run cleanly: every item committed before it is still
    returned (and analysed as far as possible), and ``stopped`` names the cause."""
    ingestor = Ingestor(ws, info, on_progress=on_ingested, labels=labels)
    ingested: list[IngestResult] = []
    stopped: str | None = None
    try:
        for result in ingestor.ingest(paths):
            ingested.append(result)
    except StorageFull as exc:
        stopped = str(exc)
    stored = [r for r in ingested if r.sha256 and not r.error]
    unique = list(dict.fromkeys(r.sha256 for r in stored if r.sha256))
    if on_analysis_start:
        on_analysis_start(len(unique))
    if stopped is None:
        try:
            analyze(ws, unique, stage_names=stage_names, workers=workers, on_done=on_analyzed, engine=engine)
        except Exception as exc:
            if not _disk_full(exc):
                raise
            stopped = f"the workspace's disk is full during analysis ({exc}); analysis results not stored"
    good = [r for r in ingested if r.sha256 and not r.error]
    built = iter(item_objects(ws, [(r.sha256, r.path, r.duplicate) for r in good if r.sha256]))
    objects = []
    for r in ingested:
        obj = next(built) if r.sha256 and not r.error else failed_object(r)
        obj["findings"] = list(r.extra.get("findings", []))
        obj["already_recorded"] = bool(r.extra.get("already_recorded"))
        objects.append(obj)
    return ScanOutcome(objects, stopped)


def _disk_full(exc: BaseException) -> bool:
    from idolguard.intake.ingest import _storage_full

    return (
        isinstance(exc, StorageFull)
        or _storage_full(exc)
        or (exc.__cause__ is not None and _storage_full(exc.__cause__))
    )
