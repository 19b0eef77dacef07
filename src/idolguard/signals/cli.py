"""``idolguard bank ...``, ``idolguard match``, ``idolguard hashes export|import``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from idolguard.cli_support import console, emit_json, fail, home_option, open_workspace
from idolguard.errors import IdolGuardError

bank_app = typer.Typer(help="Hash banks: known abuse, negative (official media), partner lists.", no_args_is_help=True)
hashes_app = typer.Typer(
    help="Exchange hash lists with platforms and partners (no media leaves).", no_args_is_help=True
)


def _entry_arg() -> Any:
    return typer.Argument(None, help="Entry id (omit to act on the whole bank).")


@bank_app.command("create")
def bank_create(
    name: str = typer.Argument(...),
    kind: str = typer.Option(..., "--kind", help="known_abuse | negative | partner"),
    threshold: int = typer.Option(31, "--threshold", help="PDQ match distance in bits (Meta default 31)."),
    description: str = typer.Option(None, "--description"),
    home: Path = home_option(),
) -> None:
    """Create a bank."""
    from idolguard.signals.banks import create_bank

    ws = open_workspace(home)
    try:
        create_bank(ws, name, kind, threshold, description)
    except IdolGuardError as exc:
        fail(str(exc))
    console.print(f"bank {name} created ({kind}, PDQ threshold {threshold})")


@bank_app.command("list")
def bank_list(json_out: bool = typer.Option(False, "--json"), home: Path = home_option()) -> None:
    """List banks with entry and match counts."""
    from idolguard.incidents.sync import sync
    from idolguard.signals.banks import list_banks

    ws = open_workspace(home)
    sync(ws)
    banks = list_banks(ws)
    if json_out:
        for bank in banks:
            emit_json(bank)
        return
    table = Table(title="hash banks")
    for column in ("name", "kind", "enabled", "threshold", "entries", "matches"):
        table.add_column(column)
    for b in banks:
        table.add_row(
            b["name"],
            b["kind"],
            "yes" if b["enabled"] else "no",
            str(b["pdq_threshold"]),
            str(b["entries"]),
            str(b["matches"]),
        )
    from rich.console import Console

    Console().print(table)


@bank_app.command("add")
def bank_add(
    name: str = typer.Argument(...),
    paths: list[Path] = typer.Argument(..., help="Files or folders: ingested as evidence, then hashed."),
    case: str = typer.Option(None, "--case", help="Case reference recorded as the entries' provenance."),
    json_out: bool = typer.Option(False, "--json"),
    home: Path = home_option(),
) -> None:
    """Add files to a bank: they are preserved as evidence and their reference-exact signals become entries."""
    from idolguard.intake.ingest import Ingestor, SightingInfo
    from idolguard.pipeline.runner import analyze
    from idolguard.signals.banks import add_entries, get_bank
    from idolguard.signals.entries import entries_for_item

    ws = open_workspace(home)
    with ws.sessions() as session:
        try:
            get_bank(session, name)
        except IdolGuardError as exc:
            fail(str(exc))
    results = list(Ingestor(ws, SightingInfo(note=f"added to bank {name}")).ingest(paths))
    stored = [r for r in results if r.sha256 and not r.error]
    analyze(ws, list(dict.fromkeys(r.sha256 for r in stored if r.sha256)), stage_names=["signals"])
    failures = 0
    for result in results:
        out: dict[str, Any] = {"path": result.path, "sha256": result.sha256, "error": result.error, "entries": []}
        if result.sha256 and not result.error:
            try:
                entries, notes = entries_for_item(ws, result.sha256, case)
                report = add_entries(ws, name, entries, event_details={"item": result.sha256, "case": case})
                out.update({"entries": report.added, "duplicates": report.duplicates, "notes": notes})
            except IdolGuardError as exc:
                out["error"] = str(exc)
        failures += out["error"] is not None
        if json_out:
            emit_json(out)
        else:
            status = f"[red]{out['error']}[/]" if out["error"] else f"{len(out['entries'])} entries"
            extra = f" ({'; '.join(out.get('notes') or [])})" if out.get("notes") else ""
            console.print(f"{(result.sha256 or '-')[:16]}  {status}{extra}  {result.path}", highlight=False)
    if failures:
        raise typer.Exit(1)


@bank_app.command("add-hashes")
def bank_add_hashes(
    name: str = typer.Argument(...),
    file: Path = typer.Argument(..., exists=True, dir_okay=False),
    fmt: str = typer.Option("threatexchange", "--format", help="threatexchange | stopncii-json | csv"),
    partner: str = typer.Option(None, "--partner", help="Who supplied the list (provenance)."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Import the valid lines even if some are bad."),
    json_out: bool = typer.Option(False, "--json"),
    home: Path = home_option(),
) -> None:
    """Add hashes from a list file (same as `hashes import`)."""
    _import(name, file, fmt, partner, skip_invalid, json_out, home)


def _import(
    name: str, file: Path, fmt: str, partner: str | None, skip_invalid: bool, json_out: bool, home: Path
) -> None:
    from idolguard.signals.exchange import import_file

    ws = open_workspace(home)
    try:
        report = import_file(ws, file, name, fmt, partner=partner, skip_invalid=skip_invalid)
    except IdolGuardError as exc:
        fail(str(exc))
        return
    summary = {
        "file": str(file),
        "bank": name,
        "format": fmt,
        "imported": report.imported,
        "valid": report.valid,
        "added": len(report.added) if isinstance(report.added, list) else report.added,
        "duplicates": report.duplicates,
        "rejected": report.rejected_count,
        "rejections": [{"line": r.line, "reason": r.reason} for r in report.rejected],
    }
    if json_out:
        emit_json(summary)
    else:
        for rejection in report.rejected:
            console.print(f"[red]line {rejection.line}:[/] {rejection.reason}", highlight=False)
        if report.rejected_count > len(report.rejected):
            console.print(f"... and {report.rejected_count - len(report.rejected)} more rejected lines")
        if report.imported:
            console.print(
                f"imported {summary['added']} new entries into {name} "
                f"({summary['duplicates']} already present, {report.rejected_count} rejected)"
            )
        else:
            console.print(f"[red]nothing imported[/]: {report.rejected_count} bad line(s) (use --skip-invalid)")
    if not report.imported:
        raise typer.Exit(1)


def _entry_action(name: str, entry: int | None, home: Path, action: str) -> None:
    from idolguard.signals.banks import remove, set_enabled

    ws = open_workspace(home)
    try:
        if action == "remove":
            count = remove(ws, name, entry)
            console.print(
                f"removed {count} entr{'y' if count == 1 else 'ies'}" + ("" if entry else f" and bank {name}")
            )
        else:
            set_enabled(ws, name, entry, action == "enable")
            console.print(f"{action}d {'entry ' + str(entry) if entry else 'bank ' + name}")
    except IdolGuardError as exc:
        fail(str(exc))


@bank_app.command("remove")
def bank_remove(name: str = typer.Argument(...), entry: int = _entry_arg(), home: Path = home_option()) -> None:
    """Delete one entry, or the bank and all its entries (recorded in the ledger)."""
    _entry_action(name, entry, home, "remove")


@bank_app.command("disable")
def bank_disable(name: str = typer.Argument(...), entry: int = _entry_arg(), home: Path = home_option()) -> None:
    """Stop matching a bank or entry without deleting it."""
    _entry_action(name, entry, home, "disable")


@bank_app.command("enable")
def bank_enable(name: str = typer.Argument(...), entry: int = _entry_arg(), home: Path = home_option()) -> None:
    """Resume matching a disabled bank or entry."""
    _entry_action(name, entry, home, "enable")


def match(
    paths: list[Path] = typer.Argument(..., help="Image or video files (not stored, no ledger event)."),
    json_out: bool = typer.Option(False, "--json"),
    exact: bool = typer.Option(False, "--exact", help="Hash with the reference decode (slower)."),
    home: Path = home_option(),
) -> None:
    """Hash files and match them against the enabled banks, without ingesting anything."""
    from idolguard.intake.paths import display_name
    from idolguard.pipeline.runner import analyze_files
    from idolguard.signals.matcher import merge_face_matches

    ws = open_workspace(home)
    settings = dict(ws.config.raw)
    if exact:
        settings["signals"] = {**(settings.get("signals") or {}), "exact_pdq": True}
    any_match = False
    for analysed in analyze_files(ws, paths, ["match", "face_match"], settings=settings):
        out: dict[str, Any] = {"path": display_name(analysed.path), "sha256": None, "md5": None, "pdq": None}
        out.update({"pdq_quality": None, "matches": [], "error": analysed.error})
        if not out["error"]:
            signals = analysed.outputs.get("signals")
            if analysed.media_type not in ("image", "video"):
                out["error"] = f"not an image or video ({analysed.media_type})"
            elif signals is None or "match" not in analysed.outputs:
                out["error"] = analysed.errors.get("signals") or analysed.errors.get("match") or "not hashed"
            else:
                out.update({k: signals.get(k) for k in ("sha256", "md5", "pdq", "pdq_quality")})
                if signals.get("pdq_note"):
                    out["pdq_note"] = signals["pdq_note"]
                if "vpdq" in signals:
                    out["vpdq"] = signals["vpdq"]
                out["matches"] = analysed.outputs["match"]["matches"]
                face = analysed.outputs.get("face_match")
                if face is not None:
                    out["matches"] = merge_face_matches(out["matches"], face.get("face_matches", []))
        any_match = any_match or bool(out["matches"])
        if json_out:
            emit_json(out)
        else:
            if out["error"]:
                console.print(f"[red]{out['error']}[/]  {out['path']}", highlight=False)
                continue
            described = ", ".join(
                f"{m['bank']}#{m['entry']} ({m['signal']}, d={m['distance']}, {m['transform']})" for m in out["matches"]
            )
            sys.stdout.write(f"{(out['sha256'] or '-')[:16]}  {described or 'no match'}  {out['path']}\n")


@hashes_app.command("export")
def hashes_export(
    bank: str = typer.Option(..., "--bank"),
    fmt: str = typer.Option("threatexchange", "--format", help="threatexchange | stopncii-json | csv"),
    out: Path = typer.Option(..., "--out", help="Destination file (must not exist)."),
    reason: str = typer.Option(None, "--reason", help="Why/for whom (recorded in the ledger)."),
    json_out: bool = typer.Option(False, "--json"),
    home: Path = home_option(),
) -> None:
    """Export a bank's enabled hashes (no media, no file names, no notes)."""
    from idolguard.signals.exchange import export_bank

    ws = open_workspace(home)
    try:
        result = export_bank(ws, bank, fmt, out, reason)
    except FileExistsError:
        fail(f"{out} exists; refusing to overwrite")
        return
    except IdolGuardError as exc:
        fail(str(exc))
        return
    if json_out:
        emit_json(result)
    else:
        console.print(f"wrote {out} ({fmt}): {result['counts']} sha256 {result['sha256'][:16]}…", highlight=False)


@hashes_app.command("import")
def hashes_import(
    file: Path = typer.Argument(..., exists=True, dir_okay=False),
    bank: str = typer.Option(..., "--bank"),
    fmt: str = typer.Option("threatexchange", "--format", help="threatexchange | stopncii-json | csv"),
    partner: str = typer.Option(None, "--partner"),
    skip_invalid: bool = typer.Option(False, "--skip-invalid"),
    json_out: bool = typer.Option(False, "--json"),
    home: Path = home_option(),
) -> None:
    """Import a hash list into a bank: every bad line is reported; with any bad line nothing is imported."""
    _import(bank, file, fmt, partner, skip_invalid, json_out, home)


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    app.add_typer(bank_app, name="bank")
    app.add_typer(hashes_app, name="hashes")
    app.command("match")(match)
