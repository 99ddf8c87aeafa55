from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, create_engine, event
from sqlalchemy.pool import StaticPool

# One MetaData for the whole hub; constraint names are stable for migrations.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA cache_size=-131072")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


class _Checkpointer(threading.Thread):
    """Copies the SQLite write-ahead log into the database off the request path.

    SQLite's automatic checkpoint runs inside whichever commit crosses the threshold,
    and that commit then waits for the copy and its fsync (tens of milliseconds, every
    few envelopes). This thread does it instead, whenever the log has grown past
    ``threshold`` bytes: first a PASSIVE checkpoint, which blocks nobody and copies most
    of the log while writes go on; then, holding the process's write lock so that no
    writer appends meanwhile, a TRUNCATE checkpoint that copies the rest and resets the
    log to zero bytes. Without the second step a busy writer keeps the log from ever
    rewinding, and it grows without bound.
    """

    def __init__(
        self, path: Path, write_lock: threading.RLock, threshold: int = 32 * 1024 * 1024, interval: float = 0.5
    ) -> None:
        super().__init__(name="ribat-wal-checkpoint", daemon=True)
        self.path = path
        self.wal = path.with_name(path.name + "-wal")
        self.write_lock = write_lock
        self.threshold = threshold
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                if self.wal.exists() and self.wal.stat().st_size > self.threshold:
                    self.checkpoint()
            except (OSError, sqlite3.Error):
                continue  # the next round tries again; SQLite stays consistent either way

    def checkpoint(self) -> None:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            with self.write_lock:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


class Database:
    """An engine with explicit read and write transactions.

    SQLite allows one writer at a time; rather than let concurrent writers fail
    with ``database is locked``, writes in this process take a lock and open the
    transaction with ``BEGIN IMMEDIATE``. PostgreSQL writers run concurrently and
    serialise where the domain needs it (row locks taken by the store).
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._write_lock = threading.RLock()
        self._checkpointer: _Checkpointer | None = None
        if self.is_sqlite:
            memory = url in ("sqlite://", "sqlite:///:memory:")
            kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
            if memory:
                kwargs["poolclass"] = StaticPool
            self.engine: Engine = create_engine(url, echo=echo, **kwargs)
            event.listen(self.engine, "connect", _sqlite_pragmas)
            path = self.engine.url.database
            if not memory and path:
                self._checkpointer = _Checkpointer(Path(path), self._write_lock)

                @event.listens_for(self.engine, "connect")
                def _no_autocheckpoint(dbapi_conn: Any, _record: Any) -> None:
                    dbapi_conn.execute("PRAGMA wal_autocheckpoint=0")

                self._checkpointer.start()

            # pysqlite's own transaction handling defers BEGIN; take control of it so
            # that write transactions can start with BEGIN IMMEDIATE.
            @event.listens_for(self.engine, "connect")
            def _no_autobegin(dbapi_conn: Any, _record: Any) -> None:
                dbapi_conn.isolation_level = None

            @event.listens_for(self.engine, "begin")
            def _begin(conn: Connection) -> None:
                mode = conn.info.pop("ribat_begin", "BEGIN")
                conn.exec_driver_sql(mode)
        else:
            self.engine = create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (a consistent snapshot on both engines)."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction, committed on success and rolled back on error."""
        if self.is_sqlite:
            with self._write_lock, self.engine.connect() as conn:
                conn.info["ribat_begin"] = "BEGIN IMMEDIATE"
                with conn.begin():
                    yield conn
        else:
            with self.engine.connect() as conn, conn.begin():
                yield conn

    def refresh_statistics(self, *, vacuum: bool = False) -> None:
        """Let the query planner see the data after a bulk load (``ANALYZE`` on
        PostgreSQL, ``PRAGMA optimize`` on SQLite). Without statistics PostgreSQL may plan
        the ingest's existence check as a scan of the whole collection.

        ``vacuum`` (PostgreSQL): ``VACUUM (ANALYZE)`` instead, which also marks the freshly
        loaded pages all-visible so that index-only scans (the correlation look-ups) need not
        visit the table; autovacuum does the same later, a bulk load need not wait for it."""
        if self.is_sqlite:
            with self.write() as conn:
                conn.exec_driver_sql("PRAGMA optimize")
            return
        with self.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM (ANALYZE)" if vacuum else "ANALYZE"
            )

    def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        self.engine.dispose()
