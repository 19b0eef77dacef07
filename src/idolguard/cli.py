"""The ``idolguard`` command line. Core commands live here; each area registers its own commands module."""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from idolguard import __version__
from idolguard.cli_support import (
    N_,
    PANEL_INTAKE,
    PANEL_MODELS,
    PANEL_WORKSPACE,
    ScanProgress,
    console,
    emit_json,
    engine_option,
    exit_for,
    fail,
    home_option,
    interactive,
    json_option,
    new_app,
    note,
    open_workspace,
    out,
    plain_help,
    print_table,
    progress_bar,
    ray_address_option,
    ray_vault_option,
    resolve_hash,
    safe,
    shown_time,
    tell,
    tr,
    tr_error,
    tr_stored,
    warn,
)
from idolguard.errors import IdolGuardError, WorkspaceError
from idolguard.evidence.actions import Action
from idolguard.exit_codes import ExitCode


class _Root(TyperGroup):
    """The root group: an ``IdolGuardError`` that escapes a command becomes ``error: ...`` and an exit code
    from the table (4 for workspace/configuration problems, 1 otherwise), never a traceback; help texts are
    shown as written (no Rich markup)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        plain_help(self)

    def main(self, args: Any = None, *rest: Any, **kwargs: Any) -> Any:
        """Pick the language before Click parses anything (``--lang`` is read from the line first), so help texts
        and Click's own errors for this run are in it; the choice is forgotten when the run ends."""
        from idolguard import cli_lang

        given = list(sys.argv[1:] if args is None else args)
        cli_lang.choose(cli_lang.from_args(given))
        plain_help(self)  # again, now in the chosen language
        try:
            return super().main(given, *rest, **kwargs)
        finally:
            cli_lang.choose(None)

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except WorkspaceError as exc:
            fail(exc, ExitCode.WORKSPACE)
        except IdolGuardError as exc:
            fail(exc, ExitCode.ITEMS_FAILED)


def _after_command(*_args: Any, **_kwargs: Any) -> None:
    """After any command that recorded custody events (artists, banks, captures, incidents... included),
    anchor the ledger head with the configured TSAs, or say that it could not be timestamped."""
    from idolguard.cli_support import opened_workspaces

    for ws in opened_workspaces():
        if not ws.read_only and ws.wrote:
            try:
                _finish_writes(ws)
            except Exception as exc:  # noqa: BLE001 - the command's work is done and committed; say so
                warn("the ledger head could not be anchored: {reason}", reason=tr_error(exc))


app = new_app(
    "Find, identify, score, preserve and act on deepfakes of protected artists.",
    name="idolguard",
    cls=_Root,
    add_completion=False,
    pretty_exceptions_enable=False,
    result_callback=_after_command,
)

# Command groups shared by several areas (e.g. ``idolguard eval faces`` and ``idolguard eval detector``).
GROUPS: dict[str, typer.Typer] = {
    "eval": new_app("Measure accuracy on labelled data."),
    "train": new_app("Train models (needs the train extra: pip install -e '.[train]')."),
    "calibrate": new_app("Recalibrate scores on your own labelled cases."),
}
for _name, _group in GROUPS.items():
    app.add_typer(_group, name=_name, rich_help_panel=PANEL_MODELS)


class Lang(StrEnum):
    """``--lang``: read before parsing (``_Root.main``); declared so Click accepts it and ``--help`` lists it."""

    ko = "ko"
    en = "en"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"idolguard {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
    lang: Lang = typer.Option(
        None,
        "--lang",
        case_sensitive=False,
        help="Language of messages, tables and help: ko or en (default: IDOLGUARD_LANG, else the locale "
        "LC_ALL/LC_MESSAGES/LANG starting with ko means Korean, else English). --json output is the same in both.",
    ),
) -> None:
    """IdolGuard command line."""
    from idolguard.cli_support import opened_workspaces

    opened_workspaces()  # start clean: a command that exited early leaves nothing for this one


@app.command(rich_help_panel=PANEL_WORKSPACE)
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
    """Create a workspace: config, database, vault, the instance signing key and the ledger's genesis entry."""
    from idolguard.evidence.keys import ENV_KEY_FILE, ENV_PASSPHRASE, PRIVATE_NAME
    from idolguard.workspace import init_workspace

    try:
        config = init_workspace(home, encrypt=encrypt, key_file=key_file, signing_key_file=signing_key_file)
    except IdolGuardError as exc:
        fail(exc, ExitCode.WORKSPACE)
    tell(
        "workspace ready at [bold]{home}[/] (database: {db})",
        stdout=True,
        home=config.home,
        db=_safe_url(config.db_url),
    )
    inside = config.keys_dir / PRIVATE_NAME
    if not signing_key_file and not os.environ.get(ENV_KEY_FILE) and inside.exists():
        note(
            "the private signing key is inside the workspace ({path}). Anyone who can write the workspace can then "
            "re-sign its history. Keep it elsewhere: move it and set {env} (or \\[keys] signing_key_file), or "
            "create workspaces with --signing-key-file PATH; set {passphrase} to encrypt it.",
            path=inside,
            env=ENV_KEY_FILE,
            passphrase=ENV_PASSPHRASE,
        )
    from idolguard.capture.settings import CaptureSettings
    from idolguard.settings import load

    if not load(CaptureSettings, config.raw).tsa_urls:
        note(
            "no RFC 3161 timestamping service configured (\\[capture] tsa_urls): captures and the ledger head will "
            "not be timestamped."
        )
    _run_init_hooks(config.home)


def _run_init_hooks(home: Path | None) -> None:
    """What areas do once on a new workspace (``Area.init_hooks``): the web app creates its first
    administrator and its one-time login is printed here, once (on stderr, with the other notes)."""
    from idolguard import registry
    from idolguard.workspace import Workspace

    hooks = registry.init_hooks()
    if not hooks:
        return

    def say(line: str) -> None:
        console.print(tr_error(line), highlight=False, soft_wrap=True, markup=False)

    def later(exc: Exception) -> None:
        note("not run now ({reason}); `idolguard serve` creates the first admin", reason=tr_error(exc))

    # The workspace exists now whatever happens here: a hook that cannot run is a note, not a failed init.
    try:
        ws = Workspace.open(home)
    except IdolGuardError as exc:
        later(exc)
        return
    try:
        ws.signing_key  # noqa: B018 - loaded now (it may live outside the workspace, passphrase-protected)
        for area, hook in hooks:
            try:
                hook(ws, say)
            except IdolGuardError as exc:
                note("{area}: {reason}", area=area, reason=tr_error(exc))
    except IdolGuardError as exc:
        later(exc)
    finally:
        ws.close()


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
    # Done for what was written so far: the after-command step (``_after_command``) then skips this workspace
    # unless something is written after this point. Without it a command that finishes its own writes (scan,
    # ingest, export...) said twice that the head was not timestamped when no TSA is configured (no anchor
    # entry is appended then, so the second call still finds entries since the last anchor).
    ws.wrote = False


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _sighting_info(
    source_url: str | None, platform: str | None, account: str | None, seen_at: str | None, note: str | None
) -> Any:
    from idolguard.intake.ingest import SightingInfo, parse_seen_at
    from idolguard.intake.source_url import check_source_url

    try:
        return SightingInfo(check_source_url(source_url), platform, account, parse_seen_at(seen_at), note)
    except IdolGuardError as exc:
        fail(exc)


# The sighting options of ``ingest`` and ``scan``: one definition, so both show the same help.
def source_url_option() -> Any:
    return typer.Option(None, "--source-url", help="Where the media was found (URL of the post or page).")


def platform_option() -> Any:
    return typer.Option(None, "--platform", help="Platform name (e.g. x, telegram).")


def account_option() -> Any:
    return typer.Option(None, "--account", help="Posting account handle.")


def seen_at_option() -> Any:
    return typer.Option(
        None,
        "--seen-at",
        help="When it was seen: ISO 8601 with a time zone, which is required (e.g. 2026-11-01T21:30:00+09:00 "
        "or 2026-11-01T12:30:00Z).",
    )


def note_option() -> Any:
    return typer.Option(None, "--note", help="Free-text note recorded with the sighting.")


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


@app.command(rich_help_panel=PANEL_INTAKE)
def ingest(
    paths: list[Path] = typer.Argument(..., help="Files, folders (recursive) and .zip archives."),
    source_url: str = source_url_option(),
    platform: str = platform_option(),
    account: str = account_option(),
    seen_at: str = seen_at_option(),
    note: str = note_option(),
    json_out: bool = json_option("One JSON object per file."),
    home: Path = home_option(),
) -> None:
    """Preserve files as evidence items (no analysis beyond probing). Exits 1 when any input failed."""
    from idolguard.errors import StorageFull
    from idolguard.intake.ingest import Ingestor
    from idolguard.pipeline.runner import analyze

    ws = _open_to_sign(home)
    info = _sighting_info(source_url, platform, account, seen_at, note)
    show = interactive(json_out)
    _files, total_bytes = _count(paths) if show else (0, 0)
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
                f"[red]{safe(tr_stored(result.error, result.error_code, result.error_params))}[/]"
                if result.error
                else tr("duplicate")
                if result.duplicate
                else tr("stored")
            )
            out().print(f"{(result.sha256 or '-')[:16]}  {status}  {safe(result.path)}")
    errors = sum(1 for r in results if r.error)
    if not json_out:
        stored = sum(1 for r in results if r.sha256 and not r.error)
        tell("{stored} stored, {errors} errors", stored=stored, errors=errors)
    _finish_writes(ws)
    if stopped:
        _error_line(stopped)
    if not results:
        _error_line("no input file found")
    exit_for(errors or bool(stopped) or (not results))


def _error_line(message: str) -> None:
    """``error: ...`` without exiting (the command still reports what it did, then exits non-zero)."""
    console.print(f"[bold red]{tr('error:')}[/] {safe(tr_error(message))}")


# Verdicts shown in the findings column (translated: the --json output keeps the codes).
VERDICTS = (N_("likely_manipulated"), N_("uncertain"), N_("not_detected"))


def _findings(obj: dict[str, Any]) -> str:
    bits = []
    if "faces" in obj and obj["faces"] is not None:
        named = [f.get("artist") for f in obj["faces"] if f.get("decision") == "match"]
        bits.append(tr("{n} face(s)", n=len(obj["faces"])) + (f": {', '.join(n for n in named if n)}" if named else ""))
    if obj.get("verdict"):
        score = obj.get("manipulation_score")
        bits.append(tr(str(obj["verdict"])) + (f" ({score:.2f})" if isinstance(score, float) else ""))
    if obj.get("matches"):
        bits.append(tr("{n} hash match(es)", n=len(obj["matches"])))
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


def scan_table(objects: list[dict[str, Any]]) -> None:
    from idolguard.cli_lang import current
    from idolguard.report.html import item_failure

    rows = []
    for obj in objects:
        dims = ""
        if obj.get("width"):
            dims = f"{obj['width']}x{obj['height']}"
        if obj.get("duration_s"):
            dims += f" {obj['duration_s']:.1f}s"
        status = (
            item_failure(obj, current())  # "Media check failed: ...", never the stage's internal name
            if obj.get("error")
            else tr("dup")
            if obj.get("duplicate")
            else tr("ok")
        )
        size = obj.get("size")
        rows.append(
            (
                _short_path(obj.get("path")) if sys.stdout.isatty() else obj.get("path"),
                (obj.get("sha256") or "-")[:12],
                obj.get("media_type"),
                f"{size:,}" if isinstance(size, int) else None,
                dims,
                status,
                _findings(obj),
            )
        )
    print_table("IdolGuard scan", ("file", "sha256", "type", "size", "dims", "status", "findings"), rows)


@app.command(rich_help_panel=PANEL_INTAKE)
def scan(
    paths: list[Path] = typer.Argument(..., help="Files, folders (recursive) and .zip archives."),
    json_out: bool = json_option("One JSON object per file per line."),
    report: Path = typer.Option(None, "--report", help="Write a self-contained HTML report here."),
    source_url: str = source_url_option(),
    platform: str = platform_option(),
    account: str = account_option(),
    seen_at: str = seen_at_option(),
    note: str = note_option(),
    workers: int = typer.Option(
        None,
        min=1,
        help="Worker processes for analysis (default 1); with --engine ray, Ray workers (default: one per CPU "
        "of the cluster), each loading the models once.",
    ),
    engine: str = engine_option(),
    ray_address: str = ray_address_option(),
    ray_vault: str = ray_vault_option(),
    home: Path = home_option(),
) -> None:
    """Ingest and run every available analysis stage; one row (or JSON object) per file.

    Exits 1 when any input failed (its error is in its row). Re-running the same command resumes an
    interrupted scan: stored results (content hash + stage version) are reused, nothing is stored twice.
    With --engine ray the cluster is checked before anything is ingested (exit 4 when it cannot be used,
    e.g. SQLite with more than one node); see docs/SCALING.md.
    """
    from idolguard.pipeline.ray_engine import engine_for_command
    from idolguard.pipeline.scan import scan_paths_checked
    from idolguard.report.html import write_report

    ws = _open_to_sign(home)
    runner_engine = engine_for_command(ws, engine, workers, ray_address, ray_vault, quiet=json_out)
    info = _sighting_info(source_url, platform, account, seen_at, note)
    show = interactive(json_out)
    total_files, total_bytes = _count(paths) if show else (0, 0)
    with ScanProgress(show, total_bytes, total_files) as progress:
        try:
            outcome = scan_paths_checked(
                ws,
                paths,
                info,
                on_ingested=progress.ingested,
                on_analysis_start=progress.analysis_started,
                on_analyzed=progress.analysed,
                engine=runner_engine,
            )
        finally:
            close = getattr(runner_engine, "close", None)
            if close is not None:
                close()
    objects = outcome.objects
    if json_out:
        from idolguard.faces.outputs import named_only_when_matched

        for obj in objects:
            if obj.get("faces"):  # a no_match names no artist (closest_artist), as `identify` says it
                obj = {**obj, "faces": [named_only_when_matched(face) for face in obj["faces"]]}
            emit_json(obj)
    else:
        scan_table(objects)
    if report is not None and outcome.stopped is None:
        digest = write_report(ws, objects, report)
        tell("report: {path} (sha256 {digest}…)", path=report.resolve(), digest=digest[:16])
    if outcome.stopped is None:
        _finish_writes(ws)
    else:
        _error_line(outcome.stopped)
    if not objects:
        _error_line("no input file found")
    exit_for(sum(1 for obj in objects if obj.get("error")) or bool(outcome.stopped) or (not objects))


@app.command(rich_help_panel=PANEL_WORKSPACE)
def verify(
    json_out: bool = json_option("The report as one JSON object."),
    skip_objects: bool = typer.Option(False, "--skip-objects", help="Check only the ledger (fast)."),
    expect_head: str = typer.Option(
        None, "--expect-head", help="SEQ:HASH of a head recorded earlier (e.g. in a report); it must still be there."
    ),
    home: Path = home_option(),
) -> None:
    """Re-hash every vault object and walk the whole custody ledger. Exit 0 only if all checks pass, 3 if not."""
    from idolguard.evidence.verify import verify_workspace

    expected: tuple[int, str] | None = None
    if expect_head:
        seq_text, _, hash_text = expect_head.partition(":")
        if not seq_text.isdigit() or len(hash_text) != 64:
            fail("--expect-head takes SEQ:HASH, e.g. 41:3f2a… (64 hex characters)")
        expected = (int(seq_text), hash_text.lower())
    from idolguard.config import default_home
    from idolguard.workspace import is_writable

    read_only = not is_writable((home or default_home()).expanduser())
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
            ws.wrote = False  # the verify event alone is not anchored (it would add an anchor entry per check)
        except Exception as exc:  # noqa: BLE001 - the check's result matters more than recording it
            warn("the verify event could not be recorded: {reason}", reason=tr_error(exc))
    if json_out:
        emit_json({**report.as_dict(), "read_only": read_only, "verify_event_recorded": recorded})
    else:
        for problem in report.problems:
            line = f"{safe(problem.where)} {safe(problem.ref)}: {safe(_finding(problem))}"
            out().print(f"[red]{tr('BAD')}[/] {line}")
        for warning in report.warnings:
            line = f"{safe(warning.where)} {safe(warning.ref)}: {safe(_finding(warning))}"
            out().print(f"[yellow]{tr('warning:')}[/] {line}")
        _print_verify_summary(report, read_only=read_only, recorded=recorded)
    ws.close()
    if not report.ok:
        raise typer.Exit(int(ExitCode.INTEGRITY))


def _finding(problem: Any) -> str:
    """A verify finding in the CLI's language: a coded one from the shared catalog (``locales/verify.ko.po``) with
    its values, any other as an error text (``tr_error``)."""
    from idolguard.evidence.verify import FINDING_MESSAGES, finding_values

    if problem.code is None:
        return tr_error(problem.message)
    return tr(FINDING_MESSAGES[problem.code], **finding_values(problem.params, tr))


def _print_verify_summary(report: Any, *, read_only: bool, recorded: bool) -> None:
    for key_range in report.key_ranges:
        tell(
            "key {key}… signed entries {first}–{last}",
            stdout=True,
            key=key_range.key_id[:16],
            first=key_range.first_seq,
            last=key_range.last_seq,
        )
    warning = f"[yellow]{tr('warning:')}[/] "
    if report.last_anchor:
        anchor = report.last_anchor
        tell(
            "last anchor: entry {seq} timestamped {time} by {tokens} TSA(s); {newer} newer entries are covered only "
            "by --expect-head",
            stdout=True,
            seq=anchor["seq"],
            time=anchor["gen_time"],
            tokens=anchor["tokens"],
            newer=report.unanchored_entries,
        )
    elif report.head_seq is not None:
        out().print(
            warning
            + tr(
                "no RFC 3161 anchor: removal of the newest entries or re-signing with the instance key can only be "
                "detected with --expect-head"
            )
        )
    if report.items_after_last_anchor:
        out().print(
            warning
            + tr(
                "{n} item(s) were ingested after the last anchor and have no trusted timestamp yet",
                n=report.items_after_last_anchor,
            )
        )
    for capture in report.unstamped:
        out().print(warning + tr("{capture} has no RFC 3161 timestamp", capture=safe(capture)))
    if report.vault_key_objects:
        tell(
            "{n} vault object(s) are encrypted with the vault key itself (older format): a destruction can only "
            "delete them, not destroy a key of their own; `idolguard vault rekey` gives them one",
            stdout=True,
            n=report.vault_key_objects,
        )
    decisions: dict[Any, list[dict[str, Any]]] = {}
    for gone in report.destroyed:
        decisions.setdefault(gone["decision_seq"], []).append(gone)
    for seq, objects in decisions.items():
        names = ", ".join(str(a) for a in objects[0]["approved_by"])
        tell(
            "destroyed by decision: {n} objects of {case} (ledger seq {seq}, approved by {names})",
            stdout=True,
            n=len(objects),
            case=objects[0]["case"],
            seq=seq,
            names=names,
        )
    verdict = f"[green]{tr('OK')}[/]" if report.ok else f"[red]{tr('FAILED ({n} problems)', n=len(report.problems))}[/]"
    out().print(
        verdict
        + tr(
            ": {objects} objects re-hashed, {entries} ledger entries, {mirror} mirror lines and {rows} rows checked; "
            "head seq {seq} hash {hash}",
            objects=report.objects_checked,
            entries=report.entries_checked,
            mirror=report.mirror_lines_checked,
            rows=report.rows_checked,
            seq=report.head_seq,
            hash=report.head_hash,
        )
    )
    if read_only:
        tell("read-only copy: nothing was written (the verify event was not recorded)", stdout=True)
    elif not recorded:
        tell("the verify event was not recorded", stdout=True)


@app.command(rich_help_panel=PANEL_WORKSPACE)
def log(
    sha256: str = typer.Argument(None, help="Item hash (full or a unique prefix of at least 8 characters)."),
    json_out: bool = json_option("One JSON object per custody event (ISO 8601 UTC times)."),
    limit: int = typer.Option(0, help="Show only the last N events (0 = all)."),
    home: Path = home_option(),
) -> None:
    """The custody events (who, what, when, why) for one item or for the whole workspace."""
    from sqlalchemy import select

    from idolguard.db.models import LedgerEntry

    ws = open_workspace(home, read_only=True)  # reading only: works on a read-only copy, writes nothing
    full = resolve_hash(ws, sha256, derived=True) if sha256 else None
    with ws.sessions() as session:
        query = select(LedgerEntry).order_by(LedgerEntry.seq)
        if full:
            query = query.where(LedgerEntry.item_sha256 == full)
        entries = session.execute(query).scalars().all()
    if full and not entries:
        fail("no custody events for {sha256}", sha256=full)
    if limit:
        entries = entries[-limit:]
    import json as _json

    records = [_json.loads(entry.line) for entry in entries]
    if json_out:
        for record in records:
            emit_json(record)
        return
    rows = []
    for record in records:
        details = ", ".join(f"{k}={v}" for k, v in record["details"].items() if v not in (None, "", [], {}))
        rows.append(
            (
                record["seq"],
                shown_time(record["ts"], ws),
                record["actor"],
                record["action"],
                (record["item"] or "-")[:16],
                details,
            )
        )
    print_table(None, ("seq", "time", "actor", "action", "item", "details"), rows)


@app.command(rich_help_panel=PANEL_WORKSPACE)
def export(
    sha256: str = typer.Argument(
        ..., help="Item or derived-object hash (or a unique prefix of at least 8 characters)."
    ),
    out: Path = typer.Option(..., "--out", help="Destination file (must not exist)."),
    reason: str = typer.Option(..., "--reason", help="Why it is exported (recorded in the ledger)."),
    home: Path = home_option(),
) -> None:
    """Write the original bytes of a stored object to a file, recording who exported it and why."""
    ws = _open_to_sign(home)
    if out.exists():
        fail("{path} exists; refusing to overwrite", path=out)
    sha256 = resolve_hash(ws, sha256, derived=True)
    try:
        ws.vault.export(sha256, out)
    except (IdolGuardError, ValueError) as exc:
        fail(exc, ExitCode.ITEMS_FAILED)
    except OSError as exc:
        fail("cannot write {path}: {reason}", ExitCode.ITEMS_FAILED, path=out, reason=exc.strerror or exc)
    with ws.write() as (_session, ledger):
        ledger.append(
            Action.EVIDENCE_EXPORT, item=sha256, details={"kind": "original", "path": str(out), "reason": reason}
        )
    _finish_writes(ws)
    tell("exported {sha256}… to {path}", sha256=sha256[:16], path=out)


key_app = new_app("The instance signing key.")
app.add_typer(key_app, name="key", rich_help_panel=PANEL_WORKSPACE)


@key_app.command("rotate")
def key_rotate(
    reason: str = typer.Option(..., "--reason", help="Why the key changes (recorded in the ledger)."),
    new_key_file: Path = typer.Option(
        None, "--new-key-file", help="Where to create the new private key (default: where the current one is)."
    ),
    home: Path = home_option(),
) -> None:
    """Replace the signing key: the current key signs a ledger.rotate_key entry naming the new one."""
    from idolguard.workspace import rotate_signing_key

    ws = _open_to_sign(home)
    try:
        new = rotate_signing_key(ws, new_key_file, reason)
    except IdolGuardError as exc:
        fail(exc, ExitCode.WORKSPACE)
    _finish_writes(ws)
    tell("signing key rotated: new key id {key}", stdout=True, key=new.key_id)
    if new_key_file:
        tell("set IDOLGUARD_SIGNING_KEY_FILE={path} (or the config's signing_key_file) from now on", path=new_key_file)


@app.command(rich_help_panel=PANEL_INTAKE)
def stages(
    json_out: bool = json_option("One JSON object per stage."),
    home: Path = typer.Option(
        None,
        "--home",
        envvar="IDOLGUARD_HOME",
        help="Workspace whose stored results are counted per stage (optional; default ~/.idolguard if it exists).",
    ),
) -> None:
    """List analysis stages with their versions, whether they can run here and, in a workspace, how many
    items have a stored result of each and how many hold only an older version's (idolguard analyze --stale)."""
    from idolguard.config import default_home
    from idolguard.pipeline.registry import all_stages, import_problems

    results: dict[str, int] | None = None
    outdated: dict[str, int] = {}
    stale_items = 0
    calibration: str | None = None
    where = (home or default_home()).expanduser()
    if home is not None or (where / "config.toml").is_file():
        from idolguard.pipeline.stale import find_stale

        ws = open_workspace(home)
        results = _results_per_stage(ws)
        report = find_stale(ws)
        stale_items = len(report.runnable)
        for item in report.runnable:
            for name in item.stages:
                outdated[name] = outdated.get(name, 0) + 1
        from idolguard.gallery.store import reference_embedding_status, reference_warning

        # the face calibration's status: references it was not fitted for are never decided ``match``
        calibration = reference_warning(reference_embedding_status(ws))
    rows = []
    for stage in all_stages():
        reason = stage.unavailable_reason()
        rows.append(
            {
                "stage": stage.name,
                "version": stage.version,
                "needs": list(stage.needs),
                "produces": list(stage.produces),
                "available": reason is None,
                "reason": reason,
                "results": None if results is None else results.get(stage.name, 0),
                "outdated": None if results is None else outdated.get(stage.name, 0),
            }
        )
    for spec, problem in import_problems().items():
        rows.append(
            {"stage": spec, "version": None, "needs": [], "produces": [], "available": False, "reason": problem}
        )
    if json_out:
        for row in rows:
            emit_json(row)
        return
    columns = [N_("stage"), N_("version"), N_("needs"), N_("produces"), N_("status")]
    columns += [N_("results"), N_("outdated")] if results is not None else []
    print_table(
        "analysis stages",
        columns,
        [
            (
                r["stage"],
                r["version"],
                ", ".join(r["needs"]),
                ", ".join(r["produces"]),
                tr("available") if r["available"] else tr_error(r["reason"]),
            )
            + ((r.get("results"), r.get("outdated")) if results is not None else ())
            for r in rows
        ],
    )
    if stale_items:
        warn("{n} item(s) were analysed by older stage versions: run `idolguard analyze --stale`", n=stale_items)
    if calibration:
        warn("{text}", text=tr_error(calibration))


def _results_per_stage(ws: Any) -> dict[str, int]:
    from sqlalchemy import func, select

    from idolguard.db.models import StageResult

    with ws.sessions() as session:
        query = select(StageResult.stage, func.count(func.distinct(StageResult.item_sha256))).group_by(
            StageResult.stage
        )
        return {stage: int(count) for stage, count in session.execute(query).tuples()}


@app.command("vault-key", rich_help_panel=PANEL_WORKSPACE)
def vault_key() -> None:
    """Print a new random 256-bit vault key (hex). Store it outside the workspace; never commit it."""
    typer.echo(os.urandom(32).hex())


@app.command(rich_help_panel=PANEL_WORKSPACE)
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
        fail(exc, ExitCode.WORKSPACE)
    media_dir = out or (config.home / "demo-media")
    paths = make_demo_media(media_dir)
    tell("demo media: {n} files in {path}", n=len(paths), path=media_dir)
    try:
        _demo_scan(paths, media_dir, config)
    except typer.Exit as exc:
        # The demo media include a deliberately truncated file, to show how a per-item error looks: that
        # expected failure is not a failed demo.
        if exc.exit_code != ExitCode.ITEMS_FAILED:
            raise
    _demo_case(config.home, media_dir)


DEMO_CASE_TITLE = "Demo case: demo images re-posted"


def _demo_case(home: Path, media_dir: Path) -> None:
    """A demo case, so the web app's case, account and takedown pages have something to show: two faceless
    demo images seen again on made-up URLs (example.invalid) posted by two made-up accounts an hour apart."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select

    from idolguard.cases.accounts import record_from_sightings
    from idolguard.cases.models import Case
    from idolguard.cases.service import add_to_case, open_case
    from idolguard.intake.ingest import Ingestor, SightingInfo
    from idolguard.workspace import Workspace

    ws = Workspace.open(home)
    try:
        start = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
        shas: list[str] = []
        for n, account in enumerate(("@demo_uploader", "@demo_reposter")):
            for name in ("shapes-1.jpg", "shapes-2.png"):
                info = SightingInfo(
                    source_url=f"https://example.invalid/{account[1:]}/{name}",
                    platform="demo",
                    account=account,
                    seen_at=start + timedelta(hours=n),
                    note="demo sighting",
                )
                shas += [r.sha256 for r in Ingestor(ws, info).ingest([media_dir / name]) if r.sha256]
        record_from_sightings(ws)
        with ws.sessions() as session:  # `make run` runs the demo every time: one demo case, not one per run
            existing = session.scalar(select(Case.number).where(Case.title == DEMO_CASE_TITLE).limit(1))
        number = existing or open_case(ws, DEMO_CASE_TITLE, "Demo artist")
        add_to_case(ws, number, sorted(set(shas)))
    finally:
        ws.close()
    tell("demo case: {number} ({n} items, 2 accounts) on the web app's Cases page", number=number, n=len(set(shas)))


def _demo_scan(paths: list[Path], media_dir: Path, config: Any) -> None:
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
        engine="local",
        ray_address=None,
        ray_vault="auto",
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
    app()


if __name__ == "__main__":
    main()
