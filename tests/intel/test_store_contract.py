"""The intel store's contract, through the service, on every engine (SQLite and PostgreSQL)."""

from __future__ import annotations

import itertools

import pytest

from ribat.config import Settings
from ribat.errors import BadPageTokenError, NotFoundError, PermissionDeniedError, ValidationError
from ribat.hub import Hub
from ribat.intel import SHARE_EXTENSION, Grant, ObjectFilter, Tlp
from support import World, indicator

GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
AMBER_STRICT = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
CLEAR = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"


def ingest(world: World, email: str, objects: list[dict[str, object]]):  # type: ignore[no-untyped-def]
    return world.hub.intel.ingest(world.principal(email), "shared", {"objects": objects})


def all_objects(world: World, email: str, flt: ObjectFilter | None = None, limit: int = 1000):  # type: ignore[no-untyped-def]
    intel = world.hub.intel
    principal = world.principal(email)
    metas, bodies, token = [], [], None
    while True:
        page = intel.objects(principal, "shared", flt or ObjectFilter(), limit=limit, next_token=token)
        metas += page.metas
        bodies += page.bodies
        if not page.more:
            return metas, bodies
        token = page.next


def test_date_added_strictly_increases_across_envelopes(world: World) -> None:
    for start in range(0, 30, 10):
        ingest(world, "alice@a.example", [indicator(n, tlp_ref=GREEN) for n in range(start, start + 10)])
    metas, _ = all_objects(world, "bob@b.example")
    stamps = [m.date_added_us for m in metas]
    assert len(stamps) == 30
    assert all(a < b for a, b in itertools.pairwise(stamps))


def test_every_version_is_kept_and_selectable(world: World) -> None:
    versions = ["2024-01-01T00:00:00.000Z", "2024-02-01T00:00:00.000Z", "2024-03-01T00:00:00.000Z"]
    ingest(world, "alice@a.example", [indicator(1, tlp_ref=GREEN, modified=v) for v in reversed(versions)])
    intel, p = world.hub.intel, world.principal("bob@b.example")
    oid = indicator(1)["id"]

    def versions_for(*sel: str) -> list[str]:
        return [m.version for m in intel.object(p, "shared", str(oid), ObjectFilter(versions=sel)).metas]

    assert versions_for("last") == [versions[2]]
    assert versions_for("first") == [versions[0]]
    assert sorted(versions_for("all")) == versions
    assert versions_for(versions[1]) == [versions[1]]
    assert sorted(versions_for("first", "last")) == [versions[0], versions[2]]
    assert sorted(m.version for m in intel.versions(p, "shared", str(oid), ObjectFilter()).metas) == versions


def test_the_same_version_twice_is_stored_once(world: World) -> None:
    first = ingest(world, "alice@a.example", [indicator(1), indicator(1)])
    again = ingest(world, "alice@a.example", [indicator(1)])
    assert first.success_count == 2 and again.success_count == 1
    assert [s.message for s in first.successes] == [None, "already stored"]
    assert again.successes[0].message == "already stored"
    assert world.hub.intel.count("shared") == 1


def test_custom_types_and_properties_round_trip_unchanged(world: World) -> None:
    custom = {
        "type": "x-mitre-tactic",
        "spec_version": "2.1",
        "id": "x-mitre-tactic--4ca45d45-df4d-4613-8980-bac22d278fa5",
        "created": "2018-10-17T00:14:20.652Z",
        "modified": "2022-04-25T14:00:00.188Z",
        "name": "Execution",
        "x_mitre_shortname": "execution",
        "x_nested": {"a": [1, 2.5, None, {"b": "ü"}]},
        "object_marking_refs": [CLEAR],
    }
    ind = indicator(7, tlp_ref=GREEN, x_ribat_test={"deep": ["value", 3]})
    status = ingest(world, "alice@a.example", [custom, ind])
    assert status.failure_count == 0, status.failures
    import orjson

    _, bodies = all_objects(world, "bob@b.example")
    assert sorted((orjson.loads(b) for b in bodies), key=lambda o: o["id"]) == sorted(
        [custom, ind], key=lambda o: str(o["id"])
    )


def test_version_less_objects_are_idempotent_by_content(world: World) -> None:
    sco = {
        "type": "ipv4-addr",
        "spec_version": "2.1",
        "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd",
        "value": "198.51.100.3",
        "object_marking_refs": [GREEN],
    }
    ingest(world, "alice@a.example", [sco])
    ingest(world, "alice@a.example", [dict(sco)])
    assert world.hub.intel.count("shared") == 1
    changed = {**sco, "x_note": "seen again"}
    ingest(world, "alice@a.example", [changed])
    assert world.hub.intel.count("shared") == 2
    metas, bodies = all_objects(world, "bob@b.example", ObjectFilter(versions=("last",)))
    assert len(metas) == 1 and "seen again" in bodies[0]


def test_an_envelope_with_invalid_objects_keeps_the_valid_ones(world: World) -> None:
    bad_pattern = indicator(2, pattern="[ipv4-addr:value = ")
    no_type = {"id": "indicator--0b3a3f8e-2f4c-4c1e-9a0e-000000000000"}
    status = ingest(world, "alice@a.example", [indicator(1), bad_pattern, "not an object", no_type, indicator(3)])
    assert status.success_count == 2
    assert status.failure_count == 3
    assert {s.id for s in status.successes} == {indicator(1)["id"], indicator(3)["id"]}
    assert all(f.message for f in status.failures)
    assert world.hub.intel.count("shared") == 2
    stored = world.hub.intel.status(world.principal("alice@a.example"), status.id)
    assert stored == status


def test_status_is_private_to_its_requester(world: World) -> None:
    status = ingest(world, "alice@a.example", [indicator(1)])
    with pytest.raises(NotFoundError):
        world.hub.intel.status(world.principal("bob@b.example"), status.id)
    assert world.hub.intel.status(world.principal("admin@hub.example"), status.id).id == status.id


def test_paging_never_skips_or_repeats_and_survives_a_restart(world: World, settings: Settings) -> None:
    ingest(world, "alice@a.example", [indicator(n, tlp_ref=GREEN) for n in range(25)])
    principal = world.principal("bob@b.example")
    first = world.hub.intel.objects(principal, "shared", ObjectFilter(), limit=10)
    assert first.more and first.next
    ingest(world, "alice@a.example", [indicator(n, tlp_ref=GREEN) for n in range(25, 30)])
    other = Hub.open(settings)  # another process, or the same one restarted
    try:
        seen = [m.object_id for m in first.metas]
        token = first.next
        while token:
            page = other.intel.objects(principal, "shared", ObjectFilter(), limit=10, next_token=token)
            seen += [m.object_id for m in page.metas]
            token = page.next if page.more else None
    finally:
        other.close()
    assert len(seen) == len(set(seen)) == 30


def test_a_token_is_refused_for_another_query_or_when_forged(world: World) -> None:
    ingest(world, "alice@a.example", [indicator(n, tlp_ref=GREEN) for n in range(5)])
    intel, p = world.hub.intel, world.principal("bob@b.example")
    page = intel.objects(p, "shared", ObjectFilter(), limit=2)
    assert page.next
    with pytest.raises(BadPageTokenError):
        intel.objects(p, "shared", ObjectFilter(types=("malware",)), limit=2, next_token=page.next)
    with pytest.raises(BadPageTokenError):
        intel.objects(p, "shared", ObjectFilter(), limit=2, next_token=page.next[:-2] + "00")
    with pytest.raises(BadPageTokenError):
        intel.objects(p, "shared", ObjectFilter(), limit=2, next_token="garbage")


def test_filters_by_id_type_added_after_and_spec_version(world: World) -> None:
    status = ingest(world, "alice@a.example", [indicator(n, tlp_ref=GREEN) for n in range(6)])
    assert status.failure_count == 0
    intel, p = world.hub.intel, world.principal("bob@b.example")
    metas = intel.objects(p, "shared", ObjectFilter()).metas
    middle = metas[2].date_added_us
    after = intel.objects(p, "shared", ObjectFilter(added_after_us=middle)).metas
    assert [m.object_id for m in after] == [m.object_id for m in metas[3:]]
    ids = (str(indicator(1)["id"]), str(indicator(4)["id"]))
    assert {m.object_id for m in intel.objects(p, "shared", ObjectFilter(ids=ids)).metas} == set(ids)
    assert intel.objects(p, "shared", ObjectFilter(types=("malware",))).metas == []
    assert len(intel.objects(p, "shared", ObjectFilter(spec_versions=("2.1",))).metas) == 6
    assert intel.objects(p, "shared", ObjectFilter(spec_versions=("2.0",))).metas == []


def test_limit_is_capped_and_must_be_positive(world: World) -> None:
    world.hub.intel.page_size_cap = 3
    ingest(world, "alice@a.example", [indicator(n, tlp_ref=GREEN) for n in range(5)])
    page = world.hub.intel.objects(world.principal("bob@b.example"), "shared", ObjectFilter(), limit=100)
    assert len(page.metas) == 3 and page.more
    with pytest.raises(ValidationError):
        world.hub.intel.objects(world.principal("bob@b.example"), "shared", ObjectFilter(), limit=0)


@pytest.mark.parametrize(
    ("marking", "readers"),
    [
        (CLEAR, {"alice", "anna", "bob", "carol"}),
        (GREEN, {"alice", "anna", "bob", "carol"}),
        (AMBER, {"alice", "anna"}),
        (AMBER_STRICT, {"alice", "anna"}),
        (RED, {"alice"}),
        (None, {"alice", "anna"}),  # the collection default: AMBER
    ],
)
def test_tlp_decides_who_reads(world: World, marking: str | None, readers: set[str]) -> None:
    ingest(world, "alice@a.example", [indicator(1, tlp_ref=marking)])
    emails = {"alice": "alice@a.example", "anna": "anna@a.example", "bob": "bob@b.example", "carol": "carol@c.example"}
    for name, email in emails.items():
        metas, _ = all_objects(world, email)
        assert (len(metas) == 1) is (name in readers), name


def test_named_recipients_widen_amber_and_red(world: World) -> None:
    def shared_with(n: int, marking: str, names: list[str]) -> dict[str, object]:
        ext = {SHARE_EXTENSION: {"extension_type": "property-extension", "share_with": names}}
        return indicator(n, tlp_ref=marking, extensions=ext)

    status = ingest(
        world,
        "alice@a.example",
        [
            shared_with(1, AMBER, ["org:cert-c"]),
            shared_with(2, AMBER, ["circle:wg"]),
            shared_with(3, RED, ["user:carol@c.example"]),
            shared_with(4, AMBER_STRICT, ["org:cert-c"]),
            shared_with(5, AMBER, ["org:nobody"]),
        ],
    )
    assert status.failure_count == 1 and "unknown recipient 'org:nobody'" in (status.failures[0].message or "")

    def visible(email: str) -> set[int]:
        metas, _ = all_objects(world, email)
        return {int(m.object_id[-12:], 16) for m in metas}

    assert visible("carol@c.example") == {1, 3}
    assert visible("bob@b.example") == {2}
    assert visible("alice@a.example") == {1, 2, 3, 4}
    assert visible("anna@a.example") == {1, 2, 4}


def test_explain_uses_the_same_policy(world: World) -> None:
    ingest(world, "alice@a.example", [indicator(1, tlp_ref=AMBER_STRICT)])
    oid = str(indicator(1)["id"])
    assert world.hub.intel.explain(world.principal("anna@a.example"), "shared", oid).allowed
    decision = world.hub.intel.explain(world.principal("bob@b.example"), "shared", oid)
    assert not decision.allowed and "AMBER+STRICT" in decision.reason


def test_delete_leaves_a_tombstone_and_only_the_author_may_delete(world: World) -> None:
    ingest(world, "alice@a.example", [indicator(1, tlp_ref=GREEN)])
    oid = str(indicator(1)["id"])
    intel = world.hub.intel
    with pytest.raises(PermissionDeniedError):
        intel.delete(world.principal("bob@b.example"), "shared", oid, ObjectFilter())
    assert intel.delete(world.principal("alice@a.example"), "shared", oid, ObjectFilter()) == 1
    with pytest.raises(NotFoundError):
        intel.object(world.principal("bob@b.example"), "shared", oid, ObjectFilter())
    from ribat.intel import _tables as t

    with world.hub.db.read() as conn:
        assert conn.execute(t.stix_objects.select()).one().deleted_us is not None
    # The same version sent again comes back (with a new date_added).
    again = ingest(world, "alice@a.example", [indicator(1, tlp_ref=GREEN)])
    assert again.successes[0].message is None
    assert len(intel.object(world.principal("bob@b.example"), "shared", oid, ObjectFilter()).metas) == 1


def test_deleting_one_version_keeps_the_others(world: World) -> None:
    v1, v2 = "2024-01-01T00:00:00.000Z", "2024-02-01T00:00:00.000Z"
    ingest(world, "alice@a.example", [indicator(1, tlp_ref=GREEN, modified=v) for v in (v1, v2)])
    oid = str(indicator(1)["id"])
    intel, p = world.hub.intel, world.principal("alice@a.example")
    assert intel.delete(p, "shared", oid, ObjectFilter(versions=(v2,))) == 1
    assert [m.version for m in intel.object(p, "shared", oid, ObjectFilter()).metas] == [v1]


def test_revoked_objects_are_kept_and_flagged(world: World) -> None:
    ingest(world, "alice@a.example", [indicator(1, tlp_ref=GREEN, revoked=True)])
    metas, _ = all_objects(world, "bob@b.example")
    assert metas[0].revoked


def test_collection_permissions(world: World) -> None:
    intel = world.hub.intel
    private = intel.create_collection("b only", grants=[Grant("org", world.org_b.id, True, True)])
    readonly = intel.create_collection("read only", grants=[Grant("circle", world.circle.id, True, False)])
    alice, bob, carol, anna = (
        world.principal(e) for e in ("alice@a.example", "bob@b.example", "carol@c.example", "anna@a.example")
    )
    assert {c.id for c in intel.collections(carol)} == {world.collection.id}
    assert {c.id for c in intel.collections(bob)} == {world.collection.id, private.id, readonly.id}
    with pytest.raises(NotFoundError):
        intel.collection(alice, private.id)
    with pytest.raises(PermissionDeniedError):
        intel.ingest(alice, readonly.id, {"objects": [indicator(1)]})
    with pytest.raises(PermissionDeniedError):
        intel.ingest(anna, "shared", {"objects": [indicator(1)]})  # a reader never writes
    assert intel.ingest(bob, private.id, {"objects": [indicator(1)]}).success_count == 1


def test_collection_default_tlp_applies_to_unmarked_objects(world: World) -> None:
    intel = world.hub.intel
    public = intel.create_collection("public", default_tlp=Tlp.CLEAR, grants=[Grant("community", "", True, True)])
    intel.ingest(world.principal("alice@a.example"), public.id, {"objects": [indicator(1)]})
    page = intel.objects(world.principal("carol@c.example"), public.id, ObjectFilter())
    assert [m.tlp for m in page.metas] == [Tlp.CLEAR]


def test_custom_tlp_marking_definitions_govern_later_objects(world: World) -> None:
    marking = {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e0000",
        "created": "2022-10-01T00:00:00.000Z",
        "name": "TLP:RED",
        "definition_type": "statement",
        "definition": {"statement": "TLP:RED, as this team applies it"},
    }
    assert ingest(world, "alice@a.example", [marking]).failure_count == 0
    ingest(world, "alice@a.example", [indicator(1, tlp_ref=marking["id"])])
    metas, _ = all_objects(world, "anna@a.example")
    assert [m.type for m in metas] == ["marking-definition"]
