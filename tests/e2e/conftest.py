"""End-to-end fixtures: each test module gets a real ``ribat serve`` per database engine.

A module declares whom its hub has with a module-level ``coalition`` fixture (an
``e2e.live.Coalition``); ``live_hub`` sets that hub up through the ``ribat`` command and
serves it on 127.0.0.1, once on SQLite and once on a fresh PostgreSQL database
(skipped locally when PostgreSQL is unreachable, a failure when ``CI`` is set).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from e2e.live import Coalition, LiveHub, start_hub


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def live_hub(
    request: pytest.FixtureRequest, coalition: Coalition, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveHub]:
    workdir = tmp_path_factory.mktemp(f"e2e-{request.param}")
    with start_hub(request.param, coalition, workdir) as hub:
        yield hub
