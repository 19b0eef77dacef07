"""Commands of the faces area: ``artists ...``, ``identify``, ``eval faces``, ``eval gallery``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from idolguard.cli_support import (
    PANEL_CASEWORK,
    PANEL_INTAKE,
    console,
    emit_json,
    exit_for,
    fail,
    home_option,
    interactive,
    json_option,
    new_app,
    open_workspace,
    out,
    print_table,
    progress_bar,
    safe,
)
from idolguard.errors import IdolGuardError


class ScoreNorm(StrEnum):
    """Face-score normalisation: raw cosine similarity, or symmetric normalisation against a cohort."""

    none = "none"
    snorm = "snorm"


artists_app = new_app("The protected-artist gallery (reference faces).")


@artists_app.command("add")
def artists_add(
    name: str = typer.Argument(..., help="Artist name as it should appear in reports."),
    photos: Path = typer.Option(..., "--photos", help="Folder (recursive) or file of reference photos."),
    consent_ref: str = typer.Option(None, "--consent-ref", help="Reference of the consent/mandate record."),
    json_out: bool = json_option("The enrolment result as one JSON object."),
    home: Path = home_option(),
) -> None:
    """Enrol an artist (or add references): one clear, single-face photo per file; several are better."""
    from idolguard.faces.analysis import FaceAnalyzer
    from idolguard.gallery.store import enrol_artist, photo_files

    ws = open_workspace(home)
    try:
        result = enrol_artist(ws, name, photo_files(photos), consent_ref, analyzer=FaceAnalyzer())
    except IdolGuardError as exc:
        fail(str(exc))
        return
    if json_out:
        emit_json(result.as_dict())
        return
    for ref in result.references:
        status = "[green]enrolled[/]" if ref.accepted else f"[yellow]rejected: {safe(ref.reason)}[/]"
        out().print(f"{status}  {safe(ref.path)}")
    verb = "created" if result.created else "updated"
    console.print(f"{safe(name)}: {verb}, {result.accepted} reference(s) added")


@artists_app.command("list")
def artists_list(json_out: bool = json_option("One JSON object per artist."), home: Path = home_option()) -> None:
    """Enrolled artists with their reference counts."""
    from idolguard.gallery.store import list_artists

    rows = list_artists(open_workspace(home))
    if json_out:
        for row in rows:
            emit_json(row)
        return
    print_table(
        "artists", ("name", "references", "consent"), [(r["name"], r["references"], r["consent_ref"]) for r in rows]
    )
    console.print(f"{len(rows)} artist(s)")


@artists_app.command("show")
def artists_show(
    name: str = typer.Argument(...),
    json_out: bool = json_option("The artist as one JSON object."),
    home: Path = home_option(),
) -> None:
    """One artist's references (photo and crop hashes in the vault, quality, who enrolled them)."""
    from idolguard.gallery.store import show_artist

    try:
        info = show_artist(open_workspace(home), name)
    except IdolGuardError as exc:
        fail(str(exc))
        return
    if json_out:
        emit_json(info)
        return
    out().print(
        f"{safe(info['name'])}  consent={safe(info['consent_ref'] or '-')}  enrolled by {safe(info['enrolled_by'])}"
    )
    for ref in info["references"]:
        out().print(
            f"  photo {ref['photo_sha256'][:16]}  crop {ref['crop_sha256'][:16]}  quality {ref['quality']:.2f}"
            f"  {safe(ref['source_name'])}"
        )


@artists_app.command("remove")
def artists_remove(
    name: str = typer.Argument(...),
    reason: str = typer.Option(None, "--reason", help="Why (recorded in the ledger)."),
    json_out: bool = json_option("The result as one JSON object."),
    home: Path = home_option(),
) -> None:
    """Remove an artist from matching (their photos stay in the vault; the ledger records the removal)."""
    from idolguard.gallery.store import remove_artist

    try:
        removed = remove_artist(open_workspace(home), name, reason)
    except IdolGuardError as exc:
        fail(str(exc))
        return
    if json_out:
        emit_json({"artist": name, "removed": True, "references": removed})
    else:
        out().print(f"removed {safe(name)} ({removed} reference(s))")


@artists_app.command("threshold")
def artists_threshold(
    name: str = typer.Argument(...),
    value: float = typer.Argument(None, help="Score needed for a match with this artist; omit to reset."),
    reason: str = typer.Option(None, "--reason", help="Why (recorded in the ledger)."),
    home: Path = home_option(),
) -> None:
    """Set a per-artist match threshold (e.g. stricter for an artist with many look-alikes)."""
    from idolguard.gallery.store import set_threshold

    try:
        set_threshold(open_workspace(home), name, value, reason)
    except IdolGuardError as exc:
        fail(str(exc))
        return
    out().print(f"{safe(name)}: threshold {'reset to the calibrated default' if value is None else value}")


@artists_app.command("cohort")
def artists_cohort(
    photos: Path = typer.Option(..., "--photos", help="Photos of people who are NOT protected artists."),
    json_out: bool = json_option("The counts as one JSON object."),
    home: Path = home_option(),
) -> None:
    """Add non-artist faces used to normalise match scores (only used when the calibration enables it)."""
    from idolguard.faces.analysis import FaceAnalyzer
    from idolguard.gallery.store import add_cohort, photo_files

    ws = open_workspace(home)
    try:
        counts = add_cohort(ws, photo_files(photos), analyzer=FaceAnalyzer())
    except IdolGuardError as exc:
        fail(str(exc))
        return
    if json_out:
        emit_json(counts)
    else:
        out().print(f"cohort: {counts['added']} face(s) added, {counts['skipped']} skipped")


def identify(
    paths: list[Path] = typer.Argument(..., help="Image or video files (folders are walked)."),
    json_out: bool = json_option("One JSON object per file."),
    home: Path = home_option(),
) -> None:
    """Detect faces and match them against the gallery without storing anything (no DB or vault writes).

    Exits 1 when any file could not be read or analysed.
    """
    from idolguard.faces.identify import identify_paths

    ws = open_workspace(home)
    failures = 0
    for result in identify_paths(ws, paths):
        failures += bool(result["error"])
        if json_out:
            emit_json(result)
            continue
        if result["error"]:
            out().print(f"[red]{safe(result['error'])}[/]  {safe(result['path'])}")
            continue
        described = [
            f"{f['artist']} ({f['decision']}, {f['similarity']:.2f})" if f["artist"] else "unknown"
            for f in result["faces"]
        ]
        out().print(f"{safe(result['path'])}: {len(result['faces'])} face(s) {safe('; '.join(described))}")
    exit_for(failures)


def eval_faces(
    pairs: Path = typer.Option(..., "--pairs", help="CSV with columns a,b,same (1/0)."),
    root: Path = typer.Option(..., "--root", help="Folder the CSV paths are relative to."),
    threshold: float = typer.Option(None, help="Decision threshold (default: the shipped calibration)."),
    json_out: bool = typer.Option(False, "--json", help="One object per pair, then a summary object."),
) -> None:
    """Face verification on labelled pairs: accuracy at the threshold and TAR at FAR=1e-3."""
    from idolguard.faces.eval_cli import run_eval_faces

    show = interactive(json_out)
    try:
        with progress_bar(show, "embedding", None) as advance:
            pair_rows, summary = run_eval_faces(pairs, root, threshold, on_done=advance)
    except IdolGuardError as exc:
        fail(str(exc))
        return
    _print_eval(pair_rows, summary, json_out)


def eval_gallery(
    gallery: Path = typer.Option(..., "--gallery", help="CSV path,identity of reference photos to enrol."),
    probes: Path = typer.Option(
        ..., "--probes", help="CSV path,identity; identities not in the gallery are impostors."
    ),
    root: Path = typer.Option(..., "--root", help="Folder the CSV paths are relative to."),
    cohort: Path = typer.Option(None, "--cohort", help="CSV with a path column: non-enrolled faces for normalisation."),
    norm: ScoreNorm = typer.Option(None, help="Override the calibration's score normalisation."),
    json_out: bool = typer.Option(False, "--json", help="One object per probe, then a summary object."),
) -> None:
    """Open-set identification: rank-1 identification rate of enrolled people and false-accept rate of others."""
    from idolguard.faces.eval_cli import run_eval_gallery

    show = interactive(json_out)
    try:
        with progress_bar(show, "embedding", None) as advance:
            rows, summary = run_eval_gallery(
                gallery, probes, root, cohort, norm.value if norm else None, on_done=advance
            )
    except IdolGuardError as exc:
        fail(str(exc))
        return
    _print_eval(rows, summary, json_out)


def calibrate_faces(
    gallery: Path = typer.Option(..., "--gallery", help="CSV path,identity of reference photos."),
    probes: Path = typer.Option(
        ..., "--probes", help="CSV path,identity; identities not in the gallery are impostors."
    ),
    root: Path = typer.Option(..., "--root", help="Folder the CSV paths are relative to."),
    cohort: Path = typer.Option(None, "--cohort", help="CSV with a path column: non-enrolled faces."),
    norm: ScoreNorm = typer.Option(None, help="Score normalisation to calibrate."),
    target_far: float = typer.Option(0.01, help="False-accept rate allowed for 'match' on these impostors."),
    possible_far: float = typer.Option(0.05, help="False-accept rate allowed for 'possible'."),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Choose match/possible thresholds on your own labelled photos; prints a [faces.matching] config block."""
    from idolguard.faces.eval_cli import calibrate_thresholds

    try:
        result = calibrate_thresholds(
            gallery, probes, root, cohort, norm.value if norm else None, target_far, possible_far
        )
    except IdolGuardError as exc:
        fail(str(exc))
        return
    if json_out:
        emit_json(result)
        return
    for key, value in result.items():
        if key != "toml":
            console.print(f"{key:>28}: {safe(value)}")
    typer.echo(result["toml"])


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    app.add_typer(artists_app, name="artists", rich_help_panel=PANEL_CASEWORK)
    app.command("identify", rich_help_panel=PANEL_INTAKE)(identify)
    groups["eval"].command("faces")(eval_faces)
    groups["eval"].command("gallery")(eval_gallery)
    groups["calibrate"].command("faces")(calibrate_faces)


def _print_eval(rows: list[dict[str, Any]], summary: dict[str, Any], json_out: bool) -> None:
    if json_out:
        for row in rows:
            emit_json(row)
        emit_json(summary)
        return
    for key, value in summary.items():
        if isinstance(value, float):
            value = f"{value:.4f}"
        out().print(f"{key:>28}: {safe(value)}")
