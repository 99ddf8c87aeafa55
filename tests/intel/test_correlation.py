"""Correlation: "what is related to X", from the observable index, under TLP."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from ribat.errors import NotFoundError, ValidationError
from ribat.hub import Hub
from ribat.intel import Grant, Tlp
from ribat.intel.correlation import Relation, plan, relation_of
from ribat.intel.observables import Observable, classify
from ribat.intel.warninglists import Warninglist, WarninglistIndex
from support import World, indicator
from tlp_world import Coalition, build, coalitions, fresh_hub, object_id, oracle

__all__ = ["fresh_hub"]  # a fixture, used by name

RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"


def pattern_indicator(n: int, pattern: str, **extra: Any) -> dict[str, Any]:
    return indicator(n, pattern=pattern, **extra)


def related_ids(hub: Hub, email: str, query: str) -> dict[str, str]:
    answer = hub.intel.related(hub.accounts.principal_for(email), query)
    return {i.object_id: i.relation for i in answer.items}


def oid(n: int) -> str:
    return str(indicator(n)["id"])


# -- the pure planner ------------------------------------------------------------------------


def test_an_address_is_probed_with_every_network_that_could_contain_it() -> None:
    p = plan([Observable("ipv4", "10.1.2.3")])
    assert ("ipv4", "10.1.2.3") in p.exact
    assert ("ipv4", "10.0.0.0/8") in p.exact and ("ipv4", "10.1.2.0/24") in p.exact
    assert not p.ranges  # a single address contains nothing


def test_a_network_is_probed_for_what_it_contains() -> None:
    p = plan([Observable("ipv4", "10.1.0.0/16")])
    assert p.ranges == (("ipv4", "", "0a010000", "0a01ffff"),)
    assert relation_of(p.asked, Observable("ipv4", "10.1.9.9")) is Relation.CONTAINS
    assert relation_of(p.asked, Observable("ipv4", "10.0.0.0/8")) is Relation.WITHIN
    assert relation_of(p.asked, Observable("ipv4", "10.2.0.0/16")) is None


def test_a_url_brings_its_host_and_the_hosts_parent_domains() -> None:
    p = plan([Observable("url", "https://a.evil.example/x")])
    assert ("domain", "a.evil.example") in p.exact and ("domain", "evil.example") in p.exact
    assert ("domain", "example") not in p.exact  # a top-level domain is never asked
    assert relation_of(p.asked, Observable("domain", "evil.example")) is Relation.PARENT_DOMAIN
    assert relation_of(p.asked, Observable("domain", "x.a.evil.example")) is Relation.SUB_DOMAIN


# -- the service on both engines -------------------------------------------------------------


@pytest.fixture
def world(hub: Hub) -> World:
    return World(hub)


def ingest(world: World, email: str, objects: list[dict[str, Any]], collection: str = "shared") -> None:
    status = world.hub.intel.ingest(world.principal(email), collection, {"objects": objects})
    assert status.failure_count == 0, status.failures


def test_same_value_is_found_across_kinds_of_object(world: World) -> None:
    ingest(
        world,
        "alice@a.example",
        [
            pattern_indicator(1, "[ipv4-addr:value = '198.51.100.7']", object_marking_refs=[GREEN]),
            {
                "type": "ipv4-addr",
                "spec_version": "2.1",
                "id": "ipv4-addr--4c5d9d13-4d4e-5b0c-9c4e-2c3d9a1e0b11",
                "value": "198.51.100.7",
                "object_marking_refs": [GREEN],
            },
            pattern_indicator(2, "[ipv4-addr:value = '198.51.100.8']", object_marking_refs=[GREEN]),
        ],
    )
    found = related_ids(world.hub, "bob@b.example", "198.51.100.7")
    assert found == {oid(1): "same", "ipv4-addr--4c5d9d13-4d4e-5b0c-9c4e-2c3d9a1e0b11": "same"}


def test_networks_relate_to_the_addresses_inside_them(world: World) -> None:
    ingest(
        world,
        "alice@a.example",
        [
            pattern_indicator(1, "[ipv4-addr:value = '203.0.113.0/24']", object_marking_refs=[GREEN]),
            pattern_indicator(2, "[ipv4-addr:value = '203.0.113.9']", object_marking_refs=[GREEN]),
            pattern_indicator(3, "[ipv6-addr:value = '2001:db8::/32']", object_marking_refs=[GREEN]),
        ],
    )
    assert related_ids(world.hub, "bob@b.example", "203.0.113.9") == {oid(1): "within", oid(2): "same"}
    assert related_ids(world.hub, "bob@b.example", "203.0.0.0/16") == {oid(1): "contains", oid(2): "contains"}
    assert related_ids(world.hub, "bob@b.example", "2001:DB8::1") == {oid(3): "within"}


def test_domains_relate_to_parents_sub_domains_and_urls_on_them(world: World) -> None:
    ingest(
        world,
        "alice@a.example",
        [
            pattern_indicator(1, "[domain-name:value = 'evil.example']", object_marking_refs=[GREEN]),
            pattern_indicator(2, "[domain-name:value = 'cdn.evil.example']", object_marking_refs=[GREEN]),
            pattern_indicator(3, "[url:value = 'http://CDN.evil.example/payload.bin']", object_marking_refs=[GREEN]),
            pattern_indicator(4, "[domain-name:value = 'notevil.example']", object_marking_refs=[GREEN]),
        ],
    )
    assert related_ids(world.hub, "bob@b.example", "evil.example") == {
        oid(1): "same",
        oid(2): "sub-domain",
        oid(3): "sub-domain",
    }
    assert related_ids(world.hub, "bob@b.example", "cdn.evil.example.") == {
        oid(1): "parent-domain",
        oid(2): "same",
        oid(3): "same",
    }


def test_hashes_and_emails_are_case_folded(world: World) -> None:
    md5 = "D41D8CD98F00B204E9800998ECF8427E"
    ingest(
        world,
        "alice@a.example",
        [
            pattern_indicator(1, f"[file:hashes.MD5 = '{md5}']", object_marking_refs=[GREEN]),
            pattern_indicator(2, "[email-addr:value = 'Phish@Evil.example']", object_marking_refs=[GREEN]),
        ],
    )
    assert related_ids(world.hub, "bob@b.example", md5.lower()) == {oid(1): "same"}
    assert related_ids(world.hub, "bob@b.example", "phish@evil.EXAMPLE") == {oid(2): "same"}


def test_an_object_id_asks_about_its_own_values_and_leaves_itself_out(world: World) -> None:
    ingest(
        world,
        "alice@a.example",
        [
            pattern_indicator(
                1, "[domain-name:value = 'c2.example'] OR [ipv4-addr:value = '192.0.2.1']", object_marking_refs=[GREEN]
            ),
            pattern_indicator(2, "[ipv4-addr:value = '192.0.2.0/24']", object_marking_refs=[GREEN]),
            pattern_indicator(3, "[domain-name:value = 'www.c2.example']", object_marking_refs=[GREEN]),
        ],
    )
    assert related_ids(world.hub, "bob@b.example", oid(1)) == {oid(2): "within", oid(3): "sub-domain"}
    with pytest.raises(NotFoundError):
        world.hub.intel.related(world.principal("bob@b.example"), oid(99))


def test_red_objects_of_others_are_never_related(world: World) -> None:
    ingest(
        world, "alice@a.example", [pattern_indicator(1, "[domain-name:value = 'x.example']", object_marking_refs=[RED])]
    )
    ingest(
        world, "bob@b.example", [pattern_indicator(2, "[domain-name:value = 'x.example']", object_marking_refs=[GREEN])]
    )
    assert related_ids(world.hub, "bob@b.example", "x.example") == {oid(2): "same"}
    assert related_ids(world.hub, "alice@a.example", "x.example") == {oid(1): "same", oid(2): "same"}
    # An object id the viewer may not read is "not found", not "no relations".
    with pytest.raises(NotFoundError):
        world.hub.intel.related(world.principal("bob@b.example"), oid(1))


def test_only_the_newest_readable_version_counts(world: World) -> None:
    old = pattern_indicator(1, "[domain-name:value = 'old.example']", object_marking_refs=[GREEN])
    new = pattern_indicator(
        1, "[domain-name:value = 'new.example']", object_marking_refs=[GREEN], modified="2024-06-01T00:00:00.000Z"
    )
    ingest(world, "alice@a.example", [old, new])
    assert related_ids(world.hub, "bob@b.example", "old.example") == {}
    assert related_ids(world.hub, "bob@b.example", "new.example") == {oid(1): "same"}


def test_deleted_objects_are_not_related(world: World) -> None:
    from ribat.intel import ObjectFilter

    ingest(world, "alice@a.example", [pattern_indicator(1, "[domain-name:value = 'gone.example']")])
    world.hub.intel.delete(world.principal("alice@a.example"), "shared", oid(1), ObjectFilter(versions=("all",)))
    assert related_ids(world.hub, "alice@a.example", "gone.example") == {}


def test_collections_the_viewer_cannot_read_are_left_out(world: World) -> None:
    world.hub.intel.create_collection(
        "a only", alias="a-only", default_tlp=Tlp.CLEAR, grants=[Grant("org", world.org_a.id, True, True)]
    )
    ingest(world, "alice@a.example", [pattern_indicator(1, "[domain-name:value = 'private.example']")], "a-only")
    assert related_ids(world.hub, "alice@a.example", "private.example") == {oid(1): "same"}
    assert related_ids(world.hub, "bob@b.example", "private.example") == {}


def test_an_over_correlating_value_is_counted_not_listed(world: World) -> None:
    world.hub.intel.correlation_cap = 3
    objects = [pattern_indicator(n, "[ipv4-addr:value = '8.8.8.8']", object_marking_refs=[GREEN]) for n in range(1, 6)]
    objects.append(pattern_indicator(9, "[ipv4-addr:value = '8.8.4.4']", object_marking_refs=[GREEN]))
    ingest(world, "alice@a.example", objects)
    answer = world.hub.intel.related(world.principal("bob@b.example"), "8.8.0.0/16")
    assert {i.object_id for i in answer.items} == {oid(9)}
    assert [(o.kind, o.value, o.count) for o in answer.over_correlating] == [("ipv4", "8.8.8.8", 5)]


def test_an_over_correlating_count_counts_only_readable_objects(world: World) -> None:
    world.hub.intel.correlation_cap = 2
    red = [pattern_indicator(n, "[ipv4-addr:value = '1.1.1.1']", object_marking_refs=[RED]) for n in range(1, 5)]
    ingest(world, "alice@a.example", red)
    ingest(world, "bob@b.example", [pattern_indicator(7, "[ipv4-addr:value = '1.1.1.1']")])
    answer = world.hub.intel.related(world.principal("bob@b.example"), "1.1.1.1")
    assert [i.object_id for i in answer.items] == [oid(7)]
    assert answer.over_correlating == []


def test_a_question_that_is_no_observable_is_refused(world: World) -> None:
    with pytest.raises(ValidationError, match="not an IP address"):
        world.hub.intel.related(world.principal("bob@b.example"), "no spaces allowed here")


def test_indicators_hitting_a_warninglist_are_flagged_at_ingest(world: World) -> None:
    lists = [
        Warninglist("Public resolvers", 1, "", "cidr", ("8.8.8.8/32",)),
        Warninglist("Link shorteners", 1, "", "hostname", ("bit.ly",)),
    ]
    world.hub.intel.warninglists = WarninglistIndex(lists)
    ingest(
        world,
        "alice@a.example",
        [
            pattern_indicator(1, "[ipv4-addr:value = '8.8.8.8']"),
            pattern_indicator(2, "[url:value = 'https://bit.ly/abc']"),
            pattern_indicator(3, "[ipv4-addr:value = '192.0.2.55']"),
        ],
    )
    flags = world.hub.intel.warninglist_flags(world.principal("alice@a.example"), [oid(1), oid(2), oid(3)])
    assert flags == {
        oid(1): [("Public resolvers", "8.8.8.8", "8.8.8.8/32")],
        oid(2): [("Link shorteners", "https://bit.ly/abc", "bit.ly")],
    }


def test_classify_names_each_kind_of_value() -> None:
    assert classify("10.0.0.0/8") == Observable("ipv4", "10.0.0.0/8")
    assert classify("https://Evil.example/Path") == Observable("url", "https://evil.example/Path")
    assert classify("a" * 64) == Observable("sha256", "a" * 64)
    assert classify("not a value") is None


# -- the property: nobody learns of an object it cannot read ----------------------------------


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(c=coalitions())
def test_related_items_never_reveal_an_object_the_viewer_cannot_read(fresh_hub, c: Coalition) -> None:  # type: ignore[no-untyped-def]
    hub = fresh_hub()
    build(hub, c)
    for reader in range(len(c.users)):
        principal = hub.accounts.principal_for(f"user{reader}@x.example")
        allowed = {object_id(o.n) for o in c.objects if any(oracle(c, reader, o, v) for v in range(o.versions))}
        for query in ("shared.example", "10.0.0.0/16", *(f"d{o.n}.shared.example" for o in c.objects)):
            hub.intel.correlation_cap = 1000
            answer = hub.intel.related(principal, query)
            found = {i.object_id for i in answer.items}
            if query.startswith("d"):
                n = int(query[1 : query.index(".")])
                assert found == ({object_id(n)} & allowed)
            else:
                assert found == allowed
        # Every object holds common.example: with a cap of one, the value is over-correlating
        # exactly when the reader may read more than one object, and its count is theirs.
        hub.intel.correlation_cap = 1
        capped = hub.intel.related(principal, "common.example")
        if len(allowed) > 1:
            assert [(o.value, o.count) for o in capped.over_correlating] == [("common.example", len(allowed))]
            assert capped.items == []
        else:
            assert capped.over_correlating == []
            assert {i.object_id for i in capped.items} == allowed
        for o in c.objects:
            if object_id(o.n) not in allowed:
                with pytest.raises(NotFoundError):
                    hub.intel.related(principal, object_id(o.n))


def test_the_count_of_a_very_common_value_stops_at_ten_times_the_cap(world: World) -> None:
    world.hub.intel.correlation_cap = 2
    objects = [pattern_indicator(n, "[ipv4-addr:value = '9.9.9.9']", object_marking_refs=[GREEN]) for n in range(1, 31)]
    ingest(world, "alice@a.example", objects)
    [over] = world.hub.intel.related(world.principal("bob@b.example"), "9.9.9.9").over_correlating
    assert (over.count, over.at_least) == (20, True)
    world.hub.intel.correlation_cap = 3
    [over] = world.hub.intel.related(world.principal("bob@b.example"), "9.9.9.9").over_correlating
    assert (over.count, over.at_least) == (30, False)


def test_warninglists_are_loaded_once_on_first_use_not_when_the_hub_opens(world: World) -> None:
    calls: list[int] = []

    def load() -> WarninglistIndex:
        calls.append(1)
        return WarninglistIndex([Warninglist("Test nets", 1, "", "cidr", ("192.0.2.0/24",))])

    intel = world.hub.intel
    intel._load_warninglists = load  # what Hub.open hands over when RIBAT_WARNINGLISTS_DIR is set
    assert calls == []
    ingest(world, "alice@a.example", [pattern_indicator(1, "[ipv4-addr:value = '192.0.2.9']")])
    ingest(world, "alice@a.example", [pattern_indicator(2, "[ipv4-addr:value = '192.0.2.10']")])
    assert calls == [1]
    assert set(intel.warninglist_flags(world.principal("alice@a.example"), [oid(1), oid(2)])) == {oid(1), oid(2)}
