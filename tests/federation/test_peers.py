"""``Federation`` management: adding a peer (each invalid field refused by name, nothing left behind), what adding
sets up (a sync account in the peer's organisation whose key authenticates, the organisation put in trust circles
and granted read and write on the mapped collections, other grants kept), changing and removing a peer, hello, and
administrators only. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from ribat.accounts import Role
from ribat.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from ribat.federation import Direction, Federation
from ribat.federation._tables import peers as peers_table
from ribat.intel import Grant, ObjectFilter, Tlp
from support import World, indicator

from ._support import PEER_ROOT, TLP, add_peer, federation

KEY = "rbt_00000000_the-peers-key"


@pytest.fixture
def fed(world: World) -> Federation:
    return federation(world.hub)


def _admin(world: World) -> Any:
    return world.principal("admin@hub.example")


GOOD: dict[str, Any] = {
    "name": "partner",
    "url": PEER_ROOT,
    "direction": "pull",
    "key": KEY,
    "pairs": [("shared", "remote-shared")],
    "org": "cert-b",
}

INVALID: dict[str, tuple[dict[str, Any], str]] = {
    "name": ({"name": "Bad Name!"}, "name"),
    "empty-name": ({"name": ""}, "name"),
    "name-dash": ({"name": "-starts-with-dash"}, "name"),
    "url-scheme": ({"url": "ftp://peer.test/taxii2/root/"}, "url"),
    "url-no-scheme": ({"url": "peer.test/taxii2/root/"}, "url"),
    "url-empty": ({"url": ""}, "url"),
    "direction": ({"direction": "sideways"}, "direction"),
    "ceiling-amber-strict": ({"max_tlp": "amber+strict"}, "max_tlp"),
    "ceiling-red": ({"max_tlp": Tlp.RED}, "max_tlp"),
    "ceiling-not-a-level": ({"max_tlp": "purple"}, "max_tlp"),
    "pull-without-key": ({"direction": "pull", "key": None}, "key"),
    "push-without-key": ({"direction": "push", "key": ""}, "key"),
    "both-without-key": ({"direction": "both", "key": None}, "key"),
    "pull-no-remote": ({"direction": "pull", "pairs": [("shared", "")]}, "collections"),
    "push-no-remote": ({"direction": "push", "pairs": [("shared", "")]}, "collections"),
    "both-no-remote": ({"direction": "both", "pairs": [("shared", " ")]}, "collections"),
    "remote-id": ({"pairs": [("shared", "not a collection")]}, "collections"),
    "no-pairs": ({"pairs": []}, "collections"),
    "include-types": ({"include_types": ["Indicator!"]}, "include_types"),
    "exclude-types": ({"exclude_types": ["report", "x y"]}, "exclude_types"),
    "interval-short": ({"interval_seconds": 5}, "interval"),
    "interval-long": ({"interval_seconds": 8 * 24 * 3600}, "interval"),
}


def test_an_invalid_peer_is_refused_naming_the_field_and_leaves_nothing_behind(world: World, fed: Federation) -> None:
    users_before = {u.email for u in world.hub.accounts.list_users()}
    for case, (change, field) in INVALID.items():
        try:
            fed.add(**{**GOOD, **change}, by=_admin(world))
        except ValidationError as exc:
            assert exc.field == field, case
        else:
            pytest.fail(f"{case}: accepted")
        assert fed.list() == [], case
        assert {u.email for u in world.hub.accounts.list_users()} == users_before, case
    # Nothing was half-made: the same peer, valid, is added at once.
    peer, _ = fed.add(**GOOD)
    assert peer.name == "partner"


@pytest.mark.parametrize(
    ("change", "kind"),
    [
        pytest.param({"org": "nobody"}, "organisation", id="org"),
        pytest.param({"circles": ["coalition", "no-such-circle"]}, "trust circle", id="circle"),
        pytest.param({"pairs": [("shared", "r1"), ("no-such-collection", "r2")]}, "collection", id="collection"),
    ],
)
def test_a_peer_naming_something_unknown_is_refused_naming_it(
    world: World, fed: Federation, change: dict[str, Any], kind: str
) -> None:
    coalition = world.hub.accounts.create_circle("coalition")
    with pytest.raises(NotFoundError) as caught:
        fed.add(**{**GOOD, **change})
    assert caught.value.kind == kind
    assert fed.list() == []
    assert world.hub.accounts.get_circle(coalition.id).member_org_ids == frozenset()


def test_a_peer_name_is_taken_once(world: World, fed: Federation) -> None:
    fed.add(**GOOD)
    for name in ("partner", " Partner "):
        with pytest.raises(ConflictError) as caught:
            fed.add(**{**GOOD, "name": name, "org": "cert-c"})
        assert (caught.value.kind, caught.value.key) == ("peer", "partner")
    assert [p.name for p in fed.list()] == ["partner"]


def test_adding_a_peer_makes_a_sync_account_whose_key_authenticates_in_the_peers_org(
    world: World, fed: Federation
) -> None:
    acc = world.hub.accounts
    peer, secret = fed.add(
        **{**GOOD, "max_tlp": "amber", "include_types": [" indicator", "malware "]}, by=_admin(world)
    )
    principal = acc.authenticate_key(secret.secret)
    assert principal.user.id == peer.sync_user_id
    assert principal.user.role is Role.SYNC
    assert principal.user.email == "partner@peers.ribat.invalid"
    assert principal.org.id == world.org_b.id == peer.org_id
    assert (peer.direction, peer.url, peer.max_tlp) == (Direction.PULL, PEER_ROOT, Tlp.AMBER)
    assert peer.include_types == ("indicator", "malware") and peer.exclude_types == ()
    assert peer.has_key and peer.remote_hub_id is None and peer.enabled and peer.consecutive_failures == 0
    assert [(p.local_id, p.remote_id) for p in peer.pairs] == [(world.collection.id, "remote-shared")]
    # The key this hub presents to the peer is kept sealed, and opens to what was given.
    assert fed.store.key(peer.id) == KEY
    with world.hub.db.read() as conn:
        sealed = conn.execute(sa.select(peers_table.c.key_cipher).where(peers_table.c.id == peer.id)).scalar_one()
    assert KEY not in sealed
    # The sync account reads the peer's boundary.
    boundary = world.hub.intel.boundary(principal)
    assert boundary is not None and boundary.peer_id == peer.id and boundary.ceiling is Tlp.AMBER
    assert boundary.include_types == frozenset({"indicator", "malware"})


def test_adding_a_peer_puts_its_org_in_the_circles_and_grants_it_the_collections_keeping_other_grants(
    world: World, fed: Federation
) -> None:
    acc, intel = world.hub.accounts, world.hub.intel
    acc.create_circle("coalition")
    other = intel.create_collection(
        "Reports",
        alias="reports",
        default_tlp=Tlp.GREEN,
        grants=[
            Grant("org", world.org_a.id, True, False),
            Grant("circle", world.circle.id, True, True),
            Grant("org", world.org_b.id, True, False),  # read only until it is a peer
        ],
    )
    before_shared = set(intel._collection("shared").grants)
    fed.add(**{**GOOD, "circles": ["coalition", world.circle.id], "pairs": [("shared", "r1"), ("reports", "r2")]})
    assert world.org_b.id in acc.get_circle("coalition").member_org_ids
    assert world.org_b.id in acc.get_circle("wg").member_org_ids
    peer_grant = Grant("org", world.org_b.id, True, True)
    assert set(intel._collection("shared").grants) == before_shared | {peer_grant}
    assert set(intel._collection(other.id).grants) == {
        Grant("org", world.org_a.id, True, False),
        Grant("circle", world.circle.id, True, True),
        peer_grant,
    }
    # A collection not mapped is left alone.
    untouched = intel.create_collection("Private", alias="private", grants=[Grant("org", world.org_a.id, True, True)])
    assert intel._collection(untouched.id).grants == (Grant("org", world.org_a.id, True, True),)


def test_the_sync_account_may_write_to_a_mapped_collection(world: World, fed: Federation) -> None:
    intel = world.hub.intel
    private = intel.create_collection("Private", alias="private", grants=[Grant("org", world.org_a.id, True, True)])
    _, _, principal = add_peer(world, fed=fed, pairs=[("private", "")])
    status = intel.ingest(principal, "private", {"objects": [indicator(1)]})
    assert (status.success_count, status.failure_count) == (1, 0)
    assert intel.count(private.id) == 1


def test_update_replaces_the_key_only_when_one_is_given(world: World, fed: Federation) -> None:
    peer, _ = fed.add(**GOOD)
    changed = fed.update("partner", url="https://peer.example/taxii2/root", interval_seconds=60, by=_admin(world))
    assert changed.url == "https://peer.example/taxii2/root/" and changed.interval_seconds == 60
    assert fed.store.key(peer.id) == KEY and changed.has_key
    fed.update(peer.id, key="rbt_11111111_a-new-key")
    assert fed.store.key(peer.id) == "rbt_11111111_a-new-key"
    fed.update(peer.id, max_tlp="clear", exclude_types=["report"], enabled=False)
    found = fed.get("partner")
    assert (found.max_tlp, found.exclude_types, found.enabled) == (Tlp.CLEAR, ("report",), False)
    assert fed.store.key(peer.id) == "rbt_11111111_a-new-key"
    with pytest.raises(ValidationError) as caught:
        fed.update(peer.id, max_tlp="red")
    assert caught.value.field == "max_tlp"


def test_a_served_peer_starting_a_direction_needs_a_key_and_a_remote_collection(world: World, fed: Federation) -> None:
    peer, _ = fed.add(**{**GOOD, "direction": "serve", "key": None, "pairs": [("shared", "")]})
    assert not peer.has_key
    with pytest.raises(ValidationError) as caught:
        fed.update("partner", direction="pull", pairs=[("shared", "remote-shared")])
    assert caught.value.field == "key"
    with pytest.raises(ValidationError) as caught:
        fed.update("partner", direction="pull", key=KEY)  # its pair names no collection on the peer
    assert caught.value.field == "collections"
    assert fed.get("partner").direction is Direction.SERVE and not fed.get("partner").has_key
    changed = fed.update("partner", direction="both", key=KEY, pairs=[("shared", "remote-shared")])
    assert changed.direction is Direction.BOTH and changed.has_key
    assert fed.update("partner", direction="serve").direction is Direction.SERVE


def test_changing_the_pairs_grants_the_new_collections(world: World, fed: Federation) -> None:
    intel = world.hub.intel
    fed.add(**GOOD)
    reports = intel.create_collection("Reports", alias="reports", grants=[Grant("org", world.org_a.id, True, True)])
    changed = fed.update("partner", pairs=[("reports", "remote-reports")])
    assert [(p.local_id, p.remote_id) for p in changed.pairs] == [(reports.id, "remote-reports")]
    assert set(intel._collection(reports.id).grants) == {
        Grant("org", world.org_a.id, True, True),
        Grant("org", world.org_b.id, True, True),
    }


def test_removing_a_peer_switches_its_sync_account_off_and_keeps_what_it_synced(world: World, fed: Federation) -> None:
    acc, intel = world.hub.accounts, world.hub.intel
    peer, secret, principal = add_peer(world, fed=fed)
    assert intel.ingest(principal, "shared", {"objects": [indicator(7, tlp_ref=TLP["green"])]}).success_count == 1
    fed.store.save_cursor(peer.id, peer.pairs[0], "pull-objects", "2024-01-01T00:00:00Z", 1)
    removed = fed.remove("partner", by=_admin(world))
    assert removed.id == peer.id
    with pytest.raises(AuthenticationError, match="disabled"):
        acc.authenticate_key(secret.secret)
    assert not acc.get_user(principal.user.id).is_active
    with pytest.raises(NotFoundError):
        fed.get("partner")
    assert fed.list() == [] and fed.store.cursors(peer.id) == {}
    kept = intel.objects(_admin(world), "shared", ObjectFilter())
    assert [b for b in kept.bodies if indicator(7)["id"] in b]
    assert intel.count("shared") == 1


NON_ADMIN = ["alice@a.example", "anna@a.example", "sync"]


@pytest.mark.parametrize("who", NON_ADMIN)
def test_only_administrators_manage_peers(world: World, fed: Federation, who: str) -> None:
    peer, _, sync = add_peer(world, fed=fed, name="existing")
    principal = sync if who == "sync" else world.principal(who)
    calls = {
        "add": lambda: fed.add(**GOOD, by=principal),
        "update": lambda: fed.update("existing", max_tlp="clear", by=principal),
        "remove": lambda: fed.remove("existing", by=principal),
        "get": lambda: fed.get("existing", by=principal),
        "list": lambda: fed.list(by=principal),
        "statuses": lambda: fed.statuses(by=principal),
        "status": lambda: fed.status("existing", by=principal),
        "runs": lambda: fed.runs("existing", by=principal),
        "cursors": lambda: fed.cursors("existing", by=principal),
        "run": lambda: fed.run("existing", by=principal),
    }
    for name, call in calls.items():
        with pytest.raises(PermissionDeniedError):
            call()
        assert [p.name for p in fed.list()] == ["existing"], name
    assert fed.get("existing").max_tlp is Tlp.GREEN
    assert world.hub.accounts.get_user(peer.sync_user_id or "").is_active
    # An administrator may.
    assert fed.get("existing", by=_admin(world)).id == peer.id
    assert [s.peer.name for s in fed.statuses(by=_admin(world))] == ["existing"]


# -- hello ---------------------------------------------------------------------------------------------


def test_hello_is_for_peer_sync_accounts_only(world: World, fed: Federation) -> None:
    add_peer(world, fed=fed)
    for email in ("alice@a.example", "admin@hub.example"):
        with pytest.raises(PermissionDeniedError):
            fed.hello(world.principal(email), "hub-there")
    assert fed.get("partner").remote_hub_id is None


@pytest.mark.parametrize("hub_id", ["", "  ", "a,b", "h" * 65])
def test_hello_with_something_that_is_not_a_hub_id_is_refused(world: World, fed: Federation, hub_id: str) -> None:
    _, _, sync = add_peer(world, fed=fed)
    with pytest.raises(ValidationError) as caught:
        fed.hello(sync, hub_id)
    assert caught.value.field == "hub_id"
    assert fed.get("partner").remote_hub_id is None


def test_hello_with_this_hubs_own_id_is_refused(world: World, fed: Federation) -> None:
    _, _, sync = add_peer(world, fed=fed)
    with pytest.raises(ValidationError) as caught:
        fed.hello(sync, world.hub.intel.hub_id)
    assert caught.value.field == "hub_id" and "own id" in caught.value.reason
    assert fed.get("partner").remote_hub_id is None


def test_hello_records_the_peers_hub_id_and_answers_this_ones(world: World, fed: Federation) -> None:
    peer, _, sync = add_peer(world, fed=fed)
    boundary = world.hub.intel.boundary(sync)
    assert boundary is not None and boundary.hubs == frozenset()
    assert fed.hello(sync, " hub-there ") == {"hub_id": world.hub.intel.hub_id}
    assert fed.get(peer.id).remote_hub_id == "hub-there"
    # From now on nothing that passed through that hub is sent back to it.
    boundary = world.hub.intel.boundary(sync)
    assert boundary is not None and boundary.hubs == frozenset({"hub-there"})
    fed.hello(sync, "hub-renamed")
    assert fed.get(peer.id).remote_hub_id == "hub-renamed"


def test_hello_from_a_sync_account_no_peer_names_answers_without_recording(world: World, fed: Federation) -> None:
    add_peer(world, fed=fed)
    stray = world.hub.accounts.create_user("stray@peers.example", world.org_c.id, Role.SYNC)
    principal = world.hub.accounts.principal_for(stray.id)
    assert fed.hello(principal, "hub-stray") == {"hub_id": world.hub.intel.hub_id}
    assert [p.remote_hub_id for p in fed.list()] == [None]


def test_a_removed_peers_name_may_be_used_again_and_its_old_key_stays_off(world: World, fed: Federation) -> None:
    acc = world.hub.accounts
    old, old_key, _ = add_peer(world, fed=fed)
    fed.remove("partner")
    new, new_key, principal = add_peer(world, fed=fed, org="cert-c")
    assert new.id != old.id and new.sync_user_id != old.sync_user_id
    assert principal.user.role is Role.SYNC and principal.org.id == world.org_c.id
    assert principal.user.email.endswith("@peers.ribat.invalid")
    with pytest.raises(AuthenticationError):
        acc.authenticate_key(old_key.secret)
    assert acc.authenticate_key(new_key.secret).user.id == new.sync_user_id
