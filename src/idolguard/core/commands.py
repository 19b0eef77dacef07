"""Core commands declared in the core ``Area``: ``config show``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from idolguard.cli_support import N_, PANEL_WORKSPACE, fail, home_option, tr
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
        typer.echo(f"{name:<{width}}  {_shown(row['value'])}  ({tr(row['source'])})")


# Where a value comes from, as the table says it (--json keeps the codes).
SOURCES = (N_("default"), N_("file"), N_("environment"))


def _shown(value: Any) -> str:
    if value is None:
        return tr("(shipped calibration)")
    return json.dumps(value, ensure_ascii=False)


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    app.add_typer(config_app, name="config", rich_help_panel=PANEL_WORKSPACE)
