"""``idolguard users ...`` and ``idolguard tokens ...`` (``serve`` and ``worker`` are ``idolguard.server``'s: they wire
the web app, the portal and the monitor together)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.cells import cell_len

from idolguard.cli_support import N_, console, emit_json, fail, home_option, open_workspace, safe, tell, tr, tr_error
from idolguard.exit_codes import ExitCode

if TYPE_CHECKING:
    from idolguard.web.accounts import NewUser

users_app = typer.Typer(help="Web app accounts (one-time password + TOTP, roles, artist scopes).", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens (shown once, stored hashed).", no_args_is_help=True)


def _admin_actor() -> str:
    """Accounts changed from the command line are recorded under the operating-system user."""
    from idolguard.config import load_config

    try:
        return "cli:" + load_config().actor
    except Exception:
        return "cli"


def print_login(created: NewUser, json_out: bool = False) -> None:
    """The one-time login, printed once (unwrapped, so the TOTP URI can be copied whole)."""
    if json_out:
        emit_json({"user": created.user, "password": created.password, "totp_uri": created.totp_uri})
        return
    from idolguard.web.accounts import login_lines

    for line in login_lines(created):
        console.print(tr_error(line), highlight=False, soft_wrap=True, markup=False)


@users_app.command("add")
def users_add(
    name: str = typer.Argument(...),
    role: str = typer.Option(..., "--role", help="admin | manager | analyst | counsel | viewer"),
    artists: str = typer.Option(
        "", "--artists", help="Comma-separated enrolled artists or aliases (empty: all artists; unknown: refused)."
    ),
    json_out: bool = typer.Option(False, "--json"),
    home: Path = home_option(),
) -> None:
    """Add a user; prints the one-time password and the TOTP provisioning URI once."""
    from idolguard.web.accounts import AccountError, add_user

    ws = open_workspace(home)
    try:
        created = add_user(ws, name, role, artists.split(","), by=_admin_actor())
    except AccountError as exc:
        fail(exc, ExitCode.USAGE)
        return
    print_login(created, json_out)


@users_app.command("list")
def users_list(json_out: bool = typer.Option(False, "--json"), home: Path = home_option()) -> None:
    from idolguard.web.accounts import list_users

    rows = list_users(open_workspace(home))
    # Columns padded by display width (a Hangul syllable takes two cells): padding by characters pushed the
    # scope column of Korean role names ("법률 대리인") out of line.
    name_width = max([cell_len(str(u.name)) for u in rows] + [18]) + 2
    role_width = max([cell_len(tr(u.role)) for u in rows] + [6]) + 2
    for u in rows:
        record = {
            "user": u.name,
            "role": u.role,
            "artists": u.artists,
            "disabled": u.disabled,
            "locked_until": u.locked_until.isoformat() if u.locked_until else None,
            "never_reveal": u.never_reveal,
        }
        if json_out:
            emit_json(record)
        else:
            scope = ",".join(u.artists) or tr("all artists")
            disabled = tr("  (disabled)") if u.disabled else ""
            name, role = safe(u.name), safe(tr(u.role))
            console.print(
                f"{_padded(name, name_width)}{_padded(role, role_width)}{safe(scope)}{disabled}", highlight=False
            )


def _padded(markup: str, width: int) -> str:
    """``markup`` (already escaped with ``safe``) followed by spaces up to ``width`` terminal cells."""
    from rich.text import Text

    return markup + " " * max(1, width - cell_len(Text.from_markup(markup).plain))


@users_app.command("disable")
def users_disable(name: str = typer.Argument(...), home: Path = home_option()) -> None:
    """Disable a user: sessions end and API tokens are revoked at once (never the last active admin)."""
    from idolguard.web.accounts import AccountError, disable_user

    try:
        disable_user(open_workspace(home), name, by=_admin_actor())
    except AccountError as exc:
        fail(exc, ExitCode.USAGE)
    tell("{name} disabled", name=name)


@users_app.command("enable")
def users_enable(name: str = typer.Argument(...), home: Path = home_option()) -> None:
    """Enable a disabled user again (their API tokens stay revoked)."""
    from idolguard.web.accounts import AccountError, enable_user

    try:
        enable_user(open_workspace(home), name, by=_admin_actor())
    except AccountError as exc:
        fail(exc, ExitCode.USAGE)
    tell("{name} enabled", name=name)


@users_app.command("reset-2fa")
def users_reset_2fa(
    name: str = typer.Argument(...), json_out: bool = typer.Option(False, "--json"), home: Path = home_option()
) -> None:
    """New TOTP secret (prints the provisioning URI once); the user's sessions end."""
    from idolguard.web.accounts import AccountError, reset_2fa

    try:
        uri = reset_2fa(open_workspace(home), name, by=_admin_actor())
    except AccountError as exc:
        fail(exc, ExitCode.USAGE)
        return
    if json_out:
        emit_json({"user": name, "totp_uri": uri})
    else:
        tell("TOTP setup URI: {uri}", uri=uri)


@tokens_app.command("create")
def tokens_create(
    name: str = typer.Argument(..., help="The user the token acts as."),
    scope: str = typer.Option("read", "--scope", help="read | write"),
    expires: str = typer.Option("30d", "--expires", help="e.g. 30d, 12h, 2w (at most 365 days)."),
    json_out: bool = typer.Option(False, "--json"),
    home: Path = home_option(),
) -> None:
    """Create an API token; it is printed once and stored only as a hash."""
    from idolguard.web.accounts import AccountError, create_token

    try:
        token = create_token(open_workspace(home), name, scope, expires, by=_admin_actor())
    except AccountError as exc:
        fail(exc, ExitCode.USAGE)
        return
    if json_out:
        emit_json({"token": token})
    else:
        typer.echo(token)


@tokens_app.command("revoke")
def tokens_revoke(token_id: int = typer.Argument(...), home: Path = home_option()) -> None:
    from idolguard.web.accounts import AccountError, revoke_token

    try:
        revoke_token(open_workspace(home), token_id, by=_admin_actor())
    except AccountError as exc:
        fail(exc, ExitCode.USAGE)
    tell("token {id} revoked", id=token_id)


PANEL_WEB = N_("Team web app")
ROLES = (N_("admin"), N_("manager"), N_("analyst"), N_("counsel"), N_("viewer"))  # shown translated in lists


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    app.add_typer(users_app, name="users", rich_help_panel=PANEL_WEB)
    app.add_typer(tokens_app, name="tokens", rich_help_panel=PANEL_WEB)
