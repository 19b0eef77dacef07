"""Drafting, sending, marking and tracking takedown notices.

A notice is built from a case: the exact URLs of its sightings (or those chosen), what the content is
(described, never attached or linked beyond the reported URLs), the artist and the agency's authority, the
items' SHA-256 values and the capture references and times. Its legal basis checks the required elements
before it can be sent. E-mail recipients are sent through SMTP (``[takedowns.smtp]`` in ``config.toml``);
the exact message bytes are stored in the vault as an item and the sending is a ``takedown.send`` custody
event. Web-form, API and postal recipients are marked sent by a person with the ticket they got.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from sqlalchemy import select

from idolguard.cases.service import get_case
from idolguard.cases.views import detail_in_session
from idolguard.errors import ErrorCode, IdolGuardError
from idolguard.intake.source_url import is_web_url
from idolguard.takedowns.bases import MissingElements, NoticeFields, get_basis
from idolguard.takedowns.models import STATUSES, Notice
from idolguard.takedowns.recipients import Recipient, get_recipient, load_recipients
from idolguard.workspace import Workspace

OUTCOMES = ("removed", "partially_removed", "rejected", "no_response")  # what the statistics count per notice
MARKABLE = ("sent", "acknowledged", "removed", "partially_removed", "rejected", "no_response")


class TakedownError(IdolGuardError):
    pass


def _no_header_injection(name: str, value: str) -> str:
    if any(ch in value for ch in ("\r", "\n", "\x00")):
        raise TakedownError(
            f"{name} contains a line break or NUL character (header injection refused)",
            code=ErrorCode.TAKEDOWN_HEADER_INJECTION,
            field=name.lstrip("-"),
        )
    return value


def _clean_line(name: str, value: str) -> str:
    return _no_header_injection(name, value.strip())


@dataclass
class DraftOptions:
    case: str
    recipient: str
    basis: str
    lang: str | None = None
    sightings: tuple[int, ...] = ()
    to: str | None = None
    reporter_name: str = ""
    reporter_email: str = ""
    authority: str = ""
    substantiation: str = ""
    signature: str = ""
    copyrighted_work: str = ""
    perjury: bool = False  # the same as affirming "accuracy" (kept for older callers)
    again: bool = False
    each: bool = False
    affirm: tuple[str, ...] = ()  # statements the sender affirms: good_faith, accuracy (never assumed)


def _affirmed(basis: Any, keys: list[str]) -> dict[str, bool]:
    from idolguard.takedowns.bases import AffirmationError

    try:
        return basis.affirm_fields(keys)  # type: ignore[no-any-return]
    except AffirmationError as exc:
        choices = ",".join(a.key for a in basis.affirmations)
        raise TakedownError(str(exc), code=ErrorCode.TAKEDOWN_AFFIRM, keys=choices) from exc


def _missing_message(exc: MissingElements, basis: Any, notice_id: int) -> str:
    """The missing elements, and for a statement only the sender can make, how to make it."""
    keys = [a.key for a in basis.affirmations if a.field in exc.missing]
    if not keys:
        return str(exc)
    return (
        f"{exc}; only the sender can make these statements: idolguard takedowns affirm {notice_id} "
        f"--affirm {','.join(keys)} (or tick them on the notice page)"
    )


def require_elements(notice: Any, notice_id: int) -> None:
    """Refuse a notice whose fields lack an element its legal basis requires (sending and marking sent both
    need it: a notice is never recorded as sent without its statements)."""
    basis = get_basis(notice.basis)
    try:
        basis.validate(NoticeFields(**notice.fields))
    except MissingElements as exc:
        raise TakedownError(
            _missing_message(exc, basis, notice_id),
            code=ErrorCode.TAKEDOWN_MISSING,
            id=notice_id,
            fields=",".join(exc.missing),
        ) from exc


def affirmed_keys(basis_key: str, fields: dict[str, Any]) -> list[str]:
    """The ``--affirm`` keys a stored notice's fields say were affirmed."""
    return [a.key for a in get_basis(basis_key).affirmations if fields.get(a.field) is True]


def _settings(ws: Workspace) -> dict[str, Any]:
    """``[takedowns]`` with ``smtp`` = ``[takedowns.smtp]``, validated and with defaults."""
    from dataclasses import asdict

    from idolguard.settings import load
    from idolguard.takedowns.settings import SmtpSettings, TakedownSettings

    return {**asdict(load(TakedownSettings, ws.config.raw)), "smtp": asdict(load(SmtpSettings, ws.config.raw))}


def draft(ws: Workspace, options: DraftOptions, *, parent: Notice | None = None) -> list[int]:
    """Draft one notice (or, with ``each``, one per reported URL); returns the new notice ids."""
    recipients = load_recipients(ws.home)
    try:
        recipient = get_recipient(recipients, options.recipient)
        basis = get_basis(options.basis)
    except (IdolGuardError, ValueError) as exc:
        unknown = ErrorCode.TAKEDOWN_UNKNOWN_RECIPIENT if isinstance(exc, IdolGuardError) else None
        raise TakedownError(
            str(exc),
            code=unknown or ErrorCode.TAKEDOWN_UNKNOWN_BASIS,
            recipient=options.recipient,
            basis=options.basis,
        ) from exc
    if basis.key not in recipient.bases:
        raise TakedownError(
            f"{recipient.key} does not take {basis.key} notices (it takes {', '.join(recipient.bases)})",
            code=ErrorCode.TAKEDOWN_WRONG_BASIS,
            recipient=recipient.key,
            basis=basis.key,
            bases=", ".join(recipient.bases),
        )
    affirmed = _affirmed(basis, [*options.affirm, *(["accuracy"] if options.perjury else [])])
    lang = options.lang or recipient.language
    if lang not in ("ko", "en"):
        raise TakedownError("--lang must be ko or en", code=ErrorCode.TAKEDOWN_LANG)
    settings = _settings(ws)
    reporter_name = _clean_line("reporter name", options.reporter_name or str(settings.get("reporter_name", "")))
    reporter_email = _clean_line("reporter e-mail", options.reporter_email or str(settings.get("reporter_email", "")))
    to = _clean_line("--to", options.to or recipient.address) if recipient.channel == "email" else recipient.address
    if recipient.channel == "email" and (not to or "@" not in to):
        raise TakedownError(
            f"{recipient.key} needs an e-mail address: give --to ADDRESS",
            code=ErrorCode.TAKEDOWN_NEEDS_ADDRESS,
            recipient=recipient.key,
        )
    with ws.sessions() as session:
        case = get_case(session, options.case)
        detail = detail_in_session(session, case)
    # Only http(s) addresses are ever reported: a sighting recorded before every door checked its source URL
    # (a ``javascript:`` one, say) counts as having no URL.
    sightings = [s if is_web_url(s["url"]) else {**s, "url": None} for s in detail["sightings"]]
    if options.sightings:
        chosen = {s["id"]: s for s in sightings}
        missing = [i for i in options.sightings if i not in chosen]
        if missing:
            raise TakedownError(
                f"sighting(s) {missing} are not in {detail['number']}",
                code=ErrorCode.TAKEDOWN_NOT_IN_CASE,
                ids=", ".join(map(str, missing)),
                number=detail["number"],
            )
        sightings = [chosen[i] for i in options.sightings]
        no_url = [s["id"] for s in sightings if not s["url"]]
        # An escalation names its first notice's sightings, URL-less ones of the case included: those are
        # simply not reported again (a person choosing sightings is told instead).
        if no_url and parent is None:
            raise TakedownError(
                f"sighting(s) {no_url} have no URL; a notice needs the exact location", code=ErrorCode.TAKEDOWN_NO_URL
            )
    with_url = [s for s in sightings if s["url"]]
    if not with_url:
        raise TakedownError(f"{detail['number']} has no sighting with a URL to report", code=ErrorCode.TAKEDOWN_NO_URL)
    if options.each:  # one notice per reported URL (its first sighting), drafted in one transaction
        firsts: dict[str, dict[str, Any]] = {}
        for s in with_url:
            firsts.setdefault(s["url"], s)
        groups = [[s] for s in firsts.values()]
    else:
        groups = [sightings]
    authority = _clean_line("--authority", options.authority or str(settings.get("authority", "")))
    captures_by_url: dict[str, list[str]] = {}
    for c in detail["captures"]:
        stamps = [t.get("gen_time") for t in c["timestamps"] if t.get("ok")]
        if lang == "en":  # our words in the notice's language (pasted into the recipient's form as they are)
            text = f"capture {c['id']} of {c['url']} at {c['captured_at'][:19]}Z" + "".join(
                f"; RFC 3161 {stamp}" for stamp in stamps
            )
        else:
            text = f"보존 기록 {c['id']}: {c['url']} ({c['captured_at'][:19]}Z 보존)" + "".join(
                f"; RFC 3161 타임스탬프 {stamp}" for stamp in stamps
            )
        for url in {c["url"], c["final_url"]} - {None}:
            captures_by_url.setdefault(url, []).append(text)
    description = (
        f"Sexually explicit synthetic (deepfake) image or video depicting {detail['artist']} without consent."
        if lang == "en"
        else f"{detail['artist']}의 얼굴을 동의 없이 합성한 성적 허위영상물(딥페이크)."
    )
    substantiation = options.substantiation.strip() or (
        "The material is a non-consensual sexual deepfake of the person named; it is illegal under Korean law "
        "(Art. 14-2, Act on Special Cases Concerning the Punishment of Sexual Crimes) and violates the "
        "platform's rules on non-consensual intimate imagery."
        if lang == "en"
        else "이 자료는 위에 적은 인물의 얼굴을 동의 없이 합성한 성적 허위영상물(딥페이크)로, 「성폭력범죄의 "
        "처벌 등에 관한 특례법」 제14조의2에 따라 불법이며 비동의 성적 이미지에 관한 플랫폼 규정에도 "
        "위반됩니다."
    )
    ids: list[int] = []
    with ws.write() as (session, writer):
        case = get_case(session, options.case)
        covered: dict[str, int] = {}
        if not options.again and parent is None:
            for existing_id, existing_urls in session.execute(
                select(Notice.id, Notice.urls).where(Notice.recipient == recipient.key, Notice.status != "rejected")
            ).tuples():
                for url in existing_urls or []:
                    covered.setdefault(url, existing_id)
        for group in groups:
            urls = list(dict.fromkeys(s["url"] for s in group if s["url"]))
            overlap = [u for u in urls if u in covered]
            if overlap:
                raise TakedownError(
                    f"notice {covered[overlap[0]]} to {recipient.key} already covers {overlap[0]}; "
                    "use --again to send another",
                    code=ErrorCode.TAKEDOWN_DUPLICATE,
                    id=covered[overlap[0]],
                    url=overlap[0],
                )
            items = sorted({s["item"] for s in group})
            fields = NoticeFields(
                urls=urls,
                description=description,
                artist=detail["artist"],
                reporter_name=reporter_name,
                reporter_email=reporter_email,
                authority=authority,
                hashes=items,
                captures=[text for url in urls for text in captures_by_url.get(url, [])],
                good_faith=affirmed.get("good_faith", False),
                accuracy_under_perjury=affirmed.get("accuracy_under_perjury", False),
                signature=options.signature.strip(),
                copyrighted_work=options.copyrighted_work.strip(),
                substantiation=substantiation,
            )
            subject, body = render_text(recipient, basis.key, fields, lang, detail["number"], parent)
            notice = Notice(
                case_id=case.id,
                recipient=recipient.key,
                basis=basis.key,
                lang=lang,
                status="draft",
                to_address=to or None,
                urls=urls,
                sightings=[s["id"] for s in group],
                fields=fields.as_dict(),
                subject=subject,
                body=body,
                created_by=ws.actor,
                parent_id=parent.id if parent else None,
                attempt=(parent.attempt + 1) if parent else 1,
            )
            session.add(notice)
            session.flush()
            writer.append(
                "takedown.draft",
                None,
                {
                    "case": case.number,
                    "notice": notice.id,
                    "recipient": recipient.key,
                    "basis": basis.key,
                    "urls": urls,
                    "items": items,
                    "parent": notice.parent_id,
                    "affirmed": [a.key for a in basis.affirmations if getattr(fields, a.field) is True],
                    "missing": basis.missing(fields),
                },
            )
            ids.append(notice.id)
            if not options.again:
                for url in urls:
                    covered[url] = notice.id
    return ids


def render_text(
    recipient: Recipient, basis_key: str, fields: NoticeFields, lang: str, case_number: str, parent: Notice | None
) -> tuple[str, str]:
    basis = get_basis(basis_key)
    ko = lang == "ko"
    title = basis.title_ko if ko else basis.title_en
    prefix = ("[재요청] " if ko else "[Second notice] ") if parent else ""
    subject = _no_header_injection("subject", f"{prefix}{title} - {case_number}")
    lines = [title, ""]
    if parent is not None:
        sent_on = f"{parent.sent_at:%Y-%m-%d}" if parent.sent_at else "-"
        reference = parent.recipient_ref or "-"
        if _before_due(parent):  # escalated early (explicitly confirmed): never claim the deadline passed
            due = f"{parent.due_at:%Y-%m-%d %H:%M} UTC"
            line = (
                f"{sent_on}에 보낸 요청(참조 {reference})의 응답 기한({due})이 아직 지나지 않았지만, 신속한 "
                "처리를 위해 다시 요청합니다."
                if ko
                else f"The response time of our notice sent {sent_on} (reference {reference}) runs until {due}; "
                "we ask again before then because the matter is urgent."
            )
        else:
            line = (
                f"{sent_on}에 보낸 요청(참조 {reference})에 대한 조치가 확인되지 않아 다시 요청합니다."
                if ko
                else f"We have not seen action on our notice sent {sent_on} (reference {reference}); we ask again."
            )
        lines += [line, ""]
    if basis_key == "platform_form":
        lines.append("양식 입력 항목:" if ko else "Fields to paste into the form:")
        for label_en, label_ko, value in (
            ("Your name", "신고인 이름", fields.reporter_name),
            ("Your e-mail", "신고인 이메일", fields.reporter_email),
            ("Person depicted", "피해 당사자", fields.artist),
            (
                "Relationship",
                "관계",
                fields.authority or ("authorised representative" if not ko else "법정 대리인/소속사"),
            ),
            ("URLs", "URL", "\n".join(fields.urls)),
            ("Description", "설명", fields.description),
        ):
            lines.append(f"- {label_ko if ko else label_en}: {value}")
        return subject, "\n".join(lines) + "\n"
    lines += [
        ("수신: " if ko else "To: ") + recipient.name(lang),
        ("신고인: " if ko else "From: ") + f"{fields.reporter_name} <{fields.reporter_email}>",
        ("피해 당사자: " if ko else "Person depicted: ") + fields.artist,
    ]
    if fields.authority:
        lines.append(("대리 권한: " if ko else "Authority to act: ") + fields.authority)
    lines += ["", ("신고 대상 URL:" if ko else "Exact location of the material:")]
    lines += [f"  {url}" for url in fields.urls]
    lines += ["", ("내용: " if ko else "What it is: ") + fields.description]
    lines.append("(해당 자료는 첨부하지 않습니다.)" if ko else "(The material itself is not attached.)")
    if basis_key == "eu_dsa_16":
        lines += ["", ("근거: " if ko else "Reasons: ") + fields.substantiation]
    if basis_key == "dmca_512c3":
        lines += ["", ("저작물: " if ko else "Copyrighted work: ") + fields.copyrighted_work]
    lines += ["", ("증거 해시값(SHA-256):" if ko else "Evidence hashes (SHA-256):")]
    lines += [f"  {h}" for h in fields.hashes]
    if fields.captures:
        lines += ["", ("보존 기록:" if ko else "Preservation records:")]
        lines += [f"  {c}" for c in fields.captures]
    statements = basis.statements(fields, lang)  # affirmations only once the sender made them
    if statements:
        lines += [""] + list(statements)
    if fields.signature:
        lines += ["", ("서명: " if ko else "Signature: ") + fields.signature]
    lines += ["", (f"사건번호 {case_number}" if ko else f"Our reference: {case_number}")]
    return subject, "\n".join(lines) + "\n"


def affirm(ws: Workspace, notice_id: int, keys: list[str]) -> dict[str, Any]:
    """The sender affirms statements on a draft (e.g. a follow-up drafted for a re-upload): the flags are set,
    the text is rendered again with the statements, and the affirmation is a ``takedown.affirm`` event."""
    from idolguard.cases.models import Case

    recipients = load_recipients(ws.home)
    with ws.write() as (session, writer):
        notice = _notice(session, notice_id)
        if notice.status != "draft":
            raise TakedownError(
                f"notice {notice_id} is {notice.status}; only a draft can be affirmed",
                code=ErrorCode.TAKEDOWN_NOT_DRAFT,
                id=notice_id,
            )
        basis = get_basis(notice.basis)
        flags = _affirmed(basis, keys)
        if not flags:
            raise TakedownError(
                f"name the statements to affirm: {', '.join(a.key for a in basis.affirmations) or '(none)'}",
                code=ErrorCode.TAKEDOWN_AFFIRM,
                keys=",".join(a.key for a in basis.affirmations),
            )
        fields = NoticeFields(**{**notice.fields, **flags})
        parent = session.get(Notice, notice.parent_id) if notice.parent_id else None
        case = session.get(Case, notice.case_id)
        notice.subject, notice.body = render_text(
            get_recipient(recipients, notice.recipient),
            basis.key,
            fields,
            notice.lang,
            case.number if case else "",
            parent,
        )
        notice.fields = fields.as_dict()
        affirmed = affirmed_keys(basis.key, notice.fields)
        writer.append("takedown.affirm", None, {"notice": notice_id, "affirmed": affirmed})
        return {"notice": notice_id, "affirmed": affirmed, "missing": basis.missing(fields)}


def _notice(session: Any, notice_id: int) -> Notice:
    notice = session.get(Notice, notice_id)
    if notice is None:
        raise TakedownError(f"no notice {notice_id}", code=ErrorCode.RECORD_UNKNOWN, ref=f"notice:{notice_id}")
    return notice


def notice_pdf(notice: Notice) -> bytes:
    from html import escape

    from weasyprint import HTML

    html = (
        "<html><head><meta charset='utf-8'><style>body{font-family:'Noto Sans CJK KR','DejaVu Sans',sans-serif;"
        "font-size:10pt;white-space:pre-wrap}</style></head><body>"
        f"<h3>{escape(notice.subject)}</h3>{escape(notice.body)}</body></html>"
    )
    return HTML(string=html).write_pdf()


def build_message(notice: Notice, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = _no_header_injection("sender", sender)
    message["To"] = _no_header_injection("recipient address", notice.to_address or "")
    message["Subject"] = _no_header_injection("subject", notice.subject)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].strip(">") or "idolguard.invalid")
    message.set_content(notice.body)
    message.add_attachment(
        notice_pdf(notice), maintype="application", subtype="pdf", filename=f"notice-{notice.id}.pdf"
    )
    return message


def send(ws: Workspace, notice_id: int) -> dict[str, Any]:
    """Send an e-mail notice over SMTP. Failure leaves it a draft with the error; nothing is recorded sent."""
    recipients = load_recipients(ws.home)
    settings = _settings(ws).get("smtp", {})
    with ws.sessions() as session:
        notice = _notice(session, notice_id)
        session.expunge(notice)
    if notice.status != "draft":
        raise TakedownError(
            f"notice {notice_id} is {notice.status}, not a draft", code=ErrorCode.TAKEDOWN_NOT_DRAFT, id=notice_id
        )
    not_web = [u for u in notice.urls or [] if not is_web_url(u)]
    if not_web:  # an old draft made before source URLs were checked: it is never sent as it is
        raise TakedownError(
            f"notice {notice_id} lists {not_web[0]!r}, which is not an http(s) URL; draft a new one",
            code=ErrorCode.TAKEDOWN_NOT_WEB_URL,
            id=notice_id,
            url=not_web[0],
        )
    recipient = get_recipient(recipients, notice.recipient)
    if recipient.channel != "email":
        raise TakedownError(
            f"{recipient.key} is reached by {recipient.channel} ({recipient.address or 'address typed by you'}); "
            f"file it there and run: idolguard takedowns mark {notice_id} sent --ref TICKET",
            code=ErrorCode.TAKEDOWN_OTHER_CHANNEL,
            id=notice_id,
            recipient=recipient.key,
            channel=recipient.channel,
        )
    require_elements(notice, notice_id)
    host = settings.get("host")
    sender = settings.get("sender") or notice.fields.get("reporter_email")
    if not host or not sender:
        raise TakedownError(
            "set [takedowns.smtp] host and sender in config.toml to send e-mail", code=ErrorCode.TAKEDOWN_NO_SMTP
        )
    message = build_message(notice, str(sender))
    data = message.as_bytes(policy=email_policy.SMTP)  # CRLF line ends: these exact bytes go on the wire
    try:
        _smtp_send(settings, str(sender), notice.to_address or "", data)
    except (OSError, smtplib.SMTPException) as exc:
        with ws.write() as (session, writer):
            row = _notice(session, notice_id)
            row.last_error = f"{type(exc).__name__}: {exc}"[:500]
            writer.append("takedown.send_failed", None, {"notice": notice_id, "error": row.last_error})
        raise TakedownError(
            f"sending notice {notice_id} failed ({exc}); it stays a draft, retry with takedowns send",
            code=ErrorCode.TAKEDOWN_SEND_FAILED,
            id=notice_id,
        ) from exc
    sha = _store_sent(ws, data, notice_id)
    now = datetime.now(UTC)
    with ws.write() as (session, writer):
        row = _notice(session, notice_id)
        row.status, row.sent_at, row.message_sha256, row.last_error = "sent", now, sha, None
        row.due_at = now + timedelta(hours=recipient.response_hours)
        writer.append(
            "takedown.send",
            sha,
            {
                "notice": notice_id,
                "recipient": recipient.key,
                "to": row.to_address,
                "message_sha256": sha,
                "bytes": len(data),
                "due_at": row.due_at.isoformat(),
            },
        )
    return {
        "notice": notice_id,
        "status": "sent",
        "message_sha256": sha,
        "due_at": (now + timedelta(hours=recipient.response_hours)).isoformat(),
    }


def _smtp_send(settings: dict[str, Any], sender: str, to: str, data: bytes) -> None:
    host, port = str(settings["host"]), int(settings.get("port", 25))
    timeout = float(settings.get("timeout_s", 30))
    password = os.environ.get(str(settings.get("password_env", "IDOLGUARD_SMTP_PASSWORD")), "")
    if settings.get("ssl"):
        client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(host, port, timeout=timeout)
    with client:
        if settings.get("starttls") and not settings.get("ssl"):
            client.starttls(context=ssl.create_default_context())
        if settings.get("username"):
            client.login(str(settings["username"]), password)
        refused = client.sendmail(sender, [to], data)
        if refused:
            raise smtplib.SMTPRecipientsRefused(refused)


def _store_sent(ws: Workspace, data: bytes, notice_id: int) -> str:
    """The exact bytes sent become an evidence item (vault + ingest custody event)."""
    from idolguard.intake.ingest import Ingestor, SightingInfo

    with tempfile.TemporaryDirectory(dir=ws.vault.tmp) as folder:
        path = Path(folder) / f"takedown-notice-{notice_id}.eml"
        path.write_bytes(data)
        results = list(Ingestor(ws, SightingInfo(note=f"takedown notice {notice_id} as sent")).ingest([path]))
    if not results or not results[0].sha256 or results[0].error:
        raise TakedownError(
            f"the sent message could not be stored: {results[0].error if results else 'no result'}",
            code=ErrorCode.TAKEDOWN_NOT_STORED,
            id=notice_id,
        )
    return str(results[0].sha256)


def mark(ws: Workspace, notice_id: int, status: str, ref: str | None = None, note: str | None = None) -> dict[str, Any]:
    status = status.strip().lower()
    if status not in MARKABLE:
        raise TakedownError(
            f"status must be one of {', '.join(MARKABLE)}",
            code=ErrorCode.TAKEDOWN_BAD_STATUS,
            statuses=",".join(MARKABLE),
        )
    recipients = load_recipients(ws.home)
    with ws.write() as (session, writer):
        notice = _notice(session, notice_id)
        previous = notice.status
        if status == "sent":
            if previous != "draft":
                raise TakedownError(
                    f"notice {notice_id} is already {previous}",
                    code=ErrorCode.TAKEDOWN_ALREADY,
                    id=notice_id,
                    status=previous,
                )
            require_elements(notice, notice_id)
            notice.sent_at = datetime.now(UTC)
            notice.due_at = notice.sent_at + timedelta(hours=get_recipient(recipients, notice.recipient).response_hours)
        elif previous == "draft":
            raise TakedownError(
                f"notice {notice_id} has not been sent yet", code=ErrorCode.TAKEDOWN_NOT_SENT, id=notice_id
            )
        if ref:
            notice.recipient_ref = _clean_line("--ref", ref)
        notice.status = status
        if status in ("removed", "rejected"):
            notice.closed_at = datetime.now(UTC)
        writer.append(
            "takedown.status",
            None,
            {"notice": notice_id, "previous": previous, "status": status, "ref": notice.recipient_ref, "note": note},
        )
        return {"notice": notice_id, "previous": previous, "status": status}


def sync_from_rechecks(ws: Workspace) -> dict[str, int]:
    """Removal confirmed by ``recheck``: every URL of a sent notice removed/blocked -> removed; some -> partially."""
    from idolguard.capture.models import Capture, CaptureCheck

    with ws.sessions() as session:
        notices = list(
            session.execute(
                select(Notice.id, Notice.urls, Notice.status).where(
                    Notice.status.in_(("sent", "acknowledged", "no_response", "partially_removed"))
                )
            ).tuples()
        )
        latest: dict[str, tuple[datetime, str]] = {}
        rows = session.execute(
            select(Capture.requested_url, Capture.final_url, CaptureCheck.checked_at, CaptureCheck.state).join(
                CaptureCheck, CaptureCheck.capture_id == Capture.id
            )
        ).tuples()
        for requested, final, checked_at, state in rows:
            for url in {requested, final} - {None}:
                if url not in latest or checked_at > latest[url][0]:
                    latest[url] = (checked_at, state)
    changes: list[tuple[int, str, str]] = []
    for notice_id, urls, status in notices:
        gone = [u for u in urls if latest.get(u, (None, ""))[1] in ("removed", "blocked")]
        new = "removed" if gone and len(gone) == len(urls) else ("partially_removed" if gone else None)
        if new and new != status:
            changes.append((notice_id, status, new))
    if changes:
        from sqlalchemy import update

        from idolguard.db.session import in_chunks

        now = datetime.now(UTC)
        with ws.write() as (session, writer):
            for new in ("removed", "partially_removed"):
                ids = [str(n) for n, _p, status in changes if status == new]
                for chunk in in_chunks(ids):
                    values: dict[str, Any] = {"status": new}
                    if new == "removed":
                        values["closed_at"] = now
                    session.execute(update(Notice).where(Notice.id.in_([int(i) for i in chunk])).values(**values))
            writer.append(
                "takedown.sync",
                None,
                {"changes": [{"notice": n, "previous": p, "status": st} for n, p, st in changes]},
            )
    followups = reopen_on_reupload(ws)
    return {"checked": len(notices), "changed": len(changes), "followups": len(followups)}


def reopen_on_reupload(ws: Workspace) -> list[int]:
    """A removed notice's content came back: a new sighting (recorded after the removal) of any item of the
    case with a URL no notice to that recipient covers yet gets a follow-up draft chained to the notice."""
    from idolguard.cases.models import Case

    with ws.sessions() as session:
        removed = list(
            session.execute(select(Notice).where(Notice.status == "removed", Notice.closed_at.is_not(None))).scalars()
        )
        covered: dict[str, set[str]] = {}
        for recipient, urls in session.execute(select(Notice.recipient, Notice.urls)).tuples():
            covered.setdefault(recipient, set()).update(urls or [])
        plans: list[tuple[Notice, str, list[int]]] = []
        details: dict[int, dict[str, Any]] = {}
        for notice in removed:
            if notice.case_id not in details:
                case = session.get(Case, notice.case_id)
                details[notice.case_id] = detail_in_session(session, case) if case else {"sightings": []}
            detail = details[notice.case_id]
            fresh = [
                s
                for s in detail["sightings"]
                if is_web_url(s["url"])
                and s["url"] not in covered.get(notice.recipient, set())
                and datetime.fromisoformat(s["recorded_at"]) > notice.closed_at  # type: ignore[operator]
            ]
            if fresh:
                covered.setdefault(notice.recipient, set()).update(s["url"] for s in fresh)
                plans.append((notice, detail.get("number", ""), [s["id"] for s in fresh]))
        for notice, _number, _ids in plans:
            session.expunge(notice)
    created: list[int] = []
    for notice, number, sighting_ids in plans:
        fields = notice.fields
        options = DraftOptions(
            case=number,
            recipient=notice.recipient,
            basis=notice.basis,
            lang=notice.lang,
            sightings=tuple(sighting_ids),
            to=notice.to_address,
            reporter_name=fields["reporter_name"],
            reporter_email=fields["reporter_email"],
            authority=fields.get("authority", ""),
            substantiation=fields.get("substantiation", ""),
            signature=fields.get("signature", ""),
            copyrighted_work=fields.get("copyrighted_work", ""),
            # no affirmation carried over: these are new URLs, so the sender affirms again (takedowns affirm)
        )
        created.extend(draft(ws, options, parent=notice))
    return created


def list_notices(ws: Workspace, *, overdue: bool = False, case: str | None = None) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    with ws.sessions() as session:
        query = select(Notice).order_by(Notice.id)
        if case:
            query = query.where(Notice.case_id == get_case(session, case).id)
        rows = list(session.execute(query).scalars())
        out = []
        for n in rows:
            late = n.status in ("sent", "acknowledged", "no_response") and n.due_at is not None and n.due_at < now
            if overdue and not late:
                continue
            out.append(
                {
                    "id": n.id,
                    "recipient": n.recipient,
                    "basis": n.basis,
                    "status": n.status,
                    "urls": n.urls,
                    "sent_at": n.sent_at.isoformat() if n.sent_at else None,
                    "due_at": n.due_at.isoformat() if n.due_at else None,
                    "overdue": late,
                    "recipient_ref": n.recipient_ref,
                    "attempt": n.attempt,
                    "parent": n.parent_id,
                    "message_sha256": n.message_sha256,
                    "last_error": n.last_error,
                }
            )
        return out


def show(ws: Workspace, notice_id: int) -> dict[str, Any]:
    with ws.sessions() as session:
        n = _notice(session, notice_id)
        basis = get_basis(n.basis)
        return {
            "id": n.id,
            "recipient": n.recipient,
            "basis": n.basis,
            "status": n.status,
            "to": n.to_address,
            "subject": n.subject,
            "body": n.body,
            "missing": basis.missing(NoticeFields(**n.fields)),
            "urls": n.urls,
        }


def _before_due(notice: Notice, now: datetime | None = None) -> bool:
    """Whether the recipient's response time for ``notice`` is still running."""
    due = notice.due_at
    if due is None:
        return False
    if due.tzinfo is None:
        due = due.replace(tzinfo=UTC)
    return due > (now or datetime.now(UTC))


def escalate(ws: Workspace, notice_id: int, *, early: bool = False) -> int:
    """The next step for an overdue notice: a second notice to the same recipient, then a KCSC request.
    Before the notice's due time only with ``early`` (an explicit confirmation: the recipient still has time
    to act), and the new notice then says so instead of claiming no action was seen."""
    with ws.sessions() as session:
        n = _notice(session, notice_id)
        session.expunge(n)
        case_number = get_case(session, str(n.case_id)).number
    if n.status not in ("sent", "acknowledged", "no_response", "partially_removed"):
        raise TakedownError(
            f"notice {notice_id} is {n.status}; only sent notices without removal are escalated",
            code=ErrorCode.TAKEDOWN_NOT_ESCALATABLE,
            id=notice_id,
            status=n.status,
        )
    if _before_due(n) and not early:
        raise TakedownError(
            f"notice {notice_id} is not due until {n.due_at:%Y-%m-%d %H:%M} UTC; "
            "to escalate before then, confirm it with --early",
            code=ErrorCode.TAKEDOWN_NOT_DUE,
            id=notice_id,
            due=f"{n.due_at:%Y-%m-%d %H:%M} UTC",
        )
    fields = n.fields
    common = dict(
        case=case_number,
        reporter_name=fields["reporter_name"],
        reporter_email=fields["reporter_email"],
        authority=fields.get("authority", ""),
        sightings=tuple(n.sightings),
        again=True,
    )
    if n.attempt < 2 and n.recipient != "kcsc":
        return draft(
            ws,
            DraftOptions(
                recipient=n.recipient,
                basis=n.basis,
                lang=n.lang,
                to=n.to_address,
                signature=fields.get("signature", ""),
                copyrighted_work=fields.get("copyrighted_work", ""),
                # the same URLs again: the statements the sender affirmed for the first notice still stand
                affirm=tuple(affirmed_keys(n.basis, fields)),
                substantiation=fields.get("substantiation", ""),
                **common,
            ),
            parent=n,
        )[0]  # type: ignore[arg-type]
    return draft(ws, DraftOptions(recipient="kcsc", basis="kr_tba_22_5", lang="ko", **common), parent=n)[0]  # type: ignore[arg-type]


def stats(ws: Workspace, notice_ids: set[int] | None = None) -> dict[str, Any]:
    """Time to removal, success rate and acceptance (the precision a trusted flagger must show); over the
    given notices only when ``notice_ids`` is set (the web app's per-artist scope)."""
    from statistics import median

    with ws.sessions() as session:
        rows = list(session.execute(select(Notice).where(Notice.status != "draft")).scalars())
    if notice_ids is not None:
        rows = [n for n in rows if n.id in notice_ids]

    def group(key: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for n in rows:
            g = out.setdefault(
                getattr(n, key),
                {
                    "sent": 0,
                    "removed": 0,
                    "partially_removed": 0,
                    "rejected": 0,
                    "no_response": 0,
                    "hours_to_removal": [],
                },
            )
            g["sent"] += 1  # every notice that left a draft, once
            if n.status in OUTCOMES:  # never "sent" itself: that would count a sent notice twice
                g[n.status] += 1
            if n.status == "removed" and n.closed_at and n.sent_at:
                g["hours_to_removal"].append((n.closed_at - n.sent_at).total_seconds() / 3600)
        for g in out.values():
            answered = g["removed"] + g["partially_removed"] + g["rejected"]
            g["success_rate"] = round((g["removed"] + g["partially_removed"]) / g["sent"], 3) if g["sent"] else None
            g["acceptance"] = round((g["removed"] + g["partially_removed"]) / answered, 3) if answered else None
            hours = g.pop("hours_to_removal")
            g["median_hours_to_removal"] = round(median(hours), 1) if hours else None
        return out

    return {"by_recipient": group("recipient"), "by_basis": group("basis"), "notices": len(rows)}


def stats_chart_png(data: dict[str, Any], labels: dict[str, str] | None = None, lang: str | None = None) -> bytes:
    """Per recipient: notices sent, removed, and the acceptance share (the trusted-flagger precision).
    ``labels`` names the recipients (keys like "x" otherwise), in the reader's language: Korean names are drawn
    with a Hangul font, and the legend and notes come from the catalog in ``lang`` (``report.charts``)."""
    from idolguard.report import charts

    text = charts.words(lang)
    rows = sorted(data["by_recipient"].items())
    names = [(labels or {}).get(name, name) for name, _ in rows] or [text["none"]]
    with charts.figure(7, 1.1 + 0.35 * len(names)) as figure:
        axes = figure.add_subplot()
        positions = range(len(names))
        sent = [g["sent"] for _, g in rows] or [0]
        axes.barh([p + 0.2 for p in positions], sent, height=0.4, label=text["sent"])
        axes.barh(
            [p - 0.2 for p in positions],
            [g["removed"] + g["partially_removed"] for _, g in rows] or [0],
            height=0.4,
            label=text["removed"],
        )
        for p, (_, g) in zip(positions, rows, strict=False):
            if g["acceptance"] is not None:
                axes.annotate(
                    text["accepted"].format(share=f"{g['acceptance']:.0%}"),
                    (g["sent"], p),
                    xytext=(4, 0),
                    textcoords="offset points",
                    va="center",
                    fontsize=7,
                )
        from matplotlib.ticker import MaxNLocator

        axes.set_yticks(list(positions), names)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # notices are counted
        axes.set_xlim(0, max(sent) * 1.4 + 0.5)  # room for the acceptance notes and the legend beside the bars
        axes.set_xlabel(text["notices"], fontsize=8)
        axes.legend(fontsize=7, loc="lower right")
        axes.grid(axis="x", alpha=0.3)
        figure.tight_layout()
        return charts.png(figure)


def export_lumen(ws: Workspace) -> list[dict[str, Any]]:
    """Sent notices in the shape of a Lumen database submission (sender, principal, recipient, works, action)."""
    recipients = load_recipients(ws.home)
    from idolguard.cases.models import Case

    out = []
    with ws.sessions() as session:
        for n in session.execute(select(Notice).where(Notice.status != "draft").order_by(Notice.id)).scalars():
            case = session.get(Case, n.case_id)
            recipient = recipients.get(n.recipient)
            out.append(
                {
                    "title": n.subject,
                    "type": {"dmca_512c3": "DMCA", "eu_dsa_16": "Other", "kr_tba_22_5": "GovernmentRequest"}.get(
                        n.basis, "Other"
                    ),
                    "date_sent": n.sent_at.isoformat() if n.sent_at else None,
                    "sender": {"name": n.fields.get("reporter_name")},
                    "principal": {"name": case.artist if case else None},
                    "recipient": {"name": recipient.name_en if recipient else n.recipient},
                    "works": [
                        {"description": n.fields.get("description"), "infringing_urls": [{"url": u} for u in n.urls]}
                    ],
                    "action_taken": {"removed": "Yes", "partially_removed": "Partial", "rejected": "No"}.get(
                        n.status, "Unspecified"
                    ),
                    "jurisdictions": ["KR"] if n.basis == "kr_tba_22_5" else [],
                }
            )
    return out


assert set(MARKABLE) <= set(STATUSES)
