"""CLI conventions every command follows (issue 11 §5, §9): exit codes, stdout vs stderr, --json and tables,
plain help text, hash prefixes, times in the display time zone, init's promises."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from idolguard.cli import app
from idolguard.exit_codes import ExitCode
from tests.conftest import jpeg_bytes


def _help(*path: str) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], env={"TERMINAL_WIDTH": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_help_keeps_brackets_groups_commands_and_shows_no_bool_metavar():
    top = _help()
    assert "pip install -e '.[train]'" in top  # Rich markup would eat "[train]"
    for panel in ("Workspace and evidence", "Intake and analysis", "Artists, banks and incidents", "Models"):
        assert panel in top
    assert "[faces.matching]" in _help("calibrate", "faces")
    scan_help = _help("scan")
    assert "<bool>" not in scan_help and "<bool>" not in top
    assert "--json" in scan_help


def test_scan_and_ingest_sighting_options_have_the_same_help():
    from typer.main import get_command

    root = get_command(app)
    helps = {}
    for name in ("scan", "ingest"):
        helps[name] = {p.name: p.help for p in root.commands[name].params if p.name in _SIGHTING}
    assert helps["scan"] == helps["ingest"] and set(helps["scan"]) == _SIGHTING
    assert all(helps["scan"].values())
    seen_at = helps["scan"]["seen_at"]
    assert "time zone" in seen_at and "required" in seen_at and "+09:00" in seen_at


_SIGHTING = {"source_url", "platform", "account", "seen_at", "note"}


def test_exit_codes_follow_the_table(cli, tmp_path, home, monkeypatch):
    (tmp_path / "a.jpg").write_bytes(jpeg_bytes(1))
    missing = tmp_path / "missing.jpg"
    for command in ("scan", "ingest"):
        result = cli(command, tmp_path / "a.jpg", missing, ok=False)
        assert result.exit_code == ExitCode.ITEMS_FAILED, (command, result.output)
    assert cli("scan", tmp_path / "a.jpg").exit_code == ExitCode.OK
    assert cli("scan", "--workers", "0", tmp_path, ok=False).exit_code == ExitCode.USAGE
    assert cli("log", "zz", ok=False).exit_code == ExitCode.USAGE
    assert cli("verify").exit_code == ExitCode.OK
    # Tamper with a stored object: verify must say 3, not 1.
    objects = [p for p in (home / "vault" / "objects").rglob("*") if p.is_file()]
    target = objects[0]
    target.chmod(0o644)
    target.write_bytes(b"tampered")
    assert cli("verify", ok=False).exit_code == ExitCode.INTEGRITY
    monkeypatch.setenv("IDOLGUARD_HOME", str(tmp_path / "nowhere"))
    missing_ws = cli("scan", tmp_path / "a.jpg", ok=False)
    assert missing_ws.exit_code == ExitCode.WORKSPACE and "idolguard init" in missing_ws.stderr


def test_results_on_stdout_diagnostics_on_stderr(cli, tmp_path):
    (tmp_path / "a.jpg").write_bytes(jpeg_bytes(1))
    ingest = cli("ingest", tmp_path / "a.jpg")
    assert "stored" in ingest.stdout and "1 stored, 0 errors" in ingest.stderr
    json_lines = cli("scan", tmp_path / "a.jpg", "--json").stdout.splitlines()
    assert all(json.loads(line) for line in json_lines)  # nothing else on stdout
    verify = cli("verify")
    assert "OK:" in verify.stdout and verify.stderr == ""
    log = cli("log")
    assert "ingest" in log.stdout and log.stderr == ""
    errors = cli("log", "zz", ok=False)
    assert errors.stdout == "" and "error:" in errors.stderr


def test_piped_tables_are_not_wrapped(cli, tmp_path):
    deep = tmp_path / ("a-rather-long-folder-name-" * 4) / "another-long-sub-folder"
    deep.mkdir(parents=True)
    (deep / "file-with-a-long-name.jpg").write_bytes(jpeg_bytes(4))
    table = cli("scan", deep).stdout
    assert str(deep / "file-with-a-long-name.jpg") in table  # one line, whole path, whatever the width
    assert max(len(line) for line in table.splitlines()) > 120


def test_every_list_command_has_json_lines_and_a_table(cli, tmp_path):
    (tmp_path / "a.jpg").write_bytes(jpeg_bytes(1))
    cli("scan", tmp_path / "a.jpg")
    cli("bank", "create", "abuse", "--kind", "known_abuse")
    for command in (
        ["stages"],
        ["log"],
        ["bank", "list"],
        ["bank", "show", "abuse"],
        ["artists", "list"],
        ["incidents", "list"],
        ["capture", "list"],
    ):
        rows = cli(*command, "--json").stdout.splitlines()
        assert all(isinstance(json.loads(row), dict) for row in rows), command
        assert cli(*command).exit_code == 0, command
    stages = [json.loads(r) for r in cli("stages", "--json").stdout.splitlines()]
    assert {"probe", "signals"} <= {s["stage"] for s in stages}
    assert next(s for s in stages if s["stage"] == "probe")["results"] == 1  # counted in this workspace


def test_stages_accepts_home(cli, home, tmp_path, monkeypatch):
    monkeypatch.setenv("IDOLGUARD_HOME", str(tmp_path / "elsewhere"))
    (tmp_path / "a.jpg").write_bytes(jpeg_bytes(1))
    cli("scan", tmp_path / "a.jpg", "--home", home)
    rows = [json.loads(r) for r in cli("stages", "--home", home, "--json").stdout.splitlines()]
    assert next(r for r in rows if r["stage"] == "probe")["results"] == 1
    assert cli("stages", "--home", tmp_path / "nowhere", ok=False).exit_code == ExitCode.WORKSPACE


def _colliding_prefix_files(folder: Path) -> tuple[Path, Path, str]:
    """Two small files whose SHA-256 share their first 8 hex characters (found by a birthday search)."""
    seen: dict[str, bytes] = {}
    counter = 0
    while True:
        data = b"idolguard prefix test %d" % counter
        prefix = hashlib.sha256(data).hexdigest()[:8]
        if prefix in seen:
            a, b = folder / "one.bin", folder / "two.bin"
            a.write_bytes(seen[prefix])
            b.write_bytes(data)
            return a, b, prefix
        seen[prefix] = data
        counter += 1


def test_hash_prefixes_work_everywhere_and_ambiguity_is_clear(cli, tmp_path):
    (tmp_path / "a.jpg").write_bytes(jpeg_bytes(2))
    sha = cli.json_lines("ingest", tmp_path / "a.jpg", "--json")[0]["sha256"]
    out = tmp_path / "copy.jpg"
    cli("export", sha[:8], "--out", out, "--reason", "prefix test")
    assert out.read_bytes() == (tmp_path / "a.jpg").read_bytes()
    assert cli.json_lines("log", sha[:12], "--json")[-1]["item"] == sha
    one, two, prefix = _colliding_prefix_files(tmp_path)
    cli("ingest", one, two, ok=False)
    for command in (["log", prefix], ["export", prefix, "--out", tmp_path / "x", "--reason", "r"]):
        result = cli(*command, ok=False)
        assert result.exit_code == ExitCode.USAGE and "ambiguous" in result.stderr, command
    unknown = cli("export", "0123456789abcdef", "--out", tmp_path / "y", "--reason", "r", ok=False)
    assert unknown.exit_code == ExitCode.USAGE and "no item" in unknown.stderr
    assert cli("log", sha[:7], ok=False).exit_code == ExitCode.USAGE  # fewer than 8 characters
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_times_shown_in_the_display_time_zone_and_iso_in_json(cli, tmp_path, home, monkeypatch):
    (tmp_path / "a.jpg").write_bytes(jpeg_bytes(1))
    cli("ingest", tmp_path / "a.jpg")
    event = cli.json_lines("log", "--json")[0]
    assert event["ts"].endswith("Z") or "+00:00" in event["ts"]
    assert "KST" in cli("log").stdout  # default Asia/Seoul
    config = home / "config.toml"
    config.write_text(config.read_text().replace('timezone = "Asia/Seoul"', 'timezone = "UTC"'))
    assert " UTC " in cli("log").stdout
    monkeypatch.setenv("IDOLGUARD_TIMEZONE", "Mars/Olympus")
    bad = cli("log", ok=False)
    assert bad.exit_code == ExitCode.WORKSPACE and "time zone" in bad.stderr


def test_init_creates_what_readme_promises(tmp_path, monkeypatch):
    monkeypatch.delenv("IDOLGUARD_DB_URL", raising=False)
    home = tmp_path / "new"
    result = CliRunner().invoke(app, ["init", "--home", str(home)])
    assert result.exit_code == 0, result.output
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    promised = next(line for line in readme.splitlines() if line.startswith("idolguard init "))
    for name in ("config.toml", "idolguard.db", "vault", "keys", "ledger.jsonl"):
        assert name in promised and (home / name).exists(), name


def test_readme_log_example_and_setup_target_are_true():
    """Tryout #17: the README's ``idolguard log`` example is a prefix the CLI accepts (not a 6-character one)
    and the quick start names ``make setup``, a real Makefile target."""
    from idolguard.cli_support import MIN_PREFIX

    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text(encoding="utf-8")
    line = next(line for line in readme.splitlines() if line.startswith("idolguard log "))
    example = line.split()[2]
    assert all(c in "0123456789abcdef" for c in example) and len(example) >= MIN_PREFIX, line
    assert f"{MIN_PREFIX}+" in line or f"at least {MIN_PREFIX}" in line, line
    assert any(line.startswith("make setup ") for line in readme.splitlines())
    assert "\nsetup:" in (root / "Makefile").read_text(encoding="utf-8")


def test_help_is_fast_enough_to_import_no_database_layer():
    """``idolguard --help`` must not import SQLAlchemy/alembic/the workspace (timing lives in bench/)."""
    heavy = "('sqlalchemy', 'alembic', 'idolguard.workspace', 'numpy')"
    code = f"import sys, idolguard.cli; print(sorted(m for m in {heavy} if m in sys.modules))"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert loaded.stdout.strip() == "[]", loaded.stdout


@pytest.mark.parametrize("script_outcome", ["installs", "fails"])
def test_system_deps_reports_the_real_outcome(tmp_path, script_outcome):
    """scripts/system-deps.sh: silent when the packages end up installed (even if apt-get exits non-zero, e.g.
    a failing hook), and the package manager's own error when they do not."""
    root = tmp_path / "root"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    create = (
        f"mkdir -p {root}/usr/bin {root}/usr/share/fonts/opentype/noto {root}/usr/share/fonts/truetype/dejavu\n"
        f"touch {root}/usr/bin/chromium {root}/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc\n"
        f"chmod +x {root}/usr/bin/chromium\n"
        'echo "E: Sub-process /usr/bin/dpkg returned an error code (1)" >&2\nexit 100\n'
    )
    fail = 'echo "E: Unable to locate package chromium" >&2\nexit 100\n'
    body = create if script_outcome == "installs" else fail
    fake = bin_dir / "apt-get"
    fake.write_text('#!/bin/sh\n[ "$1" = update ] && exit 0\n' + body)
    fake.chmod(0o755)
    (bin_dir / "sudo").write_text('#!/bin/sh\n[ "$1" = -n ] && shift\nexec "$@"\n')
    (bin_dir / "sudo").chmod(0o755)
    script = Path(__file__).resolve().parents[2] / "scripts" / "system-deps.sh"
    env = {**os.environ, "IDOLGUARD_SYSTEM_ROOT": str(root), "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    result = subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env)
    assert result.returncode == 0
    if script_outcome == "installs":
        assert result.stderr == "", result.stderr
    else:
        assert "could not install" in result.stderr and "Unable to locate package chromium" in result.stderr


def test_hostile_names_cannot_style_or_rewrite_the_terminal(cli, tmp_path):
    name = "evil\x1b]0;title\x07\x1b[2K[bold red]ALL CLEAN.jpg"
    (tmp_path / name).write_bytes(jpeg_bytes(3))
    for command in ("ingest", "scan"):
        shown = cli(command, tmp_path / name).stdout
        assert "\x1b" not in shown and "\x07" not in shown, command
        assert "[bold red]ALL CLEAN" in shown, command  # markup shown as text, not applied
