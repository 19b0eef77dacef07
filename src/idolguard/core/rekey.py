"""``idolguard vault rekey``: give every old vault object its own key, so destroying it is cryptographic erasure.

Objects stored before per-item keys existed are encrypted directly under the vault key (``IGV1``), or are
plaintext (a vault whose encryption was turned on later). Destroying a case can only delete such a file: a
backup of ``objects/`` would keep it readable with the vault key. This migration rewrites each one as ``IGV2``
under a new item key (``Vault.rekey``: write new, fsync, store the key, verify against the object's name,
then swap; the plaintext hash, hence the object's name, never changes).

It is resumable and recorded. Objects are taken in batches; before a batch starts, its list is written to a
journal (``vault/rekey.journal``, made durable); after the batch, one signed ``vault.rekey`` event names each
re-encrypted object and its old format, then the journal is removed. A run that dies mid-batch leaves the
journal: the next run first finishes that batch (objects already swapped are recorded as done by the
interrupted run) and then continues. Objects named by a destruction decision are never re-encrypted (an
unfinished erasure is finished first), so a new key is never made for evidence that was decided destroyed.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from idolguard.errors import IntegrityError, WorkspaceError
from idolguard.evidence.actions import Action
from idolguard.workspace import Workspace

BATCH = 200


@dataclass
class RekeyResult:
    dry_run: bool
    formats: dict[str, int] = field(default_factory=dict)  # objects by format before this run
    to_rekey: int = 0
    rekeyed: int = 0
    resumed: int = 0  # swapped by an interrupted earlier run, recorded by this one
    skipped_destroyed: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    events: list[int] = field(default_factory=list)  # seq of the vault.rekey events written

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "formats": self.formats,
            "to_rekey": self.to_rekey,
            "rekeyed": self.rekeyed,
            "resumed": self.resumed,
            "skipped_destroyed": self.skipped_destroyed,
            "failed": self.failed,
            "events": self.events,
        }


def journal_path(ws: Workspace) -> Path:
    return ws.vault.root / "rekey.journal"


def rekey_vault(
    ws: Workspace, *, dry_run: bool = False, batch: int = BATCH, on_object: Callable[[], None] | None = None
) -> RekeyResult:
    """Re-encrypt every object without its own key (see the module docstring). ``dry_run`` only counts."""
    if not ws.vault.encrypted:
        raise WorkspaceError(
            "the vault is not encrypted ([vault] encrypt = false): objects have no keys to give; nothing to re-encrypt"
        )
    result = RekeyResult(dry_run=dry_run)
    with _single_run(ws):
        destroyed = _destroyed(ws)
        if not dry_run and destroyed:
            from idolguard.cases.retention import finish_pending

            finish_pending(ws)  # an unfinished erasure is finished, never re-encrypted
        todo: list[tuple[str, str]] = []
        for sha in sorted(ws.vault.iter_objects()):
            try:
                form = ws.vault.source_format(sha)
            except (ValueError, OSError):
                continue  # not an object name, or gone meanwhile: verify reports foreign files
            result.formats[form] = result.formats.get(form, 0) + 1
            if form == "item":
                continue
            if sha in destroyed:
                result.skipped_destroyed += 1
                continue
            todo.append((sha, form))
        batch_id, pending = _read_journal(ws)
        if pending and _recorded(ws, batch_id):
            journal_path(ws).unlink(missing_ok=True)  # killed after its event, before the unlink: done already
            pending = []
        pending = [(sha, form) for sha, form in pending if sha not in destroyed]  # never re-key doomed data
        result.to_rekey = len(todo)
        if dry_run:
            result.resumed = len(pending)
            return result
        if pending:
            _run_batch(ws, pending, result, resumed=True, on_object=on_object)
        done = {sha for sha, _ in pending}
        todo = [(sha, form) for sha, form in todo if sha not in done]
        for start in range(0, len(todo), max(1, batch)):
            _run_batch(ws, todo[start : start + batch], result, resumed=False, on_object=on_object)
    return result


def _run_batch(
    ws: Workspace,
    objects: list[tuple[str, str]],
    result: RekeyResult,
    *,
    resumed: bool,
    on_object: Callable[[], None] | None,
) -> None:
    batch_id = _write_journal(ws, objects)
    recorded: list[dict[str, Any]] = []
    failed: list[dict[str, str]] = []
    for sha, old in objects:
        try:
            if not ws.vault.has(sha):
                continue  # erased meanwhile by a destruction
            changed = ws.vault.rekey(sha)
        except (IntegrityError, OSError) as exc:
            failed.append({"sha256": sha, "error": str(exc)[:300]})
            continue
        finally:
            if on_object:
                on_object()
        if changed is not None:
            recorded.append({"sha256": sha, "from": changed})
            result.rekeyed += 1
        elif resumed and ws.vault.source_format(sha) == "item":
            recorded.append({"sha256": sha, "from": old, "by_interrupted_run": True})
            result.resumed += 1
        _drop_previews(ws, sha)
    result.failed.extend(failed)
    if recorded or failed:
        with ws.write() as (_session, writer):
            entry = writer.append(
                Action.VAULT_REKEY,
                None,
                {
                    "objects": recorded,
                    "failed": failed,
                    "to": "item key (IGV2)",
                    "resumed": resumed,
                    "batch": batch_id,
                },
            )
        result.events.append(entry.seq)
    journal_path(ws).unlink(missing_ok=True)


def _drop_previews(ws: Workspace, sha: str) -> None:
    """Cached previews were encrypted under the vault key for objects without their own key: made again
    (under a key derived from the new item key) when next shown."""
    ws.drop_previews(sha)


def _destroyed(ws: Workspace) -> set[str]:
    from idolguard.cases.models import DestroyedObject

    with ws.sessions() as session:
        return set(session.execute(select(DestroyedObject.sha256)).scalars())


def _recorded(ws: Workspace, batch_id: str | None) -> bool:
    """Whether a ``vault.rekey`` event already names this journal's batch (a run killed after signing it)."""
    if batch_id is None:
        return False
    from idolguard.db.models import LedgerEntry

    with ws.sessions() as session:
        rows = session.execute(
            select(LedgerEntry.details).where(LedgerEntry.action == Action.VAULT_REKEY.value)
        ).scalars()
        return any(isinstance(d, dict) and d.get("batch") == batch_id for d in rows)


def _write_journal(ws: Workspace, objects: list[tuple[str, str]]) -> str:
    path = journal_path(ws)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    batch_id = os.urandom(8).hex()
    with open(tmp, "w", encoding="utf-8") as out:
        json.dump({"batch": batch_id, "objects": [{"sha256": sha, "from": form} for sha, form in objects]}, out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return batch_id


def _read_journal(ws: Workspace) -> tuple[str | None, list[tuple[str, str]]]:
    path = journal_path(ws)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        batch = data.get("batch")
        return (str(batch) if batch else None), [(str(o["sha256"]), str(o["from"])) for o in data["objects"]]
    except FileNotFoundError:
        return None, []
    except (ValueError, KeyError, TypeError) as exc:
        raise WorkspaceError(f"{path} is damaged ({exc}); move it away and run `idolguard vault rekey` again") from exc


@contextmanager
def _single_run(ws: Workspace) -> Iterator[None]:
    fd = os.open(ws.vault.root / "rekey.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WorkspaceError("another `idolguard vault rekey` is running on this vault") from None
        yield
    finally:
        os.close(fd)
