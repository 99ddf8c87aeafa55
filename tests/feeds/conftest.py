"""Fixtures of the feeds tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from feeds._support import Clock, FileServer, RemoteHub


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def files() -> FileServer:
    return FileServer()


@pytest.fixture
def remote(tmp_path: Path, sqlite_template: Path) -> Iterator[RemoteHub]:
    r = RemoteHub(tmp_path, sqlite_template)
    try:
        yield r
    finally:
        r.close()
