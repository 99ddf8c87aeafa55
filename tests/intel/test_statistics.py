"""The store refreshes the planner's statistics as it grows, so that a long first import into
an empty PostgreSQL database does not slow down as the table fills."""

from __future__ import annotations

import pytest

from ribat.config import Settings
from ribat.hub import Hub
from ribat.intel._store_sql import _GrowthSchedule
from support import World, indicator, truncate_postgres


def test_the_schedule_fires_at_the_first_threshold_then_at_each_doubling() -> None:
    schedule = _GrowthSchedule(first=100)
    fired = []
    for batch in range(1, 101):
        if schedule.wrote(10):
            fired.append(batch * 10)
    assert fired == [100, 200, 400, 800]


@pytest.mark.postgres
def test_statistics_appear_while_a_first_import_is_still_running(postgres_url: str) -> None:
    truncate_postgres(postgres_url)
    hub = Hub.open(Settings(database_url=postgres_url, secret_key="statistics-test-secret"))
    try:
        with hub.db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("SELECT pg_stat_reset()")
        hub.intel.store._statistics = _GrowthSchedule(first=2_000)  # type: ignore[attr-defined]
        world = World(hub)
        alice = world.principal("alice@a.example")

        def analysed() -> bool:
            with hub.db.read() as conn:
                return bool(
                    conn.exec_driver_sql(
                        "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'stix_objects'"
                    ).scalar()
                )

        assert not analysed()
        hub.intel.ingest(alice, "shared", {"objects": [indicator(n) for n in range(1000)]})
        assert not analysed()
        hub.intel.ingest(alice, "shared", {"objects": [indicator(n) for n in range(1000, 2000)]})
        assert analysed()
    finally:
        hub.close()
