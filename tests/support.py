"""Helpers shared by the tests: a small coalition, STIX objects, the shared CTI data, an in-process
HTTP client."""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
import warnings
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import stix2

from ribat.db import metadata
from ribat.hub import Hub

Obj = dict[str, Any]

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


# The shared CTI data: ``<repo>/../shared/data/cti``. The ``data_dir`` fixture (tests/conftest.py)
# skips a test when the directory is missing, and fails it when CI is set.
CTI = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cti"


def cti_files(pattern: str) -> list[str]:
    """The shared CTI files matching ``pattern``, relative to ``CTI`` (a placeholder if none)."""
    found = sorted(str(p.relative_to(CTI)) for p in CTI.glob(pattern)) if CTI.is_dir() else []
    return found or [f"missing:{pattern}"]


def load_cti(data_dir: Path, relative: str) -> Any:
    return json.loads((data_dir / "cti" / relative).read_text(encoding="utf-8"))


def objects_in(data: Any) -> list[Obj]:
    """Every STIX object in a bundle, envelope, array or medallion backend file."""
    if isinstance(data, list):
        return data
    if "objects" in data:
        return list(data["objects"])
    if "type" in data:
        return [data]
    return [  # medallion's backend: API roots holding collections holding objects
        obj
        for root in data.values()
        if isinstance(root, dict)
        for collection in root.get("collections", [])
        for obj in collection.get("objects", [])
    ]


def stix2_accepts(obj: Obj, version: str | None = None) -> bool:
    """The oracle: does ``stix2.parse(obj, allow_custom=True)`` accept ``obj``?"""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            stix2.parse(copy.deepcopy(obj), allow_custom=True, version=version)
        except Exception:
            return False
    return True
