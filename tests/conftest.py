"""Shared fixtures: the shared data directory, and hubs on SQLite and PostgreSQL.

Every test that takes ``hub`` (or ``db_url``) runs twice, once per engine. PostgreSQL is
at ``RIBAT_TEST_POSTGRES`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``);
when it is unreachable its tests are skipped locally and *fail* when ``CI`` is set.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ribat.config import Settings
from ribat.db import Database, upgrade
from ribat.hub import Hub
from support import World, truncate_postgres

REPO = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get("RIBAT_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def shared_data() -> Path:
    """``<repo>/../shared/data``; fails under CI when absent, skips otherwise."""
    path = REPO.parent / "shared" / "data"
    if not path.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"shared data directory {path} is missing")
        pytest.skip(f"shared data directory {path} is missing")
    return path


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return shared_data()


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating per test is slow)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db.engine)
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated database of this test worker's own on the local PostgreSQL server."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa.exc.OperationalError as exc:
        admin.dispose()
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but unreachable at {PG_ADMIN_URL}: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {PG_ADMIN_URL}")
    name = f"ribat_test_{_worker()}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    upgrade(db.engine)
    db.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated, empty database on each engine."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "ribat.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
    else:
        url: str = request.getfixturevalue("postgres_url")
        truncate_postgres(url)
        yield url


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, secret_key="test-secret-key-not-for-production")


@pytest.fixture
def hub(settings: Settings) -> Iterator[Hub]:
    h = Hub.open(settings)
    try:
        yield h
    finally:
        h.close()


@pytest.fixture
def world(hub: Hub) -> World:
    return World(hub)
