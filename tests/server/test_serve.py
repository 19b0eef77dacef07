"""``idolguard serve --portal``: the team app and the public portal in one process, each on its own loopback
port, real uvicorn in a real subprocess. Nothing of the team app answers on the portal's port (and the
reverse); the portal keeps its own CSP and sets no cookie; the portal still runs alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.portal.conftest import free_port, solved
from tests.server.conftest import set_config

TEAM_ROUTES = ["/login", "/triage", "/intake", "/admin/users", "/items", "/api/v1/items", "/account", "/jobs/1"]
PORTAL_CSP = "default-src 'none'"


def configure(home: Path) -> None:
    set_config(home, "portal", artists=["Test Artist"], pow_bits=8)


def start(args: list[str], home: Path) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).with_name("idolguard")
    return subprocess.Popen(
        [str(exe), *args, "--home", str(home)],
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_up(proc: subprocess.Popen[bytes], urls: list[str], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    pending = list(urls)
    while pending:
        if proc.poll() is not None:
            raise AssertionError(f"server exited {proc.returncode}: {proc.stdout.read().decode()[-3000:]}")  # type: ignore[union-attr]
        if time.monotonic() > deadline:
            raise AssertionError(f"not up: {pending}")
        try:
            httpx.get(pending[0], timeout=2)
            pending.pop(0)
        except httpx.HTTPError:
            time.sleep(0.2)


def stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise


def test_serve_with_portal_keeps_the_two_apps_apart(home: Path) -> None:
    configure(home)
    team_port, portal_port = free_port(), free_port()
    team, portal = f"http://127.0.0.1:{team_port}", f"http://127.0.0.1:{portal_port}"
    args = ["serve", "--portal", "--port", str(team_port), "--portal-port", str(portal_port)]  # + in-process worker
    proc = start(args, home)
    try:
        wait_up(proc, [f"{team}/login", f"{portal}/healthz"])
        with httpx.Client(base_url=portal, timeout=30) as client:
            form = client.get("/", headers={"accept-language": "ko"})
            assert form.status_code == 200 and 'lang="ko"' in form.text
            assert form.headers["content-security-policy"].startswith(PORTAL_CSP)
            assert "set-cookie" not in form.headers
            for path in TEAM_ROUTES:
                answer = client.get(path)
                assert answer.status_code == 404, path
                assert "set-cookie" not in answer.headers, path
            assert client.post("/login", data={"name": "admin", "password": "x"}).status_code in (404, 405)
            body = {"urls": ["https://x.com/someone/status/1"], "category": "leak", "artist": "Test Artist"}
            created = client.post("/api/reports", json={**body, "challenge": solved(client)})
            assert created.status_code == 201, created.text
            assert created.json()["status_url"].startswith(f"{portal}/status/")
            assert client.get(created.json()["status_url"].replace(portal, "")).status_code == 200
        with httpx.Client(base_url=team, timeout=30) as client:
            login = client.get("/login")
            assert login.status_code == 200 and "csrf" in login.text
            assert login.headers["content-security-policy"].startswith("default-src 'self'")
            for path in ("/api/challenge", "/api", "/healthz", "/static/portal.js"):
                assert client.get(path).status_code == 404, path
            assert client.post("/api/reports", json={}).status_code in (404, 405)
        assert stop(proc) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def test_serve_refuses_one_port_for_both(home: Path) -> None:
    proc = start(["serve", "--portal", "--port", "8123", "--portal-port", "8123", "--no-worker"], home)
    assert proc.wait(timeout=60) == 2
    assert b"own port" in proc.stdout.read()  # type: ignore[union-attr]


def test_portal_still_runs_alone(home: Path) -> None:
    configure(home)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start(["portal", "serve", "--port", str(port)], home)
    try:
        wait_up(proc, [f"{base}/healthz"])
        assert httpx.get(f"{base}/?lang=ja").status_code == 200
        assert httpx.get(f"{base}/login").status_code == 404
        assert stop(proc) in (0, -signal.SIGTERM)  # uvicorn.run re-raises the signal after a clean shutdown
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
