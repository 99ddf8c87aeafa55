"""Several real hubs for federation tests: each a ``ribat serve`` process with its own database.

Every hub knows every other hub's operator organisation under the same STIX identity (``ribat org create
--identity``), as coalition members register each other. ``link`` makes one hub start a direction with another the
way two operators would: the serving hub adds the other as a ``serve`` peer and hands over the sync key, and the
starting hub adds its peer with that key.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from e2e.live import (
    Coalition,
    CollectionSpec,
    LiveHub,
    Org,
    User,
    get_all,
    post_objects,
    ribat_command,
    start_hub,
)

__all__ = [
    "Node",
    "Stored",
    "all_versions",
    "hub_id",
    "link",
    "mesh",
    "moved",
    "query",
    "settle",
    "spawn",
    "stored",
    "sync",
    "version_counts",
    "wait_until",
]

COUNTRIES = {"a": "MA", "b": "TN", "c": "SN", "d": "JO"}


@dataclass
class Node:
    name: str
    hub: LiveHub
    identities: Mapping[str, str]  # hub name -> its operator organisation's identity

    @property
    def org(self) -> str:
        return f"cert-{self.name}"

    @property
    def shared(self) -> str:
        return self.hub.collections["shared"]

    @property
    def shared_url(self) -> str:
        return self.hub.collection_url("shared")

    def url(self, alias: str = "shared") -> str:
        return self.hub.collection_url(alias)

    def analyst(self) -> httpx.Client:
        return self.hub.http(f"analyst@{self.name}.example")

    def admin(self) -> httpx.Client:
        client = httpx.Client(base_url=self.hub.base_url, timeout=120.0)
        client.headers["Authorization"] = f"Bearer {self.hub.admin_key}"
        return client

    def post(self, objects: Sequence[Mapping[str, Any]], alias: str = "shared") -> dict[str, Any]:
        with self.analyst() as client:
            return post_objects(client, self.url(alias), objects)


def coalition(
    name: str, names: Sequence[str], identities: Mapping[str, str], collections: Sequence[str] = ("shared",)
) -> Coalition:
    orgs = tuple(Org(f"cert-{n}", f"National CERT {n.upper()}", COUNTRIES[n], identity=identities[n]) for n in names)
    return Coalition(
        orgs=orgs,
        users=(
            User(f"analyst@{name}.example", f"cert-{name}"),
            User(f"reader@{name}.example", f"cert-{name}", "reader"),
        ),
        collections=tuple(
            CollectionSpec(alias, f"{alias.capitalize()} at {name.upper()}", default_tlp="green", owner=f"cert-{name}")
            for alias in collections
        ),
    )


@contextmanager
def mesh(
    backend: str,
    names: Sequence[str],
    workdir: Path,
    settings: Mapping[str, str] | None = None,
    collections: Sequence[str] = ("shared",),
) -> Iterator[dict[str, Node]]:
    """Hubs named ``names`` (each ``a`` … ``d``), served at once, each with the ``collections`` (aliases, GREEN by
    default, owned by the hub's operator organisation); the background sync is off unless asked."""
    identities = {n: f"identity--{uuid.uuid4()}" for n in names}
    env = {"RIBAT_FEDERATION_SCHEDULER": "false", "RIBAT_FEDERATION_RETRIES": "1", **(settings or {})}
    with ExitStack() as stack:
        nodes = {}
        for n in names:
            path = workdir / n
            path.mkdir(parents=True, exist_ok=True)
            hub = stack.enter_context(start_hub(backend, coalition(n, names, identities, collections), path, env))
            nodes[n] = Node(n, hub, identities)
        yield nodes


def link(
    src: Node,
    dst: Node,
    direction: str,
    *,
    policy: Mapping[str, Any] | None = None,
    every: int = 300,
    collections: Sequence[str] = ("shared",),
) -> dict[str, Any]:
    """Make ``src`` start ``direction`` (pull, push or both) with ``dst``, pairing each of ``collections`` (aliases)
    with the collection of the same alias on ``dst``, with the same policy on both records (``max_tlp``,
    ``include_types``, ``exclude_types``, ``circles``). Returns the peer record on ``src``."""
    policy = dict(policy or {})
    with dst.admin() as admin:
        served = admin.post(
            "/api/v1/peers",
            json={
                "name": src.name,
                "url": src.hub.api_root_url,
                "direction": "serve",
                "collections": list(collections),
                "org": src.org,
                **policy,
            },
        )
        assert served.status_code == 201, served.text
    with src.admin() as admin:
        added = admin.post(
            "/api/v1/peers",
            json={
                "name": dst.name,
                "url": dst.hub.api_root_url,
                "key": served.json()["sync_key"],
                "direction": direction,
                "collections": [f"{alias}={dst.hub.collections[alias]}" for alias in collections],
                "org": dst.org,
                "interval_seconds": every,
                **policy,
            },
        )
        assert added.status_code == 201, added.text
        record: dict[str, Any] = added.json()
        return record


def sync(src: Node, peer: str) -> dict[str, Any]:
    """``POST /api/v1/peers/{peer}/sync`` on ``src``: the run."""
    with src.admin() as admin:
        response = admin.post(f"/api/v1/peers/{peer}/sync")
        assert response.status_code == 200, response.text
        run: dict[str, Any] = response.json()
        return run


def moved(run: Mapping[str, Any]) -> int:
    """How many versions and deletions a run sent or received, whatever became of them."""
    return sum(int(run[k]) for k in ("pulled", "pushed", "already", "echoes", "rejected", "deleted"))


def settle(links: Sequence[tuple[Node, str]], *, bound: int) -> list[list[dict[str, Any]]]:
    """Sync each ``(hub, peer)`` in order, round after round, until a whole round moves nothing; fails unless that
    quiet round comes within ``bound`` rounds. Returns every round's runs, the quiet one last."""
    rounds: list[list[dict[str, Any]]] = []
    while len(rounds) < bound:
        runs = [sync(node, peer) for node, peer in links]
        rounds.append(runs)
        if not any(moved(run) for run in runs):
            return rounds
    raise AssertionError(f"no quiet round within {bound} rounds: {[[moved(r) for r in runs] for runs in rounds]}")


def all_versions(node: Node, *, as_admin: bool = True, alias: str = "shared") -> list[dict[str, Any]]:
    """Every version in the collection ``alias`` that the hub's admin (or analyst) may read."""
    client = node.admin() if as_admin else node.analyst()
    client.headers["Accept"] = "application/taxii+json;version=2.1"
    with client:
        return get_all(client, f"{node.url(alias)}objects/", {"match[version]": "all"}, limit=1000)


def version_counts(node: Node, *, as_admin: bool = True, alias: str = "shared") -> Counter[tuple[str, str]]:
    """How many times each (id, modified) the reader may read is served: 1 each, when nothing is held twice."""
    return Counter((o["id"], o.get("modified", "")) for o in all_versions(node, as_admin=as_admin, alias=alias))


# -- what no API shows: the hub's own database ---------------------------------------------------


def query(node: Node, sql: str, **params: Any) -> list[Any]:
    """The rows of a read-only SQL query on the hub's database."""
    url = node.hub.env["RIBAT_DATABASE_URL"]
    connect_args = {"timeout": 30} if url.startswith("sqlite") else {}
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool, connect_args=connect_args)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params))
    finally:
        engine.dispose()


def hub_id(node: Node) -> str:
    """The hub's id among federated hubs (made on first use; every sync uses it)."""
    rows = query(node, "SELECT value FROM hub_secrets WHERE name = 'hub_id'")
    assert rows, f"hub {node.name} has no hub id yet"
    return str(rows[0][0])


@dataclass(frozen=True)
class Stored:
    """One stored version (or tombstone) with its provenance: the author organisation's STIX identity, the hub
    where it was first stored and the hubs it passed through (none for a version first stored here), and the
    name of the peer that sent it."""

    object_id: str
    version: str
    author: str
    origin_hub: str | None
    hops: tuple[str, ...]
    via_peer: str | None
    deleted: bool


def stored(node: Node, object_id: str | None = None, *, alias: str = "shared") -> list[Stored]:
    """The rows of the collection ``alias`` (of one object, or all), deleted ones included, by version."""
    sql = (
        "SELECT o.object_id, o.version_text, g.identity_id, o.origin_hub, o.hops, p.name, o.deleted_us"
        " FROM stix_objects o JOIN organisations g ON g.id = o.author_org_id"
        " LEFT JOIN peers p ON p.id = o.via_peer_id WHERE o.collection_id = :collection"
    )
    params: dict[str, Any] = {"collection": node.hub.collections[alias]}
    if object_id is not None:
        sql += " AND o.object_id = :object_id"
        params["object_id"] = object_id
    rows = query(node, sql + " ORDER BY o.object_id, o.version_us, o.pk", **params)
    return [
        Stored(r[0], r[1], r[2], r[3], tuple(h for h in (r[4] or "").split(",") if h), r[5], r[6] is not None)
        for r in rows
    ]


def spawn(node: Node, *args: str, settings: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``ribat ARGS`` on the hub's database in a process of its own (to be killed), with extra ``settings``; its
    output goes to ``spawned-<first arg>.log`` in the hub's directory."""
    env = {**node.hub.env, **(settings or {})}
    with (node.hub.workdir / f"spawned-{args[0]}.log").open("ab") as log:
        return subprocess.Popen(
            [*ribat_command(), *args], env=env, cwd=node.hub.workdir, stdout=log, stderr=subprocess.STDOUT
        )


def wait_until(check: Callable[[], bool], what: str, *, timeout: float = 120.0, every: float = 0.05) -> None:
    """Poll ``check`` until it holds; fails naming ``what`` when it does not within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)
