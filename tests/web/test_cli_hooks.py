"""The command line and the web app share one workspace: ``idolguard init`` creates the first administrator
(one-time login printed once), and items scanned by the CLI reach the triage queue without ``serve``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from idolguard.web.models import Review, User
from idolguard.workspace import Workspace

from .conftest import media_file


def test_init_creates_the_first_admin_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from idolguard.cli import app

    monkeypatch.delenv("IDOLGUARD_DB_URL", raising=False)
    home = tmp_path / "ws"
    result = CliRunner().invoke(app, ["init", "--home", str(home)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    password = re.search(r"one-time password \(change at first sign-in\): (\S+)", result.output)
    uri = re.search(r"TOTP setup URI \(add it to an authenticator app\): (otpauth://\S+)", result.output)
    assert password and uri and "user: admin" in result.output
    ws = Workspace.open(home)
    try:
        with ws.sessions() as session:
            [admin] = list(session.scalars(select(User)))
        assert admin.name == "admin" and admin.role == "admin" and admin.must_change_password
        from idolguard.web import security

        assert security.verify_password(admin.password_hash, password.group(1))
        # `serve` then finds the account and prints no password; a second creation attempt makes nothing.
        from idolguard.web.accounts import ensure_first_admin

        assert ensure_first_admin(ws) is None
    finally:
        ws.close()
    assert password.group(1) not in (home / "config.toml").read_text()


def test_items_scanned_by_the_cli_are_in_the_triage_queue(cli, home: Path, tmp_path: Path) -> None:
    files = [media_file(tmp_path / "in", f"m{i}.jpg", i) for i in range(3)]
    lines = cli.json_lines("scan", *map(str, files), "--json")
    shas = {line["sha256"] for line in lines if line.get("sha256")}
    assert len(shas) == 3
    ws = Workspace.open(home)
    try:
        with ws.sessions() as session:
            rows = {r.item_sha256: r for r in session.scalars(select(Review))}
        assert set(rows) == shas  # no `serve` needed
        assert all(r.status == "new" and r.version == 1 and r.risk > 0 for r in rows.values())
        # A re-scan refreshes the projection but keeps the team's decision.
        from idolguard.web.roles import Principal
        from idolguard.web.triage import decide

        sha = sorted(shas)[0]
        decide(ws, Principal(1, "ana", "analyst", ()), sha, "authentic", 1)
    finally:
        ws.close()
    cli("scan", *map(str, files), "--json")
    ws = Workspace.open(home)
    try:
        with ws.sessions() as session:
            assert session.get(Review, sha).status == "authentic"
    finally:
        ws.close()


def test_official_reference_photos_are_not_triage_suspects(cli, home: Path, tmp_path: Path) -> None:
    """``artists official add`` files are reference material: never listed in triage, also where a triage
    row was made for them earlier (excluded when the queue is read, no row or evidence rewritten)."""
    from idolguard.faces.detector import get_detector
    from idolguard.faces.models import ModelUnavailable
    from idolguard.web.roles import Principal
    from idolguard.web.triage import Filters, queue, sync_missing, sync_reviews
    from tests.conftest import astronaut
    from tests.signals.helpers import save_jpeg

    try:
        get_detector()
    except ModelUnavailable as exc:
        pytest.skip(f"face detector model unavailable: {exc}")
    refs = tmp_path / "refs"
    refs.mkdir()
    save_jpeg(astronaut().crop((40, 0, 480, 440)), refs / "ref.jpg", quality=92)
    cli("artists", "add", "Han Yuri", "--photos", refs)
    official = save_jpeg(astronaut(), tmp_path / "official.jpg", quality=95)
    [added, _summary] = cli.json_lines("artists", "official", "add", "Han Yuri", official, "--json")
    suspect = media_file(tmp_path / "in", "s.jpg", 1)
    [scanned] = cli.json_lines("scan", str(suspect), "--json")
    admin = Principal(1, "root", "admin", ())
    ws = Workspace.open(home)
    try:
        sync_missing(ws)
        sync_reviews(ws, [added["sha256"]])  # as a workspace made before this rule would hold it
        with ws.sessions() as session:
            assert session.get(Review, added["sha256"]) is not None
        for status in ("open", "all", "new"):
            listed = {r.item_sha256 for r in queue(ws, admin, Filters(status=status))[0]}
            assert scanned["sha256"] in listed and added["sha256"] not in listed, status
    finally:
        ws.close()
    # Taken out of the collection, it is an ordinary item again and triage lists it.
    cli("artists", "official", "remove", "Han Yuri", added["sha256"], "--reason", "not ours")
    ws = Workspace.open(home)
    try:
        assert added["sha256"] in {r.item_sha256 for r in queue(ws, admin, Filters(status="all"))[0]}
    finally:
        ws.close()
