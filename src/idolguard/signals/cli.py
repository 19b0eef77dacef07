"""``idolguard bank ...`` (rename and delete: ``bank_changes.py``), ``idolguard match``,
``idolguard hashes export|import``."""

from __future__ import annotations

import sys
from collections import Counter
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from idolguard.cli_support import (
    N_,
    PANEL_CASEWORK,
    PANEL_INTAKE,
    confirm,
    emit_json,
    exit_for,
    fail,
    home_option,
    json_option,
    new_app,
    open_workspace,
    out,
    print_table,
    safe,
    say,
    shown_time,
    tell,
    tr,
    tr_error,
)
from idolguard.cli_support import out as _stdout
from idolguard.errors import IdolGuardError
from idolguard.exit_codes import ExitCode

bank_app = new_app("Hash banks: known abuse, negative (official media), partner lists.")
hashes_app = new_app("Exchange hash lists with platforms and partners (no media leaves).")


class BankKind(StrEnum):
    """What a bank is for: confirmed abuse to find again, official media never to report, partner lists."""

    known_abuse = "known_abuse"
    negative = "negative"
    partner = "partner"


class HashFormat(StrEnum):
    """Hash-list file formats (see docs/ARCHITECTURE.md)."""

    threatexchange = "threatexchange"
    stopncii_json = "stopncii-json"
    csv = "csv"


# What each entry type of ``bank add`` is, in words a user can check against the files they gave.
ENTRY_MEANING = {
    "sha256": N_("exact file (SHA-256)"),
    "md5": N_("exact file (MD5)"),
    "pdq": N_("whole-image perceptual hash (PDQ)"),
    "pdq_face": N_("face-anchored PDQ (each face at 9 landmark perturbations)"),
    "pdq_inner": N_("inner-face PDQ for source-face attribution (official media, 9 per face)"),
    "vpdq": N_("video perceptual hash (vPDQ)"),
}
# Codes shown translated in tables (--json keeps them).
CODES = (N_("known_abuse"), N_("negative"), N_("partner"), N_("manual"), N_("import"), N_("yes"), N_("no"))


def _entry_arg() -> Any:
    return typer.Argument(None, help="Entry id (omit to act on the whole bank).")


@bank_app.command("create")
def bank_create(
    name: str = typer.Argument(...),
    kind: BankKind = typer.Option(..., "--kind", help="What the bank is for."),
    threshold: int = typer.Option(31, "--threshold", help="PDQ match distance in bits (Meta default 31)."),
    description: str = typer.Option(None, "--description"),
    home: Path = home_option(),
) -> None:
    """Create a bank."""
    from idolguard.signals.banks import create_bank

    ws = open_workspace(home)
    try:
        create_bank(ws, name, kind.value, threshold, description)
    except IdolGuardError as exc:
        fail(exc)
    say("bank {name} created ({kind}, PDQ threshold {threshold})", name=name, kind=tr(kind.value), threshold=threshold)


@bank_app.command("list")
def bank_list(json_out: bool = json_option("One JSON object per bank."), home: Path = home_option()) -> None:
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
    print_table(
        "hash banks",
        ("name", "kind", "enabled", "threshold", "entries", "matches"),
        [
            (
                b["name"],
                tr(b["kind"]),
                tr("yes" if b["enabled"] else "no"),
                b["pdq_threshold"],
                b["entries"],
                b["matches"],
            )
            for b in banks
        ],
    )


@bank_app.command("show")
def bank_show(
    name: str = typer.Argument(...),
    limit: int = typer.Option(0, "--limit", help="Show only the first N entries (0 = all)."),
    json_out: bool = json_option("One JSON object per entry (id, type, value, provenance)."),
    home: Path = home_option(),
) -> None:
    """One bank's entries with their ids (for `disable`/`remove`) and provenance: source item, case or
    imported list, who added them and when, matches so far."""
    from idolguard.incidents.sync import sync
    from idolguard.signals.banks import show_bank

    ws = open_workspace(home)
    sync(ws)
    try:
        info = show_bank(ws, name, limit=limit or None)
    except IdolGuardError as exc:
        fail(exc)
    if json_out:
        for entry in info["entries"]:
            emit_json({"bank": info["name"], **entry})
        return
    rows = []
    for e in info["entries"]:
        if e["source_kind"] == "item":
            source = tr("item {sha256}", sha256=(e["source_item"] or "-")[:12])
            source += tr(", case {case}", case=e["source_ref"]) if e["source_ref"] else ""
        else:
            source = tr(e["source_kind"]) + (f" {e['source_ref']}" if e["source_ref"] else "")
        rows.append(
            (
                e["id"],
                e["signal_type"] + (f" ({e['note']})" if e["note"] else ""),
                e["value"][:16] + ("…" if len(e["value"]) > 16 else ""),
                tr("yes" if e["enabled"] else "no"),
                source,
                tr("{time} by {person}", time=shown_time(e["added_at"], ws), person=e["added_by"]),
                e["match_count"],
            )
        )
    state = tr("enabled") if info["enabled"] else tr("disabled")
    title = tr(
        "bank {name} ({kind}, {state}, PDQ threshold {threshold})",
        name=info["name"],
        kind=tr(info["kind"]),
        state=state,
        threshold=info["pdq_threshold"],
    )
    print_table(title, ("id", "type", "value", "enabled", "provenance", "added", "matches"), rows)
    tell("{shown} of {total} entries shown", shown=len(info["entries"]), total=info["entries_total"])


@bank_app.command("add")
def bank_add(
    name: str = typer.Argument(...),
    paths: list[Path] = typer.Argument(..., help="Files or folders: ingested as evidence, then hashed."),
    case: str = typer.Option(
        None, "--case", help="Case reference recorded as the entries' provenance (and in StopNCII exports)."
    ),
    json_out: bool = json_option("One JSON object per file."),
    home: Path = home_option(),
) -> None:
    """Add files to a bank: they are preserved as evidence and their reference-exact signals become entries.

    Each file gives several entries: its SHA-256 and MD5, a PDQ hash of an image, a vPDQ hash of a video,
    and face-anchored PDQ hashes for each face (9 per face), so copies are found even when cropped. In a
    negative bank (the artist's official photos) each face also gets 9 inner-face hashes: scans then look
    for suspect faces copied from it (source-face attribution). Adding a file is not a sighting: it does
    not appear in incident spread.
    """
    from idolguard.intake.ingest import Ingestor, SightingInfo
    from idolguard.pipeline.runner import analyze
    from idolguard.signals.banks import add_entries, get_bank
    from idolguard.signals.entries import entries_for_item

    ws = open_workspace(home)
    with ws.sessions() as session:
        try:
            official = get_bank(session, name).kind == "negative"
        except IdolGuardError as exc:
            fail(exc)
    info = SightingInfo(note=f"added to bank {name}", purpose="bank_reference")
    results = list(Ingestor(ws, info).ingest(paths))
    stored = [r for r in results if r.sha256 and not r.error]
    analyze(ws, list(dict.fromkeys(r.sha256 for r in stored if r.sha256)), stage_names=["signals"])
    failures = 0
    for result in results:
        record: dict[str, Any] = {"path": result.path, "sha256": result.sha256, "error": result.error, "entries": []}
        if result.sha256 and not result.error:
            try:
                entries, notes = entries_for_item(ws, result.sha256, case, official=official)
                report = add_entries(ws, name, entries, event_details={"item": result.sha256, "case": case})
                kinds = dict(Counter(e.signal_type for e in entries))
                faces = len({e.note for e in entries if e.signal_type == "pdq_face"})
                record.update(
                    {"entries": report.added, "duplicates": report.duplicates, "notes": notes, "kinds": kinds}
                )
                record["faces"] = faces
            except IdolGuardError as exc:
                record["error"] = str(exc)
        failures += record["error"] is not None
        if json_out:
            emit_json(record)
        else:
            _print_added(record, result.sha256)
    if not json_out:
        tell(
            "{added} file(s) added to bank {name}, {failures} failed. Entry ids and provenance: idolguard bank show "
            "{name}",
            added=len(results) - failures,
            name=name,
            failures=failures,
        )
    exit_for(failures or (not results))


def _print_added(record: dict[str, Any], sha256: str | None) -> None:
    """One line per file saying what its entries are (e.g. 12 = sha256 + md5 + pdq + 9 face hashes)."""
    line = out()
    if record["error"]:
        line.print(f"{(sha256 or '-')[:16]}  [red]{safe(tr_error(record['error']))}[/]  {safe(record['path'])}")
        return
    kinds = record.get("kinds") or {}
    parts = [f"{n} {kind}" for kind, n in kinds.items() if kind not in ("pdq_face", "pdq_inner")]
    if kinds.get("pdq_face"):
        parts.append(
            tr("{n} pdq_face ({faces} face(s) x 9 perturbations)", n=kinds["pdq_face"], faces=record.get("faces", 0))
        )
    if kinds.get("pdq_inner"):
        parts.append(tr("{n} pdq_inner (official faces for source attribution)", n=kinds["pdq_inner"]))
    dup = tr(", {n} already in the bank", n=record["duplicates"]) if record.get("duplicates") else ""
    say(
        "{sha256}  {n} new entries: {parts}{dup}  {path}",
        sha256=(sha256 or "-")[:16],
        n=len(record["entries"]),
        parts=", ".join(parts),
        dup=dup,
        path=record["path"],
    )
    for note in record.get("notes") or []:
        say("  note: {note}", note=tr_error(note))


@bank_app.command("add-hashes")
def bank_add_hashes(
    name: str = typer.Argument(...),
    file: Path = typer.Argument(..., exists=True, dir_okay=False),
    fmt: HashFormat = typer.Option(HashFormat.threatexchange, "--format", help="Hash-list format."),
    partner: str = typer.Option(None, "--partner", help="Who supplied the list (provenance)."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Import the valid lines even if some are bad."),
    json_out: bool = json_option("The import summary as one JSON object."),
    home: Path = home_option(),
) -> None:
    """Add hashes from a list file (same as `hashes import`)."""
    _import(name, file, fmt.value, partner, skip_invalid, json_out, home)


def _import(
    name: str, file: Path, fmt: str, partner: str | None, skip_invalid: bool, json_out: bool, home: Path
) -> None:
    from idolguard.signals.exchange import import_file

    ws = open_workspace(home)
    try:
        report = import_file(ws, file, name, fmt, partner=partner, skip_invalid=skip_invalid)
    except IdolGuardError as exc:
        fail(exc)
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
            tell("[red]line {n}:[/] {reason}", stdout=True, n=rejection.line, reason=tr_error(rejection.reason))
        if report.rejected_count > len(report.rejected):
            say("... and {n} more rejected lines", n=report.rejected_count - len(report.rejected))
        if report.imported:
            say(
                "imported {added} new entries into {name} ({duplicates} already present, {rejected} rejected)",
                added=summary["added"],
                name=name,
                duplicates=summary["duplicates"],
                rejected=report.rejected_count,
            )
        else:
            tell("[red]nothing imported[/]: {n} bad line(s) (use --skip-invalid)", stdout=True, n=report.rejected_count)
    exit_for(not report.imported)


def _entry_action(name: str, entry: int | None, home: Path, action: str) -> None:
    from idolguard.signals.banks import set_enabled

    ws = open_workspace(home)
    try:
        set_enabled(ws, name, entry, action == "enable")
    except IdolGuardError as exc:
        fail(exc)
    if entry:
        say("entry {id} enabled" if action == "enable" else "entry {id} disabled", id=entry)
    else:
        say("bank {name} enabled" if action == "enable" else "bank {name} disabled", name=name)


@bank_app.command("remove")
def bank_remove(
    name: str = typer.Argument(...),
    entry: int = _entry_arg(),
    reason: str = typer.Option(..., "--reason", help="Why it is removed (recorded in the custody ledger)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    home: Path = home_option(),
) -> None:
    """Delete one entry, or the bank and all its entries (asks first; recorded in the ledger with the reason).

    To stop matching without deleting anything, use `bank disable`.
    """
    from idolguard.signals.banks import remove, show_bank

    ws = open_workspace(home)
    if not reason.strip():
        fail("--reason must say why (it is recorded in the custody ledger)")
    try:
        info = show_bank(ws, name, limit=1)
    except IdolGuardError as exc:
        fail(exc)
    what = (
        tr("entry {id} of bank {name}", id=entry, name=name)
        if entry is not None
        else tr("bank {name} and its {n} entries", name=name, n=info["entries_total"])
    )
    if not yes:
        if not sys.stdin.isatty() and not _has_input():
            fail("removing {what} needs confirmation: run it in a terminal or add --yes", what=what)
        if not confirm("Delete {what}?", what=what):
            fail("nothing removed", ExitCode.ITEMS_FAILED)
    try:
        removed = remove(ws, name, entry, reason=reason)
    except IdolGuardError as exc:
        fail(exc)
    count = removed.entries
    if entry:
        say("removed {n} entry" if count == 1 else "removed {n} entries", n=count)
    else:
        say("removed {n} entries and bank {name}", n=count, name=name)
    for sha in removed.official_items:
        say("{item}… left the official collection in {name} (recorded in the ledger)", item=sha[:12], name=name)


@bank_app.command("rename")
def bank_rename(
    old: str = typer.Argument(..., help="The bank's current name."),
    new: str = typer.Argument(..., help="Its new name (letters, digits, '-', '_' and '.')."),
    reason: str = typer.Option(None, "--reason", help="Why (recorded in the custody ledger)."),
    json_out: bool = json_option("The renamed bank as one JSON object."),
    home: Path = home_option(),
) -> None:
    """Rename a bank: its entries, their ids, matches and history stay (recorded in the ledger).

    An artist's official collection (official.NAME) is not renamed, no bank takes an official. name, and only
    a known_abuse bank may be named known_abuse (the web triage's bank).
    """
    from idolguard.signals.bank_changes import rename_bank

    ws = open_workspace(home)
    try:
        renamed = rename_bank(ws, old, new, reason=reason)
    except IdolGuardError as exc:
        fail(exc)
    if json_out:
        emit_json({"bank": renamed.new, "old_name": renamed.old, "kind": renamed.kind, "entries": renamed.entries})
        return
    say("bank {old} renamed to {new} ({n} entries kept)", old=renamed.old, new=renamed.new, n=renamed.entries)


@bank_app.command("delete")
def bank_delete(
    name: str = typer.Argument(...),
    force: bool = typer.Option(False, "--force", help="Delete the bank even if it still holds entries."),
    reason: str = typer.Option(None, "--reason", help="Why (recorded in the custody ledger)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    json_out: bool = json_option("What was deleted as one JSON object."),
    home: Path = home_option(),
) -> None:
    """Delete a bank (recorded in the ledger). A bank with entries needs --force and goes with them.

    Refused for a bank with recorded matches (items matched its entries, or stored scan results name it):
    those are evidence; `bank disable` stops its matching and keeps everything. Refused for an artist's
    official collection (see `artists official remove`).
    """
    from idolguard.signals.bank_changes import delete_bank

    ws = open_workspace(home)
    if force and not (reason or "").strip():
        fail("--force needs --reason: deleting entries is recorded in the custody ledger with why")
    if force and not yes:  # entries go with the bank: asked first, as `bank remove` asks
        from idolguard.signals.banks import show_bank

        try:
            held = show_bank(ws, name, limit=1)["entries_total"]
        except IdolGuardError as exc:
            fail(exc)
        if held:
            what = tr("bank {name} and its {n} entries", name=name, n=held)
            if not sys.stdin.isatty() and not _has_input():
                fail("removing {what} needs confirmation: run it in a terminal or add --yes", what=what)
            if not confirm("Delete {what}?", what=what):
                fail("nothing removed", ExitCode.ITEMS_FAILED)
    try:
        deleted = delete_bank(ws, name, force=force, reason=reason)
    except IdolGuardError as exc:
        fail(exc)
    if json_out:
        emit_json({"bank": deleted.name, "kind": deleted.kind, "entries_removed": deleted.entries})
        return
    say("deleted bank {name} and its {n} entries", name=deleted.name, n=deleted.entries)


def _has_input() -> bool:
    """Whether stdin has something to read (a piped "y"), so scripts may confirm without --yes."""
    import select

    try:
        return bool(select.select([sys.stdin], [], [], 0)[0])
    except (ValueError, OSError, TypeError):
        return True  # not a real file (e.g. a test runner's buffer): let the prompt read it


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
    json_out: bool = json_option("One JSON object per file."),
    exact: bool = typer.Option(False, "--exact", help="Hash with the reference decode (slower)."),
    home: Path = home_option(),
) -> None:
    """Hash files and match them against the enabled banks, without ingesting anything.

    Exits 1 when any file could not be read or hashed.
    """
    from idolguard.intake.paths import display_name
    from idolguard.pipeline.runner import analyze_files
    from idolguard.signals.matcher import merge_face_matches

    ws = open_workspace(home)
    settings = dict(ws.config.raw)
    if exact:
        settings["signals"] = {**(settings.get("signals") or {}), "exact_pdq": True}
    failures = 0
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
        failures += bool(out["error"])
        if json_out:
            emit_json(out)
        else:
            if out["error"]:
                _stdout().print(f"{tr('error:')} {safe(tr_error(out['error']))}  {safe(out['path'])}")
                continue
            described = ", ".join(
                f"{m['bank']}#{m['entry']} ({m['signal']}, d={m['distance']}, {m['transform']})" for m in out["matches"]
            )
            described = described or tr("no match")
            _stdout().print(f"{(out['sha256'] or '-')[:16]}  {safe(described)}  {safe(out['path'])}")
    exit_for(failures)


@hashes_app.command("export")
def hashes_export(
    bank: str = typer.Option(..., "--bank"),
    fmt: HashFormat = typer.Option(HashFormat.threatexchange, "--format", help="Hash-list format."),
    out: Path = typer.Option(..., "--out", help="Destination file (must not exist)."),
    reason: str = typer.Option(None, "--reason", help="Why/for whom (recorded in the ledger)."),
    json_out: bool = json_option("The export summary as one JSON object."),
    home: Path = home_option(),
) -> None:
    """Export a bank's enabled hashes (no media, no file names, no notes; StopNCII records keep the case
    reference given at `bank add --case`)."""
    from idolguard.signals.exchange import export_bank

    ws = open_workspace(home)
    try:
        result = export_bank(ws, bank, fmt.value, out, reason)
    except FileExistsError:
        fail("{path} exists; refusing to overwrite", path=out)
        return
    except IdolGuardError as exc:
        fail(exc)
        return
    if json_out:
        emit_json(result)
        return
    counts = result["counts"]
    written = {k: v for k, v in counts.items() if not k.startswith("skipped_")}
    skipped = {k.removeprefix("skipped_"): v for k, v in counts.items() if k.startswith("skipped_")}
    say("wrote {path} ({format}): {n} hashes", path=out, format=fmt.value, n=sum(written.values()))
    for kind, n in sorted(written.items()):
        meaning = tr(ENTRY_MEANING[kind]) if kind in ENTRY_MEANING else ""
        say(f"  {n:>7}  {kind}  {{meaning}}", meaning=meaning)
    for kind, n in sorted(skipped.items()):
        say(
            "{n}  {kind} not written (the {format} format has no such signal)",
            n=f"  {n:>7}",
            kind=kind,
            format=fmt.value,
        )
    say("  sha256 of the file: {sha256}", sha256=result["sha256"])


@hashes_app.command("import")
def hashes_import(
    file: Path = typer.Argument(..., exists=True, dir_okay=False),
    bank: str = typer.Option(..., "--bank"),
    fmt: HashFormat = typer.Option(HashFormat.threatexchange, "--format", help="Hash-list format."),
    partner: str = typer.Option(None, "--partner", help="Who supplied the list (provenance)."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Import the valid lines even if some are bad."),
    json_out: bool = json_option("The import summary as one JSON object."),
    home: Path = home_option(),
) -> None:
    """Import a hash list into a bank: every bad line is reported; with any bad line nothing is imported."""
    _import(bank, file, fmt.value, partner, skip_invalid, json_out, home)


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    from idolguard.faces.cli import artists_app
    from idolguard.signals.official_cli import official_app

    app.add_typer(bank_app, name="bank", rich_help_panel=PANEL_CASEWORK)
    if not any(group.name == "official" for group in artists_app.registered_groups):
        artists_app.add_typer(official_app, name="official")
    app.add_typer(hashes_app, name="hashes", rich_help_panel=PANEL_CASEWORK)
    app.command("match", rich_help_panel=PANEL_INTAKE)(match)
