"""Items whose stored analysis is older than the stages installed now, and bringing them up to date.

A stage's results are keyed by item, stage and version (``runner``): after an upgrade bumps a version, the
items already in a workspace keep only their older rows, which the item views do not count as current. This
module finds those items without reading any original (stored rows only: versions, statuses and the
``_inputs`` record of each output, read out of the JSON in the database, never the whole outputs) and
re-analyses them through ``runner.analyze``, the one path that stores results and custody events, so a
re-run after an interruption continues where it stopped and stores nothing twice.

"Stale" is what ``runner.plan_item`` would re-run, restricted to stages that already have a stored result for
the item (``retry_errors=False``: a current-version failure is a result, not an older one). An item that was
only ingested (no analysis asked for) is therefore not stale; an item analysed before a stage existed is
not either (``scan`` of that file, or ``analyze SHA``, adds it).

Items that cannot be re-analysed are reported and skipped, never fail the batch: erased by a destruction
decision (``destroyed_objects``), vault object missing, or unreadable (its item key gone, a read error).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from idolguard.db.models import Item, StageResult
from idolguard.db.session import in_chunks
from idolguard.errors import ErrorCode, IdolGuardError, code_of, error_params
from idolguard.pipeline.runner import (
    INPUTS_KEY,
    Engine,
    StageOutcome,
    analyze,
    plan_item,
    select_stages,
    stage_error_code,
    version_key,
)
from idolguard.pipeline.stage import Stage
from idolguard.workspace import Workspace

# Why an item was skipped (codes; the command line and the web say them from their catalogs).
ERASED = "erased"  # a signed destruction decision erased its original
MISSING = "missing"  # the vault has no object for it
UNREADABLE = "unreadable"  # the object is there but cannot be read (its item key is gone, a read error)

CHUNK = 500  # items per database round trip while counting
RUN_CHUNK = 50  # items per analyze call: a skipped item costs at most one chunk's re-plan


@dataclass(frozen=True)
class StoredRow:
    """A stored result as the planner needs it: no output beyond its ``_inputs`` record."""

    stage: str
    version: str
    status: str
    output: dict[str, Any]
    error: str | None
    created_at: datetime | None


@dataclass
class StaleItem:
    sha256: str
    # stage -> the version of its latest stored result; the current version itself when that result was
    # computed from upstream results that are no longer current
    stages: dict[str, str]
    skip: str | None = None  # ERASED | MISSING, found while counting (UNREADABLE shows only when read)


@dataclass
class StaleReport:
    """Stale items of a workspace, and counts per stage and stored version."""

    current: dict[str, str]  # stage -> current version (the stages considered)
    items: list[StaleItem] = field(default_factory=list)

    @property
    def runnable(self) -> list[StaleItem]:
        return [item for item in self.items if item.skip is None]

    @property
    def skipped(self) -> list[StaleItem]:
        return [item for item in self.items if item.skip is not None]

    def by_stage(self) -> list[dict[str, Any]]:
        """One row per (stage, stored version): how many items hold that older result (skipped ones too)."""
        counts: dict[tuple[str, str], int] = {}
        for item in self.items:
            for stage, version in item.stages.items():
                counts[(stage, version)] = counts.get((stage, version), 0) + 1
        order = list(self.current)
        return [
            {
                "stage": stage,
                "stored_version": version,
                "current_version": self.current[stage],
                # same version, older inputs: the stage is current but what it was computed from is not
                "reason": "inputs" if version == self.current[stage] else "version",
                "items": n,
            }
            for (stage, version), n in sorted(counts.items(), key=lambda kv: (order.index(kv[0][0]), kv[0][1]))
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "stale_items": len(self.items),
            "runnable": len(self.runnable),
            "skipped": [{"sha256": item.sha256, "reason": item.skip} for item in self.skipped],
            "by_stage": self.by_stage(),
        }


def find_stale(
    ws: Workspace,
    stage_names: Iterable[str] | None = None,
    *,
    shas: list[str] | None = None,
    check_vault: bool = True,
    on_chunk: Callable[[], None] | None = None,
) -> StaleReport:
    """The items (all, or ``shas``) holding a result of one of the stages (all available, or those named and
    what they need) that the runner would compute again. Reads stored rows only; ``check_vault=False`` skips
    the vault stat per stale item (a count for a notice need not tell missing objects apart)."""
    stages = select_stages(stage_names)
    report = StaleReport(current={s.name: s.version for s in stages})
    for chunk in _item_chunks(ws, shas):
        rows = _light_rows(ws, chunk)
        found = [StaleItem(sha, stale) for sha in chunk if (stale := stale_stages(stages, rows.get(sha, [])))]
        erased = erased_objects(ws, [item.sha256 for item in found])
        for item in found:
            if item.sha256 in erased:
                item.skip = ERASED
            elif check_vault and not ws.vault.has(item.sha256):
                item.skip = MISSING
        report.items += found
        if on_chunk is not None:
            on_chunk()
    return report


def next_stale(
    ws: Workspace, after: str, limit: int, scan_limit: int, *, on_chunk: Callable[[], None] | None = None
) -> tuple[StaleReport, str | None]:
    """The next stale items in hash order after ``after``: up to ``limit`` runnable ones (and the skipped ones
    met on the way), reading at most about ``scan_limit`` items' rows. Returns the report and the hash to go on
    after, or ``None`` when the last item was read: a long re-analysis goes through the workspace in short
    steps (the web job re-queues itself between them) without counting the whole workspace first."""
    report = StaleReport(current={s.name: s.version for s in select_stages(None)})
    scanned = 0
    while True:
        with ws.sessions() as session:
            query = select(Item.sha256).where(Item.sha256 > after).order_by(Item.sha256).limit(CHUNK)
            chunk = list(session.execute(query).scalars())
        if not chunk:
            return report, None
        for item in find_stale(ws, shas=chunk).items:  # in the chunk's (hash) order
            report.items.append(item)
            if item.skip is None and len(report.runnable) >= limit:
                return report, item.sha256
        after = chunk[-1]
        scanned += len(chunk)
        if on_chunk is not None:
            on_chunk()
        if scanned >= scan_limit:
            return report, after


def stale_stages(stages: list[Stage], rows: list[StoredRow]) -> dict[str, str]:
    """Stage -> the version of its latest stored result, for each stage that has one and would run again."""
    latest: dict[str, StoredRow] = {}
    for row in rows:
        seen = latest.get(row.stage)
        if seen is None or _newer(row, seen):
            latest[row.stage] = row
    if not any(s.name in latest for s in stages):
        return {}
    stored = {(row.stage, row.version): row for row in rows}
    _reused, _cached, to_run = plan_item(stages, stored, retry_errors=False)
    return {name: latest[name].version for name in to_run if name in latest}


def _newer(row: StoredRow, than: StoredRow) -> bool:
    if row.created_at is not None and than.created_at is not None and row.created_at != than.created_at:
        return row.created_at > than.created_at
    return version_key(row.version) > version_key(than.version)


def _item_chunks(ws: Workspace, shas: list[str] | None) -> Iterator[list[str]]:
    """Item hashes in chunks: those given, or every item in hash order (keyset paging, constant memory)."""
    if shas is not None:
        yield from in_chunks(list(dict.fromkeys(shas)), CHUNK)
        return
    after = ""
    while True:
        with ws.sessions() as session:
            query = select(Item.sha256).where(Item.sha256 > after).order_by(Item.sha256).limit(CHUNK)
            chunk = list(session.execute(query).scalars())
        if not chunk:
            return
        yield chunk
        after = chunk[-1]


def _light_rows(ws: Workspace, shas: list[str]) -> dict[str, list[StoredRow]]:
    inputs = StageResult.output[INPUTS_KEY]  # JSON path (SQLite json_extract, PostgreSQL ->): not whole outputs
    query = select(
        StageResult.item_sha256,
        StageResult.stage,
        StageResult.version,
        StageResult.status,
        inputs,
        StageResult.created_at,
    ).where(StageResult.item_sha256.in_(shas))
    rows: dict[str, list[StoredRow]] = {}
    with ws.sessions() as session:
        for sha, stage, version, status, recorded, created in session.execute(query).tuples():
            output = {INPUTS_KEY: recorded} if isinstance(recorded, dict) else {}
            rows.setdefault(sha, []).append(StoredRow(stage, version, status, output, None, created))
    return rows


def erased_objects(ws: Workspace, shas: list[str]) -> set[str]:
    """Which of these objects a signed destruction decision erased (plain SQL, as ``Workspace`` reads it, so
    the pipeline does not import the cases area; a database without that table has none)."""
    found: set[str] = set()
    query = text("SELECT sha256 FROM destroyed_objects WHERE sha256 IN :shas").bindparams(
        bindparam("shas", expanding=True)
    )
    for chunk in in_chunks(shas):
        try:
            with ws.engine.connect() as conn:
                found.update(str(v) for v in conn.execute(query, {"shas": chunk}).scalars())
        except (OperationalError, ProgrammingError) as exc:
            if "destroyed_objects" in str(exc):
                return found
            raise
    return found


@dataclass
class Skipped:
    sha256: str
    reason: str  # ERASED | MISSING | UNREADABLE
    error: str | None = None  # the read error (English), UNREADABLE only
    error_code: str | None = None
    error_params: dict[str, Any] = field(default_factory=dict)


@dataclass
class RefreshResult:
    analysed: list[str] = field(default_factory=list)  # items brought up to date (or tried: see failures)
    skipped: list[Skipped] = field(default_factory=list)
    # per item: stages that failed in this run, {stage: error}
    failures: dict[str, dict[str, str]] = field(default_factory=dict)
    stored: int = 0  # stage results computed and stored by this run
    # per item: the code and values of each failed stage's error, {stage: {"code", "params"}} (where stored)
    failure_codes: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "analysed": len(self.analysed),
            "stored": self.stored,
            "skipped": [
                {
                    "sha256": s.sha256,
                    "reason": s.reason,
                    # the read error of an unreadable one (erased and missing say it all by their reason)
                    **(
                        {"error": s.error, "error_code": s.error_code, "error_params": s.error_params}
                        if s.error
                        else {}
                    ),
                }
                for s in self.skipped
            ],
            "failed": [{"sha256": sha, "stage_errors": errors} for sha, errors in self.failures.items()],
        }


def refresh(
    ws: Workspace,
    report: StaleReport,
    *,
    stage_names: Iterable[str] | None = None,
    limit: int | None = None,
    workers: int = 1,
    engine: Engine | None = None,
    on_done: Callable[[str], None] | None = None,
) -> RefreshResult:
    """Re-analyse the report's runnable items (at most ``limit``) with ``runner.analyze``; skip and report
    items whose original cannot be read. Results are stored as each batch is computed, so an interrupted
    run loses only unstored work and the next ``find_stale`` no longer lists what was finished."""
    names = list(stage_names) if stage_names is not None else None
    result = RefreshResult()
    result.skipped += [_known(item.sha256, item.skip) for item in report.skipped if item.skip]
    targets = [item.sha256 for item in report.runnable]
    if limit is not None:
        targets = targets[:limit]
    for chunk in in_chunks(targets, RUN_CHUNK):
        readable = []
        for sha in chunk:
            problem = _unreadable(ws, sha)
            if problem is None:
                readable.append(sha)
            else:
                result.skipped.append(problem)
                if on_done:
                    on_done(sha)
        outcomes = _analyze_skipping(ws, readable, names, workers, engine, on_done, result)
        for sha, done in outcomes.items():
            result.analysed.append(sha)
            fresh = [o for o in done if not o.reused]
            result.stored += len(fresh)
            errors = {o.stage: o.error or "failed" for o in fresh if o.status != "ok"}
            if errors:
                result.failures[sha] = errors
                coded = {o.stage: c for o in fresh if o.status != "ok" and (c := stage_error_code(o.output))}
                if coded:
                    result.failure_codes[sha] = coded
    return result


def _analyze_skipping(
    ws: Workspace,
    shas: list[str],
    names: list[str] | None,
    workers: int,
    engine: Engine | None,
    on_done: Callable[[str], None] | None,
    result: RefreshResult,
) -> dict[str, list[StageOutcome]]:
    """``analyze`` on ``shas``; an item whose original fails to open mid-run (removed or damaged after the
    check) is reported and left out, and the rest is analysed again: what was stored before is reused."""
    left = list(shas)
    while left:
        try:
            return analyze(
                ws, left, stage_names=names, workers=workers, retry_errors=False, engine=engine, on_done=on_done
            )
        except (IdolGuardError, OSError) as exc:
            failed = error_params(exc).get("sha256") if str(code_of(exc)).startswith("vault.") else None
            if not isinstance(failed, str) or failed not in left:
                raise
            left.remove(failed)
            result.skipped.append(_skipped(failed, exc))
            if on_done:
                on_done(failed)
    return {}


def _unreadable(ws: Workspace, sha: str) -> Skipped | None:
    """Why this item's original cannot be opened now, or None (cheap: a stat and its item key)."""
    if not ws.vault.has(sha):
        return _known(sha, ERASED if erased_objects(ws, [sha]) else MISSING)
    try:
        ws.vault.item_key(sha)
    except (IdolGuardError, OSError) as exc:
        return _skipped(sha, exc)
    return None


def _known(sha: str, reason: str) -> Skipped:
    """An item skipped for a reason found without reading it, with the code the front doors say it by."""
    code = ErrorCode.VAULT_ERASED if reason == ERASED else ErrorCode.VAULT_MISSING
    return Skipped(sha, reason, None, str(code), {"sha256": sha})


def _skipped(sha: str, exc: BaseException) -> Skipped:
    if isinstance(exc, IdolGuardError):
        return Skipped(sha, UNREADABLE, str(exc), str(code_of(exc)), error_params(exc))
    return Skipped(sha, UNREADABLE, f"cannot read vault object: {exc}")
