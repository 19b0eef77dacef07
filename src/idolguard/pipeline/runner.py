"""Run stages on items: reuse stored outputs of unchanged stage versions, compute the rest, persist with custody.

Computation (``compute_item``) is a pure function so it can run in a worker process; the parent alone writes
the vault, the database and the ledger, so custody stays serialised and a killed worker loses nothing stored.
"""

from __future__ import annotations

import math
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from idolguard.config import Limits
from idolguard.db.models import DerivedObject, Item, StageResult
from idolguard.db.session import in_chunks
from idolguard.errors import IdolGuardError
from idolguard.evidence.actions import Action
from idolguard.evidence.digest import output_digest
from idolguard.pipeline.registry import all_stages
from idolguard.pipeline.stage import DerivedFile, Stage, StageContext
from idolguard.workspace import Workspace


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


def select_stages(names: Iterable[str] | None = None) -> list[Stage]:
    """Available stages (optionally only those named, plus what they need), in dependency order."""
    stages = [s for s in all_stages() if s.unavailable_reason() is None]
    if names is None:
        return stages
    wanted = set(names) | {"probe"}
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
        )
        if not stage.applies_to(ctx):
            continue
        started = time.perf_counter()
        try:
            output = stage.run(ctx)
            status, error = "ok", None
        except IdolGuardError as exc:
            output, status, error = {}, "error", str(exc)
        except Exception as exc:  # noqa: BLE001 - one broken stage must not stop the batch
            output, status, error = {}, "error", f"internal error in stage {name}: {exc!r}"
            output = {"traceback": traceback.format_exc(limit=6)}
        elapsed = int((time.perf_counter() - started) * 1000)
        output = json_safe(output)
        for derived in ctx.derived:
            derived.meta = json_safe(derived.meta)
        outcomes.append(StageOutcome(name, stage.version, status, output, error, elapsed, ctx.derived))
        if status == "ok":
            outputs[name] = output
            if name == "probe":
                media_type = output.get("media_type", media_type)
                item.update({k: output.get(k) for k in ("media_type", "mime", "width", "height", "duration_s")})
        else:
            failed.add(name)
            if name == "probe":
                break  # nothing else can read media the probe could not read
    return outcomes


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


def analyze(
    ws: Workspace,
    shas: list[str],
    *,
    stage_names: Iterable[str] | None = None,
    workers: int = 1,
    retry_errors: bool = True,
    on_done: Callable[[str], None] | None = None,
) -> dict[str, list[StageOutcome]]:
    """Bring every item up to date with the current stage versions; returns all outcomes per item."""
    stages = select_stages(stage_names)
    results: dict[str, list[StageOutcome]] = {}
    jobs: list[Job] = []
    unique = list(dict.fromkeys(shas))
    items, stored_all = load_state(ws, unique)
    # Stages that consult workspace data (gallery, banks) find it here, also in worker processes.
    settings = {**ws.config.raw, "workspace_home": str(ws.home)}
    for sha in unique:
        item = items.get(sha)
        if item is None:
            continue
        stored = stored_all.get(sha, {})
        cached: dict[str, dict[str, Any]] = {}
        reused: list[StageOutcome] = []
        to_run: list[str] = []
        for stage in stages:
            row = stored.get((stage.name, stage.version))
            if row is not None and (row.status == "ok" or not retry_errors or stage.name == "probe"):
                reused.append(StageOutcome(row.stage, row.version, row.status, row.output, row.error, 0, reused=True))
                if row.status == "ok":
                    cached[stage.name] = row.output
                elif stage.name == "probe":
                    break
            else:
                to_run.append(stage.name)
        results[sha] = reused
        if not to_run:
            if on_done:
                on_done(sha)
            continue
        jobs.append(Job(sha, "", item.media_type, item_record(item), cached, to_run, ws.config.limits, settings))
    batch: list[tuple[str, list[StageOutcome]]] = []
    batch_started = time.monotonic()

    def flush() -> None:
        persist_batch(ws, batch)
        for sha, _ in batch:
            if on_done:
                on_done(sha)
        batch.clear()

    for job, outcomes in _run_jobs(ws, jobs, workers):
        if not batch:
            batch_started = time.monotonic()
        batch.append((job.sha256, outcomes))
        results[job.sha256].extend(outcomes)
        if len(batch) >= PERSIST_BATCH or time.monotonic() - batch_started > PERSIST_SECONDS:
            flush()
    flush()
    return results


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
                    job = next(queue, None)
                    if job is None:
                        break
                    holder = ExitStack()
                    job.path = str(holder.enter_context(ws.vault.materialize(job.sha256)))
                    pending.append((job, pool.submit(compute_item, job), holder))
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


def persist_batch(ws: Workspace, batch: list[tuple[str, list[StageOutcome]]]) -> None:
    """Store derived files, stage results and one custody event per stage run; one transaction per batch.

    Existing rows are read in bulk under the ledger lock, so a concurrent scan that stored the same stage
    output first wins and nothing is written twice.
    """
    if not batch:
        return
    refs = {sha: _store_derived(ws, outcomes) for sha, outcomes in batch}
    ws.vault.sync_pending()
    shas = list(dict.fromkeys(sha for sha, _ in batch))
    with ws.write() as (session, ledger):
        items: dict[str, Item] = {}
        existing: dict[tuple[str, str, str], StageResult] = {}
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
        with session.no_autoflush:
            for sha, outcomes in batch:
                _record(session, ledger, sha, outcomes, refs[sha], items.get(sha), existing, derived_known)


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
    existing: dict[tuple[str, str, str], StageResult],
    derived_known: set[tuple[str, str, str]],
) -> None:
    for outcome in outcomes:
        key = (sha256, outcome.stage, outcome.version)
        previous = existing.get(key)
        if previous is not None and previous.status == "ok":
            continue  # a concurrent scan stored it first; keep the first result
        if previous is not None:
            session.delete(previous)
            session.flush()
        row = StageResult(
            item_sha256=sha256,
            stage=outcome.stage,
            version=outcome.version,
            status=outcome.status,
            output=outcome.output,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
        )
        session.add(row)
        existing[key] = row
        if outcome.stage == "probe" and item is not None:
            _apply_probe(item, outcome)
        ledger.append(
            Action.PIPELINE_ANALYSE,
            item=sha256,
            details={
                "stage": outcome.stage,
                "version": outcome.version,
                "status": outcome.status,
                "error": outcome.error,
                "output_sha256": output_digest(outcome.output),
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


def _apply_probe(item: Item, outcome: StageOutcome) -> None:
    if outcome.status != "ok":
        return
    out = outcome.output
    item.media_type = out.get("media_type") or item.media_type
    item.mime = out.get("mime") or item.mime
    item.width = out.get("width")
    item.height = out.get("height")
    item.duration_s = out.get("duration_s")
    item.media_meta = out.get("media_meta") or {}
