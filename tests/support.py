"""Helpers shared by the tests: a small coalition, STIX objects, an in-process HTTP client."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import sqlalchemy as sa

from ribat.db import metadata
from ribat.hub import Hub

TAXII = "application/taxii+json;version=2.1"


class AsgiClient:
    """A synchronous face on ``httpx.AsyncClient`` over ``httpx.ASGITransport`` (in process)."""

    def __init__(self, app: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._loop.run_until_complete(self._client.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def close(self) -> None:
        self._loop.run_until_complete(self._client.aclose())
        self._loop.close()


class World:
    """A small coalition: three organisations, a trust circle of two, users and a collection."""

    def __init__(self, hub: Hub) -> None:
        from ribat.accounts import OrgKind, Role
        from ribat.intel import Grant, Tlp

        acc = hub.accounts
        self.hub = hub
        self.org_a = acc.create_org("CERT A", "cert-a", "MY", OrgKind.NATIONAL_CERT)
        self.org_b = acc.create_org("CERT B", "cert-b", "OM", OrgKind.NATIONAL_CERT)
        self.org_c = acc.create_org("CERT C", "cert-c", "NG", OrgKind.SECTOR_CERT)
        self.circle = acc.create_circle("wg")
        acc.add_to_circle("wg", ["cert-a", "cert-b"])
        self.alice = acc.create_user("alice@a.example", self.org_a.id, Role.ANALYST)
        self.anna = acc.create_user("anna@a.example", self.org_a.id, Role.READER)
        self.bob = acc.create_user("bob@b.example", self.org_b.id, Role.ANALYST)
        self.carol = acc.create_user("carol@c.example", self.org_c.id, Role.ANALYST)
        self.admin = acc.create_user("admin@hub.example", self.org_c.id, Role.ADMIN)
        self.keys = {
            u.email: acc.create_key(u.id).secret for u in (self.alice, self.anna, self.bob, self.carol, self.admin)
        }
        self.collection = hub.intel.create_collection(
            "shared", alias="shared", default_tlp=Tlp.AMBER, grants=[Grant("community", "", True, True)]
        )

    def principal(self, email: str):  # type: ignore[no-untyped-def]
        return self.hub.accounts.principal_for(email)

    def auth(self, email: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[email]}"}


def indicator(n: int, *, tlp_ref: str | None = None, modified: str | None = None, **extra: object) -> dict[str, object]:
    """A valid STIX 2.1 indicator with a deterministic id from ``n``."""
    created = "2024-01-01T00:00:00.000Z"
    obj: dict[str, object] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.UUID(int=n, version=4)}",
        "created": created,
        "modified": modified or created,
        "pattern": f"[ipv4-addr:value = '10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}']",
        "pattern_type": "stix",
        "valid_from": created,
    }
    if tlp_ref:
        obj["object_marking_refs"] = [tlp_ref]
    obj.update(extra)
    return obj


def taxii_headers(world: World, email: str, **extra: str) -> dict[str, str]:
    return {"Accept": TAXII, "Content-Type": TAXII, **world.auth(email), **extra}


def truncate_postgres(url: str) -> None:
    """Empty every table of a migrated PostgreSQL database."""
    engine = sa.create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    engine.dispose()
