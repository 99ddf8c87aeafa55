from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from ribat.db import Database, current_revision, metadata


def test_migrations_create_exactly_the_declared_schema(db_url: str) -> None:
    db = Database(db_url)
    try:
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == [], f"migrations and tables disagree; generate a new revision: {diff}"
        assert current_revision(db.engine) is not None
    finally:
        db.dispose()


def test_sqlite_runs_in_wal_mode(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    db.dispose()


def test_the_wal_is_checkpointed_off_the_request_path(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import threading

    db = Database(f"sqlite:///{tmp_path / 'w.db'}")
    try:
        with db.read() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        checkpointer = db._checkpointer
        assert checkpointer is not None and checkpointer.is_alive()
        ran = threading.Event()
        original = checkpointer.checkpoint

        def spy() -> None:
            original()
            ran.set()

        checkpointer.checkpoint = spy  # type: ignore[method-assign]
        checkpointer.threshold = 1
        with db.write() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x)")
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        assert ran.wait(10), "the background thread never checkpointed a grown WAL"
        assert (tmp_path / "w.db-wal").stat().st_size == 0, "the log was not reset after the checkpoint"
        with db.read() as conn:
            assert conn.exec_driver_sql("SELECT x FROM t").scalar() == 1
    finally:
        db.dispose()
    assert db._checkpointer is None


@pytest.mark.postgres
def test_statistics_are_refreshed_after_a_bulk_load_on_postgresql(postgres_url: str) -> None:
    db = Database(postgres_url)
    try:
        db.refresh_statistics()
        with db.read() as conn:
            analysed = conn.exec_driver_sql(
                "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'stix_objects'"
            ).scalar()
        assert analysed is True
    finally:
        db.dispose()


@pytest.mark.postgres
def test_a_vacuuming_refresh_marks_a_bulk_load_all_visible(postgres_url: str) -> None:
    db = Database(postgres_url)
    try:
        db.refresh_statistics(vacuum=True)
        with db.read() as conn:
            vacuumed = conn.exec_driver_sql(
                "SELECT last_vacuum IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'observables'"
            ).scalar()
        assert vacuumed is True
    finally:
        db.dispose()
