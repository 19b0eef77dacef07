"""Anchoring the custody ledger's head with RFC 3161 timestamps (the network side of ``evidence/anchors.py``,
here because it uses the capture area's SSRF-checked RFC 3161 client).

Called at the end of every command that wrote custody events, and whenever ``[ledger] anchor_every`` entries
have accumulated. It appends a ``ledger.anchor`` entry (naming the tokens the previous anchor obtained), then
asks each configured TSA, through the same SSRF-checked fetcher capture uses, to timestamp that entry's
``seq`` and ``hash``. A TSA that cannot be reached is reported in plain words, never silently skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from idolguard.db.models import LedgerEntry
from idolguard.evidence.actions import Action
from idolguard.evidence.anchors import head_bytes, load_anchors, store_anchor

DEFAULT_EVERY = 1000


@dataclass
class AnchorOutcome:
    ok: bool
    seq: int | None = None
    tokens: int = 0
    errors: list[str] = field(default_factory=list)
    message: str = ""


def _settings(ws: Any) -> tuple[int, float]:
    section = ws.config.section("ledger")
    try:
        every = int(section.get("anchor_every", DEFAULT_EVERY))
        timeout = float(section.get("anchor_timeout_s", 10))
    except (TypeError, ValueError):
        every, timeout = DEFAULT_EVERY, 10.0
    return every, timeout


def anchor_if_due(ws: Any, *, force: bool = False) -> AnchorOutcome | None:
    """Anchor the head when entries were written since the last ``ledger.anchor`` entry (at the end of a
    command that wrote, ``force`` is implied by the caller's choice). Returns None when nothing was due."""
    if getattr(ws, "read_only", False):
        return None
    every, _timeout = _settings(ws)
    if every <= 0:
        return None
    with ws.sessions() as session:
        head = session.execute(select(func.max(LedgerEntry.seq))).scalar_one()
        last_anchor = session.execute(
            select(func.max(LedgerEntry.seq)).where(LedgerEntry.action == Action.LEDGER_ANCHOR.value)
        ).scalar_one()
    if head is None or (last_anchor is not None and head == last_anchor):
        return None  # nothing written since the last anchor
    return anchor_now(ws)


def anchor_now(ws: Any) -> AnchorOutcome:
    from idolguard.capture import tsa
    from idolguard.capture.errors import CaptureRefused
    from idolguard.capture.fetch import Budget, SafeFetcher
    from idolguard.capture.netpolicy import NetPolicy
    from idolguard.capture.settings import CaptureSettings

    settings = CaptureSettings.from_workspace(ws)
    _every, timeout = _settings(ws)
    if not settings.tsa_urls:
        return AnchorOutcome(
            ok=False,
            message="the ledger head was NOT timestamped: no TSA configured ([capture] tsa_urls); truncation "
            "of the newest entries can then only be detected with verify --expect-head",
        )
    previous = _previous_anchor(ws)
    with ws.write() as (_session, ledger):
        entry = ledger.append(
            Action.LEDGER_ANCHOR,
            details={"tsa_urls": list(settings.tsa_urls), "previous_anchor": previous},
        )
    seq, entry_hash = entry.seq, entry.entry_hash
    data = head_bytes(seq, entry_hash)
    policy = NetPolicy(settings.allow)
    tokens: list[bytes] = []
    errors: list[str] = []
    for url in settings.tsa_urls:
        fetcher = SafeFetcher(
            policy,
            Budget(1024 * 1024, timeout),
            connect_timeout_s=min(timeout, settings.connect_timeout_s),
            read_timeout_s=min(timeout, settings.read_timeout_s),
            user_agent=settings.user_agent,
        )
        try:
            result = tsa.timestamp(fetcher, url, data, timeout_s=timeout)
        except CaptureRefused as exc:
            result = tsa.TimestampResult(url, ok=False, error=str(exc))
        if result.ok and result.token:
            tokens.append(result.token)
        else:
            errors.append(f"{url}: {result.error}")
    log = _log_failures(ws.home, seq, errors) if errors else None
    if tokens:
        store_anchor(ws.home, seq, entry_hash, tokens)
        return AnchorOutcome(
            ok=True,
            seq=seq,
            tokens=len(tokens),
            errors=errors,
            message=f"ledger head {seq} timestamped by {len(tokens)} of {len(settings.tsa_urls)} TSA(s)"
            + (f"; details of the others in {log}" if log else ""),
        )
    why = "no time-stamping service could be reached (offline?)" if _unreachable(errors) else "the TSAs refused"
    return AnchorOutcome(
        ok=False,
        seq=seq,
        errors=errors,
        # One short line people read (KO/EN through errors.ko.po); each TSA's own error goes to the log.
        message=f"the ledger head ({seq}) was not timestamped: {why}; details in {log}",
    )


ANCHOR_LOG = ("logs", "anchors.log")


def _unreachable(errors: list[str]) -> bool:
    words = ("resolve", "errno", "connect", "unreachable", "timed out", "timeout", "no addresses", "refused")
    return all(any(w in e.lower() for w in words) for e in errors)


def _log_failures(home: Any, seq: int, errors: list[str]) -> str:
    """Append what each TSA answered to ``logs/anchors.log`` in the workspace (a diagnostic record, not
    evidence: the ledger's anchor entry is the record); returns its path for the one-line warning."""
    import json
    from datetime import UTC, datetime
    from pathlib import Path

    path = Path(home).joinpath(*ANCHOR_LOG)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        line = {"at": datetime.now(UTC).isoformat(), "ledger_seq": seq, "errors": errors}
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
    except OSError:
        return "-"
    return str(path)


def _previous_anchor(ws: Any) -> dict[str, Any] | None:
    """What the newest stored anchor obtained, so this entry signs the list (deleting tokens then shows)."""
    import hashlib

    anchors, _strays = load_anchors(ws.home)
    if not anchors:
        return None
    newest = anchors[-1]
    return {"seq": newest.seq, "tokens": [hashlib.sha256(token).hexdigest() for _path, token in newest.tokens]}


def announce(outcome: AnchorOutcome | None) -> None:
    """Say on stderr what anchoring did: quietly when it worked, as a warning when it could not."""
    if outcome is None or not outcome.message:
        return
    from idolguard.cli_support import console, tr, tr_error
    from idolguard.display import safe_markup

    style = tr("anchored:") if outcome.ok else f"[yellow]{tr('warning:')}[/]"
    console.print(f"{style} {safe_markup(tr_error(outcome.message))}", highlight=False)
