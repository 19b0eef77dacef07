"""``portal queue`` printed the report categories as codes (``ai_deepfake x2``) in a Korean line: they are now
named as the portal's form names them, in the command's language; ``--json`` keeps the codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.portal.conftest import PortalServer, report


def test_queue_names_categories_in_the_readers_language(home: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    server = PortalServer(home)
    try:
        with server.client() as a, server.client() as b:
            assert report(a, ["https://x.com/someone/status/1"]).status_code == 201
            assert (
                report(b, ["https://x.com/someone/status/1"], category="leak", reporter_token="b" * 20).status_code
                == 201
            )
    finally:
        server.stop()
    monkeypatch.setenv("IDOLGUARD_LANG", "ko")
    line = cli("portal", "queue").stdout
    assert "AI 딥페이크·성적 합성물 x1" in line and "개인정보 유출 x1" in line
    assert "ai_deepfake" not in line and "leak" not in line
    monkeypatch.setenv("IDOLGUARD_LANG", "en")
    assert "Leak of private information x1" in cli("portal", "queue").stdout
    assert cli.json_lines("portal", "queue", "--json")[0]["categories"] == {"ai_deepfake": 1, "leak": 1}
