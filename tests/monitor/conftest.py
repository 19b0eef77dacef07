"""Monitoring fixtures: a fresh fixture site per test (sources change between runs) and the loopback allow-list."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.monitor.fixture_site import FixtureSite, serve


@pytest.fixture
def fsite(monkeypatch: pytest.MonkeyPatch) -> Iterator[FixtureSite]:
    monkeypatch.setenv("IDOLGUARD_CAPTURE_ALLOW", "127.0.0.1/32")
    site, server = serve()
    yield site
    server.shutdown()
