"""The feed's TLP and tags on the objects it imports (pure)."""

from __future__ import annotations

from ribat.feeds.decorate import TLP2_MARKING_IDS, decorate
from ribat.intel import Tlp
from ribat.intel.tlp import TLP_MARKING_IDS, tlp_of_object
from support import indicator

AMBER_1_0 = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"
CUSTOM = "marking-definition--1d1b2b7e-2ce8-4c5a-9d0e-58f3b1f0a001"


def test_the_tlp_2_0_marking_ids_are_the_ones_the_policy_engine_knows() -> None:
    for level, marking_id in TLP2_MARKING_IDS.items():
        assert TLP_MARKING_IDS[marking_id] is level


def test_only_unmarked_objects_get_the_feeds_tlp() -> None:
    sco = {
        "type": "ipv4-addr",
        "spec_version": "2.1",
        "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd",
        "value": "1.2.3.4",
    }
    objects = [
        indicator(1),
        indicator(2, tlp_ref=AMBER_1_0),
        indicator(3, object_marking_refs=[CUSTOM]),
        sco,
        {
            "type": "marking-definition",
            "id": CUSTOM,
            "created": "2024-01-01T00:00:00Z",
            "definition_type": "tlp",
            "definition": {"tlp": "red"},
        },
        "not an object",
    ]
    out = decorate(objects, Tlp.GREEN, (), {CUSTOM: Tlp.RED})
    assert tlp_of_object(out[0]) is Tlp.GREEN
    assert out[1]["object_marking_refs"] == [AMBER_1_0]
    assert out[2]["object_marking_refs"] == [CUSTOM], "a custom TLP marking counts as a TLP"
    assert out[3]["object_marking_refs"] == [TLP2_MARKING_IDS[Tlp.GREEN]], "observables are marked too"
    assert "object_marking_refs" not in out[4]
    assert out[5] == "not an object"
    assert "object_marking_refs" not in objects[0], "the input is not changed"


def test_a_non_tlp_marking_does_not_count_as_a_tlp() -> None:
    statement = "marking-definition--2c4e8d0f-7e6b-4f0c-9a5b-3b6e8a1d2c01"
    (out,) = decorate([indicator(1, object_marking_refs=[statement])], Tlp.AMBER, (), {})
    assert out["object_marking_refs"] == [statement, TLP2_MARKING_IDS[Tlp.AMBER]]


def test_tags_are_added_to_labels_of_objects_that_may_have_labels() -> None:
    sco = {
        "type": "domain-name",
        "spec_version": "2.1",
        "id": "domain-name--3c10e93f-798e-5a26-a0c1-08156efab7f5",
        "value": "x.example",
    }
    out = decorate([indicator(1, labels=["a", "b"]), indicator(2), sco], None, ("b", "c"), {})
    assert out[0]["labels"] == ["a", "b", "c"]
    assert out[1]["labels"] == ["b", "c"]
    assert "labels" not in out[2], "cyber-observables have no labels"
    assert "object_marking_refs" not in out[0]


def test_malformed_markings_and_labels_are_left_for_ingest_to_reject() -> None:
    out = decorate([indicator(1, object_marking_refs="oops", labels="also oops")], Tlp.GREEN, ("t",), {})
    assert out[0]["object_marking_refs"] == "oops" and out[0]["labels"] == "also oops"


def test_nothing_to_add_returns_the_objects_as_they_are() -> None:
    objects = [indicator(1)]
    assert decorate(objects, None, (), {}) == objects
