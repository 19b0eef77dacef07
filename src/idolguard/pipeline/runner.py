"""Run stages on items: reuse stored outputs of unchanged stage versions, compute the rest, persist with custody.

Computation (``compute_item``) is a pure function so it can run in a worker process; the parent alone writes
the vault, the database and the ledger, so custody stays serialised and a killed worker loses nothing stored.
The parent also loads the workspace resources the stages declare (``pipeline.resources``) and hands the same
picklable values to in-process and worker computations.

Every output records the versions of the upstream outputs it was computed from (``_inputs``: per need, its
version and, recursively, its own inputs). A stored output is reused only while that record still matches
what is current, so a new version of ``faces`` re-runs ``manipulation`` and ``face_match`` by itself.

Where ``compute_item`` runs is an ``Engine``: ``LocalEngine`` (in-process or a process pool, the embedded
default) or ``pipeline.ray_engine.RayEngine`` (actors on a Ray cluster, the ``cluster`` extra). An engine only
computes; every result comes back here and is stored by ``persist_batch``, so a result computed on a cluster
is indistinguishable from one computed locally.

``analyze`` brings stored items up to date (``scan``); ``analyze_files`` runs the same stages on files
where they lie with ``persist=False`` (``identify``, ``detect``, ``match``: nothing stored, nothing logged).
"""

from __future__ import annotations

import logging
import math
import re
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import insert, select

from idolguard.config import Limits
from idolguard.db.models import DerivedObject, Item, StageResult
from idolguard.db.session import in_chunks
from idolguard.errors import ErrorCode, IdolGuardError, code_of, error_params
from idolguard.evidence.actions import MATCH_STAGES, Action
from idolguard.evidence.canonical import output_digest
from idolguard.pipeline.registry import all_stages
from idolguard.pipeline.resources import Resources, load_resources
from idolguard.pipeline.stage import DerivedFile, Stage, StageContext
from idolguard.workspace import Workspace

INPUTS_KEY = "_inputs"  # reserved output key: what the output was computed from (written by the runner)
# Reserved output key of a failed stage: its error as ``{"code", "params"}`` (``idolguard.errors.ErrorCode`` and
# the values its message names), beside the English ``error`` text the CLI and ``--json`` keep reading, so the
# web pages and the reports say the failure from their catalogs. Inside the output, so the signed output hash
# covers it; rows stored before it have none and are shown by their text.
ERROR_KEY = "_error"


@dataclass
class StageOutcome:
    stage: str
    version: str
    status: str  # ok|error
    output: dict[str, Any]
    error: str | None
    duration_ms: int
    derived: list[DerivedFile] = field(default_factory=list)
    reused: bool = False
    # SHA-256 of the output as the ledger records it, computed where the output was computed (a worker, in
    # parallel) so the single writer does not walk every output again; ``None``: the writer computes it.
    output_sha256: str | None = None


@dataclass
class Job:
    sha256: str
    path: str
    media_type: str
    item: dict[str, Any]
    cached: dict[str, dict[str, Any]]
    to_run: list[str]
    limits: Limits
    settings: dict[str, Any]
    persist: bool = True
    resources: Resources = field(default_factory=Resources)


def select_stages(names: Iterable[str] | None = None) -> list[Stage]:
    """Available stages (optionally only those named, plus what they need), in dependency order."""
    stages = [s for s in all_stages() if s.unavailable_reason() is None]
    if names is None:
        return stages
    wanted = set(names) | {s.name for s in stages if s.always}
    by_name = {s.name: s for s in stages}
    frontier = list(wanted)
    while frontier:
        stage = by_name.get(frontier.pop())
        if stage:
            for need in stage.needs:
                if need not in wanted:
                    wanted.add(need)
                    frontier.append(need)
    return [s for s in stages if s.name in wanted]


def resource_names(stages: Iterable[Stage]) -> set[str]:
    """Every resource the given stages require or can use."""
    return {name for stage in stages for name in (*stage.uses, *stage.may_use)}


def inputs_of(output: dict[str, Any] | None) -> dict[str, Any]:
    """What a stored output was computed from (``{}`` for outputs stored before this was recorded)."""
    value = (output or {}).get(INPUTS_KEY)
    return value if isinstance(value, dict) else {}


def upstream_record(stage: Stage, by_name: dict[str, Stage], outputs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The ``_inputs`` record of ``stage`` given the outputs of its needs: their versions, recursively."""
    return {
        need: {"version": by_name[need].version, "inputs": inputs_of(outputs.get(need))}
        for need in stage.needs
        if need in by_name
    }


def compute_item(job: Job) -> list[StageOutcome]:
    """Run the missing stages of one item in order. Never raises: failures become error outcomes."""
    by_name = {s.name: s for s in all_stages()}
    outputs = dict(job.cached)
    item = dict(job.item)
    media_type = job.media_type
    outcomes: list[StageOutcome] = []
    failed: set[str] = set()
    for name in job.to_run:
        stage = by_name[name]
        if any(need in failed or need not in outputs for need in stage.needs if need in by_name):
            continue  # an input failed or is unavailable: leave this stage for a later run
        ctx = StageContext(
            sha256=job.sha256,
            path=Path(job.path),
            media_type=media_type,
            item=item,
            inputs={need: outputs[need] for need in stage.needs if need in outputs},
            limits=job.limits,
            settings=job.settings,
            persist=job.persist,
            resources=Resources({k: v for k, v in job.resources.items() if k in (*stage.uses, *stage.may_use)}),
        )
        if not stage.applies_to(ctx):
            continue
        started = time.perf_counter()
        output: dict[str, Any]
        try:
            output = dict(stage.run(ctx))
            status, error = "ok", None
        except IdolGuardError as exc:
            output, status, error = {ERROR_KEY: _coded(code_of(exc), error_params(exc))}, "error", str(exc)
        except Exception as exc:  # noqa: BLE001 - one broken stage must not stop the batch
            output, status, error = {}, "error", f"internal error in stage {name}: {exc!r}"
            output = {"traceback": traceback.format_exc(limit=6), ERROR_KEY: _coded(ErrorCode.STAGE_INTERNAL, {})}
        elapsed = int((time.perf_counter() - started) * 1000)
        output = json_safe(output)
        output[INPUTS_KEY] = upstream_record(stage, by_name, outputs)
        for derived in ctx.derived:
            derived.meta = json_safe(derived.meta)
        outcomes.append(StageOutcome(name, stage.version, status, output, error, elapsed, ctx.derived))
        if status == "ok":
            outputs[name] = output
            fields = stage.item_fields(output)
            media_type = fields.get("media_type") or media_type
            item.update(fields)
        else:
            failed.add(name)
            if stage.gates_item:
                break
    for outcome in outcomes:  # digests of the outputs as they leave here (after every stage ran)
        with suppress(TypeError, ValueError):  # not canonical JSON: the writer's own digest reports it
            outcome.output_sha256 = output_digest(outcome.output)
    return outcomes


def _coded(code: ErrorCode, params: dict[str, Any]) -> dict[str, Any]:
    return {"code": str(code), "params": params}


def version_key(version: str) -> tuple[tuple[int, int, str], ...]:
    """A stage version as a sort key: digit runs compare as numbers ("10" after "7", "6-next" after "6"), the
    rest as text; a string comparison would put "10" before "7"."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.findall(r"\d+|\D+", version))


def stage_error_code(output: dict[str, Any] | None) -> dict[str, Any] | None:
    """A failed stage's error as ``{"code", "params"}`` (``ERROR_KEY``), or ``None`` for a row stored before
    codes were (its ``error`` text is all there is)."""
    value = (output or {}).get(ERROR_KEY)
    if not isinstance(value, dict) or not value.get("code"):
        return None
    params = value.get("params")
    return {"code": str(value["code"]), "params": params if isinstance(params, dict) else {}}


def json_safe(value: Any) -> Any:
    """Stage outputs as strict JSON: numpy scalars/arrays become Python values and non-finite floats become
    null, because PostgreSQL's JSONB (rightly) refuses NaN and Infinity and a report must not print them."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return json_safe(value.tolist())  # numpy arrays and scalars
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class StoredResult(Protocol):
    """What the planner reads of a stored result: a ``StageResult`` row, or a lighter record of one
    (``pipeline.stale`` reads only the ``_inputs`` part of the outputs)."""

    @property
    def stage(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def output(self) -> dict[str, Any]: ...
    @property
    def error(self) -> str | None: ...


def plan_item(
    stages: list[Stage], stored: Mapping[tuple[str, str], StoredResult], retry_errors: bool = True
) -> tuple[list[StageOutcome], dict[str, dict[str, Any]], list[str]]:
    """Which stored outputs of one item are current (reused) and which stages must run.

    A stored row is current when its stage version is, it is ``ok`` (or its error is final), and it was
    computed from the outputs that are current now: none of its needs runs again and its recorded
    ``_inputs`` equal what its needs' current outputs record (rows stored before inputs were recorded are
    taken as current)."""
    by_name = {s.name: s for s in stages}
    reused: list[StageOutcome] = []
    cached: dict[str, dict[str, Any]] = {}
    to_run: list[str] = []
    for stage in stages:
        row = stored.get((stage.name, stage.version))
        current = row is not None and (row.status == "ok" or not retry_errors or stage.gates_item)
        if current and row is not None:
            if any(need in to_run for need in stage.needs):
                current = False
            elif INPUTS_KEY in (row.output or {}):
                current = inputs_of(row.output) == upstream_record(stage, by_name, cached)
        if current and row is not None:
            reused.append(StageOutcome(row.stage, row.version, row.status, row.output, row.error, 0, reused=True))
            if row.status == "ok":
                cached[stage.name] = row.output
            elif stage.gates_item:
                break
        else:
            to_run.append(stage.name)
    return reused, cached, to_run


def item_record(item: Item) -> dict[str, Any]:
    return {
        "sha256": item.sha256,
        "md5": item.md5,
        "size": item.size,
        "media_type": item.media_type,
        "mime": item.mime,
        "width": item.width,
        "height": item.height,
        "duration_s": item.duration_s,
    }


def load_state(ws: Workspace, shas: list[str]) -> tuple[dict[str, Item], dict[str, dict[tuple[str, str], StageResult]]]:
    """Items and their stored stage results, fetched in bulk (two queries per 500 items)."""
    items: dict[str, Item] = {}
    stored: dict[str, dict[tuple[str, str], StageResult]] = {}
    with ws.sessions() as session:
        for chunk in in_chunks(shas):
            for item in session.execute(select(Item).where(Item.sha256.in_(chunk))).scalars():
                items[item.sha256] = item
            for row in session.execute(select(StageResult).where(StageResult.item_sha256.in_(chunk))).scalars():
                stored.setdefault(row.item_sha256, {})[(row.stage, row.version)] = row
    return items, stored


class Engine(Protocol):
    """Where ``compute_item`` runs. ``run`` yields every job with its outcomes (in any order) and never
    stores anything: the runner persists what it yields, so an interrupted run loses only unstored work."""

    def run(self, ws: Workspace, jobs: list[Job]) -> Iterator[tuple[Job, list[StageOutcome]]]: ...


@dataclass
class LocalEngine:
    """The embedded default: in-process (``workers=1``) or a process pool of ``workers`` processes."""

    workers: int = 1

    def run(self, ws: Workspace, jobs: list[Job]) -> Iterator[tuple[Job, list[StageOutcome]]]:
        return _run_jobs(ws, jobs, self.workers)


_default_engine: Engine | None = None


def use_engine(engine: Engine | None) -> None:
    """Make ``engine`` this process's default for ``analyze`` calls that name none (``idolguard worker
    --engine ray``: every job the worker runs, uploads and captures alike, is computed on the cluster)."""
    global _default_engine
    _default_engine = engine


def analyze(
    ws: Workspace,
    shas: list[str],
    *,
    stage_names: Iterable[str] | None = None,
    workers: int = 1,
    retry_errors: bool = True,
    on_done: Callable[[str], None] | None = None,
    engine: Engine | None = None,
    _rerun: int = 0,
) -> dict[str, list[StageOutcome]]:
    """Bring every item up to date with the current stage versions; returns all outcomes per item.

    ``engine`` computes (default: this process's ``use_engine`` choice, else ``LocalEngine(workers)``); the
    results are stored here in batches, and what was computed before an engine failure is stored before the
    failure propagates, so re-running resumes where it stopped."""
    if engine is None:
        engine = _default_engine or LocalEngine(workers)
    stage_names = list(stage_names) if stage_names is not None else None  # read twice when re-analysing
    stages = select_stages(stage_names)
    results: dict[str, list[StageOutcome]] = {}
    jobs: list[Job] = []
    unique = list(dict.fromkeys(shas))
    items, stored_all = load_state(ws, unique)
    settings = dict(ws.config.raw)
    for sha in unique:
        item = items.get(sha)
        if item is None:
            continue
        reused, cached, to_run = plan_item(stages, stored_all.get(sha, {}), retry_errors)
        results[sha] = reused
        if not to_run:
            if on_done:
                on_done(sha)
            continue
        jobs.append(Job(sha, "", item.media_type, item_record(item), cached, to_run, ws.config.limits, settings))
    if jobs:
        # Loaded once, here, for every job (workers get the same picklable values).
        running = {name for job in jobs for name in job.to_run}
        resources = load_resources(ws, resource_names(s for s in stages if s.name in running))
        for job in jobs:
            job.resources = resources
    batch: list[tuple[str, list[StageOutcome]]] = []
    batch_started = time.monotonic()
    told: set[str] = set()
    refused: list[str] = []

    def flush() -> None:
        refused.extend(persist_batch(ws, batch))
        # The areas' hooks hear of each stored batch now, not of every item once the engine is done: their work
        # (the triage rows) overlaps the computing of later items instead of adding to the end of the run.
        shas = [sha for sha, _ in batch]
        run_item_hooks(ws, shas)
        told.update(shas)
        for sha in shas:
            if on_done:
                on_done(sha)
        batch.clear()

    try:
        for job, outcomes in engine.run(ws, jobs) if jobs else ():
            if not batch:
                batch_started = time.monotonic()
            batch.append((job.sha256, outcomes))
            results[job.sha256].extend(outcomes)
            if len(batch) >= PERSIST_BATCH or time.monotonic() - batch_started > PERSIST_SECONDS:
                flush()
    except BaseException:
        if batch:  # computed results are correct results: keep them, so a re-run resumes after them
            with suppress(Exception):
                flush()
        raise
    flush()
    run_item_hooks(ws, [sha for sha in results if sha not in told])  # items already up to date
    if refused and _rerun < RERUN_REFUSED:
        # A match stage refused its output (a bank entry it names went, or its id is another entry's now): the
        # rest of the output (matches to banks that remain) would be lost and nothing would ever analyse the item
        # again (``analyze --stale`` lists stored rows only). So it is matched again now, against the banks as
        # they are (review s8 finding 2); its upstream results are reused, only what changed is recomputed.
        again = analyze(
            ws,
            list(dict.fromkeys(refused)),
            stage_names=stage_names,
            workers=workers,
            retry_errors=retry_errors,
            engine=engine,
            _rerun=_rerun + 1,
        )
        results.update(again)
    elif refused:
        logging.getLogger(__name__).error(
            "items %s: a match stage's output was refused %d times in a row (banks changing meanwhile); "
            "left for the next analysis",
            [sha[:12] for sha in refused],
            _rerun + 1,
        )
    return results


RERUN_REFUSED = 3  # re-analyses of an item whose match output was refused, within one ``analyze``


def run_item_hooks(ws: Workspace, shas: list[str]) -> None:
    """Tell the areas that asked (``Area.item_hooks``, e.g. the web triage queue) that these items' analysis
    is current. The evidence is already stored: a failing hook is logged, never undoes or fails the scan
    (``idolguard serve`` catches up on items a hook missed)."""
    if not shas:
        return
    from idolguard import registry

    for area, hook in registry.item_hooks():
        try:
            hook(ws, shas)
        except Exception:  # noqa: BLE001 - reported, the analysis stands
            logging.getLogger(__name__).warning("item hook of area %s failed", area, exc_info=True)


def _run_jobs(ws: Workspace, jobs: list[Job], workers: int) -> Iterator[tuple[Job, list[StageOutcome]]]:
    """Compute jobs in order. Originals are materialised only while their job runs (an encrypted vault
    decrypts to a private temp file), with at most ``2 x workers`` in flight, so disk use stays bounded."""
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            with ws.vault.materialize(job.sha256) as path:
                job.path = str(path)
                yield job, compute_item(job)
        return
    window = 2 * workers
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending: deque[tuple[Job, Future[list[StageOutcome]], ExitStack]] = deque()
        queue = iter(jobs)
        try:
            while True:
                while len(pending) < window:
                    upcoming = next(queue, None)
                    if upcoming is None:
                        break
                    holder = ExitStack()
                    upcoming.path = str(holder.enter_context(ws.vault.materialize(upcoming.sha256)))
                    pending.append((upcoming, pool.submit(compute_item, upcoming), holder))
                if not pending:
                    return
                job, future, holder = pending.popleft()
                try:
                    outcomes = future.result()
                finally:
                    holder.close()
                yield job, outcomes
        finally:
            for _job, _future, holder in pending:
                holder.close()


PERSIST_BATCH = 100
PERSIST_SECONDS = 2.0


def persist_batch(ws: Workspace, batch: list[tuple[str, list[StageOutcome]]]) -> list[str]:
    """Store derived files, stage results and one custody event per stage run; one transaction per batch.
    Returns the items one of whose outcomes a stage refused to store (``Stage.not_storable``: a bank entry it
    names went meanwhile), which ``analyze`` analyses again at once.

    Existing rows are read in bulk under the ledger lock, so a concurrent scan that stored the same stage
    output first wins and nothing is written twice. Derived files of the stages that may refuse are written
    only once their outcome is kept (under the lock), so a refused outcome leaves no vault object unrecorded.
    """
    if not batch:
        return []
    by_name = {s.name: s for s in all_stages()}
    refusable = {name for name, stage in by_name.items() if type(stage).not_storable is not Stage.not_storable}
    refs = {sha: _store_derived(ws, [o for o in outcomes if o.stage not in refusable]) for sha, outcomes in batch}
    ws.vault.sync_pending()
    shas = list(dict.fromkeys(sha for sha, _ in batch))
    refused: list[str] = []
    with ws.write() as (session, ledger):
        items: dict[str, Item] = {}
        existing: dict[tuple[str, str, str], StageResult | dict[str, Any]] = {}
        derived_known: set[tuple[str, str, str]] = set()
        for chunk in in_chunks(shas):
            items.update((i.sha256, i) for i in session.execute(select(Item).where(Item.sha256.in_(chunk))).scalars())
            for row in session.execute(select(StageResult).where(StageResult.item_sha256.in_(chunk))).scalars():
                existing[(row.item_sha256, row.stage, row.version)] = row
            rows = session.execute(
                select(DerivedObject.sha256, DerivedObject.parent_sha256, DerivedObject.kind).where(
                    DerivedObject.parent_sha256.in_(chunk)
                )
            )
            derived_known.update((r.sha256, r.parent_sha256, r.kind) for r in rows)
        new_rows: list[dict[str, Any]] = []
        replacing = _replaces_match_results(batch, existing)
        from idolguard import registry

        if replacing:  # a stored match about to be replaced is recorded (entry hits, incidents) first
            registry.fold_matches(session, ledger)
        with session.no_autoflush:
            for sha, outcomes in batch:
                kept = _storable(session, sha, outcomes, by_name)
                if len(kept) < len(outcomes):
                    refused.append(sha)
                late = _store_derived(ws, [o for o in kept if o.stage in refusable])  # kept: now to the vault
                derived = [ref for ref in refs[sha] if any(ref[0] is outcome for outcome in kept)] + late
                _record(session, ledger, sha, kept, derived, items.get(sha), existing, derived_known, new_rows)
        ws.vault.sync_pending()  # the late ones durable before the rows naming them commit
        if replacing:  # and the folds' watermarks come back to the rows left (SQLite reuses deleted last ids)
            session.flush()
            registry.fold_matches(session, ledger)
        if new_rows:  # one bulk INSERT (no ORM object per row): the writer's CPU is the cluster's bottleneck
            session.execute(insert(StageResult), new_rows)
    return refused


def _replaces_match_results(
    batch: list[tuple[str, list[StageOutcome]]], existing: dict[tuple[str, str, str], StageResult | dict[str, Any]]
) -> bool:
    """Whether storing ``batch`` may replace a stored ``ok`` result of a match stage (same version, computed
    from other upstream outputs, e.g. after ``analyze --stale``): such a row may hold a match not yet folded."""
    for sha, outcomes in batch:
        for outcome in outcomes:
            row = existing.get((sha, outcome.stage, outcome.version))
            if isinstance(row, StageResult) and row.stage in MATCH_STAGES and row.status == "ok":
                return True
    return False


def _storable(session: Any, sha256: str, outcomes: list[StageOutcome], stages: dict[str, Stage]) -> list[StageOutcome]:
    """The outcomes the stages still let store (``Stage.not_storable``, under the write lock); the others are
    logged and left out (nothing names data that is gone), and ``analyze`` analyses the item again at once."""
    kept: list[StageOutcome] = []
    for outcome in outcomes:
        stage = stages.get(outcome.stage)
        why = stage.not_storable(session, outcome.output) if stage is not None and outcome.status == "ok" else None
        if why is None:
            kept.append(outcome)
        else:
            logging.getLogger(__name__).warning("%s of item %s not stored: %s", outcome.stage, sha256[:12], why)
    return kept


def _store_derived(ws: Workspace, outcomes: list[StageOutcome]) -> list[tuple[StageOutcome, DerivedFile, str]]:
    refs: list[tuple[StageOutcome, DerivedFile, str]] = []
    for outcome in outcomes:
        for derived in outcome.derived:
            put = ws.vault.put_bytes(derived.data, defer=True)
            refs.append((outcome, derived, put.sha256))
    return refs


def _record(
    session: Any,
    ledger: Any,
    sha256: str,
    outcomes: list[StageOutcome],
    derived_refs: list[tuple[StageOutcome, DerivedFile, str]],
    item: Item | None,
    existing: dict[tuple[str, str, str], StageResult | dict[str, Any]],
    derived_known: set[tuple[str, str, str]],
    new_rows: list[dict[str, Any]],
) -> None:
    """Queue the stage rows (``new_rows``, inserted in bulk by ``persist_batch``), set the item columns and
    append one custody event per stage run. ``existing``: stored rows, and rows queued in this batch."""
    stages = {s.name: s for s in all_stages()}
    for outcome in outcomes:
        key = (sha256, outcome.stage, outcome.version)
        previous = existing.get(key)
        if isinstance(previous, dict):
            status, output = previous["status"], previous["output"]
        elif previous is not None:
            status, output = previous.status, previous.output
        else:
            status, output = None, None
        if status == "ok" and inputs_of(output) == inputs_of(outcome.output):
            continue  # a concurrent scan stored it first; keep the first result
        row = {
            "item_sha256": sha256,
            "stage": outcome.stage,
            "version": outcome.version,
            "status": outcome.status,
            "output": outcome.output,
            "error": outcome.error,
            "duration_ms": outcome.duration_ms,
        }
        if isinstance(previous, dict):  # queued earlier in this batch, not written yet: replaced in the queue
            previous.update(row)
            row = previous
        else:
            if previous is not None:
                # An error being retried, or an output of this version computed from older upstream outputs: the
                # row is replaced; the earlier result stays in the ledger (its analysis event and output hash).
                session.delete(previous)
                session.flush()
            new_rows.append(row)
        existing[key] = row
        if item is not None and outcome.status == "ok":
            stage = stages.get(outcome.stage)
            for name, value in (stage.item_fields(outcome.output) if stage else {}).items():
                setattr(item, name, value)
        ledger.append_row(  # inserted with the batch's other events in one statement, same transaction
            Action.PIPELINE_ANALYSE,
            item=sha256,
            details={
                "stage": outcome.stage,
                "version": outcome.version,
                "status": outcome.status,
                "error": outcome.error,
                # the error's code and values (new events only): the custody log says it in the reader's language
                **_event_error_code(outcome),
                "output_sha256": outcome.output_sha256 or output_digest(outcome.output),
                "inputs": {need: rec["version"] for need, rec in inputs_of(outcome.output).items()},
                "derived": [d.sha256 for d in outcome.derived],
                "derived_kinds": [d.kind for d in outcome.derived],
            },
        )
    for outcome, derived, stored_sha in derived_refs:
        key = (stored_sha, sha256, derived.kind)
        if key in derived_known:
            continue
        derived_known.add(key)
        session.add(
            DerivedObject(
                sha256=stored_sha,
                parent_sha256=sha256,
                kind=derived.kind,
                stage=outcome.stage,
                stage_version=outcome.version,
                mime=derived.mime,
                meta=derived.meta,
            )
        )


def _event_error_code(outcome: StageOutcome) -> dict[str, Any]:
    found = stage_error_code(outcome.output) if outcome.status != "ok" else None
    return {"error_code": found["code"], "error_params": found["params"]} if found else {}


@dataclass
class FileAnalysis:
    """The stages' outputs for one file analysed where it lies (nothing stored)."""

    path: Path
    media_type: str | None = None
    mime: str | None = None
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # stage -> message
    error: str | None = None  # the file could not be read at all (walk, sniff or probe)


def analyze_files(
    ws: Workspace | None,
    paths: list[Path],
    stage_names: Iterable[str],
    *,
    settings: dict[str, Any] | None = None,
    limits: Limits | None = None,
) -> Iterator[FileAnalysis]:
    """Run the named stages (and what they need) on files where they lie, with ``persist=False``: the
    no-side-effect commands' path. Resources come from ``ws`` exactly as in ``analyze``; without a
    workspace there are none, and a stage that requires one reports ``MissingResource`` per file."""
    from idolguard.intake.paths import walk
    from idolguard.media.sniff import sniff_file

    stages = select_stages(stage_names)
    resources = load_resources(ws, resource_names(stages))
    if settings is None:
        settings = dict(ws.config.raw) if ws is not None else {}
    if limits is None:
        limits = ws.config.limits if ws is not None else Limits.from_dict(settings.get("limits", {}))
    for found in walk(paths):
        result = FileAnalysis(path=found.path, error=found.problem)
        if found.problem:
            yield result
            continue
        try:
            sniffed = sniff_file(found.path)
        except OSError as exc:
            result.error = f"cannot read file: {exc.strerror or exc}"
            yield result
            continue
        except IdolGuardError as exc:
            result.error = str(exc)
            yield result
            continue
        result.media_type, result.mime = sniffed.media_type, sniffed.mime
        record = {"sha256": None, "media_type": sniffed.media_type, "mime": sniffed.mime}
        job = Job(
            "",
            str(found.path),
            sniffed.media_type,
            record,
            {},
            [s.name for s in stages],
            limits,
            settings,
            persist=False,
            resources=resources,
        )
        for outcome in compute_item(job):
            if outcome.status == "ok":
                result.outputs[outcome.stage] = outcome.output
                media = outcome.output.get("media_type") if outcome.stage == "probe" else None
                result.media_type = media or result.media_type
            else:
                result.errors[outcome.stage] = outcome.error or "failed"
                gate = next((s for s in stages if s.name == outcome.stage and s.gates_item), None)
                if gate is not None:
                    result.error = outcome.error
        yield result
