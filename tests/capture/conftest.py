"""Capture fixtures: one local fixture site per test session and the loopback allowlist for it."""

from __future__ import annotations

from collections.abc import Iterator

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


@pytest.fixture(scope="session")
def local_tsa(site: Site, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A local RFC 3161 TSA answering POST {site.base}/tsa."""
    from tests.capture.local_tsa import LocalTSA

    tsa = LocalTSA(tmp_path_factory.mktemp("tsa"))
    site.tsa = tsa.respond
    return tsa


@pytest.fixture(scope="session")
def pool() -> Iterator[object]:
    """One headless Chromium for the whole session (launching is the slow part); skipped when not installed."""
    from idolguard.capture.browser import BrowserPool
    from idolguard.capture.settings import CHROMIUM_PATH

    browser_pool = BrowserPool(CHROMIUM_PATH)
    reason = browser_pool.unavailable_reason()
    if reason:
        pytest.skip(reason)
    yield browser_pool
    browser_pool.close()
