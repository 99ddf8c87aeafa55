"""What the in-process benchmarks share: their common options and a fresh hub with an author
organisation, its analyst and a community collection ``bench``."""

from __future__ import annotations

import argparse
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.stixgen import DEFAULT_SEED

__all__ = ["add_common_options", "bench_hub"]


def add_common_options(p: argparse.ArgumentParser, *, runs_help: str) -> None:
    p.add_argument("--runs", type=int, default=3, help=runs_help)
    p.add_argument("--database-url", default=None, help="a fresh, empty database (default: a temporary SQLite)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)


@contextmanager
def bench_hub(database_url: str | None, prefix: str) -> Iterator[tuple[Any, Any]]:
    """``(hub, author)``: a migrated hub (on ``database_url``, else a temporary SQLite file) with
    the organisation "Author CERT", its analyst ``author@a.example`` (the principal yielded) and
    a collection ``bench`` every organisation may read and write. Closed and removed after."""
    from ribat.accounts import OrgKind, Role
    from ribat.config import Settings
    from ribat.hub import Hub
    from ribat.intel import Grant

    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    url = database_url or f"sqlite:///{tmp / 'bench.db'}"
    hub = Hub.open(Settings(database_url=url, secret_key="bench-secret-key-0123456789"), migrate=True)
    try:
        org = hub.accounts.create_org("Author CERT", "author", "MY", OrgKind.NATIONAL_CERT)
        user = hub.accounts.create_user("author@a.example", org.id, Role.ANALYST)
        hub.intel.create_collection("bench", alias="bench", grants=[Grant("community", "", True, True)])
        yield hub, hub.accounts.principal_for(user.id)
    finally:
        hub.close()
        shutil.rmtree(tmp, ignore_errors=True)
