"""Core commands declared in the core ``Area``: ``config show``, ``vault rekey``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from idolguard.cli_support import PANEL_WORKSPACE, fail, home_option
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
        fail(str(exc), ExitCode.WORKSPACE)
    values = effective(config.raw)
    import os

    db_source = "environment" if os.environ.get("IDOLGUARD_DB_URL") else "default"
    db_url = make_url(config.db_url).render_as_string(hide_password=True)
    rows: list[dict[str, Any]] = [
        {"section": v.section, "key": v.key, "value": v.value, "source": v.source} for v in values
    ]
    rows.append({"section": "database", "key": "url", "value": db_url, "source": db_source})
    if json_out:
        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False))
        return
    typer.echo(f"# {config.home / 'config.toml'}")
    width = max(len(f"{r['section']}.{r['key']}") for r in rows)
    for row in rows:
        name = f"{row['section']}.{row['key']}"
        typer.echo(f"{name:<{width}}  {_shown(row['value'])}  ({row['source']})")


def _shown(value: Any) -> str:
    if value is None:
        return "(shipped calibration)"
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
        fail(str(exc), ExitCode.WORKSPACE)
    if json_out:
        typer.echo(json.dumps(result.as_dict(), ensure_ascii=False))
    else:
        counts = ", ".join(f"{n} {form}" for form, n in sorted(result.formats.items())) or "no objects"
        typer.echo(f"vault objects by format: {counts}")
        if result.skipped_destroyed:
            typer.echo(f"{result.skipped_destroyed} object(s) decided destroyed are left to their erasure")
        if dry_run:
            typer.echo(f"{result.to_rekey} object(s) would get their own key (dry run: nothing changed)")
            if result.resumed:
                typer.echo(f"an interrupted run left {result.resumed} object(s) in its journal")
        else:
            typer.echo(
                f"{result.rekeyed} object(s) re-encrypted with their own key"
                + (f", {result.resumed} finished by an interrupted run" if result.resumed else "")
                + (f"; ledger seq {', '.join(str(s) for s in result.events)}" if result.events else "")
            )
        for problem in result.failed:
            typer.echo(f"FAILED {problem['sha256']}: {problem['error']} (left unchanged; run idolguard verify)")
    if result.failed:
        raise typer.Exit(int(ExitCode.INTEGRITY))


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    app.add_typer(config_app, name="config", rich_help_panel=PANEL_WORKSPACE)
    app.add_typer(vault_app, name="vault", rich_help_panel=PANEL_WORKSPACE)
