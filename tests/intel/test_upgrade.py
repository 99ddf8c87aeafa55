"""upgrade_to_21 turns STIX 2.0 into valid STIX 2.1 that stix2 also accepts, losing nothing."""

from __future__ import annotations

import copy
import uuid
from pathlib import Path
from typing import Any

import pytest

from ribat.intel.upgrade import object_spec_version, upgrade_to_21
from ribat.intel.validation import validate_object
from support import cti_files, load_cti, objects_in, stix2_accepts

Obj = dict[str, Any]
T0 = "2016-04-06T20:03:48.000Z"


def ident(obj_type: str, n: int = 1) -> str:
    return f"{obj_type}--{uuid.UUID(int=n, version=4)}"


def old(obj_type: str, n: int = 1, **props: Any) -> Obj:
    """A STIX 2.0 object: no spec_version."""
    return {"type": obj_type, "id": ident(obj_type, n), "created": T0, "modified": T0, **props}


def assert_nothing_lost(before: Obj, after: Obj) -> None:
    for key, value in before.items():
        assert after[key] == value, key


@pytest.mark.parametrize("relative", cti_files("stix20/**/*.json"))
def test_shared_stix20_files_upgrade_to_valid_21_and_stix2_agrees(data_dir: Path, relative: str) -> None:
    bundle = load_cti(data_dir, relative)
    assert bundle["spec_version"] == "2.0"
    for obj in bundle["objects"]:
        assert "spec_version" not in obj
        assert stix2_accepts(obj, "2.0"), obj["id"]
        upgraded = upgrade_to_21(obj, bundle["spec_version"])
        assert upgraded["spec_version"] == "2.1"
        assert_nothing_lost(obj, upgraded)
        validate_object(upgraded)
        assert stix2_accepts(upgraded), obj["id"]


@pytest.mark.parametrize("relative", cti_files("taxii21/medallion-default_data.json"))
def test_medallion_objects_upgrade_to_valid_21_and_stix2_agrees(data_dir: Path, relative: str) -> None:
    objects = objects_in(load_cti(data_dir, relative))
    assert objects
    for obj in objects:
        upgraded = upgrade_to_21(obj, None)
        assert_nothing_lost(obj, upgraded)
        validate_object(upgraded)
        assert stix2_accepts(upgraded), obj["id"]


def test_a_2_1_object_missing_spec_version_is_read_as_2_0_and_comes_out_valid() -> None:
    # medallion's test data has such a malware: 2.1 properties, no spec_version.
    malware = old("malware", name="Poison Ivy", is_family=True, malware_types=["remote-access-trojan"])
    assert not stix2_accepts(malware)  # stix2 reads it as 2.0, where labels is required
    upgraded = upgrade_to_21(malware, None)
    assert upgraded == {**malware, "spec_version": "2.1"}
    validate_object(upgraded)
    assert stix2_accepts(upgraded)


# Which objects are 2.0 --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("obj", "bundle_version", "expected"),
    [
        (old("tool", name="x"), "2.0", "2.0"),
        (old("tool", name="x"), None, "2.0"),  # §3.2: an SDO without spec_version is 2.0
        (old("tool", name="x"), "2.1", "2.1"),
        (old("tool", name="x", spec_version="2.1"), "2.0", "2.1"),  # the object's own wins
        ({"type": "ipv4-addr", "id": ident("ipv4-addr"), "value": "10.0.0.1"}, None, "2.1"),  # SCOs default to 2.1
        ({"type": "ipv4-addr", "id": ident("ipv4-addr"), "value": "10.0.0.1"}, "2.0", "2.1"),
        (old("x-acme", name="x"), None, "2.0"),
        (old("tool", name="x", spec_version=2.1), None, None),
    ],
)
def test_the_version_of_an_object(obj: Obj, bundle_version: str | None, expected: str | None) -> None:
    assert object_spec_version(obj, bundle_version) == expected


def test_2_1_objects_come_back_untouched() -> None:
    current = {**old("tool", name="x"), "spec_version": "2.1"}
    assert upgrade_to_21(current, "2.0") is current
    sco = {"type": "url", "id": ident("url"), "value": "https://x"}
    assert upgrade_to_21(sco, None) is sco
    unknown = {**old("tool", name="x"), "spec_version": "2.2"}
    assert upgrade_to_21(unknown, None) is unknown  # validation says why


def test_a_bundle_claiming_2_1_only_gets_spec_version_added() -> None:
    indicator = old("indicator", pattern="[file:name = 'a']", valid_from=T0, labels=["malicious-activity"])
    assert upgrade_to_21(indicator, "2.1") == {**indicator, "spec_version": "2.1"}


# What changes -----------------------------------------------------------------------------


def test_a_2_0_indicator_gains_pattern_type_version_and_types() -> None:
    indicator = old(
        "indicator", pattern="[file:name = 'a.exe']", valid_from=T0, labels=["malicious-activity"], x_acme_score=3
    )
    upgraded = upgrade_to_21(indicator, "2.0")
    assert upgraded == {
        **indicator,
        "spec_version": "2.1",
        "pattern_type": "stix",
        "pattern_version": "2.0",
        "indicator_types": ["malicious-activity"],
    }
    validate_object(upgraded)
    assert stix2_accepts(upgraded)


def test_2_1_properties_already_there_are_kept() -> None:
    indicator = old(
        "indicator", pattern="title: x", pattern_type="sigma", valid_from=T0, labels=["a"], indicator_types=["b"]
    )
    upgraded = upgrade_to_21(indicator, "2.0")
    assert upgraded == {**indicator, "spec_version": "2.1"}
    stix = old("indicator", pattern="[file:name = 'a']", pattern_type="stix", pattern_version="2.1", valid_from=T0)
    assert upgrade_to_21(stix, "2.0") == {**stix, "spec_version": "2.1"}
    instance = old("malware", name="x", labels=["worm"], is_family=False)
    assert upgrade_to_21(instance, "2.0") == {**instance, "spec_version": "2.1", "malware_types": ["worm"]}


@pytest.mark.parametrize(
    ("obj_type", "types_property", "extra"),
    [
        ("malware", "malware_types", {"is_family": True}),
        ("tool", "tool_types", {}),
        ("threat-actor", "threat_actor_types", {}),
        ("report", "report_types", {}),
    ],
)
def test_labels_become_the_2_1_types_and_stay(obj_type: str, types_property: str, extra: Obj) -> None:
    obj = old(obj_type, name="x", labels=["a", "b"])
    if obj_type == "report":
        obj |= {"published": T0, "object_refs": [ident("indicator")]}
    upgraded = upgrade_to_21(obj, "2.0")
    assert upgraded == {**obj, "spec_version": "2.1", types_property: ["a", "b"], **extra}
    validate_object(upgraded)
    assert stix2_accepts(obj, "2.0") and stix2_accepts(upgraded)


def test_an_identity_needs_only_spec_version() -> None:
    identity = old("identity", name="ACME", identity_class="organization", labels=["x"])
    assert upgrade_to_21(identity, "2.0") == {**identity, "spec_version": "2.1"}


def test_custom_objects_and_content_pass_through() -> None:
    widget = old("x-acme-widget", name="w", x_acme_parts=[{"a": 1}], extensions={"x-acme-ext": {"k": "v"}})
    upgraded = upgrade_to_21(widget, "2.0")
    assert upgraded == {**widget, "spec_version": "2.1"}
    validate_object(upgraded)


def test_the_input_is_not_modified() -> None:
    container = {"0": {"type": "ipv4-addr", "value": "10.0.0.1"}, "1": {"type": "network-traffic", "src_ref": "0"}}
    objs = [
        old("indicator", pattern="[file:name = 'a']", valid_from=T0, labels=["x"]),
        old("observed-data", first_observed=T0, last_observed=T0, number_observed=1, objects=container),
    ]
    before = copy.deepcopy(objs)
    for obj in objs:
        upgrade_to_21(obj, "2.0")
    assert objs == before


def test_an_observable_container_gets_ids_and_references() -> None:
    observed = old(
        "observed-data",
        first_observed=T0,
        last_observed=T0,
        number_observed=1,
        objects={
            "0": {"type": "ipv4-addr", "value": "198.51.100.2"},
            "1": {"type": "ipv4-addr", "value": "198.51.100.3"},
            "2": {"type": "network-traffic", "src_ref": "0", "dst_ref": "1", "protocols": ["tcp"]},
            "3": {"type": "email-addr", "value": "a@example.com"},
            "4": {
                "type": "email-message",
                "is_multipart": True,
                "from_ref": "3",
                "to_refs": ["3"],
                "body_multipart": [{"body_raw_ref": "5", "content_type": "text/plain"}],
            },
            "5": {"type": "file", "name": "a.txt", "x_note_ref": "0"},
            "6": {"type": "x-acme-thing", "other_ref": "0"},
        },
    )
    assert stix2_accepts(observed, "2.0")
    upgraded = upgrade_to_21(observed, "2.0")
    objects = upgraded["objects"]
    assert objects["2"]["src_ref"] == objects["0"]["id"] and objects["0"]["id"].startswith("ipv4-addr--")
    assert objects["2"]["dst_ref"] == objects["1"]["id"]
    assert objects["4"]["to_refs"] == [objects["3"]["id"]]
    assert objects["4"]["body_multipart"][0]["body_raw_ref"] == objects["5"]["id"]
    assert objects["5"]["x_note_ref"] == objects["0"]["id"]
    assert objects["6"]["other_ref"] == objects["0"]["id"]
    assert upgrade_to_21(observed, "2.0") == upgraded  # deterministic ids
    validate_object(upgraded)
    assert stix2_accepts(upgraded)


def test_a_dangling_container_reference_is_left_for_validation_to_report() -> None:
    observed = old(
        "observed-data",
        first_observed=T0,
        last_observed=T0,
        number_observed=1,
        objects={"0": {"type": "network-traffic", "src_ref": "9", "protocols": ["tcp"]}},
    )
    upgraded = upgrade_to_21(observed, "2.0")
    assert upgraded["objects"]["0"]["src_ref"] == "9"
    with pytest.raises(Exception, match=r"objects\.0\.src_ref: not a STIX identifier"):
        validate_object(upgraded)


def test_a_2_0_tlp_marking_definition_is_valid_2_1() -> None:
    tlp = {
        "type": "marking-definition",
        "id": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
        "created": "2017-01-20T00:00:00.000Z",
        "definition_type": "tlp",
        "definition": {"tlp": "amber"},
    }
    upgraded = upgrade_to_21(tlp, "2.0")
    validate_object(upgraded)
    assert stix2_accepts(tlp, "2.0") and stix2_accepts(upgraded)
