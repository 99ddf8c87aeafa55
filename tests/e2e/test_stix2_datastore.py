"""The hub as a ``stix2`` data store: ``TAXIICollectionSource``/``Sink`` and ``CompositeDataSource``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import stix2
from stix2.properties import ListProperty, StringProperty
from taxii2client.v21 import Collection

from e2e.live import Coalition, CollectionSpec, LiveHub, Org, User

pytestmark = pytest.mark.e2e

ANA = "ana@alpha.example"
BEN = "ben@beta.example"


@pytest.fixture(scope="module")
def coalition() -> Coalition:
    return Coalition(
        orgs=(Org("alpha", "Alpha CERT", "MY"), Org("beta", "Beta CERT", "OM")),
        users=(User(ANA, "alpha"), User(BEN, "beta")),
        collections=(
            CollectionSpec("reports", "Reports", "green", write=("community",)),
            CollectionSpec("sensors", "Sensors", "green", write=("community",)),
        ),
    )


@stix2.CustomObject(
    "x-ribat-sensor",
    [("name", StringProperty(required=True)), ("locations", ListProperty(StringProperty))],
)
class Sensor:
    """A custom STIX 2.1 object type (``stix2.CustomObject``)."""


class BearerAuth(requests.auth.AuthBase):
    def __init__(self, key: str) -> None:
        self.key = key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.key}"
        return request


@pytest.fixture(scope="module")
def taxii_collections(live_hub: LiveHub) -> Iterator[dict[str, Collection]]:
    opened = {
        alias: Collection(live_hub.collection_url(alias), auth=BearerAuth(live_hub.members[email].key))
        for alias, email in (("reports", ANA), ("sensors", BEN))
    }
    try:
        yield opened
    finally:
        for c in opened.values():
            c.close()


def as_json(obj: Any) -> dict[str, Any]:
    """A stix2 object (or dict) as the JSON it serialises to."""
    text = obj.serialize() if hasattr(obj, "serialize") else json.dumps(obj)
    result: dict[str, Any] = json.loads(text)
    return result


@pytest.fixture(scope="module")
def report_objects(taxii_collections: dict[str, Collection]) -> dict[str, Any]:
    """An indicator (in two versions), a malware and a relationship, added through a sink."""
    indicator = stix2.Indicator(
        name="C2 address",
        pattern="[ipv4-addr:value = '203.0.113.9']",
        pattern_type="stix",
        valid_from="2024-02-01T00:00:00Z",
        created="2024-02-01T00:00:00.000Z",
        modified="2024-02-01T00:00:00.000Z",
    )
    malware = stix2.Malware(name="Lurker", is_family=True, malware_types=["remote-access-trojan"])
    relationship = stix2.Relationship(indicator, "indicates", malware)
    sink = stix2.TAXIICollectionSink(taxii_collections["reports"])
    sink.add([indicator, malware, relationship])
    updated = indicator.new_version(name="C2 address (confirmed)", modified="2024-02-02T00:00:00.000Z")
    sink.add(updated)
    return {"indicator": indicator, "updated": updated, "malware": malware, "relationship": relationship}


@pytest.fixture(scope="module")
def sensor(taxii_collections: dict[str, Collection]) -> Sensor:
    obj = Sensor(name="Gateway tap", locations=["Muscat", "Kuala Lumpur"])
    stix2.TAXIICollectionSink(taxii_collections["sensors"], allow_custom=True).add(obj)
    return obj


def test_source_gets_what_the_sink_added(
    taxii_collections: dict[str, Collection], report_objects: dict[str, Any]
) -> None:
    source = stix2.TAXIICollectionSource(taxii_collections["reports"])
    got = source.get(report_objects["malware"].id)
    assert isinstance(got, stix2.v21.Malware)
    assert as_json(got) == as_json(report_objects["malware"])
    latest = source.get(report_objects["indicator"].id)
    assert as_json(latest) == as_json(report_objects["updated"])
    assert source.get("malware--00000000-0000-4000-8000-000000000000") is None


def test_source_all_versions(taxii_collections: dict[str, Collection], report_objects: dict[str, Any]) -> None:
    source = stix2.TAXIICollectionSource(taxii_collections["reports"])
    versions = source.all_versions(report_objects["indicator"].id)
    assert sorted(as_json(v)["modified"] for v in versions) == ["2024-02-01T00:00:00.000Z", "2024-02-02T00:00:00.000Z"]
    assert {as_json(v)["name"] for v in versions} == {"C2 address", "C2 address (confirmed)"}


def test_source_query_with_filters(taxii_collections: dict[str, Collection], report_objects: dict[str, Any]) -> None:
    source = stix2.TAXIICollectionSource(taxii_collections["reports"], items_per_page=2)
    indicators = source.query([stix2.Filter("type", "=", "indicator")])
    assert [as_json(o) for o in indicators] == [as_json(report_objects["updated"])]
    by_id = source.query([stix2.Filter("id", "=", report_objects["malware"].id)])
    assert [o.id for o in by_id] == [report_objects["malware"].id]
    everything = source.query()
    assert sorted(o.id for o in everything) == sorted(
        report_objects[k].id for k in ("indicator", "malware", "relationship")
    )
    # A filter the TAXII server cannot apply is applied by stix2 on what was served.
    named = source.query([stix2.Filter("name", "=", "Lurker")])
    assert [o.id for o in named] == [report_objects["malware"].id]


def test_source_relationships(taxii_collections: dict[str, Collection], report_objects: dict[str, Any]) -> None:
    source = stix2.TAXIICollectionSource(taxii_collections["reports"])
    rels = source.relationships(report_objects["malware"], target_only=True)
    assert [as_json(r) for r in rels] == [as_json(report_objects["relationship"])]
    assert source.relationships(report_objects["malware"], source_only=True) == []
    related = source.related_to(report_objects["malware"])
    assert [o.id for o in related] == [report_objects["indicator"].id]


def test_custom_object_type_round_trips(taxii_collections: dict[str, Collection], sensor: Sensor) -> None:
    source = stix2.TAXIICollectionSource(taxii_collections["sensors"], allow_custom=True)
    got = source.get(sensor.id)
    assert isinstance(got, Sensor)
    assert as_json(got) == as_json(sensor)
    assert [o.id for o in source.query([stix2.Filter("type", "=", "x-ribat-sensor")])] == [sensor.id]


def test_custom_properties_and_dict_objects_round_trip(taxii_collections: dict[str, Collection]) -> None:
    obj = {
        "type": "x-ribat-exercise",
        "spec_version": "2.1",
        "id": "x-ribat-exercise--7b9c5d22-3f61-4d4c-9d8e-0a1b2c3d4e5f",
        "created": "2024-02-03T00:00:00.000Z",
        "modified": "2024-02-03T00:00:00.000Z",
        "name": "Regional drill",
        "x_ribat_injects": [{"at": "09:00", "text": "phishing wave"}, {"at": "11:30", "text": "ransom note"}],
    }
    stix2.TAXIICollectionSink(taxii_collections["sensors"], allow_custom=True).add(obj)
    source = stix2.TAXIICollectionSource(taxii_collections["sensors"], allow_custom=True)
    assert as_json(source.get(obj["id"])) == obj


def test_composite_source_spans_collections(
    taxii_collections: dict[str, Collection], report_objects: dict[str, Any], sensor: Sensor
) -> None:
    composite = stix2.CompositeDataSource()
    composite.add_data_sources(
        [
            stix2.TAXIICollectionSource(taxii_collections["reports"]),
            stix2.TAXIICollectionSource(taxii_collections["sensors"], allow_custom=True),
        ]
    )
    assert as_json(composite.get(sensor.id)) == as_json(sensor)
    assert as_json(composite.get(report_objects["malware"].id)) == as_json(report_objects["malware"])
    assert len(composite.all_versions(report_objects["indicator"].id)) == 2
    types = {o.type for o in composite.query([stix2.Filter("type", "in", ["malware", "x-ribat-sensor"])])}
    assert types == {"malware", "x-ribat-sensor"}
    rels = composite.relationships(report_objects["indicator"], source_only=True)
    assert [r.id for r in rels] == [report_objects["relationship"].id]
