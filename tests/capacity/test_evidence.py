"""Evidence from the platform: the intel read behind it (on SQLite and PostgreSQL) and the metric texts.

The hub scenario below is small enough to count by hand; every expected figure is worked out in the comments.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from typing import Any

import pytest

from ribat.accounts import Organisation, OrgKind, Role
from ribat.capacity.evidence import METRIC_IDS, METRICS, MetricValue, Window, measure, window_for
from ribat.capacity.types import LANGUAGES
from ribat.clock import format_us, parse_timestamp_us
from ribat.errors import NotFoundError, ValidationError
from ribat.hub import Hub
from ribat.intel import SHARE_EXTENSION, Grant, Intel, ObjectFilter, SharingActivity, Viewer
from ribat.intel.store import SightingReader
from ribat.intel.tlp import read_rule

CLEAR = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
AMBER_STRICT = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"

H = 3_600_000_000  # an hour in microseconds
D = 24 * H
T0 = parse_timestamp_us("2025-01-01T00:00:00Z")
START, END = T0 + 10 * D, T0 + 20 * D
ARABIC = re.compile(r"[\u0600-\u06FF]")


def sid(kind: str, n: int) -> str:
    return f"{kind}--{uuid.UUID(int=n, version=4)}"


def base(kind: str, n: int, tlp: str, modified: str = "2024-12-01T00:00:00.000Z") -> dict[str, Any]:
    return {
        "type": kind,
        "spec_version": "2.1",
        "id": sid(kind, n),
        "created": "2024-12-01T00:00:00.000Z",
        "modified": modified,
        "object_marking_refs": [tlp],
    }


def shared_with(obj: dict[str, Any], *names: str) -> dict[str, Any]:
    obj["extensions"] = {SHARE_EXTENSION: {"extension_type": "property-extension", "share_with": list(names)}}
    return obj


def ind(n: int, valid_from: int, tlp: str = GREEN, modified: str = "2024-12-01T00:00:00.000Z") -> dict[str, Any]:
    return {
        **base("indicator", n, tlp, modified),
        "pattern": f"[ipv4-addr:value = '10.0.0.{n}']",
        "pattern_type": "stix",
        "valid_from": format_us(valid_from),
    }


def sighting(n: int, of: str, tlp: str, first_seen: int | None = None) -> dict[str, Any]:
    obj = {**base("sighting", n, tlp), "sighting_of_ref": of}
    if first_seen is not None:
        obj["first_seen"] = format_us(first_seen)
    return obj


def observed(n: int, first_observed: int) -> dict[str, Any]:
    return {
        **base("observed-data", n, GREEN),
        "first_observed": format_us(first_observed),
        "last_observed": format_us(first_observed + H),
        "number_observed": 1,
        "object_refs": ["ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd"],
    }


class Clock:
    def __init__(self) -> None:
        self.at = T0

    def __call__(self) -> int:
        return self.at


@dataclass
class Scenario:
    intel: Intel
    clock: Clock
    a1: Organisation
    a2: Organisation
    b: Organisation
    c: Organisation
    idle: Organisation


def build(hub: Hub) -> Scenario:
    """Country A has two teams (A1, A2), country B one (B); C is a third organisation; ``idle`` shares nothing.

    Everything is added to the community collection ``shared`` unless said otherwise; ``a-only`` is readable by
    A1 alone and ``c-private`` by C alone. The window is [day 10, day 20).
    """
    acc = hub.accounts
    clock = Clock()
    intel = Intel(hub.intel.store, acc, hub.intel.tokens, now=clock)
    a1 = acc.create_org("CERT A1", "cert-a1", "MY", OrgKind.NATIONAL_CERT)
    a2 = acc.create_org("CERT A2", "cert-a2", "MY", OrgKind.SECTOR_CERT)
    b = acc.create_org("CERT B", "cert-b", "OM", OrgKind.NATIONAL_CERT)
    c = acc.create_org("CERT C", "cert-c", "NG", OrgKind.NATIONAL_CERT)
    idle = acc.create_org("CERT D", "cert-d", "SN", OrgKind.NATIONAL_CERT)
    acc.create_circle("wg")
    acc.add_to_circle("wg", ["cert-a1", "cert-c"])
    acc.create_user("alice@a1.example", a1.id, Role.ANALYST)
    acc.create_user("anwar@a2.example", a2.id, Role.ANALYST)
    acc.create_user("sync@a1.example", a1.id, Role.SYNC)
    acc.create_user("sync@a2.example", a2.id, Role.SYNC)  # writes nothing
    acc.create_user("bob@b.example", b.id, Role.ANALYST)
    acc.create_user("sync@b.example", b.id, Role.SYNC)
    acc.create_user("carol@c.example", c.id, Role.ANALYST)
    intel.create_collection("shared", alias="shared", grants=[Grant("community", "", True, True)])
    intel.create_collection("a-only", alias="a-only", owner_org_id=a1.id)
    intel.create_collection("c-private", alias="c-private", owner_org_id=c.id)

    def post(day: float, email: str, obj: dict[str, Any], collection: str = "shared") -> None:
        clock.at = T0 + round(day * D)
        status = intel.ingest(acc.principal_for(email), collection, {"objects": [obj]})
        assert status.failure_count == 0, status.failures
        assert status.successes[0].message is None, status.successes

    def delete(day: float, email: str, object_id: str) -> None:
        clock.at = T0 + round(day * D)
        assert intel.delete(acc.principal_for(email), "shared", object_id, ObjectFilter()) >= 1

    def at(day: float) -> int:
        return T0 + round(day * D)

    i1, i2, i3, i4, i5, i6 = (sid("indicator", n) for n in range(1, 7))
    i7, i8, i9, i10, ib1, ib2 = (sid("indicator", n) for n in (7, 8, 9, 10, 21, 22))
    hour = 1 / 24

    post(5, "alice@a1.example", ind(1, at(4)))  # before the window
    post(10, "alice@a1.example", ind(1, at(4), modified="2024-12-02T00:00:00.000Z"))  # at the start: in
    post(12, "alice@a1.example", ind(2, at(12) - 6 * H))  # 6 h
    post(12 + hour, "alice@a1.example", ind(3, at(12 + hour) - 30 * H, AMBER))  # 30 h
    post(12 + 2 * hour, "bob@b.example", ind(21, at(12 + 2 * hour) - 1 * H))  # B: 1 h
    post(13, "anwar@a2.example", ind(4, at(13) + 5 * H))  # valid from later than shared: not measured
    post(13 + hour, "anwar@a2.example", sighting(31, ib1, GREEN, at(13 + hour) - 2 * H))  # 2 h
    post(14, "alice@a1.example", observed(41, at(14) - 10 * H))  # 10 h
    post(
        14 + hour,
        "alice@a1.example",
        {**base("report", 51, GREEN), "name": "r", "published": "2025-01-15T00:00:00Z", "object_refs": [i2]},
    )
    post(14 + 2 * hour, "alice@a1.example", {**base("malware", 61, AMBER_STRICT), "name": "m1", "is_family": False})
    post(15, "alice@a1.example", ind(6, at(15) - 1 * H))  # deleted below
    post(15 + hour, "alice@a1.example", ind(5, at(15 + hour) - 100 * H))  # 100 h
    delete(16, "alice@a1.example", i6)
    post(16 + hour / 2, "sync@a1.example", ind(7, at(16 + hour / 2) - 50 * H))  # 50 h, federated
    post(16 + hour, "sync@a1.example", {**base("malware", 62, GREEN), "name": "m2", "is_family": False})
    post(16 + 2 * hour, "sync@b.example", ind(22, at(16 + 2 * hour) - 4 * H))  # B: 4 h, federated
    post(17, "anwar@a2.example", ind(8, at(17) - 3 * H))  # 3 h
    post(17 + hour, "alice@a1.example", ind(2, at(12) - 6 * H), "a-only")  # i2 again, in another collection
    post(17 + 2 * hour, "alice@a1.example", ind(3, at(12 + hour) - 30 * H, AMBER, "2024-12-03T00:00:00.000Z"))
    post(17 + 3 * hour, "anwar@a2.example", observed(42, at(17 + 3 * hour) - 20 * H))  # 20 h
    post(17 + 4 * hour, "alice@a1.example", ind(10, at(17 + 4 * hour) - 1 * H))  # 1 h
    post(17 + 5 * hour, "alice@a1.example", sighting(32, ib1, GREEN, at(17 + 5 * hour) - 200 * H))  # 200 h

    # Sightings of A's indicators by others.
    red = shared_with(sighting(71, i2, RED), "user:alice@a1.example")
    post(18, "carol@c.example", red)  # RED, even named to an A1 analyst: never counts
    post(18 + hour, "carol@c.example", sighting(72, i3, GREEN))  # counts: i3
    post(18 + 2 * hour, "bob@b.example", shared_with(sighting(73, i4, AMBER), "org:cert-a2"))  # counts: i4 (A2's)
    post(18 + 3 * hour, "bob@b.example", sighting(74, i2, AMBER))  # AMBER, nobody named: B only
    post(18 + 4 * hour, "carol@c.example", sighting(75, i7, GREEN), "c-private")  # a collection A cannot read
    post(18 + 5 * hour, "carol@c.example", shared_with(sighting(76, i1, AMBER), "circle:wg"))  # counts: i1 (A1's)
    post(18 + 6 * hour, "carol@c.example", sighting(77, i5, GREEN))  # deleted below
    post(18 + 7 * hour, "bob@b.example", shared_with(sighting(78, i8, AMBER), "org:cert-a1"))  # i8 is A2's
    post(18 + 8 * hour, "carol@c.example", sighting(79, i2, AMBER_STRICT))
    clock.at = at(19)
    assert intel.delete(acc.principal_for("carol@c.example"), "shared", sid("sighting", 77), ObjectFilter()) == 1

    post(20, "sync@a1.example", {**base("malware", 63, GREEN), "name": "m3", "is_family": False})  # at the end: out
    post(21, "carol@c.example", sighting(80, i2, CLEAR))  # after the window
    post(25, "alice@a1.example", ind(9, at(25) - H))  # after the window
    assert (i9, i10, ib2) == (sid("indicator", 9), sid("indicator", 10), sid("indicator", 22))
    return Scenario(intel, clock, a1, a2, b, c, idle)


@pytest.fixture
def scenario(hub: Hub) -> Scenario:
    return build(hub)


# -- the intel read, on both engines --------------------------------------------------------------


def test_country_activity_is_counted_by_kind_and_distinct_object(scenario: Scenario) -> None:
    activity = scenario.intel.sharing_activity([scenario.a1.id, scenario.a2.id], START, END)
    # Versions of A1 and A2 added in [day 10, day 20), not deleted, one per (object, version):
    #   indicators i1 v2 (at the start), i2 (twice stored, once counted), i3 v1 and v2, i4, i5, i7 (sync), i8, i10;
    #   i6 was deleted; i9 comes after the window.
    # sightings 31 and 32; report 51; observed-data 41 and 42; other: malware 61 and 62 (63 is at the end: out).
    assert (activity.indicators, activity.sightings, activity.reports, activity.observed_data, activity.other) == (
        9,
        2,
        1,
        2,
        2,
    )
    assert activity.versions == 16
    assert activity.objects == 15  # i3's two versions are one object
    assert activity.org_ids == tuple(sorted([scenario.a1.id, scenario.a2.id]))
    assert (activity.start_us, activity.end_us) == (START, END)


def test_timeliness_is_measured_on_objects_first_shared_in_the_window(scenario: Scenario) -> None:
    activity = scenario.intel.sharing_activity([scenario.a1.id, scenario.a2.id], START, END)
    # Measured (hours): i10 1, sighting 31 2, i8 3, i2 6, od41 10, od42 20, i3 30 (its first version), i7 50,
    # i5 100, sighting 32 200. i1 was first shared before the window; i4 says it is valid from later than
    # it was shared; malware and reports state no first-seen time; i6 is deleted.
    assert activity.timeliness_measured == 10
    assert activity.timeliness_median_hours == pytest.approx(15.0)  # (10 + 20) / 2
    assert activity.timeliness_p90_hours == pytest.approx(100.0)  # nearest rank: the 9th of 10


def test_sighting_feedback_counts_only_what_the_authoring_organisation_may_read(scenario: Scenario) -> None:
    activity = scenario.intel.sharing_activity([scenario.a1.id, scenario.a2.id], START, END)
    # Indicators in the window: i1, i2, i3, i4, i5, i7, i8, i10.
    # Sighted, readable by the indicator's own author: i3 (GREEN, by C), i4 (AMBER naming A2, its author),
    # i1 (AMBER naming circle wg, A1's circle).
    # Not counted: i2 (RED even though it names an A1 analyst; AMBER naming nobody; AMBER+STRICT; the CLEAR one
    # came after the window), i5 (its sighting was deleted), i7 (a collection A1 cannot read), i8 (AMBER naming
    # A1, but i8 is A2's).
    assert activity.indicator_objects == 8
    assert activity.sighted_indicators == 3
    assert activity.sighted_share == pytest.approx(3 / 8)


def test_a_red_sighting_never_shows_through_the_count(scenario: Scenario, hub: Hub) -> None:
    i10 = sid("indicator", 10)  # A1's, sighted by nobody yet
    window = (START, T0 + 30 * D)
    before = scenario.intel.sharing_activity([scenario.a1.id], *window).sighted_indicators
    hub.accounts.create_user("dave@c.example", scenario.c.id, Role.ANALYST)
    dave = hub.accounts.principal_for("dave@c.example")
    scenario.clock.at = T0 + 26 * D
    red = shared_with(sighting(90, i10, RED), "user:alice@a1.example")
    assert scenario.intel.ingest(dave, "shared", {"objects": [red]}).failure_count == 0
    assert scenario.intel.sharing_activity([scenario.a1.id], *window).sighted_indicators == before
    scenario.clock.at = T0 + 27 * D
    assert scenario.intel.ingest(dave, "shared", {"objects": [sighting(91, i10, GREEN)]}).failure_count == 0
    assert scenario.intel.sharing_activity([scenario.a1.id], *window).sighted_indicators == before + 1


def test_federation_counts_writes_of_the_organisations_sync_accounts(scenario: Scenario) -> None:
    activity = scenario.intel.sharing_activity([scenario.a1.id, scenario.a2.id], START, END)
    # A1's sync account wrote i7 and malware 62 in the window (malware 63 at the end is out); A2's wrote nothing.
    assert (activity.federated_objects, activity.federation_users) == (2, 1)


def test_another_country_is_counted_apart(scenario: Scenario) -> None:
    activity = scenario.intel.sharing_activity([scenario.b.id], START, END)
    # B: indicators 21 and 22 (by its sync account), sightings 73, 74 and 78.
    assert (activity.indicators, activity.sightings, activity.versions, activity.objects) == (2, 3, 5, 5)
    # 21 took 1 h, 22 took 4 h; B's sightings state no first-seen time.
    assert activity.timeliness_measured == 2
    assert activity.timeliness_median_hours == pytest.approx(2.5)
    assert activity.timeliness_p90_hours == pytest.approx(4.0)
    # 21 is named by the GREEN sightings 31 (A2) and 32 (A1); 22 by none.
    assert (activity.indicator_objects, activity.sighted_indicators) == (2, 1)
    assert (activity.federated_objects, activity.federation_users) == (1, 1)


def test_the_window_bounds_decide_what_counts(scenario: Scenario) -> None:
    # [day 10, day 15): i1 v2 (at the start), i2, i3 v1, i4, sighting 31, od41, report, malware 61, i6 was deleted;
    # i5 (day 15 + 1 h) is out.
    early = scenario.intel.sharing_activity([scenario.a1.id, scenario.a2.id], START, T0 + 15 * D)
    assert (early.indicators, early.sightings, early.reports, early.observed_data, early.other) == (4, 1, 1, 1, 1)
    assert (early.federated_objects, early.federation_users) == (0, 0)
    # The window ending at day 20 leaves out the sync write at exactly day 20; one that includes it counts it.
    late = scenario.intel.sharing_activity([scenario.a1.id], START, T0 + 20 * D + 1)
    assert late.federated_objects == 3


def test_an_organisation_that_shared_nothing_has_nothing_to_measure(scenario: Scenario) -> None:
    activity = scenario.intel.sharing_activity([scenario.idle.id], START, END)
    assert activity.versions == activity.objects == 0
    assert activity.timeliness_measured == 0
    assert activity.timeliness_median_hours is None and activity.timeliness_p90_hours is None
    assert activity.indicator_objects == 0 and activity.sighted_share is None
    assert (activity.federated_objects, activity.federation_users) == (0, 0)


def test_bad_requests_are_refused(scenario: Scenario) -> None:
    with pytest.raises(ValidationError):
        scenario.intel.sharing_activity([], START, END)
    with pytest.raises(ValidationError):
        scenario.intel.sharing_activity([scenario.a1.id], END, START)
    with pytest.raises(NotFoundError):
        scenario.intel.sharing_activity([scenario.a1.id, "no-such-org"], START, END)


def test_the_store_gives_the_same_figures_one_row_per_page(scenario: Scenario) -> None:
    intel = scenario.intel
    orgs = sorted([scenario.a1.id, scenario.a2.id])
    wg = {c.name: c.id for c in intel.accounts.list_circles()}["wg"]
    shared = intel.store.collection("shared")
    a_only = intel.store.collection("a-only")
    assert shared is not None and a_only is not None
    readers = [
        SightingReader(
            scenario.a1.id, read_rule(Viewer(None, scenario.a1.id, frozenset({wg}))), (shared.id, a_only.id)
        ),
        SightingReader(scenario.a2.id, read_rule(Viewer(None, scenario.a2.id)), (shared.id,)),
    ]
    sync = [u.id for u in intel.accounts.list_users() if u.role is Role.SYNC and u.org_id in orgs]
    big = intel.store.sharing_tally(orgs, START, END, sync_user_ids=sync, readers=readers)
    small = intel.store.sharing_tally(orgs, START, END, sync_user_ids=sync, readers=readers, page_size=1)
    assert (
        big.versions_by_type
        == small.versions_by_type
        == {
            "indicator": 9,
            "sighting": 2,
            "report": 1,
            "observed-data": 2,
            "malware": 2,
        }
    )
    assert sorted(big.first_seen_delays_us) == sorted(small.first_seen_delays_us)
    assert sorted(d // H for d in small.first_seen_delays_us) == [1, 2, 3, 6, 10, 20, 30, 50, 100, 200]
    # i3 is A1's: A2 may read its GREEN sighting too, but looks only for sightings of its own indicators.
    assert {(org, ref) for org, ref, _ in small.sightings} == {
        (scenario.a1.id, sid("indicator", 3)),
        (scenario.a1.id, sid("indicator", 1)),
        (scenario.a2.id, sid("indicator", 4)),
    }
    assert {(org, ref) for org, ref, _ in big.sightings} == {(org, ref) for org, ref, _ in small.sightings}
    assert (small.indicator_objects, small.federated_objects, small.federation_users) == (8, 2, 1)


# -- the metrics on the scenario ------------------------------------------------------------------


def test_metric_values_for_a_country(scenario: Scenario) -> None:
    activity = scenario.intel.sharing_activity([scenario.a1.id, scenario.a2.id], START, END)
    values = {m: measure(m, activity, organisations=["CERT A1", "CERT A2"]) for m in METRICS}
    assert values["sharing.volume"].value == (
        "15 objects shared (16 versions: 9 indicators, 2 sightings, 1 report, 2 observed-data, 2 other)"
    )
    assert (values["sharing.volume"].number, values["sharing.volume"].measured) == (15, 16)
    assert values["sharing.timeliness"].value == "median 15.0 hours, 90th percentile 4.2 days (10 objects measured)"
    assert (values["sharing.timeliness"].number, values["sharing.timeliness"].measured) == (15.0, 10)
    assert values["sharing.sighting_feedback"].value == "37.5% of shared indicators sighted (3 of 8)"
    assert (values["sharing.sighting_feedback"].number, values["sharing.sighting_feedback"].measured) == (37.5, 8)
    assert values["federation.participation"].value == "2 objects received through 1 peer-hub account"
    for v in values.values():
        assert (v.window_start_us, v.window_end_us) == (START, END)
        assert "CERT A1, CERT A2" in v.query and "2025-01-11" in v.query and "2025-01-21" in v.query


# -- the metric texts (pure) ----------------------------------------------------------------------

NOTHING = SharingActivity(
    org_ids=("org-x",),
    start_us=START,
    end_us=END,
    indicators=0,
    sightings=0,
    reports=0,
    observed_data=0,
    other=0,
    objects=0,
    timeliness_measured=0,
    timeliness_median_hours=None,
    timeliness_p90_hours=None,
    indicator_objects=0,
    sighted_indicators=0,
    federated_objects=0,
    federation_users=0,
)
BUSY = replace(
    NOTHING,
    indicators=1200,
    sightings=1,
    reports=3,
    observed_data=1,
    other=0,
    objects=1000,
    timeliness_measured=1,
    timeliness_median_hours=0.5,
    timeliness_p90_hours=1.5,
    indicator_objects=900,
    sighted_indicators=300,
    federated_objects=1,
    federation_users=2,
)


def test_the_four_metrics_and_their_ids() -> None:
    assert list(METRICS) == [
        "sharing.volume",
        "sharing.timeliness",
        "sharing.sighting_feedback",
        "federation.participation",
    ]
    assert frozenset(METRICS) == METRIC_IDS
    assert all(m.id == key for key, m in METRICS.items())


@pytest.mark.parametrize("metric_id", sorted(METRIC_IDS))
def test_every_metric_speaks_english_arabic_and_french(metric_id: str) -> None:
    metric = METRICS[metric_id]
    for text in (metric.title, metric.query):
        assert set(LANGUAGES) <= set(text)
        assert ARABIC.search(text["ar"]) and not ARABIC.search(text["en"] + text["fr"])
        assert text["fr"] != text["en"]
    for language in LANGUAGES:
        for activity in (NOTHING, BUSY):
            value = metric.measure(activity, organisations=["CERT X"], language=language)
            assert value.value and "{" not in value.query and "CERT X" in value.query
            assert bool(ARABIC.search(value.value + value.query)) is (language == "ar")


def test_nothing_to_measure_is_said_not_counted_as_zero() -> None:
    values = {m: measure(m, NOTHING) for m in METRICS}
    assert values["sharing.volume"] == MetricValue(
        metric="sharing.volume",
        value="no objects shared in the window",
        number=0.0,
        measured=0,
        window_start_us=START,
        window_end_us=END,
        query=values["sharing.volume"].query,
    )
    assert (values["sharing.timeliness"].value, values["sharing.timeliness"].number) == (
        "no objects shared in the window",
        None,
    )
    assert (values["sharing.sighting_feedback"].value, values["sharing.sighting_feedback"].number) == (
        "no indicators shared in the window",
        None,
    )
    assert (values["federation.participation"].value, values["federation.participation"].number) == (
        "no objects received through peer-hub accounts in the window",
        0.0,
    )
    assert "org-x" in values["sharing.volume"].query  # no names given: the ids


def test_timeliness_with_objects_but_none_measured() -> None:
    unmeasured = replace(NOTHING, reports=2, objects=2)
    value = measure("sharing.timeliness", unmeasured)
    assert value.value == "none of the objects first shared in the window states when it was first seen"
    assert (value.number, value.measured) == (None, 0)
    assert measure("sharing.timeliness", unmeasured, language="fr").value.startswith("aucun des objets")


def test_value_texts_in_each_language() -> None:
    nb = "\u202f"
    assert measure("sharing.volume", BUSY).value == (
        "1,000 objects shared (1,205 versions: 1,200 indicators, 1 sighting, 3 reports, 1 observed-data, 0 other)"
    )
    assert measure("sharing.volume", BUSY, language="fr").value == (
        f"1{nb}000 objets partagés (1{nb}205 versions{nb}: 1{nb}200 indicateurs, 1 observation, 3 rapports, "
        "1 donnée observée, 0 autre)"
    )
    assert measure("sharing.volume", BUSY, language="ar").value == (
        "الكائنات المُشارَكة: 1,000 (الإصدارات: 1,205؛ مؤشرات: 1,200، بلاغات رصد: 1، تقارير: 3، "
        "بيانات مرصودة: 1، أخرى: 0)"
    )
    assert measure("sharing.timeliness", BUSY).value == "median 30 min, 90th percentile 1.5 hours (1 object measured)"
    assert measure("sharing.timeliness", BUSY, language="fr").value == (
        "médiane 30 min, 90e centile 1,5 heure (1 objet mesuré)"
    )
    assert measure("sharing.timeliness", BUSY, language="ar").value == (
        "الوسيط: 30 دقيقة، المئين التسعون: 1.5 ساعة (عدد الكائنات المقيسة: 1)"
    )
    feedback = measure("sharing.sighting_feedback", BUSY)
    assert feedback.value == "33.3% of shared indicators sighted (300 of 900)"
    assert feedback.number == pytest.approx(100 / 3)
    assert measure("sharing.sighting_feedback", BUSY, language="fr").value == (
        f"33,3{nb}% des indicateurs partagés observés (300 sur 900)"
    )
    assert measure("federation.participation", BUSY).value == "1 object received through 2 peer-hub accounts"
    assert measure("federation.participation", BUSY, language="fr").value == (
        "1 objet reçu via 2 comptes de plateformes pairs"
    )


def test_a_tiny_share_is_not_shown_as_zero() -> None:
    rare = replace(NOTHING, indicators=3000, objects=3000, indicator_objects=3000, sighted_indicators=1)
    assert measure("sharing.sighting_feedback", rare).value == "<0.1% of shared indicators sighted (1 of 3,000)"


def test_an_unknown_language_falls_back_to_english_and_an_unknown_metric_is_not_found() -> None:
    assert measure("sharing.volume", BUSY, language="de").value == measure("sharing.volume", BUSY).value
    with pytest.raises(NotFoundError):
        measure("sharing.speed", BUSY)


def test_window_for_ends_at_the_given_moment() -> None:
    assert window_for(END) == Window(END - 365 * D, END)
    assert window_for(END, days=10) == (START, END)
    with pytest.raises(ValidationError):
        window_for(END, days=0)


def test_window_bounds_show_the_time_when_not_midnight() -> None:
    odd = replace(NOTHING, start_us=START + 90 * 60_000_000, end_us=END)
    assert "2025-01-11 01:30 UTC" in measure("sharing.volume", odd).query
    assert "2025-01-21" in measure("sharing.volume", odd).query
