"""Two hubs in one process, each with its own database (the first on SQLite or PostgreSQL, the second on SQLite),
the pages one serves to a peer's sync account stored by the other's ``Intel.ingest``: authors and recipients found by
STIX identity on the receiving side, nothing sent back where it came from, echoes refused when they are, and a
deletion at the origin applied to the copy. No HTTP: the engine and the wire are other tests' business."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ribat.accounts import OrgKind, Principal, Role
from ribat.config import Settings
from ribat.federation import Federation
from ribat.hub import Hub
from ribat.intel import SHARE_EXTENSION, Grant, ObjectFilter, Tlp
from ribat.intel.carried import PROVENANCE_EXTENSION
from ribat.intel.service import ECHO
from support import World, indicator

from ._support import TLP, federation, stored_rows


@dataclass
class Other:
    """Hub B: its operator CERT X, an analyst there, an inbox collection, and CERT A (hub A's analysts' organisation)
    known by the same STIX identity."""

    hub: Hub
    org_x: Any
    cert_a: Any
    analyst: Principal
    fed: Federation


@pytest.fixture
def other(world: World, sqlite_template: Path, tmp_path: Path) -> Iterator[Other]:
    path = tmp_path / "other.db"
    shutil.copyfile(sqlite_template, path)
    hub = Hub.open(Settings(database_url=f"sqlite:///{path}", secret_key="other-hub-secret-key-not-for-production"))
    acc = hub.accounts
    org_x = acc.create_org("CERT X", "cert-x", "TN", OrgKind.NATIONAL_CERT)
    cert_a = acc.create_org("CERT A", "cert-a-there", "MY", OrgKind.NATIONAL_CERT, identity_id=world.org_a.identity_id)
    analyst = acc.create_user("analyst@x.example", org_x.id, Role.ANALYST)
    hub.intel.create_collection(
        "Inbox", alias="inbox", default_tlp=Tlp.AMBER, grants=[Grant("org", org_x.id, True, True)]
    )
    try:
        yield Other(hub, org_x, cert_a, acc.principal_for(analyst.id), federation(hub))
    finally:
        hub.close()


def _bodies(hub: Hub, principal: Principal, collection: str) -> list[dict[str, Any]]:
    page = hub.intel.objects(principal, collection, ObjectFilter(versions=("all",)))
    return [json.loads(b) for b in page.bodies]


def test_what_one_hub_serves_another_stores_under_the_same_authors_and_recipients(world: World, other: Other) -> None:
    a, b = world.hub, other.hub
    # On A, hub B stands as CERT X (the same identity) with an AMBER ceiling; on B, hub A stands as CERT A.
    x_on_a = a.accounts.create_org("CERT X", "cert-x", "TN", OrgKind.NATIONAL_CERT, identity_id=other.org_x.identity_id)
    fed_a = federation(a)
    _, key_b = fed_a.add(
        "b", "http://b.test/taxii2/root/", direction="serve", pairs=[("shared", "")], org=x_on_a.id, max_tlp="amber"
    )
    sync_b = a.accounts.authenticate_key(key_b.secret)
    _, key_a = other.fed.add(
        "a", "http://a.test/taxii2/root/", direction="serve", pairs=[("inbox", "")], org="cert-a-there"
    )
    sync_a = b.accounts.authenticate_key(key_a.secret)
    assert fed_a.hello(sync_b, b.intel.hub_id) == {"hub_id": a.intel.hub_id}
    assert other.fed.hello(sync_a, a.intel.hub_id) == {"hub_id": b.intel.hub_id}

    green = indicator(1, tlp_ref=TLP["green"])
    for_x = indicator(2, tlp_ref=TLP["amber"])
    for_x["extensions"] = {SHARE_EXTENSION: {"extension_type": "property-extension", "share_with": ["org:cert-x"]}}
    for_c = indicator(3, tlp_ref=TLP["amber"])
    for_c["extensions"] = {SHARE_EXTENSION: {"extension_type": "property-extension", "share_with": ["org:cert-c"]}}
    alice = world.principal("alice@a.example")
    assert a.intel.ingest(alice, "shared", {"objects": [green, for_x, for_c]}).success_count == 3

    served = _bodies(a, sync_b, "shared")
    assert {o["id"] for o in served} == {green["id"], for_x["id"]}  # AMBER for CERT C only stays
    status = b.intel.ingest(sync_a, "inbox", {"objects": served})
    assert (status.success_count, status.failure_count) == (2, 0)

    peer_a = other.fed.get("a")
    for obj, tlp in ((green, Tlp.GREEN), (for_x, Tlp.AMBER)):
        (row,) = stored_rows(b, obj["id"])
        assert row.author_org_id == other.cert_a.id  # found by identity, not registered again
        assert (row.origin_hub, row.hops, row.via_peer_id) == (a.intel.hub_id, f",{a.intel.hub_id},", peer_a.id)
        assert row.tlp == int(tlp)
    (x_row,) = stored_rows(b, for_x["id"])
    assert b.intel.store.recipients([x_row.pk]) == {x_row.pk: (("org", other.org_x.id),)}
    # CERT X's analyst reads both, as their author wrote them.
    readable = {o["id"]: o for o in _bodies(b, other.analyst, "inbox")}
    assert set(readable) == {green["id"], for_x["id"]}
    assert "extensions" not in readable[for_x["id"]] and readable[green["id"]] == green
    assert len(b.accounts.list_orgs()) == 2

    # Nothing goes back to A: not to its sync account, and a third hub's copy sent on to A is an echo there.
    assert _bodies(b, sync_a, "inbox") == []
    # A third peer of B, trusted with AMBER and standing for CERT X, gets both, with B added to the hops.
    _, key_c = other.fed.add(
        "c", "http://c.test/taxii2/root/", direction="serve", pairs=[("inbox", "")], org="cert-x", max_tlp="amber"
    )
    onward = _bodies(b, b.accounts.authenticate_key(key_c.secret), "inbox")
    assert {o["id"] for o in onward} == {green["id"], for_x["id"]}
    assert all(o["extensions"][PROVENANCE_EXTENSION]["hops"] == [a.intel.hub_id, b.intel.hub_id] for o in onward)
    back = a.intel.ingest(sync_b, "shared", {"objects": onward})
    assert sorted(d.message or "" for d in back.successes) == [ECHO, ECHO]
    assert a.intel.count("shared") == 3

    # A deletion at the origin deletes the copy.
    assert a.intel.delete(alice, "shared", green["id"], ObjectFilter()) == 1
    items, position, more = a.intel.tombstones(sync_b, "shared")
    assert [i["id"] for i in items] == [green["id"]] and position is not None and not more
    assert b.intel.receive_tombstones(sync_a, "inbox", items) == (1, [])
    assert {o["id"] for o in _bodies(b, other.analyst, "inbox")} == {for_x["id"]}
