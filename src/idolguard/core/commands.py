"""Core commands declared in the core ``Area``: ``config show``, ``vault rekey``, ``analyze --stale``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from idolguard.cli_support import N_, PANEL_WORKSPACE, fail, home_option, say, tr, tr_error
from idolguard.exit_codes import ExitCode

config_app = typer.Typer(help="The workspace configuration (config.toml).", no_args_is_help=True)


@config_app.command("show")
def config_show(
    json_out: bool = typer.Option(False, "--json", help="One JSON object per setting."),
    home: Path = home_option(),
) -> None:
    """Print every setting's effective value and where it comes from (default, file or environment)."""
    from sqlalchemy.engine import make_url

    from idolguard.config import load_config
    from idolguard.errors import IdolGuardError
    from idolguard.settings import effective

    try:
        config = load_config(home)
    except IdolGuardError as exc:
        fail(exc, ExitCode.WORKSPACE)
    values = effective(config.raw)
    import os

    db_source = "environment" if os.environ.get("IDOLGUARD_DB_URL") else "default"
    db_url = make_url(config.db_url).render_as_string(hide_password=True)
    rows: list[dict[str, Any]] = [
        {"section": v.section, "key": v.key, "value": v.value, "source": v.source} for v in values
    ]
    rows.append({"section": "database", "key": "url", "value": db_url, "source": db_source})
    _assumed_reference_embedding(config.raw, rows)
    if json_out:
        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False))
        return
    typer.echo(f"# {config.home / 'config.toml'}")
    width = max(len(f"{r['section']}.{r['key']}") for r in rows)
    for row in rows:
        name = f"{row['section']}.{row['key']}"
        typer.echo(f"{name:<{width}}  {_shown(row['value'])}  ({tr(row['source'])})")


# Where a value comes from, as the table says it (--json keeps the codes).
SOURCES = (N_("default"), N_("file"), N_("environment"), N_("assumed"))


def _assumed_reference_embedding(raw: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    """A local ``[faces.matching]`` block without ``reference_embedding`` is read as ``crop+mirror`` (it was
    written before the field; ``MatchParams.for_settings``): say that value, not "(shipped calibration)"."""
    from idolguard.gallery.matching import MatchParams

    params = MatchParams.for_settings(raw)
    if not params.source.get("reference_embedding_assumed"):
        return
    for row in rows:
        if (row["section"], row["key"]) == ("faces.matching", "reference_embedding") and row["value"] is None:
            row["value"], row["source"] = params.reference_embedding, "assumed"


def _shown(value: Any) -> str:
    if value is None:
        return tr("(shipped calibration)")
    return json.dumps(value, ensure_ascii=False)


vault_app = typer.Typer(help="The evidence vault's encryption at rest.", no_args_is_help=True)


@vault_app.command("rekey")
def vault_rekey(
    dry_run: bool = typer.Option(False, "--dry-run", help="Only count objects by format; change nothing."),
    batch: int = typer.Option(200, "--batch", min=1, max=10000, help="Objects per recorded vault.rekey event."),
    json_out: bool = typer.Option(False, "--json", help="One JSON object with the counts."),
    home: Path = home_option(),
) -> None:
    """Give every vault object written before per-item keys (vault-key IGV1 format, or plaintext) its own key
    (IGV2), so destroying it later is cryptographic erasure. Each object is rewritten, verified against its
    hash and only then swapped in; the hash never changes. Resumable: run it again after an interruption.
    Recorded as signed vault.rekey events."""
    from idolguard.cli_support import open_workspace
    from idolguard.core.rekey import rekey_vault
    from idolguard.errors import IdolGuardError

    ws = open_workspace(home, signs=not dry_run)
    try:
        result = rekey_vault(ws, dry_run=dry_run, batch=batch)
    except IdolGuardError as exc:
        fail(exc, ExitCode.WORKSPACE)
    if json_out:
        typer.echo(json.dumps(result.as_dict(), ensure_ascii=False))
    else:
        counts = ", ".join(f"{n} {form}" for form, n in sorted(result.formats.items())) or tr("no objects")
        say("vault objects by format: {counts}", counts=counts)
        if result.skipped_destroyed:
            say("{n} object(s) decided destroyed are left to their erasure", n=result.skipped_destroyed)
        if dry_run:
            say("{n} object(s) would get their own key (dry run: nothing changed)", n=result.to_rekey)
            if result.resumed:
                say("an interrupted run left {n} object(s) in its journal", n=result.resumed)
        else:
            text = tr("{n} object(s) re-encrypted with their own key", n=result.rekeyed)
            if result.resumed:
                text += tr(", {n} finished by an interrupted run", n=result.resumed)
            if result.events:
                text += tr("; ledger seq {seqs}", seqs=", ".join(str(s) for s in result.events))
            say(text)
        for problem in result.failed:
            say(
                "FAILED {sha256}: {reason} (left unchanged; run idolguard verify)",
                sha256=problem["sha256"],
                reason=tr_error(problem["error"]),
            )
    if result.failed:
        raise typer.Exit(int(ExitCode.INTEGRITY))


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    from idolguard.cli_support import PANEL_INTAKE
    from idolguard.core.analyze import analyze_command

    app.command("analyze", rich_help_panel=PANEL_INTAKE)(analyze_command)
    app.add_typer(config_app, name="config", rich_help_panel=PANEL_WORKSPACE)
    app.add_typer(vault_app, name="vault", rich_help_panel=PANEL_WORKSPACE)
