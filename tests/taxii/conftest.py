from __future__ import annotations

from collections.abc import Iterator

import pytest

from ribat.web import create_app
from support import AsgiClient, World


@pytest.fixture
def client(world: World) -> Iterator[AsgiClient]:
    c = AsgiClient(create_app(hub=world.hub))
    try:
        yield c
    finally:
        c.close()
