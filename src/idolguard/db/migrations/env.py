"""Alembic environment: runs on the connection IdolGuard hands it (no alembic.ini needed by users)."""

from alembic import context
from sqlalchemy import create_engine

from idolguard.db import all_models  # noqa: F401
from idolguard.db.base import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url"))
        with engine.begin() as conn:
            _configure(conn)
        return
    _configure(connection)


def _configure(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run()
