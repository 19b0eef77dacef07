"""``idolguard takedowns ...``: draft, send, mark, list, escalate, sync, stats, export, recipients."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import typer

from idolguard.cli_support import (
    N_,
    PANEL_CASEWORK,
    emit_json,
    fail,
    home_option,
    open_workspace,
    print_table,
    shown_time,
    tell,
    tr,
)
from idolguard.cli_support import or_usage_error as _run
from idolguard.cli_support import say as _say
from idolguard.exit_codes import ExitCode

takedowns_app = typer.Typer(help="Takedown notices: draft, send, track to removal.", no_args_is_help=True)


@takedowns_app.command("recipients")
def recipients_cmd(json_out: bool = typer.Option(False, "--json"), home: Path = home_option()) -> None:
    """List known recipients (shipped file + workspace override), with what is uncertain about each."""
    from idolguard.gallery.messages import language
    from idolguard.takedowns.recipients import load_recipients

    ws = open_workspace(home)
    for r in _run(load_recipients, ws.home).values():
        if json_out:
            emit_json(r.__dict__)
        else:
            doubt = tr("  [uncertain: {what}]", what="; ".join(r.uncertain)) if r.uncertain else ""
            name = r.name(language())
            _say(
                "{key} {channel} {hours} h  {name}{doubt}",
                key=f"{r.key:<14}",
                channel=f"{r.channel:<9}",
                hours=f"{r.response_hours:>4}",
                name=name,
                doubt=doubt,
            )


@takedowns_app.command("draft")
def draft_cmd(
    case: str = typer.Option(..., "--case"),
    recipient: str = typer.Option(..., "--recipient"),
    basis: str = typer.Option(..., "--basis", help="eu_dsa_16, dmca_512c3, kr_tba_22_5, platform_form, plain_letter"),
    sighting: list[int] = typer.Option(
        [], "--sighting", help="Sighting to report (repeatable; default all with a URL)."
    ),
    lang: str = typer.Option(None, "--lang", help="ko or en (default: the recipient's language)."),
    to: str = typer.Option(None, "--to", help="E-mail address (web_host and other typed contacts)."),
    name: str = typer.Option("", "--name", help="Reporter name (default [takedowns] reporter_name)."),
    email: str = typer.Option("", "--email", help="Reporter e-mail (default [takedowns] reporter_email)."),
    authority: str = typer.Option("", "--authority", help="The agency's authority to act (authorisation letter ref)."),
    substantiation: str = typer.Option("", "--reasons", help="Substantiated reasons (DSA)."),
    signature: str = typer.Option("", "--signature", help="Signature (DMCA)."),
    work: str = typer.Option("", "--work", help="The copyrighted work (DMCA)."),
    affirm: list[str] = typer.Option(
        [],
        "--affirm",
        help="Statements you affirm, comma-separated: good_faith (DSA, DMCA), accuracy (DMCA: accurate and "
        "authorised, under penalty of perjury). Never assumed: a notice whose basis needs one cannot be sent "
        "until you affirm it.",
    ),
    perjury: bool = typer.Option(False, "--perjury-statement", help="The same as --affirm accuracy (DMCA)."),
    again: bool = typer.Option(False, "--again", help="Draft even if a notice to this recipient already covers a URL."),
    each: bool = typer.Option(False, "--each", help="One notice per reported URL instead of one for all."),
    home: Path = home_option(),
) -> None:
    """Draft a notice from a case (the content is described, never attached)."""
    from idolguard.takedowns.bases import AFFIRM_KEYS
    from idolguard.takedowns.notices import DraftOptions, draft, show

    ws = open_workspace(home)
    options = DraftOptions(
        case,
        recipient,
        basis,
        lang,
        tuple(sighting),
        to,
        name,
        email,
        authority,
        substantiation,
        signature,
        work,
        perjury,
        again,
        each,
        tuple(key for value in affirm for key in value.split(",") if key.strip()),
    )
    for notice_id in _run(draft, ws, options):
        missing = show(ws, notice_id)["missing"]
        statements = [k for k, field in AFFIRM_KEYS.items() if field in missing]
        # A note for people on stderr; stdout carries only the new notice ids.
        text = tr("notice {id} drafted", id=notice_id)
        if missing:
            text += tr("; missing before it can be sent: {fields}", fields=", ".join(missing))
        if statements:
            text += tr(" (if you make them: --affirm {keys})", keys=",".join(statements))
        tell("{text}", text=text)
        typer.echo(str(notice_id))


@takedowns_app.command("affirm")
def affirm_cmd(
    notice: int = typer.Argument(...),
    affirm: list[str] = typer.Option(
        ..., "--affirm", help="Statements you affirm, comma-separated: good_faith, accuracy."
    ),
    home: Path = home_option(),
) -> None:
    """Affirm statements on a draft (e.g. a follow-up for a re-upload); the text is rendered again with them."""
    from idolguard.takedowns.notices import affirm as affirm_notice

    keys = [key for value in affirm for key in value.split(",") if key.strip()]
    result = _run(affirm_notice, open_workspace(home), notice, keys)
    missing = result["missing"]
    keys = ", ".join(result["affirmed"])
    if missing:
        _say("notice {id}: affirmed {keys}; still missing: {fields}", id=notice, keys=keys, fields=", ".join(missing))
    else:
        _say("notice {id}: affirmed {keys}", id=notice, keys=keys)


@takedowns_app.command("show")
def show_cmd(
    notice: int = typer.Argument(...), json_out: bool = typer.Option(False, "--json"), home: Path = home_option()
) -> None:
    """Show a notice's text (or the fields to paste for a platform form)."""
    from idolguard.takedowns.notices import show

    data = _run(show, open_workspace(home), notice)
    if json_out:
        emit_json(data)
    else:
        typer.echo(data["subject"] + "\n\n" + data["body"])


@takedowns_app.command("send")
def send_cmd(notice: int = typer.Argument(...), home: Path = home_option()) -> None:
    """Send an e-mail notice through SMTP; stays a draft on failure (retry)."""
    from idolguard.takedowns.notices import send

    result = _run(send, open_workspace(home), notice)
    _say(
        "notice {id} sent; message {sha256}… stored; due {due}",
        id=notice,
        sha256=result["message_sha256"][:16],
        due=result["due_at"],
    )


@takedowns_app.command("mark")
def mark_cmd(
    notice: int = typer.Argument(...),
    status: str = typer.Argument(..., help="sent, acknowledged, removed, partially_removed, rejected, no_response"),
    ref: str = typer.Option(None, "--ref", help="The recipient's ticket or reference number."),
    note: str = typer.Option(None, "--note"),
    home: Path = home_option(),
) -> None:
    """Record a status a person observed (web forms, postal, replies)."""
    from idolguard.takedowns.notices import mark

    result = _run(mark, open_workspace(home), notice, status, ref, note)
    _say("notice {id}: {previous} -> {status}", id=notice, previous=tr(result["previous"]), status=tr(result["status"]))


@takedowns_app.command("list")
def list_cmd(
    overdue: bool = typer.Option(False, "--overdue", help="Only sent notices past the recipient's clock."),
    case: str = typer.Option(None, "--case"),
    json_out: bool = typer.Option(False, "--json"),
    home: Path = home_option(),
) -> None:
    """List notices with status and deadline (recipients and legal bases by the names notices use; --json keeps
    the keys)."""
    from idolguard.takedowns.notices import list_notices

    ws = open_workspace(home)
    rows = _run(list_notices, ws, overdue=overdue, case=case)
    if json_out:
        for row in rows:
            emit_json(row)
        return
    recipient_label, basis_label = _labels(ws.home)
    print_table(  # with a header, and "(no ... yet)" when there is none (as ``incidents list`` does)
        N_("overdue takedown notices") if overdue else N_("takedown notices"),
        (N_("id"), N_("recipient"), N_("basis"), N_("status"), N_("due")),
        [
            (
                row["id"],
                recipient_label(row["recipient"]),
                basis_label(row["basis"]),
                tr(row["status"]) + (tr(" OVERDUE") if row["overdue"] else ""),
                shown_time(row["due_at"], ws),
            )
            for row in rows
        ],
    )


# Notice statuses, shown translated (--json keeps the codes).
STATUSES = (N_("draft"), N_("sent"), N_("acknowledged"), N_("removed"), N_("partially_removed"), N_("rejected"))
STATUSES += (N_("no_response"),)


def _labels(home: Path) -> tuple[Callable[[str], str], Callable[[str], str]]:
    """Recipient and basis keys as people read them, in the CLI's language (``IDOLGUARD_LANG`` or the locale);
    a key no longer in the recipients file (removed from an override) is shown as it is."""
    from idolguard.gallery.messages import language
    from idolguard.takedowns.bases import BASES
    from idolguard.takedowns.recipients import load_recipients

    lang = language()
    recipients = _run(load_recipients, home)

    def recipient(key: str) -> str:
        return recipients[key].name(lang) if key in recipients else key

    def basis(key: str) -> str:
        return BASES[key].label(lang) if key in BASES else key

    return recipient, basis


@takedowns_app.command("escalate")
def escalate_cmd(
    notice: int = typer.Argument(...),
    early: bool = typer.Option(
        False, "--early", help="Escalate before the notice's due time (the recipient still has time to act)."
    ),
    home: Path = home_option(),
) -> None:
    """Draft the next step for an unanswered notice: a second notice, then a KCSC deletion request."""
    from idolguard.takedowns.notices import escalate

    new_id = _run(escalate, open_workspace(home), notice, early=early)
    typer.echo(str(new_id))


@takedowns_app.command("sync")
def sync_cmd(home: Path = home_option()) -> None:
    """Update notices from recheck results (removed/blocked URLs)."""
    from idolguard.takedowns.notices import sync_from_rechecks

    result = _run(sync_from_rechecks, open_workspace(home))
    _say(
        "{checked} notices checked, {changed} updated, {followups} follow-up drafts for re-uploads",
        checked=result["checked"],
        changed=result["changed"],
        followups=result["followups"],
    )


@takedowns_app.command("stats")
def stats_cmd(
    json_out: bool = typer.Option(False, "--json"),
    chart: Path = typer.Option(None, "--chart", help="Also write a PNG chart (sent / removed / acceptance)."),
    home: Path = home_option(),
) -> None:
    """Time to removal, success rate and acceptance per recipient and per legal basis."""
    from idolguard.gallery.messages import language
    from idolguard.takedowns.notices import stats, stats_chart_png

    ws = open_workspace(home)
    data = _run(stats, ws)
    recipient_label, basis_label = _labels(ws.home)
    if chart is not None:  # in the CLI's language, as the table below: recipients' names and the chart's words
        names = {key: recipient_label(key) for key in data["by_recipient"]}
        chart.write_bytes(stats_chart_png(data, names, language()))
    if json_out:
        emit_json(data)
        return
    if not data["notices"]:  # drafts are not counted: say so instead of printing nothing
        _say("No takedown notice has been sent yet: statistics start with the first sent notice.")
        return
    for title, first, rows, label in (
        (N_("takedowns by recipient"), N_("recipient"), data["by_recipient"], recipient_label),
        (N_("takedowns by legal basis"), N_("basis"), data["by_basis"], basis_label),
    ):
        print_table(
            title,
            (first, N_("code"), N_("sent"), N_("removed"), N_("partially removed"), N_("rejected"))
            + (N_("no response"), N_("success rate"), N_("acceptance"), N_("median hours to removal")),
            [
                (
                    label(name),
                    name,
                    g["sent"],
                    g["removed"],
                    g["partially_removed"],
                    g["rejected"],
                    g["no_response"],
                    _share(g["success_rate"]),
                    _share(g["acceptance"]),
                    g["median_hours_to_removal"],
                )
                for name, g in sorted(rows.items())
            ],
        )


def _share(value: float | None) -> str | None:
    """A rate as a percentage (``None``, no answer yet, is shown as ``-``)."""
    return None if value is None else f"{value:.0%}"


@takedowns_app.command("export")
def export_cmd(
    fmt: str = typer.Option("lumen", "--format", help="lumen"),
    out: Path = typer.Option(None, "--out", help="Write here instead of stdout."),
    home: Path = home_option(),
) -> None:
    """Export sent notices for transparency reporting (Lumen-style JSON)."""
    from idolguard.takedowns.notices import export_lumen

    if fmt != "lumen":
        fail("only --format lumen is supported", ExitCode.USAGE)
    data = json.dumps({"notices": _run(export_lumen, open_workspace(home))}, ensure_ascii=False, indent=1)
    if out:
        out.write_text(data, encoding="utf-8")
    else:
        typer.echo(data)


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    app.add_typer(takedowns_app, name="takedowns", rich_help_panel=PANEL_CASEWORK)
