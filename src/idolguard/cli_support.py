"""Helpers shared by CLI commands: the output conventions every command follows.

* Results go to stdout (``out()`` for tables and lines, ``emit_json`` for ``--json``: one object per line);
  diagnostics, progress and summaries meant for a person go to stderr (``console``).
* Piped output is never wrapped: paths and hashes stay on one line whatever the terminal width.
* Every exit goes through ``fail`` with a code from ``idolguard.exit_codes`` (see README).
* Nothing heavy is imported here: ``idolguard --help`` must not load the database layer.
* Text for people is English in the code and Korean in ``locales/cli/*.ko.po`` (see ``cli_lang``): ``fail``,
  ``say``, ``note``, ``warn`` and ``print_table`` translate the literal messages they are given (templates with
  ``{name}`` fields, values as keywords, never f-strings); other Rich output goes through ``tr``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console, ConsoleDimensions
from rich.markup import escape
from typer._click.formatting import HelpFormatter

from idolguard.cli_lang import N_, tr, tr_error, tr_stored
from idolguard.errors import IdolGuardError
from idolguard.exit_codes import ExitCode

if TYPE_CHECKING:
    from idolguard.workspace import Workspace

# Wide enough that no path, hash or URL is ever folded when stdout/stderr is a file or a pipe.
PIPE_WIDTH = 4096

# Help panels of ``idolguard --help``: every command names one of these.
PANEL_WORKSPACE = N_("Workspace and evidence")
PANEL_INTAKE = N_("Intake and analysis")
PANEL_CASEWORK = N_("Artists, banks and incidents")
PANEL_MODELS = N_("Models and measurement")

__all__ = ["N_", "tr", "tr_error", "tr_stored"]  # re-exported: command modules take everything CLI from here


class _Console(Console):
    """A Rich console whose width follows whether its stream is a terminal *now* (CliRunner swaps streams)."""

    def __init__(self, *, stderr: bool) -> None:
        super().__init__(stderr=stderr, highlight=False, soft_wrap=False)

    @property  # type: ignore[override]
    def size(self) -> ConsoleDimensions:
        if self.is_terminal:
            return Console.size.fget(self)  # type: ignore[attr-defined,no-any-return]
        return ConsoleDimensions(PIPE_WIDTH, 25)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]


console = _Console(stderr=True)  # diagnostics, progress, summaries for people
_stdout = _Console(stderr=False)  # results


def out() -> Console:
    """The stdout console for results (tables, one line per result)."""
    return _stdout


def safe(text: object) -> str:
    """A value from data (file name, URL, note) made safe for Rich output: markup is escaped and control
    characters are shown as escapes, so a hostile name can neither style nor rewrite the terminal."""
    value = "" if text is None else str(text)
    try:
        from idolguard.display import safe_text  # the evidence area's helper for untrusted text
    except ImportError:
        value = "".join(
            ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii") for ch in value
        )
    else:
        value = safe_text(value)
    return escape(value)


def new_app(help_text: str, **kwargs: Any) -> typer.Typer:
    """Every command group is built the same way: help when called without a subcommand; its help text is
    plain text (see ``plain_help``)."""
    return typer.Typer(help=help_text, no_args_is_help=True, **kwargs)


def _reflow(text: str) -> str:
    """Join the lines of each paragraph (docstrings wrap at 120 columns; help is wrapped to the terminal)."""
    paragraphs = text.strip().split("\n\n")
    return "\n\n".join(
        p if p.startswith("\b") else " ".join(line.strip() for line in p.splitlines()) for p in paragraphs
    )


def _flag_without_metavar(param: Any) -> Any:
    if getattr(param, "is_flag", False):
        param.metavar = ""  # a flag takes no value: no "<bool>" after it
    return param


def plain_help(command: Any) -> None:
    """Make every help text under ``command`` plain and in the user's language: Typer reads help as Rich markup,
    so ``pip install '.[train]'`` or a ``[faces.matching]`` block would lose its brackets. Escaping them on the
    built command tree keeps the Rich layout (panels) and shows the text as written. The English originals are
    kept on the objects, so the tree can be put into another language (``--lang``) before help is shown. Flags
    lose the ``<bool>`` metavar Typer gives them."""
    _typer_labels()
    for attr in ("help", "short_help", "epilog"):
        value = _original(command, attr, reflow=True)
        if isinstance(value, str):
            setattr(command, attr, escape(tr(value)))
    _panel(command)
    for param in getattr(command, "params", []):
        value = _original(param, "help")
        if isinstance(value, str):
            param.help = escape(tr(value))
        _panel(param)
        _flag_without_metavar(param)
    if not getattr(command, "_idolguard_plain", False):
        command._idolguard_plain = True
        original = command.get_help_option

        def help_option(ctx: Any) -> Any:
            option = _flag_without_metavar(original(ctx))
            if option is not None:
                option.help = tr("Show this message and exit.")
            return option

        command.get_help_option = help_option
    for sub in (getattr(command, "commands", None) or {}).values():
        plain_help(sub)


def _original(obj: Any, attr: str, *, reflow: bool = False) -> Any:
    """The English text of ``obj.attr`` as first seen (kept under ``_idolguard_en_<attr>``)."""
    key = f"_idolguard_en_{attr}"
    if key not in obj.__dict__:
        value = getattr(obj, attr, None)
        obj.__dict__[key] = _reflow(value) if reflow and isinstance(value, str) else value
    return obj.__dict__[key]


def _panel(obj: Any) -> None:
    value = _original(obj, "rich_help_panel")
    if isinstance(value, str):
        obj.rich_help_panel = tr(value)


# Typer's own words in help screens, in the user's language.
_TYPER_LABELS = {
    "ARGUMENTS_PANEL_TITLE": N_("Arguments"),
    "OPTIONS_PANEL_TITLE": N_("Options"),
    "COMMANDS_PANEL_TITLE": N_("Commands"),
    "ERRORS_PANEL_TITLE": N_("Error"),
    "ABORTED_TEXT": N_("Aborted."),
    "DEFAULT_STRING": N_("[default: {}]"),
    "ENVVAR_STRING": N_("[env var: {}]"),
    "REQUIRED_LONG_STRING": N_("[required]"),
    "RICH_HELP": N_("Try [blue]'{command_path} {help_option}'[/] for help."),
}


def _typer_labels() -> None:
    import typer._click as click
    import typer.rich_utils as rich_utils
    from typer._click.exceptions import UsageError

    for name, english in _TYPER_LABELS.items():
        setattr(rich_utils, name, tr(english))
    if not getattr(rich_utils.rich_format_error, "_idolguard", False):
        rich_utils.rich_format_error = _translated_usage_error(rich_utils.rich_format_error)
    # Click's own words around our texts (the usage line, plain section headings, a plain error's hint and
    # prefix) are literals in Typer's bundled Click: its formatter and error display are replaced once.
    click.Context.formatter_class = _Formatter
    click.ClickException.show = _show_error  # type: ignore[method-assign]
    UsageError.show = _show_error  # type: ignore[method-assign]


class _Formatter(HelpFormatter):
    """Click's help formatter with its words in the user's language, read when help is shown (so ``--lang``
    counts): ``Usage:`` before every usage line (Rich help and errors print the same line) and the headings of
    plain (non-Rich) help, which Typer names in English (``Options``, ``Commands``, ``Arguments``)."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, f"{tr('Usage:')} " if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        super().write_heading(tr(heading))


def _show_error(error: Any, file: Any = None) -> None:
    """Click's plain (non-Rich: ``TYPER_USE_RICH=0``) display of its refusals, in the user's language: the usage
    line, the hint and ``Error:`` with the message matched against ``errors.ko.po`` as the Rich panel is."""
    import typer._click as click
    from typer._click._compat import get_text_stderr

    file = file if file is not None else get_text_stderr()
    ctx = getattr(error, "ctx", None)
    color = ctx.color if ctx is not None else getattr(error, "show_color", None)
    if ctx is not None:
        hint = ""
        if ctx.command.get_help_option(ctx) is not None:
            hint = tr("Try '{command} {option}' for help.", command=ctx.command_path, option=ctx.help_option_names[0])
            hint += "\n"
        click.echo(f"{ctx.get_usage()}\n{hint}", file=file, color=color)
    click.echo(tr("Error: {text}", text=tr_error(error.format_message())), file=file, color=color)


def _translated_usage_error(show: Any) -> Any:
    """Click's own refusals (unknown option, missing argument, bad value) in the user's language: the English
    text Click builds is matched against the templates in ``locales/cli/errors.ko.po``."""

    def show_translated(error: Any) -> None:
        english = error.format_message
        error.format_message = lambda: tr_error(english())
        show(error)

    show_translated._idolguard = True  # type: ignore[attr-defined]
    return show_translated


def home_option() -> Any:
    return typer.Option(None, "--home", envvar="IDOLGUARD_HOME", help="Workspace folder (default ~/.idolguard).")


# The analysis engine options of ``scan`` and ``worker``: one definition, so both show the same help.
def engine_option() -> Any:
    return typer.Option(
        "local",
        "--engine",
        help="Where analysis runs: local (in-process / process pool) or ray (a Ray cluster; the cluster extra).",
    )


def ray_address_option() -> Any:
    return typer.Option(
        None,
        "--ray-address",
        help="With --engine ray: 'auto' (the cluster this machine belongs to) or HOST:PORT; "
        "none starts a private local Ray instance.",
    )


def ray_vault_option() -> Any:
    return typer.Option(
        "auto",
        "--ray-vault",
        help="With --engine ray: how originals reach workers: shared (the vault path, mounted on every node), "
        "send (the driver reads, decrypts and sends them) or auto (shared when every node can read it).",
    )


def json_option(what: str = "One JSON object per line instead of a table.") -> Any:
    return typer.Option(False, "--json", help=what)


_OPENED: list[Workspace] = []


def opened_workspaces() -> list[Workspace]:
    """Workspaces opened by the command now ending (taken: the list is emptied), for the CLI's after-command
    step (anchoring the ledger head when the command wrote)."""
    taken = list(_OPENED)
    _OPENED.clear()
    return taken


def open_workspace(home: Path | None, *, read_only: bool = False, signs: bool = False) -> Workspace:
    """Open the workspace or exit 4 with the reason. ``read_only``: nothing is written (verifying a copy).
    ``signs``: the command records custody events, so the signing key (possibly outside the workspace,
    possibly passphrase-protected) is loaded now instead of failing halfway through."""
    from idolguard.workspace import Workspace

    try:
        ws = Workspace.open(home, read_only=read_only)
        if signs:
            ws.signing_key  # noqa: B018
    except IdolGuardError as exc:
        fail(exc, ExitCode.WORKSPACE)
    _OPENED.append(ws)
    return ws


def fail(message: str | BaseException, code: int = ExitCode.USAGE, **values: object) -> NoReturn:
    """Print ``error: message`` on stderr (in the user's language) and exit with ``code`` (default 2: the
    arguments were wrong). ``message`` is a catalog template filled from ``values``, or an error (give the
    exception itself: its typed code says it in Korean when no ``locales/cli/errors.ko.po`` template matches
    its English text; see ``cli_lang.tr_error``)."""
    text = tr(message, **values) if values and isinstance(message, str) else tr_error(message)
    console.print(f"[bold red]{tr('error:')}[/] {escape(text)}")
    raise typer.Exit(int(code))


def say(text: str, **values: object) -> None:
    """One result line on stdout (a catalog template filled from ``values``); data in it (titles, handles, URLs,
    notes) cannot style or rewrite the terminal."""
    out().print(safe(tr(text, **values)))


def note(message: str, **values: object) -> None:
    """``note: ...`` on stderr: something a person should know, the command still did its work. ``message`` is a
    catalog template (may hold Rich markup); ``values`` are data, escaped here."""
    console.print(f"[yellow]{tr('note:')}[/] " + tr(message, **{k: safe(v) for k, v in values.items()}))


def warn(message: str, **values: object) -> None:
    """``warning: ...`` on stderr (as ``note``), for something that went wrong without failing the command."""
    console.print(f"[yellow]{tr('warning:')}[/] " + tr(message, **{k: safe(v) for k, v in values.items()}))


def tell(message: str, *, stdout: bool = False, **values: object) -> None:
    """A line for people (summary, progress, hint) on stderr, or with ``stdout`` on stdout: a catalog template
    (may hold Rich markup) with ``values`` escaped here."""
    (out() if stdout else console).print(tr(message, **{k: safe(v) for k, v in values.items()}))


def confirm(question: str, **values: object) -> bool:
    """Ask yes/no on stderr (default no), in the user's language."""
    return typer.confirm(tr(question, **values), default=False, err=True)


def or_usage_error(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call ``fn``; a refusal it raises (``IdolGuardError``: unknown case, bad reference...) becomes exit 2."""
    try:
        return fn(*args, **kwargs)
    except IdolGuardError as exc:
        fail(exc, ExitCode.USAGE)


def exit_for(failures: int) -> None:
    """Exit 1 when some inputs failed (their errors are in the output); return normally otherwise."""
    if failures:
        raise typer.Exit(int(ExitCode.ITEMS_FAILED))


def emit_json(obj: Any) -> None:
    """One JSON line; DEL, C1 controls, bidi overrides and line separators inside strings are written as
    ``\\uNNNN`` escapes (same value for machines; nothing a terminal would obey)."""
    from idolguard.display import json_line

    sys.stdout.write(json_line(obj) + "\n")
    sys.stdout.flush()


def print_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A readable table of results on stdout (values escaped; ``None`` shown as ``-``)."""
    from rich.table import Table

    table = Table(title=tr(title) if title else None)
    for column in columns:
        table.add_column(tr(column))
    for row in rows:
        table.add_row(*("-" if value is None or value == "" else safe(value) for value in row))
    out().print(table)
    if not rows:
        console.print(tr("(no {what} yet)", what=tr(title) if title else tr("rows")))


def interactive(json_mode: bool) -> bool:
    return not json_mode and sys.stdout.isatty() and sys.stderr.isatty()


def enum_values(enum: type[Enum]) -> str:
    return ", ".join(str(member.value) for member in enum)


# -- hashes given on the command line ---------------------------------------------------------------------------
MIN_PREFIX = 8


def resolve_hash(ws: Workspace, prefix: str, *, derived: bool = False) -> str:
    """The full SHA-256 of the item (or, with ``derived``, also vault-stored derived object) a user means.

    Any unique prefix of at least 8 hex characters works, like the 12 shown in tables. An ambiguous or unknown
    prefix is a usage error naming the candidates, never a guess.
    """
    from sqlalchemy import select

    from idolguard.db.models import DerivedObject, Item

    text = prefix.strip().lower()
    if len(text) < MIN_PREFIX or len(text) > 64 or any(c not in "0123456789abcdef" for c in text):
        fail("{prefix} is not a SHA-256 or a prefix of at least {n} hex characters", prefix=repr(prefix), n=MIN_PREFIX)
    found: set[str] = set()
    with ws.sessions() as session:
        found.update(session.execute(select(Item.sha256).where(Item.sha256.startswith(text)).limit(6)).scalars())
        if derived:
            query = select(DerivedObject.sha256).where(DerivedObject.sha256.startswith(text)).limit(6)
            found.update(session.execute(query).scalars())
    if not found:
        if derived:
            fail("no item or stored object whose SHA-256 starts with {prefix} (see `idolguard log`)", prefix=text)
        fail("no item whose SHA-256 starts with {prefix} (see `idolguard log` or a scan's output)", prefix=text)
    if len(found) > 1:
        shown = ", ".join(sorted(s[:16] for s in found)[:5])
        fail(
            "{prefix} is ambiguous: {n} hashes start with it ({shown}…); give more characters",
            prefix=text,
            n=len(found),
            shown=shown,
        )
    return found.pop()


# -- times ---------------------------------------------------------------------------------------------------------
def shown_time(value: str | datetime | None, ws: Workspace | None = None) -> str:
    """A stored UTC time as a person reads it: in the workspace's display time zone (default Asia/Seoul).
    JSON output keeps the ISO 8601 values; only tables and lines use this."""
    if value in (None, ""):
        return "-"
    from idolguard.config import display_timezone

    moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    if moment.tzinfo is None:
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    zone = display_timezone(ws.config if ws is not None else None)
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")


# -- progress ---------------------------------------------------------------------------------------------------
class ScanProgress:
    """Two bars on a terminal (bytes ingested, items analysed); silent when piped or with --json."""

    def __init__(self, enabled: bool, total_bytes: int, total_files: int) -> None:
        self.enabled = enabled
        self._progress: Any = None
        if enabled:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(
                TextColumn("{task.description:<8}"),
                BarColumn(),
                TextColumn("{task.fields[files]}"),
                TimeRemainingColumn(),
                console=console,
            )
            self._ingest = self._progress.add_task(tr("ingest"), total=total_bytes or None, files="")
            self._analyze = self._progress.add_task(tr("analyse"), total=None, files="", visible=False)
            self._files_total = total_files
            self._files_done = 0
            self._bytes_done = 0
            self._bytes_total = total_bytes
            self._analysed = 0

    def __enter__(self) -> ScanProgress:
        if self._progress:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress:
            self._progress.stop()

    def ingested(self, size: int) -> None:
        if self._progress:
            self._files_done += 1
            self._bytes_done += size
            text = tr(
                "{done}/{total} files, {mb_done}/{mb_total} MB",
                done=self._files_done,
                total=self._files_total,
                mb_done=f"{self._bytes_done / 1e6:.1f}",
                mb_total=f"{self._bytes_total / 1e6:.1f}",
            )
            self._progress.update(self._ingest, advance=size, files=text)

    def analysis_started(self, total_items: int) -> None:
        if self._progress:
            self._analyze_total = total_items
            self._progress.update(
                self._analyze,
                total=total_items,
                visible=True,
                files=tr("{done}/{total} items", done=0, total=total_items),
            )

    def analysed(self, _sha256: str) -> None:
        if self._progress:
            self._analysed += 1
            self._progress.update(
                self._analyze,
                completed=self._analysed,
                files=tr("{done}/{total} items", done=self._analysed, total=self._analyze_total),
            )


@contextmanager
def progress_bar(enabled: bool, description: str, total: float | None, *, as_bytes: bool = False) -> Iterator[Any]:
    """A Rich bar on a terminal; a no-op advance function otherwise (pipes and --json stay clean)."""
    if not enabled:
        yield lambda *_args, **_kwargs: None
        return
    from rich.progress import BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns: list[Any] = [TextColumn("{task.description}"), BarColumn()]
    columns.append(DownloadColumn() if as_bytes else MofNCompleteColumn())
    columns.append(TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(tr(description), total=total)
        yield lambda amount=1: progress.advance(task, amount)
