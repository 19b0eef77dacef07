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
from idolguard.config import default_home
from idolguard.display import safe_markup
from idolguard.errors import IdolGuardError
from idolguard.evidence.actions import Action


def _after_command(*_args: Any, **_kwargs: Any) -> None:
    """After any command that recorded custody events (artists, banks, captures, incidents... included),
    anchor the ledger head with the configured TSAs, or say that it could not be timestamped."""
    from idolguard.cli_support import opened_workspaces

    for ws in opened_workspaces():
        if not ws.read_only and ws.wrote:
            try:
                _finish_writes(ws)
            except Exception as exc:  # noqa: BLE001 - the command's work is done and committed; say so
                console.print(
                    f"[yellow]warn[/] the ledger head could not be anchored: {safe_markup(exc)}", highlight=False
                )


app = typer.Typer(
    name="idolguard",
    help="Find, identify, score, preserve and act on deepfakes of protected artists.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    result_callback=_after_command,
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
    from idolguard.cli_support import opened_workspaces

    opened_workspaces()  # start clean: a command that exited early leaves nothing for this one


@app.command()
def init(
    home: Path = home_option(),
    encrypt: bool = typer.Option(False, help="Encrypt evidence at rest (AES-256-GCM)."),
    key_file: str = typer.Option("", help="File holding the 64-hex-char vault key (else IDOLGUARD_VAULT_KEY)."),
    signing_key_file: str = typer.Option(
        "",
        "--signing-key-file",
        help="Create the private signing key here, outside the workspace (recommended: whoever can write the "
        "workspace then cannot re-sign history). Encrypted when IDOLGUARD_SIGNING_KEY_PASSPHRASE is set.",
    ),
) -> None:
    """Create a workspace: config, database, vault and the instance signing key."""
    from idolguard.evidence.keys import ENV_KEY_FILE, ENV_PASSPHRASE, PRIVATE_NAME
    from idolguard.exit_codes import ExitCode
    from idolguard.workspace import init_workspace

    try:
        config = init_workspace(home, encrypt=encrypt, key_file=key_file, signing_key_file=signing_key_file)
    except IdolGuardError as exc:
        fail(str(exc), ExitCode.WORKSPACE)
    console.print(
        f"workspace ready at [bold]{safe_markup(config.home)}[/] (database: {safe_markup(_safe_url(config.db_url))})"
    )
    inside = config.keys_dir / PRIVATE_NAME
    if not signing_key_file and not os.environ.get(ENV_KEY_FILE) and inside.exists():
        console.print(
            f"[yellow]note:[/] the private signing key is inside the workspace ({safe_markup(inside)}). Anyone who "
            "can write the workspace can then re-sign its history. Keep it elsewhere: move it and set "
            f"{ENV_KEY_FILE} (or [keys] signing_key_file), or create workspaces with --signing-key-file PATH; "
            f"set {ENV_PASSPHRASE} to encrypt it.",
            highlight=False,
        )
    tsa = config.section("capture").get("tsa_urls") or []
    if not tsa:
        console.print(
            "[yellow]note:[/] no RFC 3161 timestamping service configured ([capture] tsa_urls): captures and "
            "the ledger head will not be timestamped.",
            highlight=False,
        )


def _open_to_sign(home: Path | None) -> Any:
    """Open the workspace for a command that records custody events: the signing key is loaded up front,
    and long runs anchor the ledger head every ``[ledger] anchor_every`` entries."""
    from idolguard.capture.anchor import anchor_now, announce

    ws = open_workspace(home, signs=True)
    ws.anchor_hook = lambda w: announce(anchor_now(w))
    return ws


def _finish_writes(ws: Any) -> None:
    """End of a command that wrote custody events: anchor the ledger head with the configured TSAs when due,
    and say so plainly when it could not be timestamped."""
    from idolguard.capture.anchor import anchor_if_due, announce

    announce(anchor_if_due(ws))


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

    ws = _open_to_sign(home)
    info = _sighting_info(source_url, platform, account, seen_at, note)
    show = interactive(json_out)
    _files, total_bytes = _count(paths) if show else (0, 0)
    from idolguard.errors import StorageFull
    from idolguard.exit_codes import ExitCode

    results = []
    stopped: str | None = None
    with progress_bar(show, "ingest", total_bytes, as_bytes=True) as advance:
        try:
            for result in Ingestor(ws, info, on_progress=advance).ingest(paths):
                results.append(result)
        except StorageFull as exc:
            stopped = str(exc)
    if stopped is None:
        analyze(ws, list(dict.fromkeys(r.sha256 for r in results if r.sha256 and not r.error)), stage_names=["probe"])
    for result in results:
        if json_out:
            emit_json(result.__dict__)
        else:
            status = (
                f"[red]{safe_markup(result.error)}[/]"
                if result.error
                else ("duplicate" if result.duplicate else "stored")
            )
            console.print(f"{(result.sha256 or '-')[:16]}  {status}  {safe_markup(result.path)}", highlight=False)
    stored = sum(1 for r in results if r.sha256 and not r.error)
    errors = sum(1 for r in results if r.error)
    if not json_out:
        console.print(f"{stored} stored, {errors} errors")
    _finish_writes(ws)
    if stopped:
        console.print(f"[bold red]error:[/] {safe_markup(stopped)}", highlight=False)
    if stopped or errors or not results:
        if not results:
            console.print("[bold red]error:[/] no input file found", highlight=False)
        raise typer.Exit(ExitCode.ITEMS_FAILED)


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
        status = (
            "[red]" + safe_markup(obj["error"]) + "[/]"
            if obj.get("error")
            else ("dup" if obj.get("duplicate") else "ok")
        )
        size = obj.get("size")
        table.add_row(
            safe_markup(_short_path(obj.get("path"))),
            (obj.get("sha256") or "-")[:12],
            obj.get("media_type") or "-",
            f"{size:,}" if isinstance(size, int) else "-",
            dims,
            status,
            safe_markup(_findings(obj)),
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
    from idolguard.exit_codes import ExitCode
    from idolguard.pipeline.scan import scan_paths_checked
    from idolguard.report.html import write_report

    ws = _open_to_sign(home)
    info = _sighting_info(source_url, platform, account, seen_at, note)
    show = interactive(json_out)
    total_files, total_bytes = _count(paths) if show else (0, 0)
    with ScanProgress(show, total_bytes, total_files) as progress:
        outcome = scan_paths_checked(
            ws,
            paths,
            info,
            workers=workers,
            on_ingested=progress.ingested,
            on_analysis_start=progress.analysis_started,
            on_analyzed=progress.analysed,
        )
    objects = outcome.objects
    if json_out:
        for obj in objects:
            emit_json(obj)
    else:
        print_table(objects)
    if report is not None and outcome.stopped is None:
        digest = write_report(ws, objects, report)
        console.print(f"report: {safe_markup(report.resolve())} (sha256 {digest[:16]}…)", highlight=False)
    if outcome.stopped is None:
        _finish_writes(ws)
    else:
        console.print(f"[bold red]error:[/] {safe_markup(outcome.stopped)}", highlight=False)
    # Inputs that could not be preserved make the run a partial failure (exit 1); an analysis stage that
    # failed on a preserved item is a result of its own, shown per item, and does not.
    failed = sum(1 for obj in objects if obj.get("error") and not obj.get("stages"))
    if outcome.stopped or failed or not objects:
        if not objects:
            console.print("[bold red]error:[/] no input file found", highlight=False)
        raise typer.Exit(ExitCode.ITEMS_FAILED)


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
    from idolguard.exit_codes import ExitCode
    from idolguard.workspace import is_writable

    home_path = (home or default_home()).expanduser()
    read_only = not is_writable(home_path)
    ws = open_workspace(home, read_only=read_only)
    report = verify_workspace(ws, objects=not skip_objects, expect_head=expected)
    recorded = False
    if not read_only:
        # Record that a verification happened (after checking, so the check never includes its own entry).
        try:
            with ws.write() as (_session, ledger):
                ledger.append(
                    Action.EVIDENCE_VERIFY,
                    details={
                        "ok": report.ok,
                        "objects_checked": report.objects_checked,
                        "entries_checked": report.entries_checked,
                        "problems": len(report.problems),
                        "head_seq": report.head_seq,
                        "head_hash": report.head_hash,
                    },
                )
            recorded = True
        except Exception as exc:  # noqa: BLE001 - the check's result matters more than recording it
            console.print(
                f"[yellow]warn[/] the verify event could not be recorded: {safe_markup(exc)}", highlight=False
            )
    if json_out:
        emit_json({**report.as_dict(), "read_only": read_only, "verify_event_recorded": recorded})
    else:
        for problem in report.problems:
            console.print(
                f"[red]BAD[/] {problem.where} {safe_markup(problem.ref)}: {safe_markup(problem.message)}",
                highlight=False,
            )
        for warning in report.warnings:
            console.print(
                f"[yellow]warn[/] {warning.where} {safe_markup(warning.ref)}: {safe_markup(warning.message)}",
                highlight=False,
            )
        _print_verify_summary(report, read_only=read_only, recorded=recorded)
    ws.close()
    if not report.ok:
        raise typer.Exit(ExitCode.INTEGRITY)


def _print_verify_summary(report: Any, *, read_only: bool, recorded: bool) -> None:
    for key_range in report.key_ranges:
        console.print(
            f"key {key_range.key_id[:16]}… signed entries {key_range.first_seq}–{key_range.last_seq}", highlight=False
        )
    if report.last_anchor:
        anchor = report.last_anchor
        console.print(
            f"last anchor: entry {anchor['seq']} timestamped {anchor['gen_time']} by {anchor['tokens']} TSA(s); "
            f"{report.unanchored_entries} newer entr{'y' if report.unanchored_entries == 1 else 'ies'} are covered "
            "only by --expect-head",
            highlight=False,
        )
    elif report.head_seq is not None:
        console.print(
            "[yellow]warn[/] no RFC 3161 anchor: removal of the newest entries or re-signing with the instance key "
            "can only be detected with --expect-head",
            highlight=False,
        )
    if report.items_after_last_anchor:
        console.print(
            f"[yellow]warn[/] {report.items_after_last_anchor} item(s) were ingested after the last anchor and "
            "have no trusted timestamp yet",
            highlight=False,
        )
    for capture in report.unstamped:
        console.print(f"[yellow]warn[/] {safe_markup(capture)} has no RFC 3161 timestamp", highlight=False)
    verdict = "[green]OK[/]" if report.ok else f"[red]FAILED ({len(report.problems)} problems)[/]"
    console.print(
        f"{verdict}: {report.objects_checked} objects re-hashed, {report.entries_checked} ledger entries, "
        f"{report.mirror_lines_checked} mirror lines and {report.rows_checked} rows checked; head seq "
        f"{report.head_seq} hash {report.head_hash}",
        highlight=False,
    )
    if read_only:
        console.print("read-only copy: nothing was written (the verify event was not recorded)", highlight=False)
    elif not recorded:
        console.print("the verify event was not recorded", highlight=False)


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

    ws = open_workspace(home, read_only=True)
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
    ws.close()
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
            actor, action = safe_markup(f"{record['actor']:<20}"), safe_markup(f"{record['action']:<9}")
            console.print(
                f"#{record['seq']:<6} {safe_markup(record['ts'])}  {actor} {action} {safe_markup(item)}  "
                f"{safe_markup(details)}",
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
    ws = _open_to_sign(home)
    if out.exists():
        fail(f"{out} exists; refusing to overwrite")
    try:
        ws.vault.export(sha256, out)
    except (IdolGuardError, ValueError) as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or exc}")
    with ws.write() as (_session, ledger):
        ledger.append(
            Action.EVIDENCE_EXPORT, item=sha256, details={"kind": "original", "path": str(out), "reason": reason}
        )
    _finish_writes(ws)
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


key_app = typer.Typer(help="The instance signing key.", no_args_is_help=True)
app.add_typer(key_app, name="key")


@key_app.command("rotate")
def key_rotate(
    reason: str = typer.Option(..., "--reason", help="Why the key changes (recorded in the ledger)."),
    new_key_file: Path = typer.Option(
        None, "--new-key-file", help="Where to create the new private key (default: where the current one is)."
    ),
    home: Path = home_option(),
) -> None:
    """Replace the signing key: the current key signs a ledger.rotate_key entry naming the new one."""
    from idolguard.exit_codes import ExitCode
    from idolguard.workspace import rotate_signing_key

    ws = _open_to_sign(home)
    try:
        new = rotate_signing_key(ws, new_key_file, reason)
    except IdolGuardError as exc:
        fail(str(exc), ExitCode.WORKSPACE)
        return
    _finish_writes(ws)
    console.print(f"signing key rotated: new key id {new.key_id}", highlight=False)
    if new_key_file:
        console.print(
            f"set IDOLGUARD_SIGNING_KEY_FILE={safe_markup(new_key_file)} (or [keys] signing_key_file) from now on",
            highlight=False,
        )


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
