"""Two real hubs pull from and push to each other: everything visible crosses once, nothing comes back."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from e2e.federation import Node, all_versions, link, mesh, sync
from e2e.live import TLP_GREEN

pytestmark = pytest.mark.e2e


def indicator(n: int, *, modified: str = "2026-01-01T00:00:00.000Z", **extra: Any) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": modified,
        "name": f"bad host {n}",
        "pattern": f"[domain-name:value = 'bad{n}.example']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
        "object_marking_refs": [TLP_GREEN],
        **extra,
    }


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Node]]:
    workdir: Path = tmp_path_factory.mktemp(f"fed-pair-{request.param}")
    with mesh(request.param, ["a", "b"], workdir) as nodes:
        yield nodes


def versions(node: Node) -> Counter[tuple[str, str]]:
    return Counter((o["id"], o.get("modified", "")) for o in all_versions(node))


def test_two_hubs_pull_and_push_without_duplicates_or_echoes(pair: dict[str, Node]) -> None:
    a, b = pair["a"], pair["b"]
    from_a = [indicator(i) for i in range(25)]
    from_b = [indicator(100 + i) for i in range(30)]
    a.post(from_a)
    b.post(from_b)
    link(a, b, "both")
    # b must know a as a peer it can push back to only through a's sync: a starts both directions.
    first = sync(a, "b")
    assert first["status"] == "ok", first
    assert first["pulled"] == 30 and first["pushed"] == 25, first
    assert first["echoes"] == 0

    seen_a, seen_b = versions(a), versions(b)
    expected = {(o["id"], o["modified"]) for o in from_a + from_b}
    assert set(seen_a) == expected and set(seen_b) == expected
    assert max(seen_a.values()) == 1 and max(seen_b.values()) == 1

    # A second run moves nothing: the checkpoints hold, and nothing that came from b goes back to b.
    again = sync(a, "b")
    assert (again["pulled"], again["pushed"], again["already"], again["echoes"]) == (0, 0, 0, 0), again

    # A new version on b arrives on a; its author is b's organisation there too.
    changed = dict(from_b[0], modified="2026-02-01T00:00:00.000Z", name="bad host 100, renamed")
    b.post([changed])
    third = sync(a, "b")
    assert third["pulled"] == 1 and third["pushed"] == 0, third
    assert versions(a)[(changed["id"], changed["modified"])] == 1
    objects = {(o["id"], o["modified"]): o for o in all_versions(a)}
    assert objects[(changed["id"], changed["modified"])]["name"] == "bad host 100, renamed"
    # The provenance travels between hubs only: readers on a see the object as b's analyst wrote it.
    assert all("extensions" not in o for o in objects.values())
