"""Benign case fixtures: generated images ingested with sightings on made-up platforms and accounts."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import jpeg_bytes


def ingest_images(
    cli, folder: Path, count: int, *, platform: str = "x", account: str = "@a", start: int = 0
) -> list[str]:  # type: ignore[no-untyped-def]
    folder.mkdir(parents=True, exist_ok=True)
    shas = []
    for i in range(start, start + count):
        path = folder / f"img{i}.jpg"
        path.write_bytes(jpeg_bytes(i))
        rows = cli.json_lines(
            "ingest",
            path,
            "--json",
            "--platform",
            platform,
            "--account",
            account,
            "--seen-at",
            f"2026-11-0{1 + i % 9}T10:00:00Z",
            "--source-url",
            f"https://{platform}.example/p/{i}",
        )
        shas.append(rows[0]["sha256"])
    return shas


def erase_by_decision(cli, monkeypatch, *shas: str) -> str:  # type: ignore[no-untyped-def]
    """Erase ``shas`` the only way IdolGuard erases evidence: a case holding them, closed, and a destruction
    decision approved by two people (alice, then bob; ``IDOLGUARD_ACTOR`` is left as bob). One definition for
    the tests that need an erased item to exist, so they all reach it as a user would. The case number."""
    number: str = cli("cases", "open", "t", "--artist", "A").stdout.strip()
    cli("cases", "add", number, *shas)
    cli("cases", "close", number)
    for approver in ("alice", "bob"):
        monkeypatch.setenv("IDOLGUARD_ACTOR", approver)
        cli("cases", "destroy", number, "--reason", "retention over")
    return number


def set_config_table(home: Path, table: str, body: str) -> None:
    """Replace one ``[table]`` of the workspace config (``init`` writes every table with its defaults)."""
    path = home / "config.toml"
    out, skipping = [], False
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            skipping = stripped == f"[{table}]"
        if not skipping:
            out.append(line)
    path.write_text("\n".join(out) + f"\n\n[{table}]\n{body}\n")
