"""Several real hubs for federation tests: each a ``ribat serve`` process with its own database.

Every hub knows every other hub's operator organisation under the same STIX identity (``ribat org create
--identity``), as coalition members register each other. ``link`` makes one hub start a direction with another the
way two operators would: the serving hub adds the other as a ``serve`` peer and hands over the sync key, and the
starting hub adds its peer with that key.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from e2e.live import CollectionSpec, Coalition, LiveHub, Org, User, get_all, post_objects, start_hub

__all__ = ["Node", "all_versions", "link", "mesh", "sync"]

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

    def analyst(self) -> httpx.Client:
        return self.hub.http(f"analyst@{self.name}.example")

    def admin(self) -> httpx.Client:
        client = httpx.Client(base_url=self.hub.base_url, timeout=120.0)
        client.headers["Authorization"] = f"Bearer {self.hub.admin_key}"
        return client

    def post(self, objects: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        with self.analyst() as client:
            return post_objects(client, self.shared_url, objects)


def coalition(name: str, names: Sequence[str], identities: Mapping[str, str]) -> Coalition:
    orgs = tuple(
        Org(f"cert-{n}", f"National CERT {n.upper()}", COUNTRIES[n], identity=identities[n]) for n in names
    )
    return Coalition(
        orgs=orgs,
        users=(User(f"analyst@{name}.example", f"cert-{name}"), User(f"reader@{name}.example", f"cert-{name}", "reader")),
        collections=(
            CollectionSpec("shared", f"Shared at {name.upper()}", default_tlp="green", owner=f"cert-{name}"),
        ),
    )


@contextmanager
def mesh(
    backend: str, names: Sequence[str], workdir: Path, settings: Mapping[str, str] | None = None
) -> Iterator[dict[str, Node]]:
    """Hubs named ``names`` (each ``a`` … ``d``), served at once; the background sync is off unless asked."""
    identities = {n: f"identity--{uuid.uuid4()}" for n in names}
    env = {"RIBAT_FEDERATION_SCHEDULER": "false", "RIBAT_FEDERATION_RETRIES": "1", **(settings or {})}
    with ExitStack() as stack:
        nodes = {}
        for n in names:
            path = workdir / n
            path.mkdir(parents=True, exist_ok=True)
            hub = stack.enter_context(start_hub(backend, coalition(n, names, identities), path, env))
            nodes[n] = Node(n, hub, identities)
        yield nodes


def link(
    src: Node,
    dst: Node,
    direction: str,
    *,
    policy: Mapping[str, Any] | None = None,
    every: int = 300,
) -> dict[str, Any]:
    """Make ``src`` start ``direction`` (pull, push or both) with ``dst`` on their ``shared`` collections, with the
    same policy on both records (``max_tlp``, ``include_types``, ``exclude_types``, ``circles``). Returns the
    peer record on ``src``."""
    policy = dict(policy or {})
    with dst.admin() as admin:
        served = admin.post(
            "/api/v1/peers",
            json={
                "name": src.name,
                "url": src.hub.api_root_url,
                "direction": "serve",
                "collections": ["shared"],
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
                "collections": [f"shared={dst.shared}"],
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


def all_versions(node: Node, *, as_admin: bool = True) -> list[dict[str, Any]]:
    """Every version in ``shared`` that the hub's admin (or analyst) may read."""
    client = node.admin() if as_admin else node.analyst()
    client.headers["Accept"] = "application/taxii+json;version=2.1"
    with client:
        return get_all(client, f"{node.shared_url}objects/", {"match[version]": "all"}, limit=1000)
