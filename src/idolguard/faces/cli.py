"""Commands of the faces area: ``artists ...``, ``identify``, ``eval faces``, ``eval gallery``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from idolguard.cli_support import console, emit_json, fail, home_option, interactive, open_workspace, progress_bar
from idolguard.errors import IdolGuardError


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:

    artists = typer.Typer(help="The protected-artist gallery (reference faces).", no_args_is_help=True)
    app.add_typer(artists, name="artists")

    @artists.command("add")
    def artists_add(
        name: str = typer.Argument(..., help="Artist name as it should appear in reports."),
        photos: Path = typer.Option(..., "--photos", help="Folder (recursive) or file of reference photos."),
        consent_ref: str = typer.Option(None, "--consent-ref", help="Reference of the consent/mandate record."),
        json_out: bool = typer.Option(False, "--json"),
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
            status = "[green]enrolled[/]" if ref.accepted else f"[yellow]rejected: {ref.reason}[/]"
            console.print(f"{status}  {ref.path}", highlight=False)
        verb = "created" if result.created else "updated"
        console.print(f"{name}: {verb}, {result.accepted} reference(s) added", highlight=False)

    @artists.command("list")
    def artists_list(json_out: bool = typer.Option(False, "--json"), home: Path = home_option()) -> None:
        """Enrolled artists with their reference counts."""
        from idolguard.gallery.store import list_artists

        rows = list_artists(open_workspace(home))
        if json_out:
            for row in rows:
                emit_json(row)
            return
        for row in rows:
            console.print(f"{row['name']}  {row['references']} reference(s)  consent={row['consent_ref'] or '-'}")
        console.print(f"{len(rows)} artist(s)")

    @artists.command("show")
    def artists_show(
        name: str = typer.Argument(...), json_out: bool = typer.Option(False, "--json"), home: Path = home_option()
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
        console.print(
            f"{info['name']}  consent={info['consent_ref'] or '-'}  enrolled by {info['enrolled_by']}", highlight=False
        )
        for ref in info["references"]:
            console.print(
                f"  photo {ref['photo_sha256'][:16]}  crop {ref['crop_sha256'][:16]}  quality {ref['quality']:.2f}"
                f"  {ref['source_name']}",
                highlight=False,
            )

    @artists.command("remove")
    def artists_remove(
        name: str = typer.Argument(...),
        reason: str = typer.Option(None, "--reason", help="Why (recorded in the ledger)."),
        json_out: bool = typer.Option(False, "--json"),
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
            console.print(f"removed {name} ({removed} reference(s))", highlight=False)

    @artists.command("threshold")
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
        console.print(f"{name}: threshold {'reset to the calibrated default' if value is None else value}")

    @artists.command("cohort")
    def artists_cohort(
        photos: Path = typer.Option(..., "--photos", help="Photos of people who are NOT protected artists."),
        json_out: bool = typer.Option(False, "--json"),
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
            console.print(f"cohort: {counts['added']} face(s) added, {counts['skipped']} skipped")

    @app.command()
    def identify(
        paths: list[Path] = typer.Argument(..., help="Image or video files (folders are walked)."),
        json_out: bool = typer.Option(False, "--json", help="One JSON object per file."),
        home: Path = home_option(),
    ) -> None:
        """Detect faces and match them against the gallery without storing anything (no DB or vault writes)."""
        from idolguard.faces.identify import identify_paths

        ws = open_workspace(home)
        for result in identify_paths(ws, paths):
            if json_out:
                emit_json(result)
                continue
            if result["error"]:
                console.print(f"[red]{result['error']}[/]  {result['path']}", highlight=False)
                continue
            described = [
                f"{f['artist']} ({f['decision']}, {f['similarity']:.2f})" if f["artist"] else "unknown"
                for f in result["faces"]
            ]
            console.print(f"{result['path']}: {len(result['faces'])} face(s) {'; '.join(described)}", highlight=False)

    eval_group = groups["eval"]

    @eval_group.command("faces")
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

    @eval_group.command("gallery")
    def eval_gallery(
        gallery: Path = typer.Option(..., "--gallery", help="CSV path,identity of reference photos to enrol."),
        probes: Path = typer.Option(
            ..., "--probes", help="CSV path,identity; identities not in the gallery are impostors."
        ),
        root: Path = typer.Option(..., "--root", help="Folder the CSV paths are relative to."),
        cohort: Path = typer.Option(
            None, "--cohort", help="CSV with a path column: non-enrolled faces for normalisation."
        ),
        norm: str = typer.Option(None, help="Override the calibration's score normalisation: none or snorm."),
        json_out: bool = typer.Option(False, "--json", help="One object per probe, then a summary object."),
    ) -> None:
        """Open-set identification: rank-1 identification rate of enrolled people and false-accept rate of others."""
        from idolguard.faces.eval_cli import run_eval_gallery

        show = interactive(json_out)
        try:
            with progress_bar(show, "embedding", None) as advance:
                rows, summary = run_eval_gallery(gallery, probes, root, cohort, norm, on_done=advance)
        except IdolGuardError as exc:
            fail(str(exc))
            return
        _print_eval(rows, summary, json_out)

    @groups["calibrate"].command("faces")
    def calibrate_faces(
        gallery: Path = typer.Option(..., "--gallery", help="CSV path,identity of reference photos."),
        probes: Path = typer.Option(
            ..., "--probes", help="CSV path,identity; identities not in the gallery are impostors."
        ),
        root: Path = typer.Option(..., "--root", help="Folder the CSV paths are relative to."),
        cohort: Path = typer.Option(None, "--cohort", help="CSV with a path column: non-enrolled faces."),
        norm: str = typer.Option(None, help="Score normalisation to calibrate: none or snorm."),
        target_far: float = typer.Option(0.01, help="False-accept rate allowed for 'match' on these impostors."),
        possible_far: float = typer.Option(0.05, help="False-accept rate allowed for 'possible'."),
        json_out: bool = typer.Option(False, "--json"),
    ) -> None:
        """Choose match/possible thresholds on your own labelled photos; prints a [faces.matching] config block."""
        from idolguard.faces.eval_cli import calibrate_thresholds

        try:
            result = calibrate_thresholds(gallery, probes, root, cohort, norm, target_far, possible_far)
        except IdolGuardError as exc:
            fail(str(exc))
            return
        if json_out:
            emit_json(result)
            return
        for key, value in result.items():
            if key != "toml":
                console.print(f"{key:>28}: {value}", highlight=False)
        typer.echo(result["toml"])


def _print_eval(rows: list[dict[str, Any]], summary: dict[str, Any], json_out: bool) -> None:
    if json_out:
        for row in rows:
            emit_json(row)
        emit_json(summary)
        return
    for key, value in summary.items():
        if isinstance(value, float):
            value = f"{value:.4f}"
        console.print(f"{key:>28}: {value}", highlight=False)
