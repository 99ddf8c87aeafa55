"""Random coalitions for TLP property tests: organisations, circles, users, and objects whose
versions carry random TLP levels and named recipients, with the TLP 2.0 oracle written from the
table in docs/intel.md, independently of ``ribat.intel.tlp``.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import strategies as st

from ribat.accounts import Role
from ribat.config import Settings
from ribat.hub import Hub
from ribat.intel import SHARE_EXTENSION, Grant
from support import truncate_postgres

LEVELS = ["clear", "green", "amber", "amber+strict", "red", None]
MARKING = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
DEFAULT = "amber"  # the collection's default for unmarked objects


@dataclass(frozen=True)
class Obj:
    n: int
    author: int  # user index
    levels: tuple[str | None, ...]  # the TLP of each version, oldest first
    orgs: frozenset[int]
    circles: frozenset[int]
    users: frozenset[int]

    @property
    def versions(self) -> int:
        return len(self.levels)


@dataclass(frozen=True)
class Coalition:
    n_orgs: int
    circles: tuple[frozenset[int], ...]  # members per circle
    users: tuple[tuple[int, str], ...]  # (org index, role)
    objects: tuple[Obj, ...]


@st.composite
def coalitions(draw: st.DrawFn) -> Coalition:
    n_orgs = draw(st.integers(2, 4))
    circles = tuple(
        draw(st.frozensets(st.integers(0, n_orgs - 1), min_size=1, max_size=n_orgs))
        for _ in range(draw(st.integers(0, 2)))
    )
    users = tuple(
        (draw(st.integers(0, n_orgs - 1)), draw(st.sampled_from(["analyst", "reader"])))
        for _ in range(draw(st.integers(2, 5)))
    )
    writers = [i for i, (_, role) in enumerate(users) if role == "analyst"] or [0]
    if users[writers[0]][1] != "analyst":
        users = ((users[0][0], "analyst"), *users[1:])
    objects = tuple(
        Obj(
            n=n,
            author=draw(st.sampled_from(writers)),
            levels=tuple(draw(st.lists(st.sampled_from(LEVELS), min_size=1, max_size=2))),
            orgs=draw(st.frozensets(st.integers(0, n_orgs - 1), max_size=2)),
            circles=draw(st.frozensets(st.integers(0, len(circles) - 1), max_size=1)) if circles else frozenset(),
            users=draw(st.frozensets(st.integers(0, len(users) - 1), max_size=2)),
        )
        for n in range(draw(st.integers(1, 8)))
    )
    return Coalition(n_orgs, circles, users, objects)


def oracle(c: Coalition, reader: int, obj: Obj, version: int) -> bool:
    """TLP 2.0 as docs/intel.md states it, for one version of an object."""
    level = obj.levels[version] or DEFAULT
    reader_org = c.users[reader][0]
    author_org = c.users[obj.author][0]
    reader_circles = {i for i, members in enumerate(c.circles) if reader_org in members}
    if level in ("clear", "green"):
        return True  # every reader here is a signed-in member of the community
    if level == "amber":
        return reader_org == author_org or reader_org in obj.orgs or bool(reader_circles & obj.circles)
    if level == "amber+strict":
        return reader_org == author_org
    return reader == obj.author or reader in obj.users


def object_id(n: int) -> str:
    return f"indicator--{uuid.UUID(int=n + 1, version=4)}"


def stix(c: Coalition, obj: Obj, version: int) -> dict[str, object]:
    stamp = f"2024-0{version + 1}-01T00:00:00.000Z"
    body: dict[str, object] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": object_id(obj.n),
        "created": "2024-01-01T00:00:00.000Z",
        "modified": stamp,
        "pattern": (
            f"[domain-name:value = 'd{obj.n}.shared.example'] OR [ipv4-addr:value = '10.0.{obj.n}.1'] "
            "OR [domain-name:value = 'common.example']"
        ),
        "pattern_type": "stix",
        "valid_from": "2024-01-01T00:00:00Z",
    }
    level = obj.levels[version]
    if level:
        body["object_marking_refs"] = [MARKING[level]]
    names = [f"org:org{i}" for i in sorted(obj.orgs)]
    names += [f"circle:circle{i}" for i in sorted(obj.circles)]
    names += [f"user:user{i}@x.example" for i in sorted(obj.users)]
    if names:
        body["extensions"] = {SHARE_EXTENSION: {"extension_type": "property-extension", "share_with": names}}
    return body


def build(hub: Hub, c: Coalition) -> dict[int, str]:
    acc = hub.accounts
    orgs = [acc.create_org(f"Org {i}", f"org{i}", "MY") for i in range(c.n_orgs)]
    for i, members in enumerate(c.circles):
        acc.create_circle(f"circle{i}")
        acc.add_to_circle(f"circle{i}", [orgs[m].id for m in members])
    keys = {}
    for i, (org, role) in enumerate(c.users):
        user = acc.create_user(f"user{i}@x.example", orgs[org].id, Role(role))
        keys[i] = acc.create_key(user.id).secret
    hub.intel.create_collection("c", alias="c", grants=[Grant("community", "", True, True)])
    for obj in c.objects:
        author = acc.principal_for(f"user{obj.author}@x.example")
        status = hub.intel.ingest(author, "c", {"objects": [stix(c, obj, v) for v in range(obj.versions)]})
        assert status.failure_count == 0, status.failures
    return keys


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fresh_hub(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A factory of empty hubs (one per hypothesis example)."""
    opened: list[Hub] = []

    def make() -> Hub:
        for h in opened:
            h.close()
        opened.clear()
        if request.param == "sqlite":
            path = tmp_path / f"{uuid.uuid4().hex}.db"
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
            url = f"sqlite:///{path}"
        else:
            url = request.getfixturevalue("postgres_url")
            truncate_postgres(url)
        hub = Hub.open(Settings(database_url=url, secret_key="property-test-secret"))
        opened.append(hub)
        return hub

    yield make
    for h in opened:
        h.close()
