"""Portal fixtures: the real ASGI app served by uvicorn on 127.0.0.1 in a thread, and a challenge solver.

Clients can bind other loopback source addresses (127.0.0.2, 127.0.0.3) so per-address limits are tested
with real, distinct peers; nothing leaves the loopback interface.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ARTISTS = ["Test Artist", "테스트 아티스트", "<b>Bold</b> & Co"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PortalServer:
    def __init__(self, home: Path, **overrides: Any) -> None:
        import uvicorn

        from idolguard.portal.app import create_app

        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        settings = {"artists": ARTISTS, "pow_bits": 8, **overrides}
        self.app = create_app(home, public_url=self.base, **settings)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("portal did not start")
            time.sleep(0.05)

    @property
    def portal(self) -> Any:
        return self.app.state.portal

    def client(self, source: str = "127.0.0.1", **kwargs: Any) -> httpx.Client:
        transport = httpx.HTTPTransport(local_address=source)
        return httpx.Client(base_url=self.base, transport=transport, timeout=30, **kwargs)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def solved(client: httpx.Client) -> dict[str, str]:
    from idolguard.portal.challenge import solve

    got = client.get("/api/challenge")
    assert got.status_code == 200, got.text
    body = got.json()
    return {"token": body["token"], "solution": solve(body["token"], body["bits"])}


def report(client: httpx.Client, urls: list[str], **fields: Any) -> httpx.Response:
    body = {"urls": urls, "category": "ai_deepfake", "artist": ARTISTS[0], **fields}
    if "challenge" not in fields:
        body["challenge"] = solved(client)
    return client.post("/api/reports", json=body)


@pytest.fixture
def portal_server(home: Path) -> Iterator[PortalServer]:
    server = PortalServer(home)
    yield server
    server.stop()
