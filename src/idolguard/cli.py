"""The ``idolguard`` command line. Core commands live here; each area registers its own commands module."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from idolguard import __version__
from idolguard.cli_support import (
    ScanProgress,
    console,
    emit_json,
    fail,
    home_option,
    interactive,
    open_workspace,
    progress_bar,
)
from idolguard.errors import IdolGuardError

app = typer.Typer(
    name="idolguard",
    help="Find, identify, score, preserve and act on deepfakes of protected artists.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Command groups shared by several areas (e.g. ``idolguard eval faces`` and ``idolguard eval detector``).
GROUPS: dict[str, typer.Typer] = {
    "eval": typer.Typer(help="Measure accuracy on labelled data.", no_args_is_help=True),
    "train": typer.Typer(help="Train models (needs the train extra: pip install -e '.[train]').", no_args_is_help=True),
    "calibrate": typer.Typer(help="Recalibrate scores on your own labelled cases.", no_args_is_help=True),
}
for _name, _group in GROUPS.items():
    app.add_typer(_group, name=_name)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"idolguard {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """IdolGuard command line."""


@app.command()
def init(
    home: Path = home_option(),
    encrypt: bool = typer.Option(False, help="Encrypt evidence at rest (AES-256-GCM)."),
    key_file: str = typer.Option("", help="File holding the 64-hex-char vault key (else IDOLGUARD_VAULT_KEY)."),
) -> None:
    """Create a workspace: config, database, vault and the instance signing key."""
    from idolguard.workspace import init_workspace

    try:
        config = init_workspace(home, encrypt=encrypt, key_file=key_file)
    except IdolGuardError as exc:
        fail(str(exc))
    console.print(f"workspace ready at [bold]{config.home}[/] (database: {_safe_url(config.db_url)})")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _sighting_info(
    source_url: str | None, platform: str | None, account: str | None, seen_at: str | None, note: str | None
) -> Any:
    from idolguard.intake.ingest import SightingInfo, parse_seen_at

    try:
        return SightingInfo(source_url, platform, account, parse_seen_at(seen_at), note)
    except IdolGuardError as exc:
        fail(str(exc))


def _count(paths: list[Path]) -> tuple[int, int]:
    from idolguard.intake.paths import walk

    files = size = 0
    for found in walk(paths):
        files += 1
        try:
            size += found.path.stat().st_size
        except OSError:
            pass
    return files, size


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(..., help="Files, folders (recursive) and .zip archives."),
    source_url: str = typer.Option(None, "--source-url", help="Where the media was found."),
    platform: str = typer.Option(None, help="Platform name (e.g. x, telegram)."),
    account: str = typer.Option(None, help="Posting account handle."),
    seen_at: str = typer.Option(None, "--seen-at", help="When it was seen, ISO 8601 with timezone."),
    note: str = typer.Option(None, help="Free-text note recorded with the sighting."),
    json_out: bool = typer.Option(False, "--json", help="One JSON object per file."),
    home: Path = home_option(),
) -> None:
    """Preserve files as evidence items (no analysis beyond probing)."""
    from idolguard.intake.ingest import Ingestor
    from idolguard.pipeline.runner import analyze

    ws = open_workspace(home)
    info = _sighting_info(source_url, platform, account, seen_at, note)
    show = interactive(json_out)
    _files, total_bytes = _count(paths) if show else (0, 0)
    results = []
    with progress_bar(show, "ingest", total_bytes, as_bytes=True) as advance:
        for result in Ingestor(ws, info, on_progress=advance).ingest(paths):
            results.append(result)
    analyze(ws, list(dict.fromkeys(r.sha256 for r in results if r.sha256 and not r.error)), stage_names=["probe"])
    for result in results:
        if json_out:
            emit_json(result.__dict__)
        else:
            status = f"[red]{result.error}[/]" if result.error else ("duplicate" if result.duplicate else "stored")
            console.print(f"{(result.sha256 or '-')[:16]}  {status}  {result.path}", highlight=False)
    if not json_out:
        stored = sum(1 for r in results if r.sha256 and not r.error)
        console.print(f"{stored} stored, {sum(1 for r in results if r.error)} errors")


def _findings(obj: dict[str, Any]) -> str:
    bits = []
    if "faces" in obj and obj["faces"] is not None:
        named = [f.get("artist") for f in obj["faces"] if f.get("decision") == "match"]
        bits.append(f"{len(obj['faces'])} face(s)" + (f": {', '.join(n for n in named if n)}" if named else ""))
    if obj.get("verdict"):
        score = obj.get("manipulation_score")
        bits.append(f"{obj['verdict']}" + (f" ({score:.2f})" if isinstance(score, float) else ""))
    if obj.get("matches"):
        bits.append(f"{len(obj['matches'])} hash match(es)")
    return "; ".join(bits)


def _short_path(path: str | None, width: int = 48) -> str:
    text = str(path or "-")
    try:
        relative = os.path.relpath(text)
        if not relative.startswith(".."):
            text = relative
    except ValueError:
        pass
    return text if len(text) <= width else "…" + text[-(width - 1) :]


def print_table(objects: list[dict[str, Any]]) -> None:
    import sys

    from rich.console import Console

    out = Console() if sys.stdout.isatty() else Console(width=160)
    table = Table(title="IdolGuard scan", show_lines=False)
    for column in ("file", "sha256", "type", "size", "dims", "status", "findings"):
        table.add_column(column, overflow="fold")
    for obj in objects:
        dims = ""
        if obj.get("width"):
            dims = f"{obj['width']}x{obj['height']}"
        if obj.get("duration_s"):
            dims += f" {obj['duration_s']:.1f}s"
        status = "[red]" + obj["error"] + "[/]" if obj.get("error") else ("dup" if obj.get("duplicate") else "ok")
        size = obj.get("size")
        table.add_row(
            _short_path(obj.get("path")),
            (obj.get("sha256") or "-")[:12],
            obj.get("media_type") or "-",
            f"{size:,}" if isinstance(size, int) else "-",
            dims,
            status,
            _findings(obj),
        )
    out.print(table)


@app.command()
def scan(
    paths: list[Path] = typer.Argument(..., help="Files, folders (recursive) and .zip archives."),
    json_out: bool = typer.Option(False, "--json", help="One JSON object per file per line."),
    report: Path = typer.Option(None, "--report", help="Write a self-contained HTML report here."),
    source_url: str = typer.Option(None, "--source-url"),
    platform: str = typer.Option(None),
    account: str = typer.Option(None),
    seen_at: str = typer.Option(None, "--seen-at"),
    note: str = typer.Option(None),
    workers: int = typer.Option(1, min=1, help="Worker processes for analysis."),
    home: Path = home_option(),
) -> None:
    """Ingest and run every available analysis stage; one row (or JSON object) per file."""
    from idolguard.pipeline.scan import scan_paths
    from idolguard.report.html import write_report

    ws = open_workspace(home)
    info = _sighting_info(source_url, platform, account, seen_at, note)
    show = interactive(json_out)
    total_files, total_bytes = _count(paths) if show else (0, 0)
    with ScanProgress(show, total_bytes, total_files) as progress:
        objects = scan_paths(
            ws,
            paths,
            info,
            workers=workers,
            on_ingested=progress.ingested,
            on_analysis_start=progress.analysis_started,
            on_analyzed=progress.analysed,
        )
    if json_out:
        for obj in objects:
            emit_json(obj)
    else:
        print_table(objects)
    if report is not None:
        digest = write_report(ws, objects, report)
        console.print(f"report: {report.resolve()} (sha256 {digest[:16]}…)", highlight=False)


@app.command()
def verify(
    json_out: bool = typer.Option(False, "--json"),
    skip_objects: bool = typer.Option(False, "--skip-objects", help="Check only the ledger (fast)."),
    expect_head: str = typer.Option(
        None, "--expect-head", help="SEQ:HASH of a head recorded earlier (e.g. in a report); it must still be there."
    ),
    home: Path = home_option(),
) -> None:
    """Re-hash every vault object and walk the whole custody ledger. Exit 0 only if all checks pass."""
    from idolguard.evidence.verify import verify_workspace

    expected: tuple[int, str] | None = None
    if expect_head:
        seq_text, _, hash_text = expect_head.partition(":")
        if not seq_text.isdigit() or len(hash_text) != 64:
            fail("--expect-head takes SEQ:HASH, e.g. 41:3f2a… (64 hex characters)")
        expected = (int(seq_text), hash_text.lower())
    ws = open_workspace(home)
    report = verify_workspace(ws, objects=not skip_objects, expect_head=expected)
    # Record that a verification happened (after checking, so the check never includes its own entry).
    with ws.write() as (_session, ledger):
        ledger.append(
            "verify",
            details={
                "ok": report.ok,
                "objects_checked": report.objects_checked,
                "entries_checked": report.entries_checked,
                "problems": len(report.problems),
                "head_seq": report.head_seq,
                "head_hash": report.head_hash,
            },
        )
    if json_out:
        emit_json(report.as_dict())
    else:
        for problem in report.problems:
            console.print(f"[red]BAD[/] {problem.where} {problem.ref}: {problem.message}", highlight=False)
        for warning in report.warnings:
            console.print(f"[yellow]warn[/] {warning.where} {warning.ref}: {warning.message}", highlight=False)
        verdict = "[green]OK[/]" if report.ok else f"[red]FAILED ({len(report.problems)} problems)[/]"
        console.print(
            f"{verdict}: {report.objects_checked} objects re-hashed, {report.entries_checked} ledger entries and "
            f"{report.mirror_lines_checked} mirror lines checked; head seq {report.head_seq} "
            f"hash {report.head_hash}",
            highlight=False,
        )
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def log(
    sha256: str = typer.Argument(None, help="Item hash (full or a unique prefix of at least 8 characters)."),
    json_out: bool = typer.Option(False, "--json"),
    limit: int = typer.Option(0, help="Show only the last N events (0 = all)."),
    home: Path = home_option(),
) -> None:
    """The custody events (who, what, when, why) for one item or for the whole workspace."""
    from sqlalchemy import select

    from idolguard.db.models import Item, LedgerEntry

    ws = open_workspace(home)
    with ws.sessions() as session:
        query = select(LedgerEntry).order_by(LedgerEntry.seq)
        if sha256:
            sha256 = sha256.lower()
            if len(sha256) < 8:
                fail("give at least 8 characters of the hash")
            matches = session.execute(select(Item.sha256).where(Item.sha256.startswith(sha256))).scalars().all()
            if len(matches) > 1:
                fail(f"prefix {sha256} is ambiguous ({len(matches)} items)")
            full = matches[0] if matches else sha256
            query = query.where(LedgerEntry.item_sha256 == full)
        entries = session.execute(query).scalars().all()
    if sha256 and not entries:
        fail(f"no custody events for {sha256}")
    if limit:
        entries = entries[-limit:]
    import json as _json

    for entry in entries:
        record = _json.loads(entry.line)
        if json_out:
            emit_json(record)
        else:
            details = ", ".join(f"{k}={v}" for k, v in record["details"].items() if v not in (None, "", [], {}))
            item = (record["item"] or "-")[:16]
            console.print(
                f"#{record['seq']:<6} {record['ts']}  {record['actor']:<20} {record['action']:<9} {item}  {details}",
                highlight=False,
                soft_wrap=True,
            )


@app.command()
def export(
    sha256: str = typer.Argument(..., help="Item or derived-object hash."),
    out: Path = typer.Option(..., "--out", help="Destination file (must not exist)."),
    reason: str = typer.Option(..., "--reason", help="Why it is exported (recorded in the ledger)."),
    home: Path = home_option(),
) -> None:
    """Write the original bytes of a stored object to a file, recording who exported it and why."""
    ws = open_workspace(home)
    if out.exists():
        fail(f"{out} exists; refusing to overwrite")
    try:
        ws.vault.export(sha256, out)
    except (IdolGuardError, ValueError) as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or exc}")
    with ws.write() as (_session, ledger):
        ledger.append("export", item=sha256, details={"kind": "original", "path": str(out), "reason": reason})
    console.print(f"exported {sha256[:16]}… to {out}")


@app.command()
def stages() -> None:
    """List analysis stages with their versions and whether they can run here."""
    from idolguard.pipeline.registry import all_stages, import_problems

    table = Table(title="analysis stages")
    for column in ("stage", "version", "needs", "produces", "status"):
        table.add_column(column)
    for stage in all_stages():
        reason = stage.unavailable_reason()
        table.add_row(
            stage.name,
            stage.version,
            ", ".join(stage.needs),
            ", ".join(stage.produces),
            "[green]available[/]" if reason is None else f"[yellow]{reason}[/]",
        )
    for spec, problem in import_problems().items():
        table.add_row(spec, "-", "", "", f"[red]cannot import: {problem}[/]")
    from rich.console import Console

    Console().print(table)


@app.command("vault-key")
def vault_key() -> None:
    """Print a new random 256-bit vault key (hex). Store it outside the workspace; never commit it."""
    typer.echo(os.urandom(32).hex())


@app.command()
def demo(
    home: Path = home_option(),
    out: Path = typer.Option(None, help="Where to write the generated demo media (default HOME/demo-media)."),
) -> None:
    """Set up a workspace, generate benign demo media, scan it and write an HTML report."""
    from idolguard.demo import make_demo_media
    from idolguard.workspace import init_workspace

    try:
        config = init_workspace(home)
    except IdolGuardError as exc:
        fail(str(exc))
    media_dir = out or (config.home / "demo-media")
    paths = make_demo_media(media_dir)
    console.print(f"demo media: {len(paths)} files in {media_dir}")
    scan(
        paths=[media_dir],
        json_out=False,
        report=config.reports_dir / "demo-report.html",
        source_url=None,
        platform="demo",
        account=None,
        seen_at=None,
        note="generated demo media",
        workers=1,
        home=config.home,
    )


def _register_area_commands() -> None:
    """Add every area's commands (declared in its ``Area``); an area whose command module cannot be imported
    (an optional dependency missing) only loses its own commands, listed by ``idolguard stages``."""
    from idolguard.registry import command_registrars

    for area_name, commands in command_registrars():
        if isinstance(commands, typer.Typer):
            if not commands.info.name:
                raise TypeError(f"area {area_name}: a Typer app given as commands needs a name")
            app.add_typer(commands)
        else:
            commands(app, GROUPS)


_register_area_commands()


def main() -> None:
    try:
        app()
    except IdolGuardError as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise SystemExit(2) from exc


if __name__ == "__main__":
    main()
