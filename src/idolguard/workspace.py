"""An open workspace: config, database, vault, ledger and signing key, created by ``init``.

Commands open one ``Workspace`` and do all their work through it, so every write goes through the same
lock + ledger path and nothing bypasses custody.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from idolguard.config import CONFIG_NAME, ENV_VAULT_KEY, Config, default_config, default_home, load_config
from idolguard.db.session import make_engine, session_factory, upgrade
from idolguard.errors import WorkspaceError
from idolguard.evidence import keys
from idolguard.evidence.crypto import load_vault_key
from idolguard.evidence.ledger import Ledger, LedgerWriter
from idolguard.evidence.vault import Vault


def init_workspace(home: Path | None = None, *, encrypt: bool = False, key_file: str = "") -> Config:
    """Create (or complete) a workspace; safe to run again on an existing one."""
    home = (home or default_home()).expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    config_path = home / CONFIG_NAME
    if not config_path.exists():
        text = default_config()
        if encrypt:
            text = text.replace("encrypt = false", "encrypt = true")
        if key_file:
            text = text.replace('key_file = ""', f"key_file = {str(Path(key_file).resolve())!r}".replace("'", '"'))
        config_path.write_text(text, encoding="utf-8")
    keys.create_key(home / "keys")
    config = load_config(home)
    config.reports_dir.mkdir(parents=True, exist_ok=True)
    Vault(config.vault_dir)  # lays out objects/ and tmp/
    engine = make_engine(config.db_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    # The ledger mirror exists from the start (empty until the first custody event), as README promises, so
    # whoever copies or backs up a fresh workspace sees every part of it.
    if not config.ledger_path.exists():
        os.close(os.open(config.ledger_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644))
    if encrypt:
        # Fail now, not at the first ingest, if the key cannot be found.
        load_vault_key(config.section("vault").get("key_file"), os.environ.get(ENV_VAULT_KEY))
    return config


@dataclass
class Workspace:
    config: Config
    actor_override: str | None = None  # set by ``acting_as`` (the web app records its signed-in user)

    @classmethod
    def open(cls, home: Path | None = None) -> Workspace:
        workspace = cls(load_config(home))
        workspace.engine  # noqa: B018  (connect + migrate eagerly so errors surface at open)
        return workspace

    @property
    def home(self) -> Path:
        return self.config.home

    @cached_property
    def engine(self) -> Engine:
        engine = make_engine(self.config.db_url)
        try:
            upgrade(engine)
        except Exception as exc:
            raise WorkspaceError(f"cannot open database {engine.url.render_as_string()}: {exc}") from exc
        return engine

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
        vault = Vault(self.config.vault_dir, key=self.vault_key)
        vault.clean_tmp()  # leftovers of killed processes (incl. decrypted analysis copies) go at once
        return vault

    @cached_property
    def signing_key(self) -> keys.SigningKey:
        return keys.load_key(self.config.keys_dir)

    @cached_property
    def ledger(self) -> Ledger:
        return Ledger(self.config.ledger_path, self.home / "ledger.lock", self.signing_key)

    @property
    def actor(self) -> str:
        return self.actor_override or self.config.actor

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
        with self.sessions() as session, self.ledger.transaction(session, self.actor) as writer:
            yield session, writer

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
