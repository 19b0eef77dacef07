"""Peak memory and plaintext exposure of one large web upload in an encrypted workspace, before/after sealing.

    python bench/upload_memory.py [--files 4] [--mib 64]

Receiving: the real app (``create_app``) runs under uvicorn in a child process; this process streams one
multipart ``POST /api/v1/uploads`` of ``--files`` parts of ``--mib`` MiB each (random bytes, generated as
they are sent, so the client holds one chunk). While it runs, the child's open files are sampled every 20 ms
through ``/proc/PID/fd``: bytes in unlinked files under the system temp folder (Starlette's plaintext spool)
and under the vault's ``tmp/`` (the sealed spool), and the child's peak RSS (``VmHWM``) after the request is
compared with before it. ``before`` = Starlette's own spooling (``sealed_form.spool_folder`` returns None in
the child: exactly the code path the app used before), ``after`` = the sealed spool.

Job: the queued upload job's decryption step (``jobs._run_upload``) in this process, sampling the bytes in
``/dev/shm`` (``Vault.plain_tmp``) every 20 ms. ``before`` = one group holding the whole upload (what the job
did before: every file decrypted at once), ``after`` = ``uploads.DECRYPT_GROUP_BYTES`` groups. (The random
files are then refused by intake as an unknown type; decryption happens first, which is what is measured.)

    python bench/upload_memory.py --exposure [--files 4] [--mib 64]

Exposure only (no server): the files are spooled encrypted straight through ``uploads.store`` and the job's
ingest (``jobs._run_upload``, ``DECRYPT_GROUP_BYTES`` groups, then the analysis of what was stored) runs twice,
sampled every 5 ms: named plaintext files (``upload-*`` from ``uploads.readable`` and ``view-*`` from
``Vault.materialize``, in ``Vault.plain_tmp``, i.e. ``/dev/shm``, and in the vault's ``tmp/``: how many
distinct ones were seen, and the peak MiB) and anonymous memory copies this process holds
(``/memfd:idolguard-*`` in ``/proc/self/fd``, counted once per memory file). ``before`` =
``IDOLGUARD_PLAINTEXT_MEMFD=0`` (the named copies used before), ``after`` = anonymous sealed memory files
(``evidence.plaintext``).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CHILD = """
import sys, uvicorn
from pathlib import Path
from idolguard.workspace import Workspace
from idolguard.web import sealed_form
from idolguard.web.app import create_app
home, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if mode == "before":
    sealed_form.spool_folder = lambda request: None  # Starlette's own spooling, as before
uvicorn.run(create_app(Workspace.open(Path(home))), host="127.0.0.1", port=port, log_level="warning")
"""

MIB = 1024 * 1024


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _hwm_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _open_bytes(pid: int, under: list[str]) -> list[int]:
    """Bytes in the child's open, unlinked files under each folder of ``under``."""
    totals = [0] * len(under)
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
            if not target.endswith("(deleted)"):
                continue
            size = os.stat(fd).st_size
        except OSError:
            continue
        for i, folder in enumerate(under):
            if target.startswith(folder):
                totals[i] += size
    return totals


def _body(boundary: str, files: int, mib: int) -> Iterator[bytes]:
    for n in range(files):
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="part{n}.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        for _ in range(mib):
            yield os.urandom(MIB)
        yield b"\r\n"
    yield f"--{boundary}--\r\n".encode()


def receive(home: Path, token: str, mode: str, files: int, mib: int, system_tmp: str, vault_tmp: str) -> dict:
    import httpx

    port = _free_port()
    env = {**os.environ, "TMPDIR": system_tmp}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(home), str(port), mode], env=env)
    try:
        for _ in range(300):
            try:
                httpx.get(f"http://127.0.0.1:{port}/login", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        before_hwm = _hwm_kib(child.pid)
        peaks = [0, 0]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                for i, value in enumerate(_open_bytes(child.pid, [system_tmp, vault_tmp])):
                    peaks[i] = max(peaks[i], value)
                time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        boundary = "benchboundary7d1f"
        started = time.perf_counter()
        response = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/uploads",
            content=_body(boundary, files, mib),
            headers={"authorization": f"Bearer {token}", "content-type": f"multipart/form-data; boundary={boundary}"},
            timeout=600,
        )
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
        assert response.status_code == 202, response.text
        return {
            "job": response.json()["id"],
            "seconds": elapsed,
            "rss_growth_mib": (_hwm_kib(child.pid) - before_hwm) / 1024,
            "plaintext_tmp_mib": peaks[0] / MIB,
            "sealed_mib": peaks[1] / MIB,
        }
    finally:
        child.terminate()
        child.wait(timeout=30)


def job_peak(ws, job_id: int, budget: int | None) -> float:  # type: ignore[no-untyped-def]
    """Peak MiB of decrypted upload copies in /dev/shm while the job runs."""
    from idolguard.web import jobs, uploads
    from idolguard.web.models import Job

    saved = uploads.DECRYPT_GROUP_BYTES
    if budget is not None:
        uploads.DECRYPT_GROUP_BYTES = budget
    folder = ws.vault.plain_tmp
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            total = 0
            for path in folder.iterdir():
                try:
                    total += path.stat().st_size if path.name.startswith("upload-") else 0
                except OSError:
                    pass
            peak[0] = max(peak[0], total)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with ws.sessions() as session:
            job = session.get(Job, job_id)
            params, user = dict(job.params), job.created_by
        jobs._run_upload(ws, job_id, params, user)
    finally:
        done.set()
        sampler.join()
        uploads.DECRYPT_GROUP_BYTES = saved
    return peak[0] / MIB


def exposure(ws, files: int, mib: int, memfd: bool) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Named plaintext files and anonymous memory copies seen while one upload job ingests."""
    from idolguard.evidence.plaintext import ENV_SWITCH
    from idolguard.web import jobs, uploads
    from idolguard.web.models import Job

    with ws.sessions() as session, session.begin():
        job = Job(kind="upload", state="running", created_by="bench", params={}, results=[])
        session.add(job)
        session.flush()
        job_id = job.id
    parts = [(f"part{n}.bin", _RandomFile(mib * MIB)) for n in range(files)]
    got = uploads.store(jobs.uploads_dir(ws, job_id), parts, key=ws.vault.key)  # type: ignore[arg-type]
    folders = [ws.vault.plain_tmp, ws.vault.tmp]
    names: set[str] = set()
    peaks = [0, 0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            named = 0
            for folder in folders:
                for path in folder.iterdir():
                    if path.name.startswith(("upload-", "view-")):  # the job's copies, and analysis's
                        names.add(str(path))
                        try:
                            named += path.stat().st_size
                        except OSError:
                            pass
            anonymous: dict[int, int] = {}  # by inode: a decoder's own descriptor of a copy is not another copy
            for fd in Path("/proc/self/fd").iterdir():
                try:
                    if os.readlink(fd).startswith("/memfd:idolguard"):
                        info = os.stat(fd)
                        anonymous[info.st_ino] = info.st_size
                except OSError:
                    continue
            peaks[0], peaks[1] = max(peaks[0], named), max(peaks[1], sum(anonymous.values()))
            time.sleep(0.005)

    saved = os.environ.get(ENV_SWITCH)
    os.environ[ENV_SWITCH] = "1" if memfd else "0"
    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    try:
        jobs._run_upload(ws, job_id, {"files": got.files, "display": got.display}, "bench")
    finally:
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
        if saved is None:
            os.environ.pop(ENV_SWITCH, None)
        else:
            os.environ[ENV_SWITCH] = saved
    return {"named_files": len(names), "named_mib": peaks[0] / MIB, "memfd_mib": peaks[1] / MIB, "seconds": elapsed}


class _RandomFile:
    """``read`` gives ``size`` random bytes in total, a chunk at a time (nothing held but the chunk)."""

    def __init__(self, size: int) -> None:
        self.left = size

    def read(self, n: int = -1) -> bytes:
        take = self.left if n is None or n < 0 else min(n, self.left)
        self.left -= take
        return os.urandom(take)


def main_exposure(files: int, mib: int, rounds: int) -> None:
    from idolguard.evidence.plaintext import memfd_available
    from idolguard.web.uploads import DECRYPT_GROUP_BYTES
    from idolguard.workspace import Workspace, init_workspace

    os.environ["IDOLGUARD_VAULT_KEY"] = os.urandom(32).hex()
    os.environ.pop("IDOLGUARD_DB_URL", None)
    print(
        f"ingest exposure: {files} files x {mib} MiB, decrypt group {DECRYPT_GROUP_BYTES // MIB} MiB, "
        f"{rounds} rounds each; memfd available: {memfd_available()}; load {os.getloadavg()[0]:.2f}"
    )
    print(f"{'':8} {'named files':>11} {'named MiB':>10} {'memfd MiB':>10} {'ingest s':>9}")
    with tempfile.TemporaryDirectory(prefix="idolguard-expo-") as root:
        home = Path(root) / "ws"
        init_workspace(home, encrypt=True)
        ws = Workspace.open(home)
        for _ in range(rounds):
            for mode, memfd in (("before", False), ("after", True)):
                got = exposure(ws, files, mib, memfd)
                print(
                    f"{mode:8} {got['named_files']:11d} {got['named_mib']:10.1f} {got['memfd_mib']:10.1f} "
                    f"{got['seconds']:9.2f}"
                )
        ws.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--exposure", action="store_true", help="only the job's named/anonymous plaintext copies")
    parser.add_argument("--rounds", type=int, default=3, help="--exposure: repetitions of before/after")
    args = parser.parse_args()
    if args.exposure:
        main_exposure(args.files, args.mib, args.rounds)
        return
    from idolguard.web import accounts
    from idolguard.web.uploads import DECRYPT_GROUP_BYTES
    from idolguard.workspace import Workspace, init_workspace

    os.environ["IDOLGUARD_VAULT_KEY"] = os.urandom(32).hex()
    os.environ.pop("IDOLGUARD_DB_URL", None)
    total = args.files * args.mib
    print(f"upload: {args.files} files x {args.mib} MiB = {total} MiB; decrypt group {DECRYPT_GROUP_BYTES // MIB} MiB")
    with tempfile.TemporaryDirectory(prefix="idolguard-upmem-") as root:
        home = Path(root) / "ws"
        init_workspace(home, encrypt=True)
        ws = Workspace.open(home)  # uploads up to 2 GiB by default
        accounts.add_user(ws, "bench", "analyst", [], by="bench")
        token = accounts.create_token(ws, "bench", "write", "1d", by="bench")
        system_tmp = str(Path(root) / "systmp")
        os.mkdir(system_tmp)
        rows = []
        for mode in ("before", "after"):
            got = receive(home, token, mode, args.files, args.mib, system_tmp, str(ws.vault.tmp))
            shm = job_peak(ws, got["job"], 1 << 62 if mode == "before" else None)
            rows.append((mode, got, shm))
        print(f"{'':8} {'receive s':>9} {'RSS +MiB':>9} {'/tmp plain MiB':>15} {'sealed MiB':>11} {'/dev/shm MiB':>13}")
        for mode, got, shm in rows:
            print(
                f"{mode:8} {got['seconds']:9.1f} {got['rss_growth_mib']:9.1f} {got['plaintext_tmp_mib']:15.1f} "
                f"{got['sealed_mib']:11.1f} {shm:13.1f}"
            )
        ws.close()


if __name__ == "__main__":
    main()
