"""Analysis on a Ray cluster (``scan --engine ray``, ``worker --engine ray``; the ``cluster`` extra).

Why Ray: an agency with millions of files outgrows one machine's process pool, and Ray is a well-kept,
widely deployed engine that schedules Python actors across nodes, restarts lost ones and retries their tasks.
Only *computation* moves: ``RayEngine`` is a ``runner.Engine`` that runs the same pure ``compute_item`` in
actors and yields the outcomes back to the runner, which stores them through the one persistence path
(``persist_batch``: rows and custody events in one transaction). A result computed on a cluster is therefore
the same row and the same ``analysis`` event as one computed locally.

- **Models load once per actor.** An actor is a long-lived worker process; the stages cache their models
  (YuNet, SFace, the detector's ONNX session, PDQ) per process, and the workspace resources (gallery, banks,
  detector calibration) are sent to each actor once per run, not with every item.
- **Dispatch by SHA-256, in batches, with backpressure.** Items go out as ``Job`` records keyed by their
  SHA-256, at most ``batch_size`` items (and ``batch_bytes`` of originals) per task, fewer as the run ends, at most
  ``in_flight_per_worker`` tasks per actor; the next batch is read from the vault only when a slot frees, so
  the driver's memory and the object store stay bounded whatever the number of items.
- **Resumable.** The runner stores results every ``PERSIST_BATCH`` items or ``PERSIST_SECONDS``; re-running
  the same command reuses stored outputs (content hash + stage version, and the upstream record), so an
  interrupted run (driver killed, actor killed, node lost) completes by running it again and nothing is
  stored twice. A lost actor is restarted by Ray and its task retried (``max_restarts``, ``task_retries``);
  beyond that the run stops with ``ClusterError`` after storing what was computed.
- **Stopping.** A pump thread dispatches and collects tasks while the runner (the consumer) stores results.
  The consumer waits on it with a timeout and checks it is alive: any failure of the pump (``Exception`` or
  not) reaches the consumer as an error (``ClusterError`` when it is not an ordinary exception, or when the
  thread ended without saying why), never as a hang; Ctrl-C or ``SystemExit`` in either thread stops the other
  within about a second (the consumer sets ``stop``, which the pump checks between short waits; the pump hands
  its interruption to the consumer, which raises it). Completed tasks still queued between the two threads
  when a run stops (at most ``slots`` = actors x ``in_flight_per_worker``) are dropped with those still in
  flight, unstored: they are simply computed again by the next run of the same command, which reuses what
  was stored (content hash + stage version) and stores the rest once.
- **Originals reach workers** either from a vault path every node can read (``vault="shared"``: the same path
  mounted on every node; checked at start by hashing a stored object on every node) or sent by the driver
  through Ray's object store (``vault="send"``). ``auto`` picks ``shared`` when every node passes the check
  and the vault is not encrypted, else ``send``.
- **Keys never leave the driver.** The signing key is only ever loaded by the runner's ledger writer on the
  driver. With encryption at rest, the driver decrypts each original (the vault key stays with it) and sends
  the plaintext to the actor, which hands it to the decoders through ``evidence.plaintext.plaintext_path``
  for the duration of the item, as the local runner's ``vault.materialize`` does: an anonymous sealed memory
  file (``/proc/<pid>/fd/<n>``, no name in any filesystem, gone with the actor even after SIGKILL), or, where
  that is unavailable, its fallback, a private (0600) named file in the actor's own folder in memory-backed
  ``/dev/shm``. An encrypted vault is never read by workers, so ``shared`` is refused for it. Plaintext then
  crosses the cluster network: run Ray with TLS (``RAY_USE_TLS``) between nodes that are not on a trusted network.
- **Start-time checks** (``ClusterSetupError``, exit 4): Ray importable, SQLite refused when the cluster has
  more than one node (workers on other machines cannot share an embedded database file safely, and bank
  matching opens the workspace database from the actors: use PostgreSQL), every node able to import this
  IdolGuard version, the vault readable in ``shared`` mode, the workspace folder readable on every node when
  a stage needs the banks (their on-disk indexes).
"""

from __future__ import annotations

import hashlib
import os
import queue
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from idolguard.errors import IdolGuardError, WorkspaceError
from idolguard.evidence.plaintext import plaintext_path
from idolguard.pipeline.resources import Resources
from idolguard.pipeline.runner import Job, StageOutcome, compute_item
from idolguard.workspace import Workspace

VAULT_MODES = ("auto", "shared", "send")
WAIT_S = 0.5  # how often the consumer, waiting for the pump, checks that the pump thread is still alive
STOP_WAIT_S = 30.0  # how long a stopping run waits for the pump thread to end (it notices ``stop`` in < 1 s)


class ClusterSetupError(WorkspaceError):
    """The Ray engine cannot start on this cluster/workspace combination (exit 4, before anything is stored)."""


class ClusterError(IdolGuardError):
    """The cluster lost work beyond its retries; everything computed before is stored: re-run to resume."""


@dataclass
class RayOptions:
    address: str | None = None  # None: a private local instance; "auto": the running cluster; "HOST:PORT"
    workers: int | None = None  # actors (each loads the models once); None: one per CPU of the cluster
    cpus_per_worker: float = 1.0
    batch_size: int = 32  # most items per task; fewer as the run ends (see ``_batches``)
    batch_bytes: int = 64 * 1024 * 1024
    in_flight_per_worker: int = 2
    vault: str = "auto"  # auto|shared|send
    local_cpus: int | None = None  # CPUs of a private local instance (default: workers, else the machine's)
    max_restarts: int = 3
    task_retries: int = 2
    start_timeout_s: float = 180.0


@dataclass
class NodeReport:
    node_id: str
    host: str
    version: str | None
    vault_readable: bool
    home_readable: bool


@dataclass
class RayEngine:
    """A ``runner.Engine`` over a Ray cluster. ``start`` connects and checks (once); ``run`` computes."""

    options: RayOptions = field(default_factory=RayOptions)
    on_task_done: Callable[[RayEngine], None] | None = None  # after each completed task (progress, tests)
    nodes: list[NodeReport] = field(default_factory=list)
    vault_mode: str = ""
    tasks_done: int = 0
    runs: int = 0
    _actors: list[Any] = field(default_factory=list)
    _owns_ray: bool = False
    _started_for: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # Where the driver's wall time went in the last run (seconds; bench/ray_profile.py): ``start`` (actors and
    # checks), the pump's ``dispatch`` (reading originals, submitting), ``wait`` and ``get`` (fetching results),
    # the runner's ``consumer`` time (storing what was yielded), ``first_result``/``last_result`` (from the
    # run's start) and ``first_items`` (items of the first completed task): the steady rate with warm actors is
    # ``(items - first_items) / (last_result - first_result)``.
    timings: dict[str, float] = field(default_factory=dict)

    # -- start ------------------------------------------------------------------------------------------------

    def start(self, ws: Workspace) -> RayEngine:
        """Connect to (or start) Ray, run the start-time checks, start the actors. Idempotent per workspace."""
        key = f"{ws.home}|{ws.config.db_url}"
        if self._started_for == key and self._actors:
            return self
        began = time.perf_counter()
        ray = import_ray()
        if self.options.vault not in VAULT_MODES:
            raise ClusterSetupError(f"--ray-vault must be one of {', '.join(VAULT_MODES)}, not {self.options.vault!r}")
        self._connect(ray)
        alive = [n for n in ray.nodes() if n.get("Alive")]
        if len(alive) > 1 and is_sqlite(ws.config.db_url):
            raise ClusterSetupError(
                f"this Ray cluster has {len(alive)} nodes and the workspace uses SQLite; a multi-node scan needs "
                "PostgreSQL (workers on other machines cannot share an embedded database file): set "
                "IDOLGUARD_DB_URL=postgresql://... (or [workspace] db_url), or scan on one node"
            )
        if self._actors:  # started for another workspace: its actors hold that workspace's database URL
            self._stop_actors(ray)
        # The actors start first and check their own nodes (no extra process per node on the way); a node
        # without an actor gets a zero-CPU probe task. When actors cannot start, the probes say why if they can.
        not_started: ClusterSetupError | None = None
        try:
            self._start_actors(ray, ws)
        except ClusterSetupError as exc:
            not_started = exc
        try:
            self.nodes = self._probe_nodes(ray, ws, alive)
            from idolguard import __version__

            wrong = [n for n in self.nodes if n.version != __version__]
            if wrong:
                raise ClusterSetupError(
                    "every Ray node needs this IdolGuard installed (with the cluster extra) at version "
                    f"{__version__}; " + ", ".join(f"{n.host}: {n.version or 'not importable'}" for n in wrong)
                )
            if not_started is not None:
                raise not_started
            self.vault_mode = self._vault_mode(ws)
        except ClusterSetupError:
            self.close()
            raise
        self._started_for = key
        self.timings["start"] = time.perf_counter() - began
        return self

    def _connect(self, ray: Any) -> None:
        if ray.is_initialized():
            return
        try:
            if self.options.address is None:
                cpus = self.options.local_cpus or self.options.workers or os.cpu_count() or 1
                start_local_ray(max(1, int(cpus * self.options.cpus_per_worker + 0.999)))
                self._owns_ray = True
            else:
                ray.init(address=self.options.address, **CONNECT_OPTIONS)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = self.options.address or "a local instance"
            raise ClusterSetupError(f"cannot connect to the Ray cluster at {where}: {exc}") from exc

    def _probe_nodes(self, ray: Any, ws: Workspace, alive: list[dict[str, Any]]) -> list[NodeReport]:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        sample = _sample_object(ws)
        where = (str(ws.vault.objects), sample, str(ws.home))
        answers: dict[str, dict[str, Any]] = {}
        try:
            for node_id, answer in ray.get(
                [actor.probe.remote(*where) for actor in self._actors], timeout=self.options.start_timeout_s
            ):
                answers[node_id] = answer
            probe = ray.remote(num_cpus=0)(node_probe)
            rest = [n["NodeID"] for n in alive if n["NodeID"] not in answers]
            refs = [
                probe.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=node, soft=False)).remote(
                    *where
                )
                for node in rest
            ]
            answers.update(zip(rest, ray.get(refs, timeout=self.options.start_timeout_s), strict=True))
        except Exception as exc:  # noqa: BLE001 - any failure here means a node cannot run IdolGuard
            raise ClusterSetupError(f"a Ray node could not run IdolGuard's start-time check: {exc}") from exc
        return [NodeReport(node_id=n["NodeID"], **answers[n["NodeID"]]) for n in alive if n["NodeID"] in answers]

    def _vault_mode(self, ws: Workspace) -> str:
        mode = self.options.vault
        unreadable = [n.host for n in self.nodes if not n.vault_readable]
        if mode == "shared":
            if ws.vault.encrypted:
                raise ClusterSetupError(
                    "the vault is encrypted at rest: its key never leaves the driver, so workers cannot read it "
                    "directly; use --ray-vault send (the driver decrypts and sends each original)"
                )
            if unreadable:
                raise ClusterSetupError(
                    f"the vault {ws.vault.objects} is not readable at the same path on: {', '.join(unreadable)}; "
                    "mount it there (shared filesystem) or use --ray-vault send"
                )
            return "shared"
        if mode == "send" or ws.vault.encrypted or unreadable:
            return "send"
        return "shared"

    def _start_actors(self, ray: Any, ws: Workspace) -> None:
        if self._actors:
            return
        count = self.options.workers or max(
            1, int(ray.cluster_resources().get("CPU", 1) / self.options.cpus_per_worker)
        )
        # Bank matching reopens the workspace database in the actor: it gets the database URL, nothing else
        # (never IDOLGUARD_VAULT_KEY or a signing key).
        env = {"IDOLGUARD_DB_URL": ws.config.db_url}
        cls = ray.remote(AnalysisWorker).options(
            num_cpus=self.options.cpus_per_worker,
            max_restarts=self.options.max_restarts,
            max_task_retries=self.options.task_retries,
        )
        threads = max(1, int(self.options.cpus_per_worker))
        self._actors = [cls.remote(env, threads) for _ in range(count)]
        try:
            ray.get([a.ready.remote() for a in self._actors], timeout=self.options.start_timeout_s)
        except Exception as exc:  # noqa: BLE001 - e.g. GetTimeoutError: not enough CPUs for the actors
            self._stop_actors(ray)
            raise ClusterSetupError(
                f"{count} Ray workers ({self.options.cpus_per_worker:g} CPU each) did not start within "
                f"{self.options.start_timeout_s:.0f} s (cluster: {ray.cluster_resources().get('CPU', 0):g} CPUs): {exc}"
            ) from exc

    @property
    def worker_count(self) -> int:
        return len(self._actors)

    def actor_pids(self) -> list[int]:
        """The worker process of each actor (for operators and the actor-loss tests)."""
        ray = import_ray()
        return list(ray.get([a.ready.remote() for a in self._actors]))

    def close(self) -> None:
        """Stop the actors (and the local instance this engine started)."""
        if not self._actors and not self._owns_ray:
            return
        ray = import_ray()
        self._stop_actors(ray)
        if self._owns_ray:
            ray.shutdown()
            self._owns_ray = False

    def _stop_actors(self, ray: Any) -> None:
        for actor in self._actors:
            try:
                ray.kill(actor)
            except Exception:  # noqa: BLE001, S110 - already gone
                pass
        self._actors = []
        self._started_for = ""

    # -- run --------------------------------------------------------------------------------------------------

    def run(self, ws: Workspace, jobs: list[Job]) -> Iterator[tuple[Job, list[StageOutcome]]]:
        """Compute ``jobs`` on the actors; yields each job with its outcomes as its batch completes. One run at a
        time per engine (the ``worker`` command's threads take turns; the cluster parallelises inside a run)."""
        if not jobs:
            return
        self.start(ws)
        with self._lock:
            yield from self._run(ws, jobs)

    def _run(self, ws: Workspace, jobs: list[Job]) -> Iterator[tuple[Job, list[StageOutcome]]]:
        ray = import_ray()
        resources = jobs[0].resources
        if "banks" in resources:
            blind = [n.host for n in self.nodes if not n.home_readable]
            if blind:
                raise ClusterSetupError(
                    f"matching against the banks reads the workspace folder {ws.home} (bank indexes) on every "
                    f"node; it is not readable on: {', '.join(blind)} (mount it at the same path)"
                )
        # Each task names the run's resources by reference (nested, so Ray does not resolve it per call): an
        # actor fetches them once per run, and an actor Ray restarted after a loss fetches them again.
        shared = [ray.put(resources)]
        self.runs += 1
        run_id = f"{os.getpid()}-{id(self)}-{self.runs}"
        limit = max(1, self.options.in_flight_per_worker)
        slots = len(self._actors) * limit
        batches = iter(_batches(jobs, self.options.batch_size, self.options.batch_bytes, slots))
        # A pump thread dispatches and collects tasks while this generator's consumer (the runner) stores what
        # it already yielded: the actors get their next batches during ``persist_batch`` instead of waiting for
        # it. At most ``slots`` tasks in flight and ``slots`` completed tasks waiting here (backpressure: a slow
        # writer stops dispatch); what waits here is lost with the driver exactly as what is in flight is,
        # and recomputed by the next run (module docstring, "Stopping").
        done: queue.Queue[Any] = queue.Queue(maxsize=slots)
        stop = threading.Event()
        self.timings = {k: v for k, v in self.timings.items() if k == "start"}
        pump = threading.Thread(
            target=self._pump, args=(ws, run_id, shared, batches, limit, done, stop), name="idolguard-ray", daemon=True
        )
        began = time.perf_counter()
        held = 0.0
        pump.start()
        try:
            while True:
                try:
                    entry = done.get(timeout=WAIT_S)
                except queue.Empty:
                    if pump.is_alive():
                        continue
                    try:  # it may have handed its last entry just before ending
                        entry = done.get_nowait()
                    except queue.Empty:
                        raise ClusterError(
                            "the Ray dispatch thread ended without a result or an error; everything computed "
                            "before was stored: run the same command again to resume"
                        ) from None
                if entry is None:
                    break
                if isinstance(entry, BaseException):
                    raise _surfaced(entry)
                batch, results = entry
                mark = time.perf_counter()
                yield from zip(batch, results, strict=True)
                self.tasks_done += 1
                if self.on_task_done is not None:
                    self.on_task_done(self)
                held += time.perf_counter() - mark
        finally:
            stop.set()
            # Completed but unstored tasks still queued are dropped here: the next run recomputes them.
            deadline = time.monotonic() + STOP_WAIT_S
            while pump.is_alive() and time.monotonic() < deadline:  # a pump blocked on a full queue sees ``stop``
                with suppress(queue.Empty):
                    done.get_nowait()
                pump.join(0.05)
            self.timings.update(consumer=held, run=time.perf_counter() - began)

    def _pump(
        self,
        ws: Workspace,
        run_id: str,
        shared: list[Any],
        batches: Iterator[list[Job]],
        limit: int,
        done: queue.Queue[Any],
        stop: threading.Event,
    ) -> None:
        """Keep every actor at ``limit`` tasks and hand completed tasks to ``_run`` in completion order; then
        ``None``, or the ``ClusterError`` that ended the run (after every task completed before it)."""
        ray = import_ray()
        load = [0] * len(self._actors)
        pending: dict[Any, tuple[int, list[Job]]] = {}
        exhausted = False
        spent = dict.fromkeys(("dispatch", "wait", "get"), 0.0)
        clock = time.perf_counter
        began = clock()
        first = last = 0.0

        def hand(entry: Any) -> bool:
            while not stop.is_set():
                with suppress(queue.Full):
                    done.put(entry, timeout=0.2)
                    return True
            return False

        def hand_anyway(exc: BaseException) -> None:
            # An error must reach a consumer still waiting even when the queue is full: make room (the
            # dropped completed task is recomputed by the next run). A consumer that stopped drains the queue.
            while True:
                try:
                    done.put_nowait(exc)
                    return
                except queue.Full:
                    with suppress(queue.Empty):
                        done.get_nowait()

        try:
            while not stop.is_set():
                mark = clock()
                while not exhausted:
                    slot = min(range(len(load)), key=load.__getitem__)
                    if load[slot] >= limit:
                        break
                    batch = next(batches, None)
                    if batch is None:
                        exhausted = True
                        break
                    payload = []
                    for job in batch:
                        data = self._original(ws, job)  # sets job.path first in shared mode
                        payload.append((replace(job, resources=Resources()), data))
                    pending[self._actors[slot].analyze.remote(run_id, shared, payload)] = (slot, batch)
                    load[slot] += 1
                now = clock()
                spent["dispatch"] += now - mark
                if not pending:
                    hand(None)
                    return
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)  # timeout: notice ``stop``
                mark, now = now, clock()
                spent["wait"] += now - mark
                for ref in ready:
                    slot, batch = pending.pop(ref)
                    load[slot] -= 1
                    try:
                        results = ray.get(ref)
                    except ray.exceptions.RayError as exc:
                        lost = ClusterError(
                            f"a Ray worker was lost beyond {self.options.task_retries} retries while analysing "
                            f"{len(batch)} items (first {batch[0].sha256[:16]}): {type(exc).__name__}; "
                            "everything computed before was stored: run the same command again to resume"
                        )
                        lost.__cause__ = exc
                        hand(lost)
                        return
                    mark, now = now, clock()
                    spent["get"] += now - mark
                    last = now
                    if not first:
                        first, self.timings["first_items"] = now, len(batch)
                    if not hand((batch, results)):
                        return
        except BaseException as exc:  # noqa: BLE001 - reaches the consumer, which raises it (see ``_surfaced``)
            stop.set()  # nothing more is dispatched, whatever the consumer does next
            hand_anyway(exc)
        finally:
            for other in pending:  # stopped early (error, or the consumer stopped): the actors drop the rest
                with suppress(Exception):
                    ray.cancel(other, force=False)
            self.timings.update(spent, first_result=first - began, last_result=last - began)

    def _original(self, ws: Workspace, job: Job) -> bytes | None:
        """``None`` when the actor reads the shared vault path (``job.path``), else the plaintext bytes."""
        if self.vault_mode == "shared":
            job.path = str(ws.vault.path_for(job.sha256))
            return None
        return ws.vault.read_bytes(job.sha256)


def _surfaced(exc: BaseException) -> BaseException:
    """What the consumer raises for an error the pump handed over: ordinary exceptions (``ClusterError``, a
    vault error) and interruptions (``KeyboardInterrupt``, ``SystemExit``) as they are; any other
    ``BaseException`` (never meant to be caught by ``except Exception``) as a ``ClusterError`` naming it."""
    if isinstance(exc, Exception | KeyboardInterrupt | SystemExit):
        return exc
    error = ClusterError(
        f"the Ray dispatch thread failed ({type(exc).__name__}: {exc}); everything computed before was stored: "
        "run the same command again to resume"
    )
    error.__cause__ = exc
    return error


def _batches(jobs: list[Job], size: int, max_bytes: int, slots: int = 1) -> Iterator[list[Job]]:
    """Tasks of at most ``size`` items and ``max_bytes`` of originals, sized to what is left: a task takes at
    most ``remaining / (2 x slots)`` items (``slots``: actors x tasks in flight each), so large runs travel
    in few, large tasks (fewer round trips and results to unpack) and the last tasks are small enough that
    every actor finishes at about the same time instead of one working through a large last batch alone."""
    start, count = 0, len(jobs)
    while start < count:
        want = max(1, min(size, -(-(count - start) // (2 * max(1, slots)))))
        batch: list[Job] = []
        total = 0
        for job in jobs[start : start + want]:
            item_bytes = int(job.item.get("size") or 0)
            if batch and total + item_bytes > max_bytes:
                break
            batch.append(job)
            total += item_bytes
        start += len(batch)
        yield batch


class AnalysisWorker:
    """One Ray actor: a long-lived process that loads the stages' models once and computes batches of jobs.

    It writes no file for the originals the driver sends: each is an anonymous memory file for the duration of
    its item (``plaintext_path``; a private named file in this actor's folder only in its fallback). It never
    sees a signing key or the vault key."""

    def __init__(self, env: dict[str, str], threads: int = 1) -> None:
        os.environ.update(env)
        os.environ.pop("IDOLGUARD_VAULT_KEY", None)
        # OpenCV (YuNet, SFace, decoding) would otherwise start a thread per core of the node in every actor:
        # an actor uses the CPUs Ray reserved for it, so N actors on N cores do not oversubscribe them.
        import cv2

        cv2.setNumThreads(max(1, threads))
        self._resources = Resources()
        self._run_id = ""
        shm = Path("/dev/shm")
        base = shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())
        _remove_dead_actor_dirs(base)  # fallback plaintext left by an actor that was killed mid-item
        self._base = base
        self._tmp = ""  # this actor's private folder, made on first use by the fallback only
        self._busy: deque[tuple[float, float, int]] = deque(maxlen=4096)  # (start, end, items) per task

    def _fallback_dir(self) -> Path:
        """This actor's 0700 folder for ``plaintext_path``'s fallback (named files; removed after each item,
        the folder by the next actor starting on this node if this one is killed)."""
        if not self._tmp:
            self._tmp = tempfile.mkdtemp(prefix=f"idolguard-actor-{os.getpid()}-", dir=self._base)
            os.chmod(self._tmp, 0o700)
        return Path(self._tmp)

    def busy(self) -> list[tuple[float, float, int]]:
        """When this actor computed (``time.time()`` at start and end of each task, items): for the profile."""
        return list(self._busy)

    def ready(self) -> int:
        return os.getpid()

    def probe(self, vault_objects: str, sample: str | None, home: str) -> tuple[str, dict[str, Any]]:
        """``node_probe`` on this actor's node (the start-time check, without a process of its own)."""
        import ray

        return ray.get_runtime_context().get_node_id(), node_probe(vault_objects, sample, home)

    def analyze(
        self, run_id: str, resources: list[Any], batch: list[tuple[Job, bytes | None]]
    ) -> list[list[StageOutcome]]:
        began = time.time()
        if run_id != self._run_id:
            import ray

            self._resources = ray.get(resources[0])
            self._run_id = run_id
        results = []
        for job, data in batch:
            job.resources = self._resources
            if data is None:
                results.append(compute_item(job))
                continue
            with plaintext_path((data,), self._fallback_dir, prefix="item") as path:
                job.path = str(path)
                results.append(compute_item(job))
        self._busy.append((began, time.time(), len(batch)))
        return results


def _remove_dead_actor_dirs(base: Path) -> None:
    import shutil

    for folder in base.glob("idolguard-actor-*-*"):
        pid = folder.name.split("-")[2]
        try:
            if not pid.isdigit() or folder.stat().st_uid != os.getuid():
                continue
        except FileNotFoundError:
            continue  # another actor starting on this node removed it first
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:
            continue


def node_probe(vault_objects: str, sample: str | None, home: str) -> dict[str, Any]:
    """Runs on every node at start: which IdolGuard it imports, whether it reads the vault at the driver's
    path (a stored object hashed to its name) and the workspace folder."""
    import socket

    version: str | None
    try:
        from idolguard import __version__ as version
    except ImportError:
        version = None
    readable = Path(vault_objects).is_dir()
    if readable and sample:
        digest = hashlib.sha256()
        try:
            with open(Path(vault_objects) / sample[:2] / sample[2:4] / sample, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
            readable = digest.hexdigest() == sample
        except OSError:
            readable = False
    return {
        "host": socket.gethostname(),
        "version": version,
        "vault_readable": readable,
        "home_readable": (Path(home) / "config.toml").is_file(),
    }


def _sample_object(ws: Workspace) -> str | None:
    from sqlalchemy import select

    from idolguard.db.models import Item

    with ws.sessions() as session:
        return session.execute(select(Item.sha256).limit(1)).scalar()


# How IdolGuard connects to Ray, and how it starts the private local instance of ``--engine ray`` without
# ``--ray-address`` (the bench and tests start theirs with ``start_local_ray`` too, so they measure and test
# what users get). Ray's own worker logs are not forwarded to the driver (IdolGuard reports per-file errors
# itself), and the local instance runs without the parts nothing reads there: no dashboard, no Prometheus
# metrics export, no per-task state events to the GCS (``ray list tasks``/timeline); usage statistics are off
# (``import_ray``). Ray's daemons then take ~17 CPU-ms per second instead of 19-21 (docs/BENCHMARKS.md).
CONNECT_OPTIONS: dict[str, Any] = {"log_to_driver": False, "configure_logging": False, "namespace": "idolguard"}
LOCAL_RAY_SYSTEM_CONFIG: dict[str, Any] = {"enable_metrics_collection": False, "task_events_report_interval_ms": 0}


def start_local_ray(cpus: int, **options: Any) -> None:
    """Start (and connect to) a private Ray instance on 127.0.0.1 with ``cpus`` CPUs and IdolGuard's settings;
    ``address="local"``: always a new instance, even when this machine runs a cluster (``ray start``) that
    ``ray.init()`` would otherwise join."""
    ray = import_ray()
    ray.init(
        address="local",
        num_cpus=cpus,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        _system_config=LOCAL_RAY_SYSTEM_CONFIG,
        **{**CONNECT_OPTIONS, **options},
    )


def is_sqlite(db_url: str) -> bool:
    return db_url.split(":", 1)[0].split("+", 1)[0] == "sqlite"


def import_ray() -> Any:
    """Ray, imported on first use with its usage statistics off (no calls home), or a clear setup error."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
    except ImportError as exc:
        raise ClusterSetupError(
            "the Ray engine needs the cluster extra: pip install 'idolguard[cluster]' (pins ray)"
        ) from exc
    return ray


ENGINES = ("local", "ray")


def choose_engine(
    ws: Workspace,
    name: str,
    *,
    workers: int | None,
    address: str | None = None,
    vault: str = "auto",
) -> Any:
    """The engine a command asked for: ``LocalEngine(workers)``, or a ``RayEngine`` already started and checked
    (so a refusal comes before anything is ingested). Bad option combinations are ``ValueError`` (usage)."""
    from idolguard.pipeline.runner import LocalEngine

    if name not in ENGINES:
        raise ValueError(f"--engine must be one of {', '.join(ENGINES)}, not {name!r}")
    if vault not in VAULT_MODES:
        raise ValueError(f"--ray-vault must be one of {', '.join(VAULT_MODES)}, not {vault!r}")
    if name == "local":
        if address is not None or vault != "auto":
            raise ValueError("--ray-address and --ray-vault need --engine ray")
        return LocalEngine(workers or 1)
    return RayEngine(RayOptions(address=address, workers=workers, vault=vault)).start(ws)


def engine_for_command(
    ws: Workspace, name: str, workers: int | None, address: str | None, vault: str, *, quiet: bool
) -> Any:
    """``choose_engine`` for a command line (``scan`` and ``analyze --stale``): one definition, so both refuse a
    bad option combination the same way (the usage error, exit 2) and say the same line about a Ray engine
    (unless ``quiet``, e.g. with --json). ``cli_support`` sits below the pipeline layer, so this lives here."""
    from idolguard.cli_support import fail, tell

    try:
        chosen = choose_engine(ws, name, workers=workers, address=address, vault=vault)
    except ValueError as exc:
        fail(exc)
    if isinstance(chosen, RayEngine) and not quiet:
        tell(
            "ray: {nodes} node(s), {workers} worker(s), originals via {mode}",
            nodes=len(chosen.nodes),
            workers=chosen.worker_count,
            mode=chosen.vault_mode,
        )
    return chosen
