"""An open workspace: config, database, vault, ledger and signing key, created by ``init``.

Commands open one ``Workspace`` and do all their work through it, so every write goes through the same
lock + ledger path and nothing bypasses custody. ``Workspace.open(home, read_only=True)`` is for checking
a copy (counsel, police, experts verify copies, often on read-only media): no migration, no temp cleanup,
no ledger writes, and a SQLite database that cannot be opened in place read-only is read from a private
temporary copy, so the original is never touched.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from idolguard.config import (
    CONFIG_NAME,
    ENV_DB_URL,
    ENV_VAULT_KEY,
    SQLITE_IN_WORKSPACE,
    Config,
    default_config,
    default_home,
    load_config,
    public_url,
)
from idolguard.db.session import make_engine, session_factory, upgrade
from idolguard.errors import WorkspaceError
from idolguard.evidence import keys
from idolguard.evidence.crypto import load_vault_key
from idolguard.evidence.ledger import Ledger, LedgerWriter
from idolguard.evidence.vault import Vault


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def init_workspace(
    home: Path | None = None,
    *,
    encrypt: bool = False,
    key_file: str = "",
    signing_key_file: str = "",
) -> Config:
    """Create (or complete) a workspace; safe to run again on an existing one. Every failure to create it
    (a file in the way, a read-only place, a full disk) is a ``WorkspaceError`` naming the cause."""
    home = (home or default_home()).expanduser().resolve()
    try:
        return _init(home, encrypt=encrypt, key_file=key_file, signing_key_file=signing_key_file)
    except OSError as exc:
        where = exc.filename or home
        raise WorkspaceError(f"cannot create the workspace at {home}: {exc.strerror or exc} ({where})") from exc


def _init(home: Path, *, encrypt: bool, key_file: str, signing_key_file: str) -> Config:
    if home.exists() and not home.is_dir():
        raise WorkspaceError(f"cannot create the workspace at {home}: it is a file, not a folder")
    home.mkdir(parents=True, exist_ok=True)
    if not os.access(home, os.W_OK | os.X_OK):
        raise WorkspaceError(f"cannot create the workspace at {home}: the folder is not writable")
    config_path = home / CONFIG_NAME
    if not config_path.exists():
        text_ = default_config()
        if encrypt:
            text_ = re.sub(r"(?m)^encrypt = false$", "encrypt = true", text_)
        if key_file:
            value = _toml_string(str(Path(key_file).resolve()))
            text_ = re.sub(r'(?m)^key_file = ""$', lambda _m: f"key_file = {value}", text_)
        if signing_key_file:
            value = _toml_string(str(Path(signing_key_file).expanduser().resolve()))
            text_ = re.sub(r'(?m)^signing_key_file = ""$', lambda _m: f"signing_key_file = {value}", text_)
        env_url = os.environ.get(ENV_DB_URL)
        location = _toml_string(public_url(env_url) if env_url else SQLITE_IN_WORKSPACE)
        text_ = re.sub(r'(?m)^location = ""$', lambda _m: f"location = {location}", text_)
        tmp = config_path.with_name(f".{CONFIG_NAME}.tmp")
        tmp.write_text(text_, encoding="utf-8")
        os.replace(tmp, config_path)
    config = load_config(home)
    keys.create_key(config.keys_dir, _private_key_path(config))
    config.reports_dir.mkdir(parents=True, exist_ok=True)
    Vault(config.vault_dir)  # lays out objects/ and tmp/
    engine = make_engine(config.db_url)
    try:
        upgrade(engine)
    except OSError:
        raise
    except Exception as exc:
        raise WorkspaceError(f"cannot create the database {public_url(config.db_url)}: {exc}") from exc
    finally:
        engine.dispose()
    # The ledger mirror exists from the start (empty until the first custody event), as README promises, so
    # whoever copies or backs up a fresh workspace sees every part of it.
    if not config.ledger_path.exists():
        os.close(os.open(config.ledger_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644))
    if encrypt:
        # Fail now, not at the first ingest, if the key cannot be found.
        load_vault_key(config.section("vault").get("key_file"), os.environ.get(ENV_VAULT_KEY))
    ws = Workspace(config)
    try:
        ws.ensure_genesis()
    finally:
        ws.close()
    return config


def _private_key_path(config: Config) -> Path:
    return keys.private_key_path(config.keys_dir, config.section("keys").get("signing_key_file") or None)


def is_writable(home: Path) -> bool:
    """Can this process write the workspace (folder, database file, ledger mirror)?"""
    paths = [home, home / "idolguard.db", home / "ledger.jsonl"]
    return all(os.access(p, os.W_OK) for p in paths if p.exists())


@dataclass
class Workspace:
    config: Config
    read_only: bool = False
    _scratch: list[Path] = field(default_factory=list, repr=False)
    # Called (with this workspace) every ``[ledger] anchor_every`` entries written; the CLI sets it to the
    # RFC 3161 anchoring in capture/anchor.py (the workspace itself does no network I/O).
    anchor_hook: Callable[[Workspace], object] | None = field(default=None, repr=False)
    wrote: bool = field(default=False, repr=False)  # custody events were recorded through this workspace
    _written_since_anchor: int = field(default=0, repr=False)
    _anchoring: bool = field(default=False, repr=False)
    actor_override: str | None = None  # set by ``acting_as`` (the web app records its signed-in user)

    @classmethod
    def open(cls, home: Path | None = None, *, read_only: bool = False) -> Workspace:
        workspace = cls(load_config(home), read_only=read_only)
        try:
            workspace.engine  # noqa: B018  (connect + migrate eagerly so errors surface at open)
        except BaseException:
            workspace.close()
            raise
        return workspace

    @property
    def home(self) -> Path:
        return self.config.home

    @cached_property
    def engine(self) -> Engine:
        url = self.config.db_url
        if self.read_only:
            return self._read_only_engine(url)
        engine = make_engine(url)
        try:
            upgrade(engine)
        except Exception as exc:
            engine.dispose()
            raise WorkspaceError(f"cannot open database {public_url(url)}: {_first_line(exc)}") from exc
        return engine

    def _read_only_engine(self, url: str) -> Engine:
        parsed = make_url(url)
        if parsed.get_backend_name() != "sqlite":
            engine = make_engine(url)
            try:
                with engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
            except Exception as exc:
                engine.dispose()
                raise WorkspaceError(f"cannot open database {public_url(url)}: {_first_line(exc)}") from exc
            return engine
        database = Path(parsed.database or "")
        if not database.is_file():
            raise WorkspaceError(f"no database at {database}")
        try:
            return _sqlite_read_only(database)
        except sqlite3.Error:
            pass
        # A WAL database on read-only media cannot be opened in place (SQLite needs its -shm file):
        # read a private copy of the database and its WAL instead. The original is never written.
        scratch = Path(tempfile.mkdtemp(prefix="idolguard-ro-"))
        self._scratch.append(scratch)
        for suffix in ("", "-wal"):
            source = Path(f"{database}{suffix}")
            if source.exists():
                shutil.copyfile(source, scratch / f"idolguard.db{suffix}")
        try:
            return _sqlite_engine(f"file:{(scratch / 'idolguard.db').resolve()}")  # a private copy: plain mode
        except sqlite3.Error as exc:
            raise WorkspaceError(f"cannot read the database {database}: {exc}") from exc

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return session_factory(self.engine)

    @cached_property
    def vault_key(self) -> bytes | None:
        section = self.config.section("vault")
        if not section.get("encrypt"):
            return None
        return load_vault_key(section.get("key_file"), os.environ.get(ENV_VAULT_KEY))

    @cached_property
    def vault(self) -> Vault:
        if self.read_only:
            return Vault(self.config.vault_dir, key=self.vault_key, create=False)
        vault = Vault(self.config.vault_dir, key=self.vault_key)
        vault.clean_tmp()  # leftovers of killed processes (incl. decrypted analysis copies) go at once
        vault.erasure_decided = self._erasure_decided
        return vault

    def _erasure_decided(self, sha256: str) -> datetime | None:
        """When a signed destruction decision (``destroyed_objects``, written by cases) named this object, for
        the vault: content submitted again finishes that erasure first, and rekey never re-keys doomed data.
        Plain SQL, so the workspace does not import the cases area; a database without that table has none."""
        from sqlalchemy.exc import OperationalError, ProgrammingError

        from idolguard.db.base import UTCDateTime

        query = text("SELECT destroyed_at FROM destroyed_objects WHERE sha256 = :sha").columns(
            destroyed_at=UTCDateTime()
        )
        try:
            with self.engine.connect() as conn:
                value = conn.execute(query, {"sha": sha256}).scalar()
        except (OperationalError, ProgrammingError) as exc:  # no cases migrations yet: no decisions
            if "destroyed_objects" in str(exc):
                return None
            raise
        return value if isinstance(value, datetime) else None

    @cached_property
    def signing_key(self) -> keys.SigningKey:
        if self.read_only:
            raise WorkspaceError("this workspace was opened read-only: nothing can be signed")
        return keys.load_key(self.config.keys_dir, _private_key_path(self.config))

    @property
    def public_key_id(self) -> str | None:
        """The key id of the workspace's public key (no private key needed: for reports and read-only use)."""
        return keys.public_key_id(self.config.keys_dir)

    @cached_property
    def ledger(self) -> Ledger:
        return Ledger(self.config.ledger_path, self.home / "ledger.lock", None if self.read_only else self.signing_key)

    @property
    def actor(self) -> str:
        return self.actor_override or self.config.actor

    @property
    def preview_cache(self) -> Path:
        """Where the web's blurred previews are cached (``cache/previews/<version>/<sha>[-kind].png[.enc]``,
        written via hidden ``.<name>.<pid>.<tid>.tmp`` files): here so that erasure and rekey, which must
        delete an object's previews, and ``verify`` know the layout without importing the web."""
        return self.home / "cache" / "previews"

    def cached_previews(self, sha256: str | None = None) -> list[Path]:
        """Every cached preview file of one object (all objects when None), hidden temporary files included:
        what an erasure or a rekey deletes, and what ``verify`` checks against the vault."""
        root = self.preview_cache
        if not root.is_dir():
            return []
        if sha256 is None:
            return sorted(p for p in root.glob("*/*") if p.is_file())
        return [*root.glob(f"*/{sha256}*"), *root.glob(f"*/.{sha256}*")]

    def drop_previews(self, sha256: str) -> None:
        """Delete an object's cached previews and any temporary file a write of one left."""
        for path in self.cached_previews(sha256):
            path.unlink(missing_ok=True)

    def sweep_preview_tmp(self, older_than_s: float = 600.0) -> int:
        """Delete temporary preview files older than ``older_than_s`` (a process killed mid-write left them; a
        write takes milliseconds): run at ``serve`` start. The number deleted."""
        import time

        root = self.preview_cache
        if not root.is_dir():
            return 0
        cutoff, removed = time.time() - older_than_s, 0
        for tmp in root.glob("*/.*.tmp"):
            try:
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed

    def acting_as(self, actor: str) -> Workspace:
        """The same open workspace (engine, vault, key shared) recording custody events under ``actor``."""
        # Build the shared parts first, so the clone never makes its own (a second Vault would clean tmp/
        # under an ingest running in another thread).
        self.engine, self.sessions, self.vault, self.ledger  # noqa: B018
        clone = copy.copy(self)
        clone.actor_override = actor
        return clone

    @contextmanager
    def write(self) -> Iterator[tuple[Session, LedgerWriter]]:
        """One atomic unit of work: rows and their custody events commit together or not at all."""
        if self.read_only:
            raise WorkspaceError("this workspace was opened read-only: nothing can be recorded")
        with self.sessions() as session, self.ledger.transaction(session, self.actor) as writer:
            yield session, writer
        self.wrote = self.wrote or bool(writer.count)
        self._written_since_anchor += writer.count
        every = self._anchor_every()
        if self.anchor_hook is not None and every > 0 and self._written_since_anchor >= every and not self._anchoring:
            self._written_since_anchor = 0
            self._anchoring = True
            try:
                self.anchor_hook(self)  # a long command anchors every N entries, not only at its end
            finally:
                self._anchoring = False

    def _anchor_every(self) -> int:
        try:
            return int(self.config.section("ledger").get("anchor_every", 1000))
        except (TypeError, ValueError):
            return 1000

    def ensure_genesis(self) -> None:
        """Start the ledger with its genesis entry (pinning the signing key) if it has no entry yet."""
        with self.sessions() as session:
            self.ledger.ensure_genesis(session, self.actor)

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
        for scratch in self._scratch:
            shutil.rmtree(scratch, ignore_errors=True)
        self._scratch.clear()


def _sqlite_read_only(database: Path) -> Engine:
    """A SQLite engine that cannot write: opened with ``mode=ro`` (and no pragmas that write)."""
    return _sqlite_engine(f"file:{database.resolve()}?mode=ro")


def _sqlite_engine(uri: str) -> Engine:
    probe = sqlite3.connect(uri, uri=True)
    try:
        probe.execute("SELECT count(*) FROM sqlite_master").fetchone()
    finally:
        probe.close()
    return create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True, check_same_thread=False))


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def rotate_signing_key(ws: Workspace, new_key_file: Path | None, reason: str) -> keys.SigningKey:
    """Hand custody over to a new signing key: a ``ledger.rotate_key`` entry signed by the current key names
    the new one (with its public bytes), then the new key becomes the workspace key. The old private key is
    not kept by IdolGuard (its public half stays in ``keys/`` under its key id, for verifiers).

    The new private key is written first (as ``<path>.new``) and only moved into place after the rotation
    entry is committed, so a crash leaves either the old key in force or both files for the user to finish."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from idolguard.evidence.actions import Action

    old = ws.signing_key
    target = Path(new_key_file).expanduser().resolve() if new_key_file else _private_key_path(ws.config)
    staged = target.with_name(target.name + ".new")
    if staged.exists():
        raise WorkspaceError(f"{staged} exists (an unfinished rotation?): move it away first")
    private = Ed25519PrivateKey.generate()
    keys.write_private_key(private, staged)
    new = keys.SigningKey(private, keys.key_id(private.public_key()))
    with ws.write() as (_session, ledger):
        ledger.append(
            Action.LEDGER_ROTATE_KEY,
            details={
                "old_key_id": old.key_id,
                "new_key_id": new.key_id,
                "new_public_key": new.public_hex,
                "reason": reason,
            },
        )
    retired = ws.config.keys_dir / f"retired-{old.key_id[:16]}.pub.pem"
    if not retired.exists():
        from cryptography.hazmat.primitives import serialization

        retired.write_bytes(
            old.public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
    os.replace(staged, target)
    keys.write_public_key(new.public, ws.config.keys_dir)
    ws.__dict__["signing_key"] = new
    ws.__dict__.pop("ledger", None)
    return new
