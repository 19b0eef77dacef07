"""Capture fixtures: one local fixture site per test session and the loopback allowlist for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.capture.server import Site, serve


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    servers_dir = tmp_path_factory.mktemp("site")
    state, servers = serve(servers_dir)
    yield state
    for server in servers:
        server.shutdown()


@pytest.fixture
def allow_local(monkeypatch: pytest.MonkeyPatch) -> str:
    """Allow exactly 127.0.0.1 (the fixture site); the 'internal' server on 127.0.0.2 stays forbidden."""
    monkeypatch.setenv("IDOLGUARD_CAPTURE_ALLOW", "127.0.0.1/32")
    return "127.0.0.1/32"


@pytest.fixture
def tmp_dir(tmp_path: Path) -> Path:
    return tmp_path
