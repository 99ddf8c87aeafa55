"""Property over real hubs: objects at each TLP level cross to a peer hub, or do not, exactly as the policy says.

Two ``ribat serve`` processes, A (the sender) and B (the receiver), each with its own database. Each example draws
a sharing policy (ceiling CLEAR, GREEN or AMBER; types included and excluded; whether the peer's organisation is in
the trust circle the objects may be shared with), the default TLP of A's collection, and objects of a few types
with random TLP markings (2.0 and 1.0, several at once, or none) and named recipients (the ``share_with``
extension: the peer's organisation, the circle, both or nobody), most written by A's analyst and some by an
analyst of the peer's organisation who has an account on A. Then, on fresh collections and fresh peer records
with that policy:

- B pulls from A (A's ``serve`` record for B holds the policy), and A pushes to B (A's ``push`` record holds it);
- in both, B stores exactly the objects the oracle below lets cross, each once, at the level A shared it under
  (an unmarked object takes A's collection default, never B's laxer CLEAR default);
- on B, an AMBER object that crossed is readable by B's analyst (the peer's organisation: a named recipient or
  the author), not by an analyst of another organisation there; a reader held to TLP:CLEAR (a peer of B whose
  ceiling is CLEAR) sees only what A shared as CLEAR.

The oracle is written from issue 7 and TLP 2.0 (docs/intel.md), independently of ``ribat.intel.boundary``:
AMBER+STRICT and RED never cross; nothing above the ceiling crosses; the included and excluded types filter;
AMBER crosses only to a peer whose organisation wrote it or was named, directly or through a trust circle it is
in (TLP 2.0: AMBER is for the author's organisation and the recipients it names).
"""

from __future__ import annotations

import itertools
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from e2e.federation import Node
from e2e.live import (
    SHARE_EXTENSION,
    TAXII,
    BearerAuth,
    Coalition,
    CollectionSpec,
    LiveHub,
    Org,
    User,
    get_all,
    post_objects,
    start_hub,
)

pytestmark = pytest.mark.e2e

LEVEL = {"clear": 0, "green": 1, "amber": 2, "amber+strict": 3, "red": 4}
MARKINGS = {  # name -> (marking definition id, level)
    "clear": ("marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", 0),
    "green": ("marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", 1),
    "amber": ("marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", 2),
    "amber+strict": ("marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", 3),
    "red": ("marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", 4),
    "tlp1-white": ("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", 0),
    "tlp1-amber": ("marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", 2),
}
TYPES = ("indicator", "malware", "attack-pattern")
CEILINGS = ("clear", "green", "amber")
EXAMPLES = 25
# Collections of each kind and circles made with the hubs (one per example; hypothesis may replay a few more, and
# sources are taken by default TLP), so that ``ribat`` is seldom run during the examples.
POOL = EXAMPLES + 10
PEER_ANALYST = "analyst-b@a.example"  # an analyst of the peer's organisation with an account on A
WRITE = ("org:cert-b",)  # who may write A's source collections besides their owner


@dataclass(frozen=True)
class Policy:
    ceiling: str
    include: frozenset[str]
    exclude: frozenset[str]
    in_circle: bool  # is the peer's organisation (cert-b on A) in the circle objects may be shared with?

    def as_json(self, circle: str) -> dict[str, Any]:
        return {
            "max_tlp": self.ceiling,
            "include_types": sorted(self.include),
            "exclude_types": sorted(self.exclude),
            "circles": [circle] if self.in_circle else [],
        }


@dataclass(frozen=True)
class Spec:
    type: str
    markings: tuple[str, ...]
    share: tuple[str, ...]  # "org" (the peer's organisation), "circle"
    by_peer: bool = False  # written on A by an analyst of the peer's organisation (cert-b has members there)


@dataclass(frozen=True)
class Example:
    policy: Policy
    default: str  # the TLP of unmarked objects in A's collection
    objects: tuple[Spec, ...]


examples = st.builds(
    Example,
    policy=st.builds(
        Policy,
        ceiling=st.sampled_from(CEILINGS),
        # Half the policies filter no type, so that the TLP rules decide most objects.
        include=st.one_of(st.just(frozenset()), st.frozensets(st.sampled_from((*TYPES, "tool")), min_size=1)),
        exclude=st.one_of(st.just(frozenset()), st.frozensets(st.sampled_from(TYPES), min_size=1, max_size=1)),
        in_circle=st.booleans(),
    ),
    default=st.sampled_from(CEILINGS),
    objects=st.lists(
        st.builds(
            Spec,
            type=st.sampled_from(TYPES),
            markings=st.lists(st.sampled_from(sorted(MARKINGS)), max_size=2, unique=True).map(tuple),
            share=st.sampled_from([(), ("org",), ("circle",), ("org", "circle")]),
            by_peer=st.sampled_from([False, False, False, True]),
        ),
        min_size=3,
        max_size=8,
    ).map(tuple),
)


# -- the oracle ------------------------------------------------------------------------------------


def level_of(spec: Spec, default: str) -> int:
    """The most restrictive of the object's TLP markings; the collection default when it has none."""
    return max((MARKINGS[m][1] for m in spec.markings), default=LEVEL[default])


def crosses(policy: Policy, spec: Spec, default: str) -> bool:
    level = level_of(spec, default)
    if level >= LEVEL["amber+strict"] or level > LEVEL[policy.ceiling]:
        return False
    if policy.include and spec.type not in policy.include:
        return False
    if spec.type in policy.exclude:
        return False
    if level == LEVEL["amber"]:
        return spec.by_peer or "org" in spec.share or ("circle" in spec.share and policy.in_circle)
    return True


# -- the hubs ---------------------------------------------------------------------------------------


def stix(spec: Spec, n: int, circle: str) -> dict[str, Any]:
    base: dict[str, Any] = {
        "type": spec.type,
        "spec_version": "2.1",
        "id": f"{spec.type}--{uuid.uuid4()}",
        "created": "2026-03-01T00:00:00.000Z",
        "modified": "2026-03-01T00:00:00.000Z",
        "name": f"{spec.type} {n}",
    }
    if spec.type == "indicator":
        base |= {
            "pattern": f"[domain-name:value = 'p{n}.example']",
            "pattern_type": "stix",
            "valid_from": "2026-03-01T00:00:00Z",
        }
    elif spec.type == "malware":
        base["is_family"] = False
    if spec.markings:
        base["object_marking_refs"] = [MARKINGS[m][0] for m in spec.markings]
    names = [{"org": "org:cert-b", "circle": f"circle:{circle}"}[s] for s in spec.share]
    if names:
        base["extensions"] = {SHARE_EXTENSION: {"extension_type": "property-extension", "share_with": names}}
    return base


class Stock:
    """Fresh collections and circles for each example: made with the hub, and more through ``ribat`` on demand."""

    def __init__(self, hub: LiveHub, owner: str, read: tuple[str, ...] = (), write: tuple[str, ...] = ()) -> None:
        self.hub = hub
        self.owner = owner
        self.read = read
        self.write = write
        self.free: dict[str, list[str]] = {}
        for alias in hub.collections:
            kind = alias.rsplit("-", 1)[0]
            self.free.setdefault(kind, []).append(alias)
        self.circles = [f"ring{k}" for k in range(POOL)]
        self.made = itertools.count()

    def collection(self, kind: str, default: str) -> str:
        """An unused collection of ``kind`` (whose unmarked objects are ``default``): its alias."""
        if self.free.get(kind):
            return self.free[kind].pop()
        alias = f"{kind}-extra{next(self.made)}"
        args = ["collection", "create", alias, "--alias", alias, "--default-tlp", default, "--owner", self.owner]
        for spec in self.read:
            args += ["--read", spec]
        for spec in self.write:
            args += ["--write", spec]
        self.hub.collections[alias] = self.hub.cli(*args).stdout.splitlines()[-1].strip()
        return alias

    def circle(self) -> str:
        """An unused trust circle with the sender's organisation in it."""
        if self.circles:
            return self.circles.pop()
        name = f"ring-extra{next(self.made)}"
        self.hub.cli("circle", "create", name)
        self.hub.cli("circle", "add", name, self.owner)
        return name


@dataclass
class Pair:
    a: Node
    b: Node
    a_stock: Stock
    b_stock: Stock
    b_db: sa.Engine
    names: Iterator[int]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    workdir: Path = tmp_path_factory.mktemp(f"fed-policy-{request.param}")
    identities = {n: f"identity--{uuid.uuid4()}" for n in ("a", "b")}
    orgs = (
        Org("cert-a", "National CERT A", "MA", identity=identities["a"]),
        Org("cert-b", "National CERT B", "TN", identity=identities["b"]),
    )
    sender = Coalition(
        orgs=orgs,
        users=(User("analyst@a.example", "cert-a"), User(PEER_ANALYST, "cert-b")),
        circles={f"ring{k}": ("cert-a",) for k in range(POOL)},
        collections=tuple(
            CollectionSpec(f"src-{d}-{k}", f"Source {d} {k}", default_tlp=d, owner="cert-a", write=WRITE)
            for d in CEILINGS
            for k in range(POOL // 2)
        ),
    )
    # B's receiving collections leave unmarked objects at CLEAR and may be read by every organisation there.
    receiver = Coalition(
        orgs=(*orgs, Org("cert-x", "Another CERT", "SN")),
        users=(User("analyst@b.example", "cert-b"), User("analyst@x.example", "cert-x")),
        collections=tuple(
            CollectionSpec(f"{kind}-{k}", f"{kind} {k}", default_tlp="clear", owner="cert-b", read=("community",))
            for kind in ("pulled", "pushed")
            for k in range(POOL)
        ),
    )
    env = {"RIBAT_FEDERATION_SCHEDULER": "false", "RIBAT_FEDERATION_RETRIES": "1"}
    (workdir / "a").mkdir()
    (workdir / "b").mkdir()
    with (
        start_hub(request.param, sender, workdir / "a", env) as hub_a,
        start_hub(request.param, receiver, workdir / "b", env) as hub_b,
    ):
        engine = sa.create_engine(hub_b.env["RIBAT_DATABASE_URL"])
        try:
            yield Pair(
                Node("a", hub_a, identities),
                Node("b", hub_b, identities),
                Stock(hub_a, "cert-a", write=WRITE),
                Stock(hub_b, "cert-b", ("community",)),
                engine,
                itertools.count(),
            )
        finally:
            engine.dispose()


# The stated case: A's collection leaves unmarked objects GREEN, B's leaves them CLEAR; a GREEN ceiling.
UNMARKED_GREEN = Example(Policy("green", frozenset(), frozenset(), False), "green", (Spec("indicator", (), ()),))
# Every way to mark an object under an AMBER ceiling, for a peer in the circle.
AMBER_TO_A_CIRCLE_MEMBER = Example(
    Policy("amber", frozenset(), frozenset(), True),
    "amber",
    (
        Spec("indicator", ("amber",), ("org",)),
        Spec("malware", ("tlp1-amber",), ("circle",)),
        Spec("indicator", ("amber",), ()),
        Spec("attack-pattern", (), ("org",)),  # unmarked: AMBER by A's default, shared with the peer
        Spec("attack-pattern", (), ()),
        Spec("indicator", ("amber+strict",), ("org",)),
        Spec("indicator", ("red",), ("org", "circle")),
        Spec("malware", ("green", "amber"), ("org",)),  # the most restrictive marking governs
        Spec("malware", ("clear", "amber+strict"), ()),
        Spec("indicator", ("tlp1-white",), ()),
        Spec("indicator", ("clear",), ()),
        Spec("malware", ("amber",), (), by_peer=True),  # AMBER of the peer's own organisation
        Spec("indicator", (), (), by_peer=True),
        Spec("indicator", ("amber+strict",), (), by_peer=True),  # never, even to its author's organisation
    ),
)
# An AMBER ceiling, a peer outside the circle, and a policy that filters types.
AMBER_OUTSIDE_THE_CIRCLE = Example(
    Policy("amber", frozenset({"indicator", "malware"}), frozenset({"malware"}), False),
    "clear",
    (
        Spec("indicator", ("amber",), ("circle",)),
        Spec("indicator", ("amber",), ("org", "circle")),
        Spec("malware", ("clear",), ()),
        Spec("attack-pattern", ("green",), ()),
        Spec("indicator", (), ()),
        Spec("indicator", ("green",), ("circle",)),
    ),
)


def add_peer(node: Node, **body: Any) -> dict[str, Any]:
    with node.admin() as admin:
        response = admin.post("/api/v1/peers", json=body)
    assert response.status_code == 201, response.text
    record: dict[str, Any] = response.json()
    return record


def run(node: Node, peer: str) -> dict[str, Any]:
    with node.admin() as admin:
        response = admin.post(f"/api/v1/peers/{peer}/sync")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    assert result["status"] == "ok" and not result["problems"] and result["error"] is None, result
    return result


def read(hub: LiveHub, alias: str, key: str) -> Counter[str]:
    """The ids of every version the key's holder may read in the collection (each as often as it is served)."""
    with httpx.Client(base_url=hub.base_url, auth=BearerAuth(key), headers={"Accept": TAXII}, timeout=60) as c:
        objects = get_all(c, f"{hub.collection_url(alias)}objects/", {"match[version]": "all"}, limit=50)
    return Counter(o["id"] for o in objects)


def stored(engine: sa.Engine, collection_id: str) -> list[tuple[str, int]]:
    """What B's database holds in a collection: (object id, TLP level) per live version."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT object_id, tlp FROM stix_objects WHERE collection_id = :c AND deleted_us IS NULL"),
            {"c": collection_id},
        ).all()
    return [(r[0], r[1]) for r in rows]


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(drawn=examples)
@example(drawn=UNMARKED_GREEN)
@example(drawn=AMBER_TO_A_CIRCLE_MEMBER)
@example(drawn=AMBER_OUTSIDE_THE_CIRCLE)
def test_objects_cross_exactly_as_the_policy_says(pair: Pair, drawn: Example) -> None:
    a, b = pair.a, pair.b
    n = next(pair.names)
    policy = drawn.policy
    source = pair.a_stock.collection(f"src-{drawn.default}", drawn.default)
    circle = pair.a_stock.circle()
    pulled_into = pair.b_stock.collection("pulled", "clear")
    pushed_into = pair.b_stock.collection("pushed", "clear")

    objects = [stix(spec, i, circle) for i, spec in enumerate(drawn.objects)]
    for by_peer, email in ((False, "analyst@a.example"), (True, PEER_ANALYST)):
        batch = [o for o, s in zip(objects, drawn.objects, strict=True) if s.by_peer is by_peer]
        if batch:
            with a.hub.http(email) as client:
                post_objects(client, a.hub.collection_url(source), batch)
    level = {o["id"]: level_of(s, drawn.default) for o, s in zip(objects, drawn.objects, strict=True)}
    expected = {o["id"] for o, s in zip(objects, drawn.objects, strict=True) if crosses(policy, s, drawn.default)}
    amber = {oid for oid in expected if level[oid] == LEVEL["amber"]}

    # B pulls from A: A's serve record for B holds the policy.
    served = add_peer(
        a,
        name=f"pull{n}",
        url=b.hub.api_root_url,
        direction="serve",
        collections=[source],
        org="cert-b",
        **policy.as_json(circle),
    )
    add_peer(
        b,
        name=f"pull{n}",
        url=a.hub.api_root_url,
        key=served["sync_key"],
        direction="pull",
        collections=[f"{pulled_into}={a.hub.collections[source]}"],
        org="cert-a",
    )
    # A pushes to B: A's push record for B holds the policy.
    accepting = add_peer(
        b, name=f"push{n}", url=a.hub.api_root_url, direction="serve", collections=[pushed_into], org="cert-a"
    )
    add_peer(
        a,
        name=f"push{n}",
        url=b.hub.api_root_url,
        key=accepting["sync_key"],
        direction="push",
        collections=[f"{source}={b.hub.collections[pushed_into]}"],
        org="cert-b",
        **policy.as_json(circle),
    )
    pulled = run(b, f"pull{n}")
    pushed = run(a, f"push{n}")
    assert (pulled["pulled"], pulled["pushed"], pulled["echoes"]) == (len(expected), 0, 0), pulled
    assert (pushed["pushed"], pushed["pulled"], pushed["echoes"]) == (len(expected), 0, 0), pushed

    # A reader of B held to TLP:CLEAR: a peer of B (of another organisation) whose ceiling is CLEAR.
    probe = add_peer(
        b,
        name=f"probe{n}",
        url=a.hub.api_root_url,
        direction="serve",
        collections=[pulled_into, pushed_into],
        org="cert-x",
        max_tlp="clear",
    )
    b_analyst = b.hub.members["analyst@b.example"].key
    x_analyst = b.hub.members["analyst@x.example"].key
    for alias in (pulled_into, pushed_into):
        rows = stored(pair.b_db, b.hub.collections[alias])
        # Exactly what the policy lets cross, once each, at the level A shared it under.
        assert sorted(oid for oid, _ in rows) == sorted(expected), alias
        assert {oid: tlp for oid, tlp in rows} == {oid: level[oid] for oid in expected}, alias
        assert read(b.hub, alias, b_analyst) == Counter(expected), alias
        assert read(b.hub, alias, x_analyst) == Counter(expected - amber), alias
        assert read(b.hub, alias, probe["sync_key"]) == Counter(
            oid for oid in expected if level[oid] == LEVEL["clear"]
        ), alias
