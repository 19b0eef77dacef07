"""The Ray engine on a real local Ray instance: the same stored results as a local scan, resumable after an
actor or the driver is killed mid-batch, nothing stored twice, verify passes, and the start-time refusals.

One Ray instance (2 CPUs, no dashboard, no usage statistics) serves the whole module; the driver-kill test
connects a separate ``idolguard scan`` process to it by address, exactly as an operator's driver would.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from idolguard.db.models import DerivedObject, Item, LedgerEntry, StageResult
from idolguard.evidence.actions import Action
from idolguard.pipeline.ray_engine import ClusterError, ClusterSetupError, RayEngine, RayOptions, start_local_ray
from idolguard.pipeline.scan import scan_paths
from idolguard.workspace import Workspace, init_workspace
from tests.conftest import PG_URL, _fresh_pg_database, astronaut, jpeg_bytes, png_bytes

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
ray = pytest.importorskip("ray", reason="needs the cluster extra (pip install -e '.[cluster]'): Ray is not installed")

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

TIMING_KEYS = {"duration_ms", "created_at"}


@pytest.fixture
def db_url() -> Iterator[str | None]:
    """Here each test runs once: on PostgreSQL when IDOLGUARD_TEST_PG is set (what a cluster uses), else on the
    embedded SQLite (one node). Keeps this module's runtime to a few minutes."""
    if PG_URL:
        yield from _fresh_pg_database(PG_URL)
    else:
        yield None


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    """A real local Ray instance on 127.0.0.1 for this module: 2 CPUs, no dashboard, usage stats off."""
    started = not ray.is_initialized()
    if started:
        start_local_ray(2, namespace="idolguard-tests")  # what ``scan --engine ray`` starts, same settings
    yield ray.get_runtime_context().gcs_address
    if started:
        ray.shutdown()


def write_media(folder: Path, count: int) -> Path:
    """``count`` benign files: generated shapes (JPEG/PNG), crops of a public-domain portrait (a real face, so
    the face, identity and manipulation stages produce outputs), and one truncated JPEG (a per-file error)."""
    folder.mkdir(parents=True, exist_ok=True)
    portrait = astronaut()
    for index in range(count - 1):
        kind = index % 5
        if kind == 0:
            shift = index // 5  # every crop differs (distinct items)
            box = (shift, shift // 2, 400 + shift, 420 + shift // 2)
            buffer = io.BytesIO()
            portrait.crop(box).resize((192, 200)).save(buffer, "JPEG", quality=85)
            (folder / f"face-{index:03}.jpg").write_bytes(buffer.getvalue())
        elif kind == 1:
            (folder / f"shape-{index:03}.png").write_bytes(png_bytes(index, size=(96, 72)))
        else:
            (folder / f"shape-{index:03}.jpg").write_bytes(jpeg_bytes(index, size=(128, 96)))
    (folder / "truncated.jpg").write_bytes(jpeg_bytes(9999, size=(128, 96))[:300])
    return folder


@contextmanager
def database(db_url: str | None) -> Iterator[None]:
    """IDOLGUARD_DB_URL names the database of the workspace in use (each workspace here has its own)."""
    previous = os.environ.get("IDOLGUARD_DB_URL")
    if db_url:
        os.environ["IDOLGUARD_DB_URL"] = db_url
    else:
        os.environ.pop("IDOLGUARD_DB_URL", None)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("IDOLGUARD_DB_URL", None)
        else:
            os.environ["IDOLGUARD_DB_URL"] = previous


@contextmanager
def opened(home: Path, db_url: str | None) -> Iterator[Workspace]:
    """Open one of the workspaces of a test."""
    with database(db_url):
        ws = Workspace.open(home)
        try:
            yield ws
        finally:
            ws.close()


def new_workspace(path: Path, db_url: str | None) -> Path:
    with database(db_url):
        init_workspace(path)
    config = path / "config.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(re.sub(r"(?m)^tsa_urls = \[.*\]$", "tsa_urls = []", text), encoding="utf-8")
    return path


def _untimed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


def stored(ws: Workspace) -> dict[str, Any]:
    """Everything analysis stored, as JSON, timing fields removed: items, stage results, derived objects, the
    analysis custody events (as a multiset: their order follows completion order) and the scan objects."""
    from idolguard.pipeline.runner import item_record
    from idolguard.pipeline.scan import item_objects

    with ws.sessions() as session:
        items = {i.sha256: item_record(i) for i in session.execute(select(Item)).scalars()}
        results = {
            f"{r.item_sha256}/{r.stage}/{r.version}": {"status": r.status, "error": r.error, "output": r.output}
            for r in session.execute(select(StageResult)).scalars()
        }
        derived = sorted(
            json.dumps([d.sha256, d.parent_sha256, d.kind, d.stage, d.stage_version, d.mime, d.meta], sort_keys=True)
            for d in session.execute(select(DerivedObject)).scalars()
        )
        events = sorted(
            json.dumps([e.item_sha256, e.details], sort_keys=True)
            for e in session.execute(
                select(LedgerEntry).where(LedgerEntry.action == Action.PIPELINE_ANALYSE.value)
            ).scalars()
        )
    objects = {o["sha256"]: o for o in item_objects(ws, [(sha, None, False) for sha in sorted(items)])}
    return _untimed({"items": items, "results": results, "derived": derived, "events": events, "objects": objects})


def analysis_counts(ws: Workspace) -> Counter[tuple[str, str, str]]:
    """How many ``analysis`` custody events each (item, stage, version) has."""
    with ws.sessions() as session:
        rows = session.execute(
            select(LedgerEntry.item_sha256, LedgerEntry.details).where(
                LedgerEntry.action == Action.PIPELINE_ANALYSE.value
            )
        )
        return Counter((sha, d["stage"], d["version"]) for sha, d in rows)


def assert_complete_once(ws: Workspace, expected_items: int) -> None:
    """Every item is up to date (analysing again computes nothing) and each result was stored, and logged,
    exactly once."""
    from idolguard.pipeline.runner import LocalEngine, analyze

    counts = analysis_counts(ws)
    assert counts and max(counts.values()) == 1, [k for k, v in counts.items() if v > 1]
    with ws.sessions() as session:
        rows = session.execute(select(func.count()).select_from(StageResult)).scalar()
        shas = list(session.execute(select(Item.sha256)).scalars())
    assert rows == len(counts) and len(shas) == expected_items
    again = analyze(ws, shas, engine=LocalEngine(1))
    assert not [o for outcomes in again.values() for o in outcomes if not o.reused]
    assert analysis_counts(ws) == counts


def verify_ok(home: Path) -> None:
    from typer.testing import CliRunner

    from idolguard.cli import app

    result = CliRunner().invoke(app, ["verify", "--home", str(home)], catch_exceptions=False)
    assert result.exit_code == 0, result.output


@pytest.fixture
def second_db(db_url: str | None) -> Iterator[str | None]:
    """A second database of the same kind as ``db_url`` (for the local baseline workspace)."""
    if db_url is None:
        yield None
    else:
        assert PG_URL
        yield from _fresh_pg_database(PG_URL)


def test_ray_scan_stores_exactly_what_a_local_scan_stores(ray_address, tmp_path, db_url, second_db, monkeypatch):
    """200 files scanned on Ray (2 actors, batches of 8) and in-process: every stored output, derived object,
    custody event and scan object is identical once timing fields are removed."""
    monkeypatch.setenv("IDOLGUARD_ACTOR", "tester@idolguard")
    media = write_media(tmp_path / "media", 200)
    local_home = new_workspace(tmp_path / "local", second_db)
    ray_home = new_workspace(tmp_path / "ray", db_url)

    with opened(local_home, second_db) as ws:
        local_objects = scan_paths(ws, [media], workers=1)
        local = stored(ws)
    engine = RayEngine(RayOptions(workers=2, batch_size=8))
    try:
        with opened(ray_home, db_url) as ws:
            cluster_objects = scan_paths(ws, [media], engine=engine)
            cluster = stored(ws)
        assert engine.tasks_done >= 199 // 8 and engine.worker_count == 2
        assert engine.vault_mode == "shared"
    finally:
        engine.close()

    assert len(local["items"]) == 200 and len(local["results"]) > 600
    faces = [o for o in local["objects"].values() if o.get("faces")]
    assert len(faces) >= 30  # the portrait crops really went through detection and identity
    assert local == cluster  # every stored output, custody event and scan object
    # Per-file errors exactly as in a local scan.
    errors_local = {o["path"]: o["error"] for o in local_objects if o.get("error")}
    errors_ray = {o["path"]: o["error"] for o in cluster_objects if o.get("error")}
    assert list(errors_local) == [str(media / "truncated.jpg")] and errors_local == errors_ray
    with database(db_url):
        verify_ok(ray_home)


def test_encrypted_vault_is_sent_by_the_driver_and_keys_never_reach_workers(ray_address, tmp_path, monkeypatch):
    from idolguard.pipeline.resources import load_resources

    monkeypatch.setenv("IDOLGUARD_ACTOR", "tester@idolguard")
    monkeypatch.delenv("IDOLGUARD_DB_URL", raising=False)
    key_file = tmp_path / "vault.key"
    key_file.write_text(os.urandom(32).hex(), encoding="ascii")
    home = tmp_path / "enc"
    init_workspace(home, encrypt=True, key_file=str(key_file))
    media = write_media(tmp_path / "media", 12)
    with opened(home, None) as ws:
        assert ws.vault.encrypted
        with pytest.raises(ClusterSetupError, match="encrypted"):
            RayEngine(RayOptions(workers=1, vault="shared")).start(ws)
        engine = RayEngine(RayOptions(workers=1, batch_size=4))
        try:
            objects = scan_paths(ws, [media], engine=engine)
            assert engine.vault_mode == "send"
        finally:
            engine.close()
        assert sum(1 for o in objects if o.get("error")) == 1
        assert all(o["stages"].get("faces") for o in objects if not o.get("error"))
        # What the driver sends besides originals (the resources, the jobs' settings) holds neither key.
        from cryptography.hazmat.primitives import serialization

        signing = ws.signing_key.private.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        blob = pickle.dumps((load_resources(ws, {"gallery", "banks", "detector_calibration"}), dict(ws.config.raw)))
        assert ws.vault.key and ws.vault.key not in blob and key_file.read_bytes() not in blob
        assert signing not in blob
    verify_ok(home)


def test_an_actor_killed_mid_batch_is_restarted_and_its_batch_retried(ray_address, tmp_path, home, workspace):
    """SIGKILL to one actor's process after the first completed task: Ray restarts it, the lost batch is
    retried (the new process fetches the run's resources again) and the scan completes with every result
    stored once."""
    media = write_media(tmp_path / "media", 40)
    killed: list[int] = []

    def kill_one(engine: RayEngine) -> None:
        if not killed:
            pid = engine.actor_pids()[0]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    engine = RayEngine(RayOptions(workers=2, batch_size=4), on_task_done=kill_one)
    try:
        scan_paths(workspace, [media], engine=engine)
        assert killed and killed[0] not in engine.actor_pids()  # a new process took over
    finally:
        engine.close()
    assert_complete_once(workspace, 40)
    verify_ok(home)


def test_an_actor_lost_beyond_its_retries_stops_the_run_and_a_rerun_completes(ray_address, tmp_path, home, workspace):
    """No restarts allowed: losing the actors stops the run with ClusterError after storing what completed;
    running it again completes, nothing stored twice, verify passes."""
    media = write_media(tmp_path / "media", 40)

    def kill_all(engine: RayEngine) -> None:
        if engine.tasks_done == 2:
            for pid in engine.actor_pids():
                os.kill(pid, signal.SIGKILL)

    engine = RayEngine(RayOptions(workers=2, batch_size=4, max_restarts=0, task_retries=0), on_task_done=kill_all)
    try:
        with pytest.raises(ClusterError, match="run the same command again"):
            scan_paths(workspace, [media], engine=engine)
    finally:
        engine.close()
    partial = analysis_counts(workspace)
    assert partial and max(partial.values()) == 1  # what completed before the loss was stored
    done_before = {sha for sha, stage, _ in partial if stage == "probe"}
    assert 0 < len(done_before) < 40

    engine = RayEngine(RayOptions(workers=2, batch_size=4))
    try:
        scan_paths(workspace, [media], engine=engine)
    finally:
        engine.close()
    assert_complete_once(workspace, 40)
    verify_ok(home)


def test_a_driver_killed_mid_batch_resumes_by_running_the_same_command(ray_address, tmp_path, home, workspace, cli):
    """``idolguard scan --engine ray --ray-address ...`` in its own process, SIGKILLed once results are being
    stored; the same command again completes, nothing stored twice, verify passes."""
    media = write_media(tmp_path / "media", 60)
    command = [str(Path(sys.executable).parent / "idolguard"), "scan", str(media), "--json", "--engine", "ray"]
    command += ["--ray-address", ray_address, "--workers", "2"]
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    driver = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    analysed = 0
    while time.monotonic() < deadline and driver.poll() is None:
        with workspace.sessions() as session:
            analysed = session.execute(
                select(func.count(func.distinct(StageResult.item_sha256))).where(StageResult.stage == "faces")
            ).scalar()
        if analysed:
            break
        time.sleep(0.1)
    assert driver.poll() is None, driver.stderr.read().decode() if driver.stderr else ""
    driver.send_signal(signal.SIGKILL)
    driver.wait(30)
    assert 0 < analysed < 60
    # Ray frees the dead driver's actors (and their CPUs) once it notices the driver is gone, which takes a
    # while on a loaded machine; until then the new run's actors could not be placed on this 2-CPU instance.
    freed_by = time.monotonic() + 120
    while ray.available_resources().get("CPU", 0) < 2 and time.monotonic() < freed_by:
        time.sleep(0.5)

    result = cli("scan", media, "--json", "--engine", "ray", "--workers", "2", ok=False)
    assert result.exit_code == 1, result.output  # the truncated JPEG, as in any scan
    objects = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(objects) == 60 and [o["path"] for o in objects if o["error"]] == [str(media / "truncated.jpg")]
    assert_complete_once(workspace, 60)
    verify_ok(home)


def test_sqlite_is_refused_on_a_multi_node_cluster(ray_address, tmp_path, monkeypatch):
    """A real two-node Ray cluster on this machine (``ray.cluster_utils.Cluster``: two raylets); a scan of an
    SQLite workspace is refused before anything is ingested, exit 4, with the reason."""
    from ray.cluster_utils import Cluster

    monkeypatch.delenv("IDOLGUARD_DB_URL", raising=False)
    home = new_workspace(tmp_path / "lite", None)
    media = write_media(tmp_path / "media", 3)
    # Ray resolves a loopback address to the machine's own address when a driver connects, so these raylets
    # listen there (as the module's instance does), not on 127.0.0.1 only.
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        command = [str(Path(sys.executable).parent / "idolguard"), "scan", str(media), "--engine", "ray"]
        command += ["--ray-address", cluster.address, "--workers", "1", "--home", str(home)]
        env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    finally:
        cluster.shutdown()
    assert done.returncode == 4, done.stderr
    assert "2 nodes" in done.stderr and "needs PostgreSQL" in done.stderr
    with opened(home, None) as ws, ws.sessions() as session:
        assert session.execute(select(func.count()).select_from(Item)).scalar() == 0


def test_the_worker_default_engine_keeps_its_actors_across_runs(ray_address, tmp_path, home, workspace):
    """``worker --engine ray`` makes the Ray engine the process default (``use_engine``): every job's
    ``analyze`` runs on it, and the same actors (models loaded once each) serve run after run."""
    from idolguard.pipeline.runner import use_engine

    first, second = write_media(tmp_path / "one", 6), write_media(tmp_path / "two", 6)
    (second / "extra.png").write_bytes(png_bytes(4242, size=(90, 70)))
    engine = RayEngine(RayOptions(workers=2, batch_size=2))
    use_engine(engine)
    try:
        scan_paths(workspace, [first])
        pids = engine.actor_pids()
        tasks = engine.tasks_done
        scan_paths(workspace, [second])
        assert engine.actor_pids() == pids and engine.runs == 2 and engine.tasks_done > tasks
    finally:
        use_engine(None)
        engine.close()
    assert_complete_once(workspace, 7)


def test_a_dead_actors_folder_removed_by_another_starting_actor_is_skipped(tmp_path, monkeypatch):
    """Actors starting together on one node each clear the plaintext folders of dead actors: a folder another
    actor removed between listing and checking is skipped (it used to fail the actor's start)."""
    from idolguard.pipeline import ray_engine

    gone = tmp_path / "idolguard-actor-999999991-gone"  # listed, then removed by the other actor
    dead = tmp_path / "idolguard-actor-999999992-dead"  # a dead actor's folder: removed
    mine = tmp_path / f"idolguard-actor-{os.getpid()}-live"  # a live process's folder: kept
    dead.mkdir()
    mine.mkdir()
    monkeypatch.setattr(Path, "glob", lambda self, pattern: iter([gone, dead, mine]))
    ray_engine._remove_dead_actor_dirs(tmp_path)
    assert not dead.exists() and mine.exists()


def _finishes(work: Any, limit_s: float = 600) -> BaseException | None:
    """Run ``work`` in a thread and return what it raised (``None``: it returned); fails the test if it is
    still running after ``limit_s`` (a hang guard, not a timing assertion: the runs take seconds)."""
    import threading

    raised: list[BaseException | None] = []

    def target() -> None:
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            raised.append(exc)
        else:
            raised.append(None)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(limit_s)
    assert not thread.is_alive(), "the run hung"
    return raised[0]


def _pump_threads() -> list[Any]:
    import threading

    return [t for t in threading.enumerate() if t.name == "idolguard-ray" and t.is_alive()]


class PumpBug(BaseException):
    """A failure outside ``Exception`` in the pump thread (what ``except Exception`` would let kill it)."""


def test_a_failing_pump_surfaces_as_an_error_not_a_hang(ray_address, tmp_path, home, workspace, monkeypatch):
    """The pump thread ending without a word, or dying of a ``BaseException`` subclass mid-run, reaches the
    runner as ``ClusterError`` (no hang); the engine stays usable and a re-run completes, nothing stored twice."""
    from idolguard.pipeline import ray_engine

    media = write_media(tmp_path / "media", 24)
    engine = RayEngine(RayOptions(workers=1, batch_size=2))
    try:
        with monkeypatch.context() as patch:  # a pump that ends silently (a bug): the consumer notices
            patch.setattr(ray_engine.RayEngine, "_pump", lambda self, *args: None)
            raised = _finishes(lambda: scan_paths(workspace, [media], engine=engine))
        assert isinstance(raised, ClusterError) and "ended without a result" in str(raised)

        original = ray_engine.RayEngine._original
        calls: list[str] = []

        def failing(self: RayEngine, ws: Workspace, job: Any) -> Any:
            calls.append(job.sha256)
            if len(calls) == 7:  # after three tasks went out: some results are already stored
                raise PumpBug("injected")
            return original(self, ws, job)

        with monkeypatch.context() as patch:
            patch.setattr(ray_engine.RayEngine, "_original", failing)
            raised = _finishes(lambda: scan_paths(workspace, [media], engine=engine))
        assert isinstance(raised, ClusterError), repr(raised)
        assert "PumpBug: injected" in str(raised) and isinstance(raised.__cause__, PumpBug)
        assert not _pump_threads()
        partial = analysis_counts(workspace)
        assert max(partial.values(), default=1) == 1

        assert _finishes(lambda: scan_paths(workspace, [media], engine=engine)) is None  # lock released
    finally:
        engine.close()
    assert_complete_once(workspace, 24)
    verify_ok(home)


def test_an_interrupted_run_resumes_with_no_duplicates(ray_address, tmp_path, home, workspace, monkeypatch):
    """Ctrl-C in the consumer (the runner storing results) after two tasks, then in the pump (while it reads
    originals): each stops the run promptly with ``KeyboardInterrupt`` and the pump thread ends; completed
    but unstored tasks are recomputed by the next run, which completes with every result stored once."""
    from idolguard.pipeline import ray_engine

    media = write_media(tmp_path / "media", 40)

    def interrupt(engine: RayEngine) -> None:
        if engine.tasks_done == 2:
            raise KeyboardInterrupt

    engine = RayEngine(RayOptions(workers=2, batch_size=4), on_task_done=interrupt)
    try:
        raised = _finishes(lambda: scan_paths(workspace, [media], engine=engine))
        assert isinstance(raised, KeyboardInterrupt), repr(raised)
        assert not _pump_threads()
        first = analysis_counts(workspace)
        probed = {sha for sha, stage, _ in first if stage == "probe"}
        assert first and max(first.values()) == 1 and 0 < len(probed) < 40

        engine.on_task_done = None
        original = ray_engine.RayEngine._original
        calls: list[str] = []

        def interrupted(self: RayEngine, ws: Workspace, job: Any) -> Any:
            calls.append(job.sha256)
            if len(calls) == 9:
                raise KeyboardInterrupt
            return original(self, ws, job)

        with monkeypatch.context() as patch:
            patch.setattr(ray_engine.RayEngine, "_original", interrupted)
            raised = _finishes(lambda: scan_paths(workspace, [media], engine=engine))
        assert isinstance(raised, KeyboardInterrupt), repr(raised)
        assert not _pump_threads()
        assert max(analysis_counts(workspace).values()) == 1

        assert _finishes(lambda: scan_paths(workspace, [media], engine=engine)) is None
    finally:
        engine.close()
    assert_complete_once(workspace, 40)
    verify_ok(home)


@pytest.mark.parametrize("memfd", [True, False], ids=["memfd", "fallback"])
def test_an_actor_gives_decoders_encrypted_vault_plaintext_with_no_name(tmp_path, monkeypatch, memfd):
    """``AnalysisWorker.analyze`` (the actor's code, run in this process) on items of an encrypted vault, sent
    as plaintext bytes as the driver does: while each item is analysed, its decoders read an anonymous memory
    file (``/proc/<pid>/fd/<n>``) and no file under ``/dev/shm`` holds the plaintext. With memory files
    switched off, the fallback's named 0600 copy is found in the actor's 0700 folder (so the check can fail)
    and removed after the item."""
    from dataclasses import replace

    from idolguard.pipeline import ray_engine
    from idolguard.pipeline.resources import Resources

    monkeypatch.setenv("IDOLGUARD_ACTOR", "tester@idolguard")
    monkeypatch.delenv("IDOLGUARD_DB_URL", raising=False)
    monkeypatch.delenv("IDOLGUARD_VAULT_KEY", raising=False)  # the actor drops it from its environment
    monkeypatch.setenv("IDOLGUARD_PLAINTEXT_MEMFD", "1" if memfd else "0")
    key_file = tmp_path / "vault.key"
    key_file.write_text(os.urandom(32).hex(), encoding="ascii")
    home = tmp_path / "enc"
    init_workspace(home, encrypt=True, key_file=str(key_file))
    media = write_media(tmp_path / "media", 4)
    shm = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile_dir())
    seen: list[tuple[str, list[Path]]] = []
    real_compute = ray_engine.compute_item

    def named_copies(data: bytes) -> list[Path]:
        found = []
        for root, _, files in os.walk(shm):
            for name in files:
                path = Path(root) / name
                with_size = path.is_file() and not path.is_symlink()
                try:
                    if with_size and path.stat().st_size == len(data) and path.read_bytes() == data:
                        found.append(path)
                except OSError:
                    continue  # another process's file, or gone meanwhile
        return found

    def spying(job: Any) -> Any:
        data = Path(job.path).read_bytes()
        seen.append((job.path, named_copies(data)))
        return real_compute(job)

    class ActorInProcess:
        """An engine running the actor's ``analyze`` here, with the payload the driver would send."""

        worker: Any = None

        def run(self, ws: Workspace, jobs: list[Any]) -> Iterator[tuple[Any, Any]]:
            self.worker = worker = ray_engine.AnalysisWorker({}, 1)
            worker._run_id, worker._resources = "run", jobs[0].resources  # what ``ray.get`` would fetch
            payload = [(replace(job, resources=Resources()), ws.vault.read_bytes(job.sha256)) for job in jobs]
            yield from zip(jobs, worker.analyze("run", [], payload), strict=True)

    monkeypatch.setattr(ray_engine, "compute_item", spying)
    engine = ActorInProcess()
    with opened(home, None) as ws:
        assert ws.vault.encrypted
        objects = scan_paths(ws, [media], engine=engine)  # type: ignore[arg-type]
    assert len(seen) == 4 and all(o["stages"].get("probe") for o in objects if not o.get("error"))
    assert sum(1 for o in objects if o.get("error")) == 1  # the truncated JPEG, as in any scan
    if memfd:
        for path, copies in seen:
            assert re.fullmatch(rf"/proc/{os.getpid()}/fd/\d+", path) and copies == []
        assert engine.worker._tmp == ""  # the fallback's folder was never made
    else:
        folder = Path(engine.worker._tmp)
        assert folder.stat().st_mode & 0o777 == 0o700
        for path, copies in seen:
            assert copies == [Path(path)] and Path(path).parent == folder and not Path(path).exists()
        assert not list(folder.iterdir())
        folder.rmdir()


def tempfile_dir() -> str:
    import tempfile

    return tempfile.gettempdir()
