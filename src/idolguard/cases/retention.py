"""Retention and destruction: erase a closed case's media once two different people approve.

Holding this material is itself regulated, so an agency keeps it only as long as a case needs it. A
destruction is refused while the case is under legal hold or still open, and needs approvals from two
different managers/admins: web users, or command-line operators whose name is a web user's (``people.py``).
A workspace without web accounts can only tell operator names apart, and says so in the result.
The decision is one signed ``case.destroy`` event listing every erased object's SHA-256 and who approved;
the rows (items, hashes, sightings) and the ledger stay, so ``verify`` reports those objects as destroyed
by decision instead of missing. Files are deleted only after the decision is committed; if the process
dies in between (or part-way through the files), the erasure is finished by running ``cases destroy`` for
that case again, and by every ``idolguard worker`` / ``serve`` start (``finish_pending``). Each finished
erasure is recorded by a signed ``case.destroy_finish`` event naming what was still left (once: a run killed
after signing it is completed by the next run under the same event, see ``finish_pending``); ``verify`` warns
about a decided erasure that is not finished yet (and does not treat its shredded-key ciphertext as damage).

In an encrypted vault each object has its own data key (``Vault.erase``): destruction shreds that wrapped
key and deletes the ciphertext, so a backup copy of the object stays unreadable even with the vault key; the
blurred previews cached from those objects are deleted too (they are encrypted under keys derived from the
same item keys). Objects written before per-item keys (vault-key format) can only be deleted; the decision
says which method applied to each object.

An item that also belongs to another case that is not destroyed is kept (and listed as kept) so one case's
destruction never takes evidence another case still needs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from idolguard.capture.models import Capture
from idolguard.cases.models import Case, CaseLink, DestroyedObject, DestructionApproval
from idolguard.cases.people import APPROVER_ROLES, person
from idolguard.cases.service import CaseError, get_case
from idolguard.cases.views import case_items
from idolguard.db.models import DerivedObject
from idolguard.db.session import in_chunks
from idolguard.errors import ErrorCode
from idolguard.evidence import crypto
from idolguard.workspace import Workspace

APPROVALS_NEEDED = 2


@dataclass
class DestroyResult:
    case: str
    approvals: list[str]
    roles_checked: bool = True
    executed: bool = False
    destroyed: list[dict[str, str]] = field(default_factory=list)
    kept: list[dict[str, Any]] = field(default_factory=list)
    decision_seq: int | None = None
    finished: int = 0  # objects of an earlier, interrupted erasure finished by this run

    def as_dict(self) -> dict[str, Any]:
        return {
            "finished": self.finished,
            "case": self.case,
            "approvals": self.approvals,
            "roles_checked": self.roles_checked,
            "executed": self.executed,
            "destroyed": len(self.destroyed),
            "kept": self.kept,
            "decision_seq": self.decision_seq,
        }


def approver_role(ws: Workspace, actor: str) -> str:
    """The approver's role (``operator`` when the workspace has no web accounts to check roles against)."""
    return person(ws, actor, APPROVER_ROLES, "approve a destruction").role


def destroy(ws: Workspace, key: str, reason: str) -> DestroyResult:
    """Record this operator's approval; when two different approvers agree, erase the media."""
    reason = reason.strip()
    if not reason:
        raise CaseError("a destruction needs a --reason", code=ErrorCode.CASE_NEEDS_REASON)
    approver = person(ws, ws.actor, APPROVER_ROLES, "approve a destruction")
    actor = approver.name  # a user counts once, whether approving on the web or on the command line
    resumed = _resume(ws, key, approver.checked)
    if resumed is not None:
        return resumed
    with ws.write() as (session, writer):
        case = get_case(session, key)
        _check_destroyable(case)
        role = approver.role
        already = (
            session.execute(select(DestructionApproval).where(DestructionApproval.case_id == case.id)).scalars().all()
        )
        if any(a.approver == actor for a in already):
            raise CaseError(
                f"{actor} has already approved destroying {case.number}; a different manager or admin must approve",
                code=ErrorCode.CASE_SECOND_APPROVER,
            )
        session.add(DestructionApproval(case_id=case.id, approver=actor, role=role, reason=reason))
        writer.append(
            "case.destroy_approve", None, {"case": case.number, "approver": actor, "role": role, "reason": reason}
        )
        approvals = [a.approver for a in already] + [actor]
    result = DestroyResult(case=case.number, approvals=approvals, roles_checked=approver.checked)
    if len(set(approvals)) >= APPROVALS_NEEDED:
        _execute(ws, key, result)
    return result


def _resume(ws: Workspace, key: str, roles_checked: bool) -> DestroyResult | None:
    """For a case destroyed already: finish what an interrupted run left (the result), or refuse when
    nothing is left; None for a case not destroyed yet."""
    with ws.sessions() as session:
        case = get_case(session, key)
        if case.destroyed_at is None:
            return None
        number = case.number
        approvals = list(
            session.execute(
                select(DestructionApproval.approver)
                .where(DestructionApproval.case_id == case.id)
                .order_by(DestructionApproval.id)
            ).scalars()
        )
    finished = finish_pending(ws, number)
    if not finished:
        raise CaseError(f"{number} was already destroyed", code=ErrorCode.CASE_DESTROYED, number=number)
    done = finished[0]
    return DestroyResult(
        case=number,
        approvals=approvals,
        roles_checked=roles_checked,
        executed=True,
        destroyed=[{"sha256": o["sha256"], "kind": o["kind"]} for o in done.objects],
        decision_seq=done.decision_seq,
        finished=len(done.objects),
    )


def _check_destroyable(case: Case) -> None:
    if case.destroyed_at is not None:
        raise CaseError(f"{case.number} was already destroyed", code=ErrorCode.CASE_DESTROYED, number=case.number)
    if case.legal_hold:
        raise CaseError(
            f"{case.number} is under legal hold; lift the hold (cases hold --off) before destroying",
            code=ErrorCode.CASE_ON_HOLD,
        )
    if case.status != "closed":
        raise CaseError(
            f"{case.number} is {case.status}; close it first (idolguard cases close)", code=ErrorCode.CASE_NOT_CLOSED
        )


def _objects_to_erase(session: Session, case: Case) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    """(sha256, kind) of originals and their derivatives, and the items kept because another live case
    holds them."""
    items = sorted(case_items(session, case))
    kept: list[dict[str, Any]] = []
    erase_items: list[str] = []
    others = session.execute(select(Case).where(Case.id != case.id, Case.destroyed_at.is_(None))).scalars().all()
    held_elsewhere: dict[str, str] = {}
    for other in others:
        for sha in case_items(session, other):
            held_elsewhere.setdefault(sha, other.number)
    for sha in items:
        if sha in held_elsewhere:
            kept.append({"sha256": sha, "reason": f"also in {held_elsewhere[sha]}"})
        else:
            erase_items.append(sha)
    objects: list[tuple[str, str]] = [(sha, "original") for sha in erase_items]
    keep_derived: set[str] = set()
    derived: set[str] = set()
    for chunk in in_chunks(erase_items):
        derived.update(
            session.execute(select(DerivedObject.sha256).where(DerivedObject.parent_sha256.in_(chunk))).scalars()
        )
    erase_set = set(erase_items)
    for chunk in in_chunks(sorted(derived)):
        for sha, parent in session.execute(
            select(DerivedObject.sha256, DerivedObject.parent_sha256).where(DerivedObject.sha256.in_(chunk))
        ).tuples():
            if parent not in erase_set:
                keep_derived.add(sha)  # the same bytes also derive from an item we keep
    objects.extend((sha, "derived") for sha in sorted(derived - keep_derived - erase_set))
    return objects, kept


def _execute(ws: Workspace, key: str, result: DestroyResult) -> None:
    """Commit the signed decision, then erase its files, all under ``vault/finish.lock``: a ``finish_pending``
    (a ``worker``/``serve`` start, ``vault rekey``) that ran between the commit and the erasure would take this
    ordinary erasure for an interrupted one and sign a ``case.destroy_finish`` claiming a crash that never
    happened. Lock order as in ``finish_pending``: the finish lock, then the ledger's (``ws.write``), then the
    vault's (``erase``), so the two cannot deadlock."""
    with _finish_lock(ws):
        with ws.write() as (session, writer):
            case = get_case(session, key)
            _check_destroyable(case)
            approvals = (
                session.execute(
                    select(DestructionApproval)
                    .where(DestructionApproval.case_id == case.id)
                    .order_by(DestructionApproval.id)
                )
                .scalars()
                .all()
            )
            if len({a.approver for a in approvals}) < APPROVALS_NEEDED:
                raise CaseError("a destruction needs two different approvers", code=ErrorCode.CASE_SECOND_APPROVER)
            objects, kept = _objects_to_erase(session, case)
            entry = writer.append(
                "case.destroy",
                None,
                {
                    "case": case.number,
                    "approvals": [
                        {"approver": a.approver, "role": a.role, "reason": a.reason, "at": a.approved_at.isoformat()}
                        for a in approvals
                    ],
                    "objects": [{"sha256": sha, "kind": kind, "erasure": _erasure(ws, sha)} for sha, kind in objects],
                    "kept": kept,
                    "method": "deleted" if not ws.vault.encrypted else "item keys destroyed (encrypted at rest)",
                },
            )
            from idolguard.db.base import utcnow

            now = utcnow()
            case.destroyed_at = now
            for sha, kind in objects:
                if session.get(DestroyedObject, sha) is None:
                    session.add(
                        DestroyedObject(
                            sha256=sha, case_id=case.id, kind=kind, destroyed_at=now, decision_seq=entry.seq
                        )
                    )
            result.decision_seq = entry.seq
            captures = _capture_copies(session, case, {sha for sha, _ in objects})
        result.executed = True
        result.kept = kept
        result.destroyed = [{"sha256": sha, "kind": kind} for sha, kind in objects]
        erase_files(ws, [sha for sha, _ in objects], captures)


def _capture_copies(session: Session, case: Case, erased: set[str]) -> list[Path]:
    """Plain WACZ copies under HOME/captures/ whose vault object is being erased."""
    out = []
    for capture in session.execute(select(Capture).where(Capture.wacz_sha256.is_not(None))).scalars():
        if capture.wacz_sha256 in erased:
            out.append(Path(f"capture-{capture.id}-{capture.wacz_sha256[:12]}.wacz"))
    return out


def _erasure(ws: Workspace, sha: str) -> str:
    """How this object is erased: its own key destroyed, or (plaintext / vault-key format) deletion only."""
    path = ws.vault.path_for(sha)
    if not ws.vault.encrypted:
        return "deleted"
    if not path.exists():
        return "key-destroyed" if ws.vault.key_paths(sha) else "deleted"
    return "key-destroyed" if crypto.encrypted_format(path) == "item" else "deleted"


def erase_files(
    ws: Workspace, shas: list[str], capture_copies: list[Path], previews_of: list[str] | None = None
) -> int:
    """Erase objects (item keys shredded, ciphertext deleted), their cached previews and plain WACZ copies."""
    removed = 0
    for sha in shas:
        removed += ws.vault.erase(sha)
    for sha in [*shas, *(previews_of or [])]:
        ws.drop_previews(sha)  # with the hidden temporary file of a preview write killed or in progress
    folder = ws.home / "captures"
    for name in capture_copies:
        (folder / name).unlink(missing_ok=True)
    return removed


@dataclass
class Finished:
    """One case's interrupted erasure, finished: which objects still had files, and the signed event."""

    case: str
    decision_seq: int
    objects: list[dict[str, str]]
    seq: int | None = None  # the case.destroy_finish event
    continued: bool = False  # True: completing an event an interrupted run signed (no new event was written)


def finish_pending(ws: Workspace, case_number: str | None = None) -> list[Finished]:
    """Finish erasures that were decided (``case.destroy`` committed) but not completed because the process
    died or failed while erasing: shred the keys and delete the ciphertext, previews and capture copies still
    left, then record a signed ``case.destroy_finish`` per case naming what was left. Idempotent; a run that
    dies again is finished by the next one (each file step is idempotent).

    Runs one at a time (``vault/finish.lock``: a worker start, ``serve`` and ``cases destroy`` may all call it),
    so what is left is looked at again after a concurrent run and never recorded twice. The event is signed
    *before* the files are erased, so a crash never leaves an erasure nobody recorded. A crash *after* the event
    is signed but before its files are gone is recognised by the next run (a durable note in
    ``vault/finishing/``, written before the event, names the ledger head it was written after): that run
    completes the erasure the signed event already names and signs nothing more (``Finished.continued``)."""
    with _finish_lock(ws):
        return _continue_signed(ws, case_number) + _finish_pending(ws, case_number)


@contextmanager
def _finish_lock(ws: Workspace) -> Iterator[None]:
    import fcntl

    root = ws.vault.root
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / "finish.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _finish_pending(ws: Workspace, case_number: str | None) -> list[Finished]:
    done: list[Finished] = []
    with ws.sessions() as session:
        query = select(DestroyedObject, Case).join(Case, Case.id == DestroyedObject.case_id)
        if case_number is not None:
            query = query.where(Case.number == case_number)
        rows = session.execute(query.order_by(DestroyedObject.decision_seq, DestroyedObject.sha256)).tuples().all()
        by_case: dict[str, tuple[Case, int, list[DestroyedObject]]] = {}
        for row, case in rows:
            by_case.setdefault(case.number, (case, row.decision_seq, []))[2].append(row)
        copies = {
            number: [p for p in _capture_copies(session, case, {o.sha256 for o in objs}) if _copy_left(ws, p)]
            for number, (case, _seq, objs) in by_case.items()
        }
    keyed = ws.vault.keyed_objects() if by_case else set()
    notes = ws.vault.finished_notes() if by_case else {}  # leftovers erased when the content came again
    for number, (_case, decision_seq, objs) in by_case.items():
        # Cheap first: most erasures finished, so only objects with a file or a key left are looked at.
        maybe = [o for o in objs if o.sha256 in keyed or ws.vault.has(o.sha256)]
        left = [(o, ws.vault.leftover(o.sha256, o.destroyed_at)) for o in maybe]
        left = [(o, what) for o, what in left if what]
        noted = [o for o in objs if o.sha256 in notes and o.sha256 not in {x.sha256 for x, _ in left}]
        if not left and not copies[number] and not noted:
            continue
        objects = [
            {"sha256": o.sha256, "kind": o.kind, "left": what, "erasure": _erasure(ws, o.sha256)} for o, what in left
        ] + [{"sha256": o.sha256, "kind": o.kind, **notes[o.sha256], "when": "content submitted again"} for o in noted]
        finished = Finished(number, decision_seq, objects)
        note = _note_signing(ws, number, decision_seq)  # durable before the event: a crash after it is recognised
        with ws.write() as (_session, writer):
            entry = writer.append(
                "case.destroy_finish",
                None,
                {
                    "case": number,
                    "decision_seq": decision_seq,
                    "objects": objects,
                    "capture_copies": [p.name for p in copies[number]],
                },
            )
            finished.seq = entry.seq
        # Recorded first (above): a crash from here on is completed by the next run under this same event.
        _erase_signed(ws, objs, objects, [p.name for p in copies[number]])
        note.unlink(missing_ok=True)
        done.append(finished)
    return done


def _erase_signed(ws: Workspace, rows: list[DestroyedObject], objects: list[dict[str, str]], copies: list[str]) -> None:
    """Erase what a signed ``case.destroy_finish`` names (every step idempotent, so it can be run again after a
    crash): the vault's own notes dropped, leftover keys and ciphertext erased, previews and capture copies
    deleted."""
    decided = {row.sha256: row.destroyed_at for row in rows}
    erased: list[str] = []
    for obj in objects:
        sha = obj["sha256"]
        if obj.get("when") == "content submitted again":
            ws.vault.drop_finished_note(sha)
        elif sha in decided:
            ws.vault.erase_leftover(sha, decided[sha])
            erased.append(sha)
    names = [Path(name) for name in copies if name and Path(name).name == name]  # plain names only
    erase_files(ws, [], names, previews_of=erased)


def _finishing_dir(ws: Workspace) -> Path:
    return ws.vault.root / "finishing"


def _note_signing(ws: Workspace, number: str, decision_seq: int) -> Path:
    """Durably note that a ``case.destroy_finish`` for this case is about to be signed, with the ledger head
    before it: the next run tells "signed, files not yet erased" (an event for this case after that head)
    from "died before signing" (none)."""
    import hashlib
    import json

    from sqlalchemy import func

    from idolguard.db.models import LedgerEntry

    with ws.sessions() as session:
        head = session.execute(select(func.max(LedgerEntry.seq))).scalar()
    folder = _finishing_dir(ws)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(number.encode('utf-8')).hexdigest()[:32]}.json"
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        json.dump({"case": number, "decision_seq": decision_seq, "after_seq": head if head is not None else -1}, out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    _fsync(folder)
    return path


def _fsync(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _continue_signed(ws: Workspace, case_number: str | None) -> list[Finished]:
    """Complete the erasures whose ``case.destroy_finish`` an interrupted run signed (see ``finish_pending``),
    without signing them again; drop the notes of runs that died before signing."""
    import json

    from idolguard.db.models import LedgerEntry

    folder = _finishing_dir(ws)
    if not folder.is_dir():
        return []
    done: list[Finished] = []
    for path in sorted(folder.glob("*.json")):
        try:
            note = json.loads(path.read_text(encoding="utf-8"))
            number, decision_seq, after = str(note["case"]), int(note["decision_seq"]), int(note["after_seq"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # unreadable: left for an operator (nothing is erased on its say-so)
        if case_number is not None and number != case_number:
            continue
        with ws.sessions() as session:
            events = session.execute(
                select(LedgerEntry.seq, LedgerEntry.details)
                .where(LedgerEntry.action == "case.destroy_finish", LedgerEntry.seq > after)
                .order_by(LedgerEntry.seq)
            ).all()
            signed = next(
                (
                    (seq, details)
                    for seq, details in events
                    if isinstance(details, dict)
                    and details.get("case") == number
                    and details.get("decision_seq") == decision_seq
                ),
                None,
            )
            rows = list(
                session.execute(
                    select(DestroyedObject).join(Case, Case.id == DestroyedObject.case_id).where(Case.number == number)
                ).scalars()
            )
        if signed is not None:
            seq, details = signed
            objects = [dict(o) for o in details.get("objects") or [] if isinstance(o, dict) and "sha256" in o]
            _erase_signed(ws, rows, objects, [str(c) for c in details.get("capture_copies") or []])
            done.append(Finished(number, decision_seq, objects, seq=seq, continued=True))
        path.unlink(missing_ok=True)
    return done


def _copy_left(ws: Workspace, name: Path) -> bool:
    return (ws.home / "captures" / name).exists()


def linked_case_numbers(session: Session, kind: str, ref: str) -> list[str]:
    return list(
        session.execute(
            select(Case.number)
            .join(CaseLink, CaseLink.case_id == Case.id)
            .where(CaseLink.kind == kind, CaseLink.ref == ref)
        ).scalars()
    )
