"""Three real hubs in a chain and in cycles: everything visible arrives once, nothing comes back, syncing ends;
revocations and deletions travel down the chain, a local deletion of a received copy does not.

The ``line`` hubs sync two collections: on ``shared`` B pulls from A and C from B (a chain, A → B → C); on ``ring``
A also pulls from C, which closes the cycle A → B → C → A. The ``mixed`` hubs close the same cycle with B pushing
to C instead of C pulling from B.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from e2e.federation import Node, hub_id, link, mesh, settle, stored, version_counts
from e2e.live import SHARE_EXTENSION, TAXII, TLP_AMBER, TLP_GREEN

pytestmark = pytest.mark.e2e

ENGINES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
AMBER = {"max_tlp": "amber"}
CREATED = "2026-01-01T00:00:00.000Z"


def indicator(label: str, *, modified: str = CREATED, **extra: Any) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": CREATED,
        "modified": modified,
        "name": f"bad host {label}",
        "pattern": f"[domain-name:value = '{label}.bad.example']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
        "object_marking_refs": [TLP_GREEN],
        **extra,
    }


def amber_for(label: str, *orgs: str) -> dict[str, Any]:
    """An AMBER indicator whose author names ``orgs`` (short names) as its recipients."""
    return indicator(
        label,
        object_marking_refs=[TLP_AMBER],
        extensions={
            SHARE_EXTENSION: {"extension_type": "property-extension", "share_with": [f"org:{o}" for o in orgs]}
        },
    )


def indicators(prefix: str, count: int) -> list[dict[str, Any]]:
    return [indicator(f"{prefix}-{uuid.uuid4().hex[:8]}-{i}") for i in range(count)]


def versions_of(objects: Sequence[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(o["id"], o["modified"]) for o in objects}


@pytest.fixture(scope="module", params=ENGINES)
def line(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Node]]:
    workdir = tmp_path_factory.mktemp(f"fed-line-{request.param}")
    with mesh(request.param, ["a", "b", "c"], workdir, collections=("shared", "ring")) as nodes:
        a, b, c = nodes["a"], nodes["b"], nodes["c"]
        link(b, a, "pull", policy=AMBER, collections=("shared", "ring"))
        link(c, b, "pull", policy=AMBER, collections=("shared", "ring"))
        link(a, c, "pull", policy=AMBER, collections=("ring",))
        yield nodes


@pytest.fixture(scope="module", params=ENGINES)
def mixed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Node]]:
    workdir = tmp_path_factory.mktemp(f"fed-mixed-{request.param}")
    with mesh(request.param, ["a", "b", "c"], workdir) as nodes:
        a, b, c = nodes["a"], nodes["b"], nodes["c"]
        link(b, a, "pull")
        link(b, c, "push")
        link(a, c, "pull")
        yield nodes


def chain(nodes: dict[str, Node]) -> list[tuple[Node, str]]:
    return [(nodes["b"], "a"), (nodes["c"], "b")]


def assert_clean(rounds: list[list[dict[str, Any]]]) -> None:
    """Every run ended well, and no sender ever offered a receiver a version that had passed through it (each knew
    the other's hub id from the hello) or one it already held."""
    for runs in rounds:
        for run in runs:
            assert run["status"] == "ok", run
            assert (run["echoes"], run["already"], run["rejected"]) == (0, 0, 0), run


def assert_never_back_home(nodes: dict[str, Node], alias: str) -> None:
    """No hub stores a version that was first stored there and came back by another way."""
    for node in nodes.values():
        own = hub_id(node)
        home = [s for s in stored(node, alias=alias) if s.origin_hub == own or own in s.hops]
        assert home == [], f"{node.name} received its own versions back: {home[:3]}"


def read(node: Node, who: str, object_id: str, *, alias: str = "shared") -> tuple[int, dict[str, Any]]:
    """GET the object (its latest version) as the hub's ``admin``, ``analyst`` or ``reader``: status and body."""
    client = node.admin() if who == "admin" else node.hub.http(f"{who}@{node.name}.example")
    client.headers["Accept"] = TAXII
    with client:
        response = client.get(f"{node.url(alias)}objects/{object_id}/")
    return response.status_code, response.json()


def test_chain_of_three_carries_each_version_once_with_its_author(line: dict[str, Node]) -> None:
    a, b, c = line["a"], line["b"], line["c"]
    from_a, from_b, from_c = indicators("a", 20), indicators("b", 15), indicators("c", 10)
    to_b_and_c = amber_for("amber-bc", "cert-b", "cert-c")
    to_b_only = amber_for("amber-b", "cert-b")
    a.post([*from_a, to_b_and_c, to_b_only])
    b.post(from_b)
    c.post(from_c)

    rounds = settle(chain(line), bound=3)
    assert_clean(rounds)
    first_b, first_c = rounds[0]
    # B takes A's GREEN and both AMBER versions (it is named in each); C takes what B holds that C's organisation
    # may read: the GREEN versions of A and B, and the AMBER one that names C.
    assert first_b["pulled"] == 22, first_b
    assert first_c["pulled"] == 20 + 15 + 1, first_c

    # Each hub holds each GREEN version it should exactly once; nothing flows up the chain.
    expected = {
        "a": versions_of(from_a),
        "b": versions_of(from_a + from_b),
        "c": versions_of(from_a + from_b + from_c),
    }
    for name, node in line.items():
        seen = version_counts(node)
        assert set(seen) == expected[name], name
        assert max(seen.values()) == 1, name
    assert_never_back_home(line, "shared")

    # On C, A's versions are filed under A's operator organisation, recorded as first stored on A and carried by B.
    a_id, b_id = hub_id(a), hub_id(b)
    for obj in (from_a[0], to_b_and_c):
        (copy,) = stored(c, obj["id"])
        assert copy.author == a.identities["a"], copy
        assert (copy.origin_hub, copy.hops, copy.via_peer) == (a_id, (a_id, b_id), "b"), copy
    (own,) = stored(c, from_c[0]["id"])
    assert (own.author, own.origin_hub, own.hops, own.via_peer) == (c.identities["c"], None, (), None)

    # The AMBER recipients travelled as identities: C's analysts read what A shared with their organisation, C's
    # operators (another organisation) do not, and what A shared with B alone never left B.
    assert read(c, "analyst", to_b_and_c["id"])[0] == 200
    assert read(c, "reader", to_b_and_c["id"])[0] == 200
    assert read(c, "admin", to_b_and_c["id"])[0] == 404
    assert read(b, "analyst", to_b_only["id"])[0] == 200
    assert stored(c, to_b_only["id"]) == []
    _, body = read(c, "analyst", to_b_and_c["id"])
    (served,) = body["objects"]
    # Readers see the object as its author wrote it, less the local recipient names (which mean nothing here).
    assert "extensions" not in served and served["name"] == to_b_and_c["name"]


def test_cycle_of_three_by_pull_ends_without_echoes(line: dict[str, Node]) -> None:
    a, b, c = line["a"], line["b"], line["c"]
    posted = {"a": indicators("ring-a", 12), "b": indicators("ring-b", 9), "c": indicators("ring-c", 7)}
    for name, objects in posted.items():
        line[name].post(objects, alias="ring")

    # B ← A, C ← B, A ← C: C's versions need a second round to reach B through A; the third moves nothing.
    rounds = settle([(b, "a"), (c, "b"), (a, "c")], bound=4)
    assert_clean(rounds)
    assert len(rounds) <= 3, [[r["pulled"] for r in runs] for runs in rounds]
    everything = versions_of([o for objects in posted.values() for o in objects])
    for name, node in line.items():
        seen = version_counts(node, alias="ring")
        assert set(seen) == everything, name
        assert max(seen.values()) == 1, name
    # Each hub received exactly the others' versions, once over the whole of the sync.
    received = {name: sum(runs[i]["pulled"] for runs in rounds) for i, name in enumerate("bca")}
    assert received == {n: len(everything) - len(posted[n]) for n in posted}, received
    assert_never_back_home(line, "ring")


def test_cycle_mixing_push_and_pull_ends_without_echoes(mixed: dict[str, Node]) -> None:
    a, b = mixed["a"], mixed["b"]
    posted = {"a": indicators("mix-a", 10), "b": indicators("mix-b", 8), "c": indicators("mix-c", 6)}
    for name, objects in posted.items():
        mixed[name].post(objects)

    # A → B by pull, B → C by push, C → A by pull.
    rounds = settle([(b, "a"), (b, "c"), (a, "c")], bound=4)
    assert_clean(rounds)
    everything = versions_of([o for objects in posted.values() for o in objects])
    for name, node in mixed.items():
        seen = version_counts(node)
        assert set(seen) == everything, name
        assert max(seen.values()) == 1, name
    received = {
        "b": sum(runs[0]["pulled"] for runs in rounds),
        "c": sum(runs[1]["pushed"] for runs in rounds),
        "a": sum(runs[2]["pulled"] for runs in rounds),
    }
    assert received == {n: len(everything) - len(posted[n]) for n in posted}, received
    assert_never_back_home(mixed, "shared")


def test_revocation_and_deletion_made_on_a_reach_c_through_b(line: dict[str, Node]) -> None:
    a, b, c = line["a"], line["b"], line["c"]
    revoked, deleted, kept = indicators("rev", 3)
    a.post([revoked, deleted, kept])
    assert_clean(settle(chain(line), bound=3))
    for node in (b, c):
        assert all(read(node, "analyst", o["id"])[0] == 200 for o in (revoked, deleted))

    # A revokes the first (a new version) and its analyst deletes the second (TAXII 2.1 Delete An Object).
    a.post([dict(revoked, modified="2026-03-01T00:00:00.000Z", revoked=True)])
    with a.analyst() as analyst:
        gone = analyst.delete(f"{a.url()}objects/{deleted['id']}/")
        assert gone.status_code == 200, gone.text
    rounds = settle(chain(line), bound=3)
    assert_clean(rounds)
    assert [run["deleted"] for run in rounds[0]] == [1, 1], rounds[0]
    assert [run["pulled"] for run in rounds[0]] == [1, 1], rounds[0]
    for node in (b, c):
        status, body = read(node, "analyst", revoked["id"])
        assert status == 200
        (latest,) = body["objects"]
        assert latest["revoked"] is True and latest["modified"] == "2026-03-01T00:00:00.000Z", node.name
        assert read(node, "analyst", deleted["id"])[0] == 404, node.name
        # The tombstone is kept (so that the deletion can travel on, and a late copy is not taken back in).
        assert [s.deleted for s in stored(node, deleted["id"])] == [True], node.name

    # B's operators delete their received copy of the third: B's own choice, which stays on B.
    with b.admin() as admin:
        local = admin.delete(f"{b.url()}objects/{kept['id']}/")
        assert local.status_code == 200, local.text
    rounds = settle(chain(line), bound=2)
    assert len(rounds) == 1, rounds  # nothing was even offered to C
    assert_clean(rounds)
    assert read(b, "analyst", kept["id"])[0] == 404
    assert read(c, "analyst", kept["id"])[0] == 200
    assert read(a, "analyst", kept["id"])[0] == 200
