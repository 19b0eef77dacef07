"""Run stages on items: reuse stored outputs of unchanged stage versions, compute the rest, persist with custody.

Computation (``compute_item``) is a pure function so it can run in a worker process; the parent alone writes
the vault, the database and the ledger, so custody stays serialised and a killed worker loses nothing stored.
"""

from __future__ import annotations

import hashlib
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from idolguard.config import Limits
from idolguard.db.models import DerivedObject, Item, StageResult
from idolguard.errors import IdolGuardError
from idolguard.evidence.canonical import canonical_bytes, ledger_safe
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


def output_digest(output: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes(ledger_safe(output))).hexdigest()


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


def stored_results(ws: Workspace, sha256: str) -> dict[tuple[str, str], StageResult]:
    with ws.sessions() as session:
        rows = session.execute(select(StageResult).where(StageResult.item_sha256 == sha256)).scalars()
        return {(r.stage, r.version): r for r in rows}


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
    with ExitStack() as stack:
        for sha in shas:
            with ws.sessions() as session:
                item = session.get(Item, sha)
            if item is None:
                continue
            stored = stored_results(ws, sha)
            cached: dict[str, dict[str, Any]] = {}
            reused: list[StageOutcome] = []
            to_run: list[str] = []
            for stage in stages:
                row = stored.get((stage.name, stage.version))
                if row is not None and (row.status == "ok" or not retry_errors or stage.name == "probe"):
                    reused.append(
                        StageOutcome(row.stage, row.version, row.status, row.output, row.error, 0, reused=True)
                    )
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
            path = stack.enter_context(ws.vault.materialize(sha))
            jobs.append(
                Job(
                    sha,
                    str(path),
                    item.media_type,
                    item_record(item),
                    cached,
                    to_run,
                    ws.config.limits,
                    ws.config.raw,
                )
            )
        batch: list[tuple[str, list[StageOutcome]]] = []
        batch_started = time.monotonic()
        for job, outcomes in _run_jobs(jobs, workers):
            if not batch:
                batch_started = time.monotonic()
            batch.append((job.sha256, outcomes))
            results[job.sha256].extend(outcomes)
            if len(batch) >= PERSIST_BATCH or time.monotonic() - batch_started > PERSIST_SECONDS:
                persist_batch(ws, batch)
                for sha, _ in batch:
                    if on_done:
                        on_done(sha)
                batch = []
        persist_batch(ws, batch)
        for sha, _ in batch:
            if on_done:
                on_done(sha)
    return results


def _run_jobs(jobs: list[Job], workers: int) -> Iterator[tuple[Job, list[StageOutcome]]]:
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield job, compute_item(job)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from zip(jobs, pool.map(compute_item, jobs, chunksize=1), strict=True)


PERSIST_BATCH = 100
PERSIST_SECONDS = 2.0


def persist_batch(ws: Workspace, batch: list[tuple[str, list[StageOutcome]]]) -> None:
    """Store derived files, stage results and one custody event per stage run; one transaction per batch."""
    if not batch:
        return
    refs = {sha: _store_derived(ws, outcomes) for sha, outcomes in batch}
    ws.vault.sync_pending()
    with ws.write() as (session, ledger):
        for sha, outcomes in batch:
            _record(session, ledger, sha, outcomes, refs[sha])


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
) -> None:
    item = session.get(Item, sha256)
    for outcome in outcomes:
        existing = session.execute(
            select(StageResult).where(
                StageResult.item_sha256 == sha256,
                StageResult.stage == outcome.stage,
                StageResult.version == outcome.version,
            )
        ).scalar_one_or_none()
        if existing is not None and existing.status == "ok":
            continue  # a concurrent scan stored it first; keep the first result
        if existing is not None:
            session.delete(existing)
            session.flush()
        session.add(
            StageResult(
                item_sha256=sha256,
                stage=outcome.stage,
                version=outcome.version,
                status=outcome.status,
                output=outcome.output,
                error=outcome.error,
                duration_ms=outcome.duration_ms,
            )
        )
        if outcome.stage == "probe" and item is not None:
            _apply_probe(item, outcome)
        ledger.append(
            "analysis",
            item=sha256,
            details={
                "stage": outcome.stage,
                "version": outcome.version,
                "status": outcome.status,
                "error": outcome.error,
                "output_sha256": output_digest(outcome.output),
                "derived": [d.sha256 for d in outcome.derived],
            },
        )
    seen: set[tuple[str, str]] = set()
    for outcome, derived, stored_sha in derived_refs:
        if (stored_sha, derived.kind) in seen:
            continue
        seen.add((stored_sha, derived.kind))
        exists = session.execute(
            select(DerivedObject.id).where(
                DerivedObject.sha256 == stored_sha,
                DerivedObject.parent_sha256 == sha256,
                DerivedObject.kind == derived.kind,
            )
        ).first()
        if exists is None:
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
