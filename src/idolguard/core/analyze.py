"""``idolguard analyze --stale``: re-analyse stored items whose results come from older stage versions.

The work is ``pipeline.stale`` (finding the items from stored rows, re-running them through ``runner.analyze``);
this module only parses the options and says what happened, in Korean or English.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from idolguard.cli_support import (
    N_,
    engine_option,
    fail,
    home_option,
    interactive,
    open_workspace,
    print_table,
    progress_bar,
    ray_address_option,
    ray_vault_option,
    resolve_hash,
    say,
    tell,
    tr,
    tr_error,
    tr_stored,
)
from idolguard.exit_codes import ExitCode

# How a skipped item is said (reason code -> catalog template).
SKIP_REASONS = {
    "erased": N_("{sha256}: skipped, its original was erased by a destruction decision"),
    "missing": N_("{sha256}: skipped, its vault object is missing (run idolguard verify)"),
    "unreadable": N_("{sha256}: skipped, its vault object cannot be read: {reason} (run idolguard verify)"),
}
STALE_HINT = N_("{n} item(s) were analysed by older stage versions: run `idolguard analyze --stale`")


def analyze_command(
    items: list[str] = typer.Argument(None, help="Only these items (SHA-256 or a prefix of 8+ hex characters)."),
    stale: bool = typer.Option(
        False,
        "--stale",
        help="Re-analyse items whose stored results come from an older stage version (or were computed from "
        "one): after an upgrade bumps a stage's version, their faces, manipulation and match results are not "
        "shown as current until this runs.",
    ),
    stage: list[str] = typer.Option(
        None, "--stage", help="Only this stage (and what it needs); repeat for several. Default: every stage."
    ),
    limit: int = typer.Option(None, "--limit", min=1, help="Re-analyse at most this many items in this run."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Only count stale items per stage and stored version; analyse and write nothing."
    ),
    workers: int = typer.Option(
        None, min=1, help="Worker processes (default 1); with --engine ray, Ray workers (default: one per CPU)."
    ),
    engine: str = engine_option(),
    ray_address: str = ray_address_option(),
    ray_vault: str = ray_vault_option(),
    json_out: bool = typer.Option(False, "--json", help="One JSON object with the counts and what was done."),
    home: Path = home_option(),
) -> None:
    """Bring stored items up to date with the installed stage versions, from their originals in the vault.

    Items whose original was erased by a destruction decision, or whose vault object is missing or unreadable,
    are listed and skipped. Resumable: results are stored as they are computed, so running the command again
    after an interruption continues where it stopped and stores nothing twice. Exits 1 when an item failed or
    could not be read.
    """
    from idolguard.pipeline.ray_engine import engine_for_command
    from idolguard.pipeline.stale import find_stale, refresh

    if not stale:
        fail("say which items to analyse: --stale (optionally with item hashes)")
    names = _stage_names(stage)
    ws = open_workspace(home, read_only=dry_run, signs=not dry_run)
    shas = [resolve_hash(ws, prefix) for prefix in items] if items else None
    report = find_stale(ws, names, shas=shas)
    if not json_out:
        _print_counts(report)
    if dry_run:
        if json_out:
            typer.echo(json.dumps({"dry_run": True, **report.as_dict()}, ensure_ascii=False))
        else:
            _print_skipped([{"sha256": i.sha256, "reason": i.skip} for i in report.skipped])
            tell("dry run: nothing was analysed or stored")
        return
    runner_engine = engine_for_command(ws, engine, workers, ray_address, ray_vault, quiet=json_out)
    total = min(len(report.runnable), limit) if limit else len(report.runnable)
    try:
        with progress_bar(interactive(json_out) and total > 0, "re-analyse", total) as advance:
            result = refresh(
                ws,
                report,
                stage_names=names,
                limit=limit,
                workers=workers or 1,
                engine=runner_engine,
                on_done=lambda _sha: advance(),
            )
    finally:
        close = getattr(runner_engine, "close", None)
        if close is not None:
            close()
    left = find_stale(ws, names, shas=result.analysed) if result.analysed else None
    still = len(left.items) if left else 0
    summary = result.as_dict()
    if json_out:
        typer.echo(
            json.dumps({"dry_run": False, **report.as_dict(), **summary, "still_stale": still}, ensure_ascii=False)
        )
    else:
        say("{n} item(s) re-analysed, {stored} result(s) stored", n=len(result.analysed), stored=result.stored)
        for sha, errors in result.failures.items():
            for name, error in errors.items():
                say("{sha256}: {stage} failed: {reason}", sha256=sha[:12], stage=name, reason=tr_error(error))
        _print_skipped(summary["skipped"])
        if still:
            say("{n} item(s) still hold older results (a stage they need failed; see above)", n=still)
        if limit and len(report.runnable) > limit:
            tell(STALE_HINT, n=len(report.runnable) - limit)
    problems = len(result.failures) + sum(1 for s in result.skipped if s.reason != "erased")
    if problems:
        raise typer.Exit(int(ExitCode.ITEMS_FAILED))


def _stage_names(given: list[str] | None) -> list[str] | None:
    """The stages named with --stage, checked against those installed (usage error naming them)."""
    if not given:
        return None
    from idolguard.pipeline.runner import select_stages

    known = [s.name for s in select_stages()]
    unknown = [name for name in given if name not in known]
    if unknown:
        fail("unknown stage {names}; available: {known}", names=", ".join(unknown), known=", ".join(known))
    return list(dict.fromkeys(given))


def _print_counts(report: Any) -> None:
    rows = report.by_stage()
    if not rows:
        say("no item needs re-analysis: every stored result is from the current stage versions")
        return
    print_table(
        "stale results",
        [N_("stage"), N_("stored version"), N_("current version"), N_("items")],
        [
            (
                r["stage"],
                r["stored_version"] if r["reason"] == "version" else tr("{v} (older inputs)", v=r["stored_version"]),
                r["current_version"],
                r["items"],
            )
            for r in rows
        ],
    )
    say(
        "{n} item(s) analysed by older stage versions, {ready} can be re-analysed",
        n=len(report.items),
        ready=len(report.runnable),
    )


def _print_skipped(skipped: list[dict[str, Any]]) -> None:
    erased = [s for s in skipped if s["reason"] == "erased"]
    if erased:
        say("{n} item(s) skipped: their originals were erased by a destruction decision", n=len(erased))
    for item in skipped:
        if item["reason"] == "erased":
            continue
        reason = tr_stored(item.get("error") or "", item.get("error_code"), item.get("error_params"))
        say(SKIP_REASONS[item["reason"]], sha256=item["sha256"][:12], reason=reason)
