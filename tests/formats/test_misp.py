"""MISP events ⇄ STIX 2.1 through misp-stix: wrappings, TLP, the loss report, the round trip
of every shared event, and ingest into a hub."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from pymisp import MISPEvent

from ribat.errors import ValidationError
from ribat.formats.misp import MispExport, misp_events, misp_to_stix, stix_to_misp
from ribat.formats.types import Conversion, Loss
from ribat.intel import validation
from ribat.intel.tlp import Tlp, tlp_of_object
from support import CTI, World, cti_files, objects_in

EVENT_FILES = cti_files("misp/events/*.json")
UNMARKED = {"marking-definition", "identity"}

_cache: dict[str, tuple[Conversion, MispExport]] = {}


def uid(name: str) -> str:
    """A deterministic UUID (v5, so a valid STIX identifier) for a test record."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"ribat-test:{name}"))


def shared_round_trip(relative: str, data_dir: Path) -> tuple[Conversion, MispExport]:
    if relative not in _cache:
        conversion = misp_to_stix((data_dir / "cti" / relative).read_bytes(), source=relative)
        _cache[relative] = conversion, stix_to_misp(conversion.objects)
    return _cache[relative]


def shared_events(data_dir: Path, relative: str) -> list[dict[str, Any]]:
    return [event for _, event in misp_events((data_dir / "cti" / relative).read_bytes())]


def attribute(name: str, kind: str, value: str, *, to_ids: bool = True, **extra: Any) -> dict[str, Any]:
    category = {"domain": "Network activity", "url": "Network activity", "ip-dst": "Network activity"}.get(
        kind, "Payload delivery"
    )
    return {
        "uuid": uid(name),
        "type": kind,
        "category": category,
        "value": value,
        "to_ids": to_ids,
        "comment": extra.pop("comment", ""),
        "timestamp": "1600000000",
        **extra,
    }


def event(name: str, attributes: list[dict[str, Any]], *, tags: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:
    return {
        "uuid": uid(name),
        "info": f"test event {name}",
        "date": "2020-09-13",
        "timestamp": "1600000000",
        "published": False,
        "analysis": "2",
        "threat_level_id": "2",
        "Orgc": {"name": "CERT Test", "uuid": uid("org")},
        "Tag": [{"name": t} for t in tags],
        "Attribute": attributes,
        **extra,
    }


def of_record(conversion: Conversion, record_uuid: str) -> list[dict[str, Any]]:
    return [o for o in conversion.objects if o["id"].endswith(record_uuid)]


def losses_at(losses: list[Loss], record_uuid: str, field: str | None = None) -> list[Loss]:
    return [loss for loss in losses if record_uuid in loss.where and (field is None or loss.field == field)]


# -- the shared events: convert, export back, compare values ------------------------------


def attribute_fields(a: dict[str, Any]) -> dict[str, object]:
    return {
        "type": a.get("type"),
        "category": a.get("category"),
        "value": str(a.get("value")),
        "to_ids": bool(a.get("to_ids")),
        "comment": a.get("comment") or "",
    }


def unreported_differences(original: dict[str, Any], exported: dict[str, Any], losses: list[Loss]) -> Iterator[str]:
    """Every attribute field, object attribute, event tag and galaxy cluster of ``original``
    that ``exported`` does not hold and that no Loss names."""

    def reported(record_uuid: str, *fields: str) -> bool:
        return any(losses_at(losses, record_uuid, f) for f in fields)

    out_attributes = {a["uuid"]: a for a in exported.get("Attribute", [])}
    for a in original.get("Attribute", []):
        b = out_attributes.get(a["uuid"])
        if b is None:
            if not reported(a["uuid"], "Attribute"):
                yield f"attribute {a['uuid']} ({a['type']} {a['value']}) is missing"
            continue
        before, after = attribute_fields(a), attribute_fields(b)
        for name in before:
            if before[name] != after[name] and not reported(a["uuid"], name):
                yield f"attribute {a['uuid']} {name}: {before[name]!r} became {after[name]!r}"
    out_objects = {o["uuid"]: o for o in exported.get("Object", [])}
    for o in original.get("Object", []):
        p = out_objects.get(o["uuid"])
        if p is None:
            if not reported(o["uuid"], "Object"):
                yield f"object {o['uuid']} ({o['name']}) is missing"
            continue
        if o["name"] != p["name"] and not reported(o["uuid"], "name"):
            yield f"object {o['uuid']} name {o['name']!r} became {p['name']!r}"
        pairs = {(a["object_relation"], str(a["value"])) for a in p.get("Attribute", [])}
        for a in o.get("Attribute", []):
            if (a["object_relation"], str(a["value"])) not in pairs and not reported(a["uuid"], "value", "Attribute"):
                yield f"object {o['uuid']} lost {a['object_relation']}={a['value']!r}"
    lost_clusters = {loss.value for loss in losses if loss.field == "Galaxy"}
    out_tags = {t["name"] for t in exported.get("Tag", [])}
    lost_tags = {loss.value for loss in losses if loss.field == "Tag"}
    for tag in original.get("Tag", []):
        name = tag["name"]
        if name in out_tags or name in lost_tags or name.removeprefix("misp-galaxy:") in lost_clusters:
            continue
        yield f"event tag {name!r} is missing"
    out_clusters = {(g["type"], c["value"]) for g in exported.get("Galaxy", []) for c in g["GalaxyCluster"]}
    for galaxy in original.get("Galaxy", []):
        for cluster in galaxy["GalaxyCluster"]:
            key = (cluster.get("type") or galaxy["type"], cluster["value"])
            if key not in out_clusters and f'{key[0]}="{key[1]}"'[:200] not in lost_clusters:
                yield f"galaxy cluster {key} is missing"


@pytest.mark.parametrize("relative", EVENT_FILES)
def test_every_shared_event_survives_the_round_trip_or_its_loss_is_reported(relative: str, data_dir: Path) -> None:
    conversion, export = shared_round_trip(relative, data_dir)
    originals = shared_events(data_dir, relative)
    assert conversion.counts["events"] == len(originals) and conversion.counts["events_failed"] == 0
    exported = {e["Event"]["uuid"]: e["Event"] for e in export.events}
    losses = conversion.losses + export.losses
    problems = []
    for original in originals:
        assert original["uuid"] in exported, f"event {original['uuid']} was not exported back"
        problems += list(unreported_differences(original, exported[original["uuid"]], losses))
    assert problems == []
    # Every loss names a record of the input: the report points at something real.
    known = {r["uuid"] for e in originals for r in [e, *e.get("Attribute", []), *e.get("Object", [])]}
    known |= {a["uuid"] for e in originals for o in e.get("Object", []) for a in o["Attribute"]}
    known |= {c["uuid"] for e in originals for g in e.get("Galaxy", []) for c in g["GalaxyCluster"] if c["uuid"]}
    for loss in losses:
        assert any(k in loss.where for k in known), loss


@pytest.mark.parametrize("relative", EVENT_FILES)
def test_pymisp_loads_every_exported_event(relative: str, data_dir: Path) -> None:
    _, export = shared_round_trip(relative, data_dir)
    creators = {e["uuid"]: e["Orgc"] for e in shared_events(data_dir, relative)}
    assert export.events
    for document in export.events:
        orgc = creators[document["Event"]["uuid"]]
        assert document["Event"]["Orgc"] == {"name": orgc["name"], "uuid": orgc["uuid"]}
        loaded = MISPEvent()
        loaded.load(copy.deepcopy(document))  # PyMISP pops what it loads
        assert loaded.uuid == document["Event"]["uuid"]
        assert len(loaded.attributes) == len(document["Event"].get("Attribute", []))
        assert len(loaded.objects) == len(document["Event"].get("Object", []))


@pytest.mark.parametrize("relative", EVENT_FILES)
def test_every_converted_object_is_valid_stix_21(relative: str, data_dir: Path) -> None:
    conversion, _ = shared_round_trip(relative, data_dir)
    assert conversion.objects
    for obj in conversion.objects:
        assert obj["spec_version"] == "2.1" or obj["type"] in validation.SCO_TYPES
        validation.validate_object(obj)
    orjson.dumps(conversion.objects)  # plain JSON


def test_a_galaxy_misp_stix_cannot_convert_is_left_out_and_reported_and_the_event_kept(data_dir: Path) -> None:
    original = event(
        "bad-galaxy",
        [attribute("bg-1", "domain", "bad-galaxy.example")],
        Galaxy=[
            {
                "type": "threat-actor",
                "name": "Threat Actor",
                "uuid": uid("ta"),
                "GalaxyCluster": [{"type": "threat-actor", "value": "Nameless", "uuid": "", "description": "d"}],
            }
        ],
    )
    conversion = misp_to_stix(original)
    assert conversion.counts["events"] == 1
    assert of_record(conversion, uid("bg-1"))
    [loss] = [loss for loss in conversion.losses if loss.field == "Galaxy"]
    assert loss.value == 'threat-actor="Nameless"' and "misp-stix cannot convert it" in loss.reason


def test_clusters_sharing_a_uuid_are_reported_as_lost(data_dir: Path) -> None:
    shared = uid("one-cluster-uuid")
    original = event(
        "twin-clusters",
        [attribute("tc-1", "domain", "twins.example")],
        Galaxy=[
            {
                "type": "tool",
                "name": "Tool",
                "uuid": uid("tool-galaxy"),
                "GalaxyCluster": [
                    {"type": "tool", "value": "First", "uuid": shared, "description": "d"},
                    {"type": "tool", "value": "Second", "uuid": shared, "description": "d"},
                ],
            }
        ],
    )
    conversion = misp_to_stix(original)
    [loss] = [loss for loss in conversion.losses if loss.field == "Galaxy"]
    assert loss.value == 'tool="Second"' and "shares its uuid" in loss.reason
    assert [o["name"] for o in conversion.objects if o["type"] == "tool"] == ["First"]


# -- wrappings ------------------------------------------------------------------------------


def test_every_wrapping_gives_the_same_objects(data_dir: Path) -> None:
    [original] = shared_events(data_dir, "misp/events/circl-ransomware-xorist-2016.json")
    reference = misp_to_stix({"Event": original})
    assert reference.counts["events"] == 1 and reference.objects
    for wrapped in (
        original,
        {"response": [{"Event": original}]},
        [{"Event": original}],
        json.dumps({"Event": original}),
        orjson.dumps({"response": [{"Event": original}]}),
    ):
        conversion = misp_to_stix(copy.deepcopy(wrapped))
        assert conversion.objects == reference.objects
        assert conversion.counts == reference.counts


def test_a_response_with_several_events_converts_each(data_dir: Path) -> None:
    first = event("many-1", [attribute("m1", "domain", "one.example")])
    second = event("many-2", [attribute("m2", "domain", "two.example")])
    conversion = misp_to_stix({"response": [{"Event": first}, {"Event": second}]})
    assert conversion.counts["events"] == 2
    assert of_record(conversion, uid("m1")) and of_record(conversion, uid("m2"))
    # The organisation both events name is written once.
    assert sum(1 for o in conversion.objects if o["type"] == "identity") == 1


def test_a_broken_event_in_a_response_costs_only_itself() -> None:
    good = event("good", [attribute("g1", "domain", "good.example")])
    unloadable = event("unloadable", [attribute("u1", "domain", "unloadable.example")], timestamp="yesterday")
    last = event("last", [attribute("l1", "url", "http://last.example/x")])
    conversion = misp_to_stix({"response": [{"Event": good}, {"Event": 42}, {"Event": unloadable}, {"Event": last}]})
    assert conversion.counts["events"] == 2 and conversion.counts["events_failed"] == 2
    assert of_record(conversion, uid("g1")) and of_record(conversion, uid("l1"))
    assert not of_record(conversion, uid("u1"))
    broken = {loss.where: loss for loss in conversion.losses if loss.field == "Event"}
    assert set(broken) == {"<memory>: response[1]", f"<memory>: response[2] event {uid('unloadable')}"}
    assert "yesterday" in broken[f"<memory>: response[2] event {uid('unloadable')}"].reason


def test_documents_holding_no_event_are_refused_naming_the_source() -> None:
    with pytest.raises(ValidationError) as caught:
        misp_to_stix(b"{not json", source="upload.json")
    assert caught.value.field == "upload.json" and "not JSON" in caught.value.reason
    for document in ({"feed": 1}, [], 7):
        with pytest.raises(ValidationError, match="no MISP event found"):
            misp_to_stix(document)


# -- what an event holds --------------------------------------------------------------------


def test_attributes_without_to_ids_are_kept_as_observables(data_dir: Path) -> None:
    [turla] = shared_events(data_dir, "misp/events/eset-turla-outlook-2018.json")
    conversion, _ = shared_round_trip("misp/events/eset-turla-outlook-2018.json", data_dir)
    plain = [a for a in turla["Attribute"] if not a["to_ids"]]
    assert plain
    for a in plain:
        written = of_record(conversion, a["uuid"])
        kinds = {o["type"] for o in written}
        assert "indicator" not in kinds and ("observed-data" in kinds or "x-misp-attribute" in kinds)
        texts = json.dumps(written)
        assert all(json.dumps(part)[1:-1] in texts for part in str(a["value"]).split("|"))


def test_a_comment_misp_stix_writes_nowhere_is_kept_and_comes_back() -> None:
    original = event("comments", [attribute("c1", "domain", "quiet.example", to_ids=False, comment="seen in a lure")])
    conversion = misp_to_stix(original)
    [observed] = [o for o in of_record(conversion, uid("c1")) if o["type"] == "observed-data"]
    assert observed["x_misp_comment"] == "seen in a lure"
    assert not losses_at(conversion.losses, uid("c1"))
    [back] = stix_to_misp(conversion.objects).events
    assert back["Event"]["Attribute"][0]["comment"] == "seen in a lure"


def test_an_unknown_attribute_type_is_reported_as_a_loss() -> None:
    original = event(
        "unknown-type",
        [attribute("k1", "domain", "known.example"), attribute("k2", "no-such-misp-type", "opaque value")],
    )
    conversion = misp_to_stix(original)
    assert of_record(conversion, uid("k1")) and not of_record(conversion, uid("k2"))
    [loss] = losses_at(conversion.losses, uid("k2"))
    assert loss.field == "Attribute" and loss.value == "no-such-misp-type: opaque value"
    assert loss.where == f"<memory> event {uid('unknown-type')}/attribute {uid('k2')}"
    assert "no-such-misp-type is invalid" in loss.reason


def test_sightings_event_reports_galaxies_and_pap_tags_are_converted() -> None:
    target = attribute(
        "s1",
        "url",
        "http://lure.example/a",
        Sighting=[
            {"uuid": uid("seen"), "type": "0", "date_sighting": "1600000100", "source": "ids"},
            {"uuid": uid("false-positive"), "type": "1", "date_sighting": "1600000200"},
            {"uuid": uid("expires"), "type": "2", "date_sighting": "1600000300"},
        ],
        Galaxy=[
            {
                "type": "mitre-attack-pattern",
                "name": "Attack Pattern",
                "uuid": uid("ap-galaxy"),
                "GalaxyCluster": [
                    {
                        "type": "mitre-attack-pattern",
                        "value": "Spearphishing Link - T1192",
                        "uuid": uid("ap-cluster"),
                        "tag_name": 'misp-galaxy:mitre-attack-pattern="Spearphishing Link - T1192"',
                        "description": "d",
                        "meta": {"external_id": ["T1192"]},
                    }
                ],
            }
        ],
    )
    original = event(
        "context",
        [target],
        tags=("PAP:AMBER", 'workflow:state="complete"'),
        EventReport=[{"uuid": uid("report"), "name": "Notes", "content": "Lure hosting.", "timestamp": "1600000000"}],
    )
    conversion = misp_to_stix(original)
    by_id = {o["id"]: o for o in conversion.objects}
    assert f"sighting--{uid('seen')}" in by_id and f"opinion--{uid('false-positive')}" in by_id
    assert by_id[f"note--{uid('report')}"]["content"] == "Lure hosting."
    assert any(
        'misp-galaxy:mitre-attack-pattern="Spearphishing Link - T1192"' in o.get("labels", []) for o in by_id.values()
    )
    [container] = [o for o in by_id.values() if o["type"] in ("report", "grouping")]
    assert {"PAP:AMBER", 'workflow:state="complete"'} <= set(container["labels"])
    # misp-stix writes nothing for an expiration sighting: that, and only that, is reported.
    [loss] = conversion.losses
    assert loss.field == "Sighting" and loss.where.endswith(f"/sighting {uid('expires')}")
    assert conversion.counts == {
        "events": 1,
        "events_failed": 0,
        "attributes": 1,
        "objects": 0,
        "tags": 2,
        "galaxies": 1,
        "sightings": 3,
        "event_reports": 1,
        "stix_objects": len(conversion.objects),
    }


# -- TLP ------------------------------------------------------------------------------------


def test_a_tlp_white_event_marks_every_object_clear(data_dir: Path) -> None:
    conversion, _ = shared_round_trip("misp/events/circl-osint-sednit-update-2017.json", data_dir)
    for obj in conversion.objects:
        if obj["type"] not in UNMARKED:
            assert tlp_of_object(obj) is Tlp.CLEAR, obj["id"]


def test_an_event_without_a_tlp_tag_gives_objects_without_a_tlp_marking(data_dir: Path) -> None:
    [original] = shared_events(data_dir, "misp/events/eset-sednit-zebrocy-2019.json")
    assert not any(t["name"].lower().startswith("tlp:") for t in original.get("Tag", []))
    conversion = misp_to_stix(original)
    assert conversion.objects
    assert all(tlp_of_object(o) is None for o in conversion.objects if o["type"] != "marking-definition")


def test_a_tlp_tag_misp_stix_does_not_know_still_marks_every_object() -> None:
    original = event("shouting", [attribute("r1", "domain", "secret.example")], tags=("TLP:RED",))
    conversion = misp_to_stix(original)
    assert all(tlp_of_object(o) is Tlp.RED for o in conversion.objects if o["type"] not in UNMARKED)


def test_an_attribute_keeps_its_own_tlp_and_its_observables_and_links_follow_it() -> None:
    secret = attribute("a-red", "domain", "red.example", Tag=[{"name": "tlp:red"}])
    plain = attribute("a-green", "domain", "green.example")
    conversion = misp_to_stix(event("mixed", [secret, plain], tags=("tlp:green",)))
    red = [o for o in conversion.objects if uid("a-red") in json.dumps(o) and o["type"] not in ("report", "grouping")]
    assert {o["type"] for o in red} >= {"observed-data", "indicator", "domain-name", "relationship"}
    assert all(tlp_of_object(o) is Tlp.RED for o in red)
    assert all(tlp_of_object(o) is Tlp.GREEN for o in of_record(conversion, uid("a-green")))


# -- STIX → MISP for content that did not come from MISP ------------------------------------


def test_loose_objects_export_into_one_event(data_dir: Path) -> None:
    objects = objects_in(json.loads((CTI / "stix21/oasis-examples/indicators-for-C2-with-COA.json").read_text()))
    export = stix_to_misp(objects)
    [document] = export.events
    assert document["Event"]["info"] == "STIX objects outside any report"
    indicators = {o["id"].partition("--")[2] for o in objects if o["type"] == "indicator"}
    assert indicators <= {a["uuid"] for a in document["Event"]["Attribute"]}
    MISPEvent().load(copy.deepcopy(document))


def test_a_plain_report_exports_as_its_event_and_loose_objects_beside_it(data_dir: Path) -> None:
    objects = objects_in(json.loads((CTI / "stix21/oasis-examples/threat-reports/apt1.json").read_text()))
    loose = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uid('loose-indicator')}",
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z",
        "pattern": "[domain-name:value = 'loose.example']",
        "pattern_type": "stix",
        "valid_from": "2024-01-01T00:00:00Z",
    }
    export = stix_to_misp([*objects, loose])
    [report] = [o for o in objects if o["type"] == "report"]
    infos = {e["Event"]["info"]: e["Event"] for e in export.events}
    assert set(infos) == {report["name"], "STIX objects outside any report"}
    assert [a["value"] for a in infos["STIX objects outside any report"]["Attribute"]] == ["loose.example"]
    for document in export.events:
        MISPEvent().load(copy.deepcopy(document))


def test_what_misp_stix_cannot_import_is_reported(data_dir: Path) -> None:
    objects = objects_in(json.loads((CTI / "stix21/oasis-examples/infrastructure.json").read_text()))
    export = stix_to_misp(objects)
    infrastructures = {o["id"] for o in objects if o["type"] == "infrastructure"}
    assert infrastructures
    reported = {loss.where for loss in export.losses if loss.field == "STIX object"}
    assert infrastructures <= reported


def test_objects_that_are_not_stix_are_reported_and_the_rest_exported() -> None:
    original = event("mixed-input", [attribute("mi", "domain", "fine.example")])
    objects = [*misp_to_stix(original).objects, {"no": "id"}]
    export = stix_to_misp(objects)
    assert [loss.field for loss in export.losses] == ["STIX object"]
    assert export.events[0]["Event"]["Attribute"][0]["value"] == "fine.example"


# -- into a hub -----------------------------------------------------------------------------


def test_every_converted_shared_event_is_ingested_without_failures(world: World, data_dir: Path) -> None:
    principal = world.principal("alice@a.example")
    total = 0
    for relative in EVENT_FILES:
        conversion, _ = shared_round_trip(relative, data_dir)
        status = world.hub.intel.ingest(principal, "shared", {"objects": conversion.objects})
        assert status.failure_count == 0, (relative, status.failures[:3])
        assert status.success_count == len(conversion.objects)
        total += len(conversion.objects)
    assert world.hub.intel.count("shared") > 0 and total > 1000
