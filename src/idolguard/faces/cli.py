"""Commands of the faces area: ``artists ...``, ``identify``, ``eval faces``, ``eval gallery``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from idolguard.cli_support import (
    N_,
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
    say,
    tell,
    tr,
    tr_error,
    tr_stored,
    warn,
)
from idolguard.errors import IdolGuardError


class Variant(StrEnum):
    """Decision rule to calibrate and ship (see ``gallery/calibration.py``)."""

    global_ = "global"
    gallery = "gallery"
    gallery_quality = "gallery+quality"
    snorm = "snorm"
    auto = "auto"


def _alias_arg(value: str) -> tuple[str, str | None]:
    """``KIND:NAME`` (kind one of hangul, romanised, stage, legal, other) or a bare NAME (kind guessed)."""
    from idolguard.gallery.names import ALIAS_KINDS

    kind, sep, rest = value.partition(":")
    if sep and kind.strip().lower() in ALIAS_KINDS and rest.strip():
        return rest.strip(), kind.strip().lower()
    return value, None


# Codes shown translated (--json keeps them).
DECISIONS = (N_("match"), N_("possible"), N_("no_match"))
ALIAS_LABELS = {  # alias kinds as people read them ("stage" is not the pipeline's stage)
    "hangul": N_("Hangul name"),
    "romanised": N_("romanised name"),
    "stage": N_("stage name"),
    "legal": N_("legal name"),
    "other": N_("other name"),
}


def _warn(lines: list[str]) -> None:
    for line in lines:
        warn("{text}", text=tr_error(line))


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
    alias: list[str] = typer.Option(
        [], "--alias", help="Another name (Hangul, romanised, stage, legal); repeatable. KIND:NAME sets the kind."
    ),
    group: str = typer.Option(None, "--group", help="Group the artist belongs to, e.g. BLACKPINK."),
    json_out: bool = json_option("The enrolment result as one JSON object."),
    home: Path = home_option(),
) -> None:
    """Enrol an artist (or add references): one clear, single-face photo per file; several are better.

    NAME may be any existing name or alias of the artist (any case). Warns when the references are too few
    or too alike (and says which photos would help), and when a photo's face looks more like another
    enrolled artist than this one. Exits 1 when a photo was refused (the others are enrolled; a photo this
    artist already has is not counted), 2 when none could be used (nothing is stored).
    """
    from idolguard.error_messages import MESSAGES
    from idolguard.errors import ErrorCode
    from idolguard.faces.analysis import FaceAnalyzer
    from idolguard.gallery.store import EnrolResult, GalleryError, enrol_artist, photo_files

    ws = open_workspace(home)
    try:
        result = enrol_artist(
            ws,
            name,
            photo_files(photos),
            consent_ref,
            analyzer=FaceAnalyzer(),
            aliases=[_alias_arg(a) for a in alias],
            group=group,
        )
    except GalleryError as exc:
        if not exc.outcomes:
            fail(exc)
            return
        # No photo was usable, nothing was stored: each photo's reason, as for a partial enrolment, then the
        # refusal (--json: the same object as an enrolment, nothing accepted, with the refusal's code).
        refused = EnrolResult(name.strip(), False, exc.outcomes)
        if json_out:
            emit_json({**refused.as_dict(), "error": str(exc), "error_code": str(exc.code)})
        else:
            _print_references(refused)
        fail(MESSAGES[ErrorCode.ENROL_NONE_USABLE], name=refused.artist)
        return
    except IdolGuardError as exc:
        fail(exc)
        return
    # Exit 1 when a photo was refused (README: some inputs failed); one already this artist's is no failure:
    # running the same enrolment again stays exit 0.
    failed = sum(1 for r in result.references if not r.accepted and r.reason_code != ErrorCode.ENROL_DUPLICATE)
    if json_out:
        emit_json(result.as_dict())
        exit_for(failed)
        return
    _print_references(result)
    if result.created:
        tell("{artist}: created, {n} reference(s) added", artist=result.artist, n=result.accepted)
    else:
        tell("{artist}: updated, {n} reference(s) added", artist=result.artist, n=result.accepted)
    _warn(result.warnings)
    exit_for(failed)


def _print_references(result: Any) -> None:
    """One line per photo of an enrolment: enrolled, or why not (from the reason's code, in the user's language)."""
    for ref in result.references:
        if ref.accepted:
            status = f"[green]{tr('enrolled')}[/]"
        else:
            reason = tr_stored(ref.reason or "", ref.reason_code, ref.reason_params)
            status = f"[yellow]{tr('rejected: {reason}', reason=safe(reason))}[/]"
        out().print(f"{status}  {safe(ref.path)}")


@artists_app.command("list")
def artists_list(
    group: str = typer.Option(None, "--group", help="Only the artists of this group (any case)."),
    json_out: bool = json_option("One JSON object per artist."),
    home: Path = home_option(),
) -> None:
    """Enrolled artists with their group, aliases and reference counts."""
    from idolguard.gallery.store import list_artists, reference_embedding_status, reference_warning

    ws = open_workspace(home)
    rows = list_artists(ws, group)
    warning = reference_warning(reference_embedding_status(ws))
    if json_out:
        for row in rows:
            emit_json(row)
        if warning:
            _warn([warning])
        return
    print_table(
        "artists",
        ("name", "group", "aliases", "references", "consent"),
        [(r["name"], r["group"], ", ".join(r["aliases"]), r["references"], r["consent_ref"]) for r in rows],
    )
    tell("{n} artist(s)", n=len(rows))
    if warning:
        _warn([warning])


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
    say(
        "{name}  group={group}  consent={consent}  enrolled by {by}",
        name=info["name"],
        group=info["group"] or "-",
        consent=info["consent_ref"] or "-",
        by=info["enrolled_by"],
    )
    if info["aliases"]:
        aliases = ", ".join(f"{a['alias']} ({tr(ALIAS_LABELS.get(a['kind'], a['kind']))})" for a in info["aliases"])
        say("  aliases: {aliases}", aliases=aliases)
    for ref in info["references"]:
        say(
            "  photo {photo}  crop {crop}  quality {quality}  {name}",
            photo=ref["photo_sha256"][:16],
            crop=ref["crop_sha256"][:16],
            quality=f"{ref['quality']:.2f}",
            name=ref["source_name"],
        )
    _warn(info["warnings"])


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
        say("removed {name} ({n} reference(s))", name=name, n=removed)


@artists_app.command("remove-photo")
def artists_remove_photo(
    name: str = typer.Argument(..., help="Artist (any name or alias)."),
    photo: str = typer.Argument(..., help="Photo SHA-256 prefix (8+ characters) or file name ('artists show')."),
    reason: str = typer.Option(None, "--reason", help="Why (recorded in the ledger)."),
    json_out: bool = json_option("The result as one JSON object."),
    home: Path = home_option(),
) -> None:
    """Take one reference photo out of an artist's matching set (the vault keeps it; the ledger records it)."""
    from idolguard.gallery.store import advice_lines, artist_advice, remove_photo

    ws = open_workspace(home)
    try:
        result = remove_photo(ws, name, photo, reason)
        warnings = advice_lines(result["artist"], artist_advice(ws, result["artist"]))
    except IdolGuardError as exc:
        fail(str(exc))
        return
    if json_out:
        emit_json({**result, "warnings": warnings})
        return
    say(
        "{artist}: removed photo {photo}, {n} reference(s) left",
        artist=result["artist"],
        photo=result["photo_sha256"][:16],
        n=result["references_left"],
    )
    _warn(warnings)


@artists_app.command("reembed")
def artists_reembed(
    artist: list[str] = typer.Argument(None, help="Artists (any name or alias); default: every artist."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be re-embedded; write nothing."),
    json_out: bool = json_option("One JSON object per artist."),
    home: Path = home_option(),
) -> None:
    """Re-embed reference photos from the vault the way the face thresholds were calibrated for.

    Needed after an upgrade that changes how references are embedded: until then those artists' faces are
    decided at most 'possible'. One ledger event per artist; safe to stop and run again (it continues).
    Photos missing from the vault are reported and their vectors kept.
    """
    from idolguard.error_messages import MESSAGES
    from idolguard.errors import ErrorCode
    from idolguard.faces.analysis import REFERENCE_EMBEDDING, FaceAnalyzer
    from idolguard.faces.reembed import reembed_references
    from idolguard.gallery.store import enrolment_warnings, reference_embedding_status, reference_warning

    ws = open_workspace(home)
    analyzer = FaceAnalyzer()
    try:
        reports = reembed_references(ws, analyzer, list(artist or []), dry_run=dry_run)
    except IdolGuardError as exc:
        fail(str(exc))
        return
    # New vectors can lie closer to another artist than the old ones did: after the whole run (every artist
    # converted, so the comparison is between vectors of one kind), the warnings ``artists add`` gives.
    embedder = analyzer.embedder.name if analyzer.embedder else "unknown"
    checks = {r.artist: enrolment_warnings(ws, r.artist, embedder) for r in reports if r.converted and not dry_run}
    # still mismatched (a kept reference, or a local calibration of another kind): said, with what to do
    left = None if dry_run else reference_warning(reference_embedding_status(ws))
    if json_out:
        for report in reports:
            empty = {"lookalikes": [], "advice": None, "warnings": []}
            emit_json(
                {
                    **report.as_dict(),
                    "dry_run": dry_run,
                    "reference_embedding": REFERENCE_EMBEDDING,
                    **checks.get(report.artist, empty),
                }
            )
        if left:
            _warn([left])
        exit_for(sum(len(r.kept) for r in reports))
        return
    if not reports:  # an empty gallery: said, rather than a silent exit 0
        tell("no artist is enrolled: nothing to re-embed")
    for report in reports:
        if dry_run:
            say(
                "{artist}: {n} reference(s) would be re-embedded, {already} already {kind}",
                artist=report.artist,
                n=report.pending,
                already=report.already,
                kind=REFERENCE_EMBEDDING,
            )
            continue
        say(
            "{artist}: {n} reference(s) re-embedded, {kept} kept, {already} already {kind}",
            artist=report.artist,
            n=len(report.converted),
            kept=len(report.kept),
            already=report.already,
            kind=REFERENCE_EMBEDDING,
        )
        for kept in report.kept:
            warn("{text}", text=safe(tr(MESSAGES[ErrorCode(kept.code)], **kept.params)))
        _warn(checks.get(report.artist, {}).get("warnings", []))
    if left:
        _warn([left])
    exit_for(sum(len(r.kept) for r in reports))


@artists_app.command("alias")
def artists_alias(
    name: str = typer.Argument(..., help="Artist (any name or alias)."),
    alias: str = typer.Argument(..., help="The other name; KIND:NAME sets the kind (hangul, romanised, ...)."),
    remove: bool = typer.Option(False, "--remove", help="Remove this alias instead of adding it."),
    json_out: bool = json_option("The result as one JSON object."),
    home: Path = home_option(),
) -> None:
    """Add (or remove) another name an artist is known by: Hangul, romanised, stage or legal name."""
    from idolguard.gallery.store import add_alias, remove_alias

    ws = open_workspace(home)
    try:
        text, kind = _alias_arg(alias)
        result = remove_alias(ws, name, text) if remove else add_alias(ws, name, text, kind)
    except IdolGuardError as exc:
        fail(str(exc))
        return
    if json_out:
        emit_json(result)
    elif remove:
        say("{artist}: alias {alias} removed", artist=result["artist"], alias=result["removed"])
    else:
        added = ", ".join(a["alias"] for a in result["added"]) or tr("nothing new")
        say("{artist}: alias added: {aliases}", artist=result["artist"], aliases=added)


@artists_app.command("group")
def artists_group(
    name: str = typer.Argument(..., help="Artist (any name or alias)."),
    group: str = typer.Argument(None, help="Group name; omit to take the artist out of any group."),
    json_out: bool = json_option("The result as one JSON object."),
    home: Path = home_option(),
) -> None:
    """Set the group an artist belongs to."""
    from idolguard.gallery.store import set_group

    try:
        result = set_group(open_workspace(home), name, group)
    except IdolGuardError as exc:
        fail(str(exc))
        return
    if json_out:
        emit_json(result)
    else:
        say("{artist}: group {group}", artist=result["artist"], group=result["group"] or "-")


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
    if value is None:
        say("{name}: threshold reset to the calibrated default", name=name)
    else:
        say("{name}: threshold {value}", name=name, value=value)


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
        say("cohort: {added} face(s) added, {skipped} skipped", added=counts["added"], skipped=counts["skipped"])


def _named_only_when_matched(face: dict[str, Any]) -> dict[str, Any]:
    from idolguard.faces.outputs import named_only_when_matched

    return named_only_when_matched(face)


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
        result["faces"] = [_named_only_when_matched(face) for face in result.get("faces") or []]
        if json_out:
            emit_json(result)
            continue
        if result["error"]:
            out().print(f"[red]{safe(tr_error(result['error']))}[/]  {safe(result['path'])}")
            continue
        described = [
            f"{f['artist']} ({tr(f['decision'])}, {f['similarity']:.2f})"
            if f["artist"]
            else tr("unknown")
            + f" ({tr(f['decision'])}"
            + (f", {f['similarity']:.2f})" if f.get("similarity") is not None else ")")
            for f in result["faces"]
        ]
        faces = tr("{n} face(s)", n=len(result["faces"]))
        say("{path}: {faces} {described}", path=result["path"], faces=faces, described="; ".join(described))
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
    data: Path = typer.Option(
        None,
        "--data",
        help="CSV path,identity,source of labelled photos (empty identity: never-enrolled face). "
        "Cross-validates over identity- and source-disjoint folds.",
    ),
    cache: Path = typer.Option(None, "--cache", help="Embedding cache (.npz) reused across runs."),
    fold: list[str] = typer.Option(
        [], "--fold", help="Sources checked together (comma-separated); repeat per fold. Default: automatic."
    ),
    by_identity: int = typer.Option(
        5, "--by-identity", help="K identity-disjoint folds (sources mixed), checked beside the source-disjoint folds."
    ),
    draws: int = typer.Option(5, "--draws", help="Random galleries simulated per side of each fold."),
    target_far_upper: float = typer.Option(
        0.01, "--target-far-upper", help="Upper 95% bound allowed for the false-accept rate of 'match'."
    ),
    possible_far_upper: float = typer.Option(
        0.05, "--possible-far-upper", help="Upper 95% bound for impostors reaching at least 'possible'."
    ),
    variant: Variant = typer.Option(
        Variant.auto, "--variant", help="Rule to fit and ship (auto: the family nested cross-validation picks)."
    ),
    out_file: Path = typer.Option(None, "--out", help="Write the calibration record (JSON) here."),
    gallery: Path = typer.Option(None, "--gallery", help="(single split) CSV path,identity of references."),
    probes: Path = typer.Option(None, "--probes", help="(single split) CSV path,identity of probes."),
    root: Path = typer.Option(None, "--root", help="(single split) folder the CSV paths are relative to."),
    cohort: Path = typer.Option(None, "--cohort", help="(single split) CSV with a path column."),
    norm: ScoreNorm = typer.Option(None, help="(single split) score normalisation to calibrate."),
    target_far: float = typer.Option(0.01, help="(single split) false-accept rate allowed for 'match'."),
    possible_far: float = typer.Option(0.05, help="(single split) false-accept rate allowed for 'possible'."),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Choose the match/possible rule on labelled photos; prints the expected rank-1 and false-accept rate
    with 95% intervals and a [faces.matching] config block.

    With --data: thresholds are fitted on some people (and sources) and checked on others, targeting the
    upper end of the false-accept interval. With --gallery/--probes: one split, thresholds read off that
    split (in-sample; a quick look only).
    """
    if data is None:
        if gallery is None or probes is None or root is None:
            fail("give --data (cross-validated) or --gallery, --probes and --root (single split)")
            return
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
                console.print(f"{key:>28}: {safe(value)}")  # not for translation: field names of the JSON
        typer.echo(result["toml"])  # not for translation: a config block to paste
        return
    from idolguard.faces.eval_cli import calibrate_cross_validated
    from idolguard.gallery.calibration import Settings

    chosen = variant.value
    variants = tuple(v.value for v in Variant if v.value != chosen) + (chosen,)
    settings = Settings(
        draws=draws, target_far_upper=target_far_upper, possible_far_upper=possible_far_upper, variants=variants
    )
    show = interactive(json_out)
    try:
        with progress_bar(show, "embedding", None) as advance:
            record = calibrate_cross_validated(
                data, cache, fold or None, settings, on_done=advance, by_identity=by_identity
            )
    except IdolGuardError as exc:
        fail(str(exc))
        return
    if out_file is not None:
        import json

        out_file.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if json_out:
        emit_json(record)
        return
    _print_calibration(record)


def _ci(value: Any, interval: Any) -> str:
    if value is None:
        return "-"
    low, high = interval or (None, None)
    return f"{100 * value:.2f}% [{100 * (low or 0):.2f}, {100 * (high or 0):.2f}]"


def _print_calibration(record: dict[str, Any]) -> None:
    """Held-out figures per rule variant and per source (stderr, for people), then the config block."""
    expected = record["expected"]
    tell(
        "shipped rule: {variant} -> {family} (target met on identity- and source-disjoint folds: {met})",
        variant=expected["variant"],
        family=expected.get("family"),
        met=record.get("target_met_both"),
    )
    for name, figures in [
        *((f"{n} [identity]", f) for n, f in record["source"]["variants"].items()),
        *((f"{n} [source]", f) for n, f in record["expected_cross_source"]["variants"].items()),
    ]:
        tell(
            "{name}: rank-1 match {rank1}  false accepts {far}  possible: genuine {genuine}%, impostor {impostor}%  "
            "(held out)",
            name=f"{name:>26}",
            rank1=_ci(figures["rank1_match"], figures["rank1_match_95ci"]),
            far=_ci(figures["false_accept_rate"], figures["false_accept_rate_95ci"]),
            genuine=f"{100 * (figures['possible_share_genuine'] or 0):.1f}",
            impostor=f"{100 * (figures['possible_share_impostor'] or 0):.1f}",
        )
    tell("per source ({variant}, held out):", variant=expected["variant"])
    for source, row in expected["per_source"].items():
        parts = []
        if row.get("genuine_trials"):
            parts.append(tr("rank-1 {value}", value=_ci(row["rank1_match"], row.get("rank1_match_95ci"))))
        if row.get("impostor_trials"):
            parts.append(
                tr("false accepts {value}", value=_ci(row["false_accept_rate"], row.get("false_accept_rate_95ci")))
            )
        console.print(f"  {safe(source):>34}: " + safe("  ".join(parts)))
    if record.get("fitted_target_met") is False:
        # The block would be the search's strictest rule, not one that meets the target: say so before it is
        # pasted (it can leave most artists' faces unmatched).
        warn(
            "no rule met the false-accept target's upper bound on this data (too few people, sources or "
            "impostor faces for the 95% interval): the block below is the strictest rule searched (match "
            "{threshold}) and may leave most faces unmatched; add labelled photos before using it",
            threshold=record["match_threshold"],
        )
    margin = record["artist_margin"]
    typer.echo(  # not for translation: a config block to paste
        "[faces.matching]\n"
        f"match_threshold = {record['match_threshold']}\n"
        f"possible_threshold = {record['possible_threshold']}\n"
        + (f"artist_margin = {margin}\n" if margin is not None else "")
        + f"artist_quantile = {record['artist_quantile']}\n"
        f"quality_pivot = {record['quality_pivot']}\n"
        f"quality_slope = {record['quality_slope']}\n"
        + (f"norm_threshold = {record['norm_threshold']}\n" if record.get("norm_threshold") is not None else "")
        + (
            f"fallback_match_threshold = {record['fallback_match_threshold']}\n"
            if record.get("fallback_match_threshold") is not None
            else ""
        )
        + (f"mirror_delta = {record['mirror_delta']}\n" if record.get("mirror_delta") is not None else "")
        + (  # the band, measured here: without it a local block gets the mirror_delta-wide band
            f"mirror_band = {record['mirror_band']}\n"
            f"mirror_band_from = {record['mirror_band_from']}\n"
            f"mirror_band_upto = {record['mirror_band_upto']}\n"
            if all(record.get(k) is not None for k in ("mirror_band", "mirror_band_from", "mirror_band_upto"))
            else ""
        )
        + 'norm = "none"\n'
        + f'reference_embedding = "{record.get("reference_embedding") or "crop+mirror"}"'
    )


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    app.add_typer(artists_app, name="artists", rich_help_panel=PANEL_CASEWORK)
    app.command("identify", rich_help_panel=PANEL_INTAKE)(identify)
    groups["eval"].command("faces")(eval_faces)
    groups["eval"].command("gallery")(eval_gallery)
    groups["calibrate"].command("faces")(calibrate_faces)


def _print_eval(rows: list[dict[str, Any]], summary: dict[str, Any], json_out: bool) -> None:
    """The summary (and with --json the rows); exit 1 when a listed file could not be read (it counts as an
    error in the figures: a wrong --root or a typo in the CSV must not pass for a face the model missed)."""
    unreadable = summary.get("unreadable_files") or []
    if json_out:
        for row in rows:
            emit_json(row)
        emit_json(summary)
    else:
        for key, value in summary.items():
            if key == "unreadable_files":
                value = len(value)
            if isinstance(value, float):
                value = f"{value:.4f}"
            out().print(f"{key:>28}: {safe(value)}")
    for problem in unreadable[:5]:
        warn("{path}: cannot be used: {error}", path=problem["path"], error=tr_error(problem["error"]))
    if unreadable:
        warn(
            "{n} listed file(s) could not be read; they count as errors (are the paths relative to --root?)",
            n=len(unreadable),
        )
    exit_for(len(unreadable))
