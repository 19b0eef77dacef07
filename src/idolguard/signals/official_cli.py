"""``idolguard artists official add|list|remove``: an artist's official collection (source-face attribution)."""

from __future__ import annotations

from pathlib import Path

import typer

from idolguard.cli_support import (
    emit_json,
    exit_for,
    fail,
    home_option,
    json_option,
    new_app,
    open_workspace,
    print_table,
    say,
    shown_time,
    tell,
)
from idolguard.errors import IdolGuardError

official_app = new_app(
    "An artist's official photos and video keyframes: scans name the official item a suspect face was copied from."
)


@official_app.command("add")
def official_add(
    artist: str = typer.Argument(..., help="Artist (any name or alias; enrol with 'artists add' first)."),
    paths: list[Path] = typer.Argument(..., help="Official photos or videos, files or folders."),
    json_out: bool = json_option("One JSON object per file, then a summary."),
    home: Path = home_option(),
) -> None:
    """Register official photos/videos of an artist as the collection source-face attribution searches.

    Each file is preserved as evidence and banked in the artist's negative bank `official.NAME` (official
    media is never reported as abuse), with the inner-face hashes of every face (of up to 24 keyframes of a
    video). Later scans report a suspect face whose pixels were copied from one of them. A file that is not a
    readable photo or video, shows no face, or is already in the collection is refused with the reason (exit
    1); the others are added.
    """
    from idolguard.signals.official import add_official

    ws = open_workspace(home)
    try:
        summary, records = add_official(ws, artist, paths)
    except IdolGuardError as exc:
        fail(str(exc))
    failures = sum(1 for r in records if r["error"])
    added = sum(1 for r in records if not r["error"] and not r["duplicate"])
    for record in records:
        if json_out:
            emit_json(record)
            continue
        sha = (record["sha256"] or "-")[:16]
        if record["error"]:
            tell(
                "{sha}  [red]refused: {reason}[/]  {path}",
                stdout=True,
                sha=sha,
                reason=record["error"],
                path=record["path"],
            )
        elif record["duplicate"]:
            tell(
                "{sha}  [yellow]{reason}[/]  {path}",
                stdout=True,
                sha=sha,
                reason=" ".join(record["notes"]),
                path=record["path"],
            )
        else:
            say(
                "{sha}  added: {faces} face(s), {hashes} inner-face hashes  {path}",
                sha=sha,
                faces=record["faces"],
                hashes=record["pdq_inner"],
                path=record["path"],
            )
            for line in record["notes"]:
                say("  note: {note}", note=line)
    summary = {**summary, "added": added, "duplicates": sum(1 for r in records if r["duplicate"]), "failed": failures}
    if json_out:
        emit_json({"summary": summary})
    else:
        tell(
            "{artist}: {added} file(s) added to the official collection (bank {bank}), {duplicates} already there, "
            "{failed} refused",
            **summary,
        )
    exit_for(failures or (not records))


@official_app.command("list")
def official_list(
    artist: str = typer.Argument(None, help="Only this artist's collection (any name or alias)."),
    json_out: bool = json_option("One JSON object per official item."),
    home: Path = home_option(),
) -> None:
    """The official items of one artist (or of all artists): what attribution searches."""
    from idolguard.signals.official import list_official

    ws = open_workspace(home)
    try:
        rows = list_official(ws, artist)
    except IdolGuardError as exc:
        fail(str(exc))
    if json_out:
        for row in rows:
            emit_json(row)
        return
    print_table(
        "official collections",
        ("artist", "item", "name", "type", "faces", "added"),
        [
            (
                r["artist"],
                r["sha256"][:16],
                r["name"] or "-",
                r["media_type"] or "-",
                r["faces"],
                f"{shown_time(r['added_at'], ws)} by {r['added_by']}",
            )
            for r in rows
        ],
    )
    tell("{n} official item(s)", n=len(rows))


@official_app.command("remove")
def official_remove(
    artist: str = typer.Argument(..., help="Artist (any name or alias)."),
    item: str = typer.Argument(
        None, help="Item SHA-256 prefix (8+ characters) or file name ('artists official list'); not with --all."
    ),
    everything: bool = typer.Option(
        False, "--all", help="The whole collection, in one transaction (what 'artists remove' asks for first)."
    ),
    reason: str = typer.Option(..., "--reason", help="Why (recorded in the ledger)."),
    json_out: bool = json_option("The result as one JSON object."),
    home: Path = home_option(),
) -> None:
    """Take one item, or with --all the whole collection, out of an artist's official collection (the vault keeps
    the files; the ledger records each item with the reason)."""
    from idolguard.signals.official import remove_official, retire_official

    if everything == (item is not None):
        fail("give either one ITEM or --all")
    try:
        ws = open_workspace(home)
        result = retire_official(ws, artist, reason) if everything else remove_official(ws, artist, item, reason)
    except IdolGuardError as exc:
        fail(str(exc))
    if json_out:
        emit_json(result)
    elif everything:
        say(
            "{artist}: official collection retired ({items} item(s), {n} entries; bank {bank} removed)",
            artist=result["artist"],
            items=len(result["items"]),
            n=result["entries_removed"],
            bank=result["bank"],
        )
    else:
        say(
            "{artist}: removed {item} from the official collection ({n} entries)",
            artist=result["artist"],
            item=result["sha256"][:16],
            n=result["entries_removed"],
        )
