"""Alembic environment: runs on the connection handed in by ``ribat.db.upgrade``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import ribat.accounts._tables
import ribat.capacity._tables
import ribat.federation._tables
import ribat.feeds._tables
import ribat.formats._tables
import ribat.hunt._tables
import ribat.intel._tables  # noqa: F401
from ribat.db import metadata

config = context.config
target_metadata = metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
        with engine.begin() as conn:
            _run(conn)
        return
    _run(connection)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
