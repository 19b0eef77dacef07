"""``idolguard cases ...`` and ``idolguard accounts ...``."""

from __future__ import annotations

from pathlib import Path

import typer

from idolguard.cli_support import (
    N_,
    PANEL_CASEWORK,
    emit_json,
    home_option,
    open_workspace,
    print_table,
    shown_time,
    tr,
    tr_error,
)
from idolguard.cli_support import or_usage_error as _run
from idolguard.cli_support import say as _say

# Codes shown in tables and lines, translated there (--json keeps the codes).
CODES = (N_("open"), N_("gathering"), N_("filed"), N_("closed"), N_("destroyed"), N_("counsel"), N_("manager"))
CODES += (N_("item"), N_("incident"), N_("sighting"), N_("capture"), N_("account"), N_("police"), N_("court"))
CODES += (N_("platform"),)
MEDIA_TYPES = (N_("image"), N_("video"), N_("other"))  # an item's media type in ``cases show``

# Why an item is in a case, as ``cases.views.case_items`` writes it (``--json`` keeps these English codes):
# said in the command's language with the case page's words (web/locales/cases.ko.po).
WHY_FORMS = {
    "linked": N_("linked directly"),
    "incident {ref}": N_("incident {ref}"),
    "sighting {ref}": N_("sighting {ref}"),
    "capture {ref} manifest": N_("capture {ref} (page)"),
    "capture {ref} media": N_("capture {ref} (media)"),
}


def _why(text: str) -> str:
    """One of ``case_items``' reasons in the command's language (a reason it does not know: as stored)."""
    from idolguard.coded_text import recognise

    found = recognise(text, {template: template for template in WHY_FORMS})
    if found is None:
        return text
    return tr(WHY_FORMS[found["code"]], **found["params"])


cases_app = typer.Typer(help="Cases: turn incidents and evidence into a matter counsel can file.", no_args_is_help=True)
accounts_app = typer.Typer(
    help="Posting accounts: who shared the content, aliases across platforms.", no_args_is_help=True
)


@cases_app.command("open")
def cases_open(
    title: str = typer.Argument(..., help="Short title of the matter."),
    artist: str = typer.Option(..., "--artist", help="The protected artist."),
    incident: list[int] = typer.Option([], "--incident", help="Incident to link (repeatable)."),
    json_out: bool = typer.Option(False, "--json"),
    home: Path = home_option(),
) -> None:
    """Open a case; prints its number (IG-YYYY-NNNN)."""
    from idolguard.cases.service import open_case

    ws = open_workspace(home)
    number = _run(open_case, ws, title, artist, incident)
    if json_out:
        emit_json({"case": number})
    else:
        typer.echo(number)


@cases_app.command("add")
def cases_add(
    case: str = typer.Argument(..., help="Case number."),
    refs: list[str] = typer.Argument(
        ..., help="Item SHA-256 (or 8+ hex digits), incident:N, sighting:N, capture:N, account:PLATFORM/HANDLE."
    ),
    json_out: bool = typer.Option(False, "--json"),
    home: Path = home_option(),
) -> None:
    """Link records to a case (all or nothing). Records already in another case are linked too."""
    from idolguard.cases.service import add_to_case

    ws = open_workspace(home)
    for row in _run(add_to_case, ws, case, refs):
        if json_out:
            emit_json(row)
            continue
        state = tr("linked") if row["added"] else tr("already in this case")
        also = tr(" (also in {cases})", cases=", ".join(row["also_in"])) if row["also_in"] else ""
        _say("{kind} {ref}: {state}{also}", kind=tr(row["kind"]), ref=row["ref"], state=state, also=also)


@cases_app.command("list")
def cases_list(
    json_out: bool = typer.Option(False, "--json"),
    retention_due: bool = typer.Option(False, "--retention-due", help="Only closed cases past their retention."),
    home: Path = home_option(),
) -> None:
    """List cases."""
    from idolguard.cases.views import list_cases

    rows = list_cases(open_workspace(home))
    if retention_due:
        rows = [r for r in rows if r["retention_due"]]
    if json_out:
        for row in rows:
            emit_json(row)
        return
    print_table(
        "cases",
        ("number", "status", "hold", "artist", "items", "title"),
        [
            (
                r["number"],
                tr("destroyed") if r["destroyed"] else tr(r["status"]),
                tr("yes") if r["legal_hold"] else "",
                r["artist"],
                r["items"],
                r["title"],
            )
            for r in rows
        ],
    )


@cases_app.command("show")
def cases_show(
    case: str = typer.Argument(...), json_out: bool = typer.Option(False, "--json"), home: Path = home_option()
) -> None:
    """Show a case: links, items, sightings, captures, accounts, origin candidates, filings, notes."""
    from idolguard.cases.views import case_detail

    ws = open_workspace(home)
    detail = _run(case_detail, ws, case)
    if json_out:
        emit_json(detail)
        return
    hold = tr(" LEGAL HOLD") if detail["legal_hold"] else ""
    _say(
        "{number} {title} ({status}){hold}",
        number=detail["number"],
        title=detail["title"],
        status=tr(detail["status"]),
        hold=hold,
    )
    _say(
        "artist: {artist}; opened {at} by {by}",
        artist=detail["artist"],
        at=shown_time(detail["opened_at"], ws),  # in the display time zone, as tables show times (README)
        by=detail["opened_by"],
    )
    for a in detail["assignees"]:
        _say("  {role}: {person}", role=tr(a["role"]), person=a["person"])
    for f in detail["filings"]:
        _say("  filed ({kind}) {ref} on {date}", kind=tr(f["kind"]), ref=f["reference"], date=f["filed_on"])
    _say(
        "{items} items, {sightings} sightings, {captures} captures",
        items=len(detail["items"]),
        sightings=len(detail["sightings"]),
        captures=len(detail["captures"]),
    )
    for item in detail["items"]:
        gone = tr(" [destroyed]") if item["destroyed"] else ""
        media = tr(item["media_type"]) if item["media_type"] in MEDIA_TYPES else item["media_type"] or "-"
        why = ", ".join(_why(reason) for reason in item["why"])
        _say(f"  {item['sha256'][:16]}  {media}  {why}{gone}")
    for o in detail["origin_candidates"]:
        first = o["by_platform_time"]
        seen = shown_time(first["seen_at"], ws) if first else ""
        where = f"{first['platform']} {first['account']} {seen}" if first else tr("no dated sighting")
        _say(
            "  incident {incident} earliest by platform time: {where} ({caveat})",
            incident=o["incident"],
            where=where,
            caveat=o["caveat"],
        )
    for n in detail["notes"]:
        # ``{body}``, not ``{text}``: ``say``'s own first parameter is ``text`` (a note crashed ``cases show``)
        _say("  note {at} {author}: {body}", at=shown_time(n["at"], ws), author=n["author"], body=n["text"])


@cases_app.command("status")
def cases_status(
    case: str = typer.Argument(...),
    status: str = typer.Argument(..., help="open, gathering, filed or closed."),
    kind: str = typer.Option(None, "--kind", help="For filed: police, court or platform."),
    ref: str = typer.Option(None, "--ref", help="For filed: the reference number given by the other side."),
    filed_on: str = typer.Option(None, "--date", help="For filed: date on the filing, YYYY-MM-DD."),
    body: str = typer.Option(None, "--body", help="For filed: e.g. the police station or court."),
    home: Path = home_option(),
) -> None:
    """Change a case's status (filed needs --kind, --ref and --date)."""
    from idolguard.cases.service import set_status

    result = _run(
        set_status, open_workspace(home), case, status, filing_kind=kind, reference=ref, filed_on=filed_on, body=body
    )
    _say(
        "{case}: {previous} -> {status}",
        case=result["case"],
        previous=tr(result["previous"]),
        status=tr(result["status"]),
    )


@cases_app.command("note")
def cases_note(case: str = typer.Argument(...), text: str = typer.Argument(...), home: Path = home_option()) -> None:
    """Add a note (a custody event)."""
    from idolguard.cases.service import add_note

    note_id = _run(add_note, open_workspace(home), case, text)
    _say("note {id} recorded", id=note_id)


@cases_app.command("assign")
def cases_assign(
    case: str = typer.Argument(...),
    person: str = typer.Argument(...),
    role: str = typer.Option(..., "--role", help="counsel or manager"),
    remove: bool = typer.Option(False, "--remove", help="Remove this assignment."),
    home: Path = home_option(),
) -> None:
    """Assign counsel or a manager to a case."""
    from idolguard.cases.service import assign

    _run(assign, open_workspace(home), case, person, role, remove=remove)
    if remove:
        _say("{person} removed from {case} as {role}", person=person, case=case, role=tr(role))
    else:
        _say("{person} assigned to {case} as {role}", person=person, case=case, role=tr(role))


@cases_app.command("hold")
def cases_hold(
    case: str = typer.Argument(...),
    on: bool = typer.Option(..., "--on/--off", help="Set or lift the legal hold."),
    reason: str = typer.Option(..., "--reason"),
    home: Path = home_option(),
) -> None:
    """Set or lift the legal hold (while set, the case's media cannot be destroyed)."""
    from idolguard.cases.service import set_hold

    _run(set_hold, open_workspace(home), case, on, reason)
    _say("{case}: legal hold on" if on else "{case}: legal hold off", case=case)


@cases_app.command("retention")
def cases_retention(
    case: str = typer.Argument(...),
    days: int = typer.Argument(..., help="Days to keep media after closing."),
    home: Path = home_option(),
) -> None:
    """Set the case's retention period (days after closing before its media should be destroyed)."""
    from idolguard.cases.service import set_retention

    _run(set_retention, open_workspace(home), case, days)
    _say("{case}: retention {days} days after closing", case=case, days=days)


@cases_app.command("close")
def cases_close(case: str = typer.Argument(...), home: Path = home_option()) -> None:
    """Close a case (its media are kept until destroyed after its retention period)."""
    from idolguard.cases.service import set_status

    result = _run(set_status, open_workspace(home), case, "closed")
    _say("{case}: closed", case=result["case"])


@cases_app.command("destroy")
def cases_destroy(
    case: str = typer.Argument(...),
    reason: str = typer.Option(..., "--reason", help="Why the media are no longer needed (recorded, signed)."),
    json_out: bool = typer.Option(False, "--json"),
    home: Path = home_option(),
) -> None:
    """Approve erasing a closed case's originals and derivatives (hashes and ledger stay). Needs two
    different approvers: the first run records an approval, a run by a second person executes it."""
    from idolguard.cases.retention import destroy

    result = _run(destroy, open_workspace(home), case, reason)
    if json_out:
        emit_json(result.as_dict())
        return
    if not result.roles_checked:
        _say(
            "note: this workspace has no web accounts, so roles cannot be checked; approvals are counted by "
            "operator name (IDOLGUARD_ACTOR) only"
        )
    if not result.executed:
        _say(
            "{case}: destruction approved by {by}; waiting for a second, different manager or admin to run the "
            "same command",
            case=result.case,
            by=result.approvals[0],
        )
        return
    if result.finished:
        _say(
            "{case}: finished an interrupted erasure: {n} objects were still on disk (decision ledger seq {seq}); "
            "see the case.destroy_finish event",
            case=result.case,
            n=result.finished,
            seq=result.decision_seq,
        )
        return
    _say(
        "{case}: {n} objects erased by decision (ledger seq {seq}), approved by {by}",
        case=result.case,
        n=len(result.destroyed),
        seq=result.decision_seq,
        by=", ".join(result.approvals),
    )
    for kept in result.kept:
        _say("  kept {sha256}: {reason}", sha256=kept["sha256"][:16], reason=tr_error(kept["reason"]))


@cases_app.command("report")
def cases_report(
    case: str = typer.Argument(...),
    out: Path = typer.Option(..., "--out", help="File to write (.pdf or .html)."),
    lang: str = typer.Option("both", "--lang", help="ko, en or both (Korean first)."),
    fmt: str = typer.Option("pdf", "--format", help="pdf or html."),
    json_out: bool = typer.Option(False, "--json"),
    home: Path = home_option(),
) -> None:
    """Write the court-ready case report; its SHA-256 is recorded in the custody ledger."""
    from idolguard.cases.report import write_report

    result = _run(write_report, open_workspace(home), case, out, lang=lang, fmt=fmt)
    if json_out:
        emit_json(result)
    else:
        _say("{path}  sha256 {sha256}", path=result["path"], sha256=result["sha256"])
    if result.get("outdated_items"):  # the report marks them; the person making it is told before sending it
        from idolguard.cli_support import warn

        warn(
            "{n} item(s) were analysed by older stage versions: run `idolguard analyze --stale`",
            n=result["outdated_items"],
        )


@cases_app.command("package")
def cases_package(
    case: str = typer.Argument(...),
    out: Path = typer.Option(..., "--out", help="The .zip to write (never overwritten)."),
    hashes_only: bool = typer.Option(False, "--hashes-only", help="Leave originals out; hashes and custody only."),
    report: Path = typer.Option(None, "--report", help="A report file (from cases report) to include."),
    encrypt_to: str = typer.Option(
        None, "--encrypt-to", help="age recipient (age1…), SSH public key, or a file holding one."
    ),
    passphrase_file: Path = typer.Option(
        None, "--passphrase-file", help="Encrypt with the passphrase in this file (never stored)."
    ),
    max_bytes: int = typer.Option(
        None, "--max-bytes", help="Refuse packages larger than this (default [cases] max_package_bytes)."
    ),
    json_out: bool = typer.Option(False, "--json"),
    home: Path = home_option(),
) -> None:
    """Write the offline-verifiable evidence package (manifest, signed custody events, verifier)."""
    from idolguard.cases.package import build_package

    result = _run(
        build_package,
        open_workspace(home),
        case,
        out,
        hashes_only=hashes_only,
        report=report,
        max_bytes=max_bytes,
        encrypt_to=encrypt_to,
        passphrase_file=passphrase_file,
    )
    if json_out:
        emit_json(result.as_dict())
    else:
        _say(
            "{path}: {files} files, {bytes} bytes, {destroyed} destroyed items (hash only); sha256 {sha256}",
            path=result.path,
            files=result.files,
            bytes=f"{result.bytes:,}",
            destroyed=result.destroyed,
            sha256=result.sha256,
        )


@accounts_app.command("add")
def accounts_add(
    platform: str = typer.Argument(...),
    handle: str = typer.Argument(...),
    name: str = typer.Option(None, "--name", help="Display name."),
    url: str = typer.Option(None, "--url", help="Profile URL."),
    capture: int = typer.Option(None, "--capture", help="Capture id of the profile page."),
    home: Path = home_option(),
) -> None:
    """Record (or update) a posting account."""
    from idolguard.cases.accounts import add_account

    account_id = _run(
        add_account, open_workspace(home), platform, handle, display_name=name, profile_url=url, capture_id=capture
    )
    typer.echo(str(account_id))


@accounts_app.command("list")
def accounts_list(json_out: bool = typer.Option(False, "--json"), home: Path = home_option()) -> None:
    """List recorded accounts with first/last seen, items posted and aliases."""
    from idolguard.cases.accounts import list_accounts

    rows = list_accounts(open_workspace(home))
    if json_out:
        for row in rows:
            emit_json(row)
        return
    for r in rows:
        _say(
            "{id}  {platform}/{handle}  items {items}  first {first}  last {last}  aliases {aliases}",
            id=f"{r['id']:>4}",
            platform=r["platform"],
            handle=r["handle"],
            items=len(r["items"]),
            first=r["first_seen"] or "-",
            last=r["last_seen"] or "-",
            aliases=len(r["aliases"]),
        )


@accounts_app.command("sync")
def accounts_sync(home: Path = home_option()) -> None:
    """Record every account named by a sighting but not yet recorded."""
    from idolguard.cases.accounts import record_from_sightings

    count = _run(record_from_sightings, open_workspace(home))
    _say("{n} accounts recorded", n=count)


@accounts_app.command("alias")
def accounts_alias(
    first: str = typer.Argument(..., help="Account id or PLATFORM/HANDLE."),
    second: str = typer.Argument(..., help="Account id or PLATFORM/HANDLE."),
    reason: str = typer.Option(..., "--reason"),
    home: Path = home_option(),
) -> None:
    """Link two accounts as the same person or operation."""
    from idolguard.cases.accounts import link_alias

    _run(link_alias, open_workspace(home), first, second, reason)
    _say("linked")


@accounts_app.command("suggest")
def accounts_suggest(
    hours: float = typer.Option(24.0, "--hours", help="Window between two posts of the same content."),
    json_out: bool = typer.Option(False, "--json"),
    home: Path = home_option(),
) -> None:
    """Suggest aliases: different accounts that posted the same content within a short time."""
    from idolguard.cases.accounts import alias_suggestions

    rows = alias_suggestions(open_workspace(home), hours)
    if json_out:
        for row in rows:
            emit_json(row)
        return
    for r in rows:
        _say("{accounts}: {why}", accounts=" ~ ".join(r["accounts"]), why=tr_error(r["why"]))


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    app.add_typer(cases_app, name="cases", rich_help_panel=PANEL_CASEWORK)
    app.add_typer(accounts_app, name="accounts", rich_help_panel=PANEL_CASEWORK)
