from __future__ import annotations

import pytest

from ribat.intel.tlp import (
    Audience,
    Tlp,
    Viewer,
    explain,
    may_read,
    tlp_from_marking_definition,
    tlp_from_name,
    tlp_of_object,
)

AUTHOR_ORG = "org-author"
OTHER_ORG = "org-other"
CIRCLE = "circle-wg"

author = Viewer(user_id="u-author", org_id=AUTHOR_ORG)
colleague = Viewer(user_id="u-colleague", org_id=AUTHOR_ORG)
outsider = Viewer(user_id="u-out", org_id=OTHER_ORG)
in_circle = Viewer(user_id="u-circle", org_id="org-c", circle_ids=frozenset({CIRCLE}))
anonymous = Viewer.anonymous()


def audience(tlp: Tlp, **kw: frozenset[str]) -> Audience:
    return Audience(tlp=tlp, author_org_id=AUTHOR_ORG, author_user_id="u-author", **kw)


@pytest.mark.parametrize(
    ("tlp", "viewer", "allowed"),
    [
        (Tlp.CLEAR, anonymous, True),
        (Tlp.GREEN, anonymous, False),
        (Tlp.GREEN, outsider, True),
        (Tlp.AMBER, colleague, True),
        (Tlp.AMBER, outsider, False),
        (Tlp.AMBER_STRICT, colleague, True),
        (Tlp.AMBER_STRICT, outsider, False),
        (Tlp.AMBER_STRICT, in_circle, False),
        (Tlp.RED, author, True),
        (Tlp.RED, colleague, False),
        (Tlp.RED, anonymous, False),
    ],
)
def test_levels_without_named_recipients(tlp: Tlp, viewer: Viewer, allowed: bool) -> None:
    assert may_read(viewer, audience(tlp)) is allowed


def test_amber_reaches_named_organisations_and_circles_only() -> None:
    named = audience(Tlp.AMBER, org_ids=frozenset({OTHER_ORG}), circle_ids=frozenset({CIRCLE}))
    assert may_read(outsider, named)
    assert may_read(in_circle, named)
    assert not may_read(Viewer(user_id="x", org_id="org-z"), named)


def test_amber_strict_ignores_named_recipients() -> None:
    named = audience(Tlp.AMBER_STRICT, org_ids=frozenset({OTHER_ORG}), circle_ids=frozenset({CIRCLE}))
    assert not may_read(outsider, named)
    assert not may_read(in_circle, named)


def test_red_reaches_named_users_not_their_colleagues() -> None:
    named = audience(Tlp.RED, user_ids=frozenset({"u-out"}))
    assert may_read(outsider, named)
    assert not may_read(Viewer(user_id="u-out-2", org_id=OTHER_ORG), named)


def test_explain_says_why_in_words() -> None:
    decision = explain(in_circle, audience(Tlp.AMBER, circle_ids=frozenset({CIRCLE})))
    assert decision.allowed
    assert "TLP:AMBER" in decision.reason and CIRCLE in decision.reason
    denied = explain(outsider, audience(Tlp.AMBER_STRICT))
    assert not denied.allowed
    assert "author's organisation" in denied.reason


@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("tlp:white", Tlp.CLEAR),
        ("TLP:CLEAR", Tlp.CLEAR),
        ("tlp:green", Tlp.GREEN),
        ("tlp:amber", Tlp.AMBER),
        ("tlp:amber+strict", Tlp.AMBER_STRICT),
        ("TLP:RED", Tlp.RED),
        ("red", Tlp.RED),
        ("tlp:ex:chr", None),
        ("pap:red", None),
    ],
)
def test_misp_tags_map_to_tlp_2(name: str, level: Tlp | None) -> None:
    assert tlp_from_name(name) is level


def test_tlp_1_marking_ids_map_to_tlp_2() -> None:
    obj = {"type": "indicator", "object_marking_refs": ["marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"]}
    assert tlp_of_object(obj) is Tlp.CLEAR
    obj["object_marking_refs"] = ["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"]
    assert tlp_of_object(obj) is Tlp.AMBER


def test_most_restrictive_marking_governs_including_granular() -> None:
    obj = {
        "type": "report",
        "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"],
        "granular_markings": [
            {"marking_ref": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", "selectors": ["description"]}
        ],
    }
    assert tlp_of_object(obj) is Tlp.RED


def test_unmarked_object_has_no_tlp_of_its_own() -> None:
    assert tlp_of_object({"type": "indicator"}) is None


def test_custom_tlp_marking_definitions_are_recognised() -> None:
    custom_v20 = {
        "type": "marking-definition",
        "id": "marking-definition--00000000-0000-4000-8000-000000000001",
        "definition_type": "tlp",
        "definition": {"tlp": "amber"},
    }
    assert tlp_from_marking_definition(custom_v20) is Tlp.AMBER
    ext = {
        "type": "marking-definition",
        "id": "marking-definition--00000000-0000-4000-8000-000000000002",
        "name": "TLP:AMBER+STRICT",
        "extensions": {"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {"tlp_2_0": "amber+strict"}},
    }
    assert tlp_from_marking_definition(ext) is Tlp.AMBER_STRICT
    # A TLP marking definition is itself public.
    assert tlp_of_object(ext) is Tlp.CLEAR
    user = {"type": "indicator", "object_marking_refs": [custom_v20["id"]]}
    assert tlp_of_object(user, {custom_v20["id"]: Tlp.AMBER}) is Tlp.AMBER


def test_shared_tlp2_marking_files_agree_with_the_table(data_dir) -> None:  # type: ignore[no-untyped-def]
    import json

    folder = data_dir / "cti" / "stix21" / "common-objects" / "marking-definition"
    seen = 0
    for path in folder.glob("*.json"):
        for obj in json.loads(path.read_text())["objects"]:
            level = tlp_from_marking_definition(obj)
            if "tlp" in obj.get("name", "").lower():
                assert level is not None and level.label == obj["name"].upper()
                seen += 1
    assert seen == 3


def test_may_read_agrees_with_explain_everywhere() -> None:
    import itertools

    orgs = [None, AUTHOR_ORG, OTHER_ORG, "org-c"]
    users = [None, "u-author", "u-out", "u-circle"]
    circles = [frozenset(), frozenset({CIRCLE})]
    named = [frozenset(), frozenset({OTHER_ORG}), frozenset({"org-c"})]
    named_users = [frozenset(), frozenset({"u-out"})]
    for tlp, org, user, vc, no, nc, nu in itertools.product(Tlp, orgs, users, circles, named, circles, named_users):
        viewer = Viewer(user_id=user, org_id=org, circle_ids=vc)
        aud = Audience(tlp, AUTHOR_ORG, "u-author", org_ids=no, circle_ids=nc, user_ids=nu)
        assert may_read(viewer, aud) is explain(viewer, aud).allowed, (tlp, org, user, vc, no, nc, nu)
