"""Hunt output: the STIX 2.1 bundle of sightings (checked against stix2 and Ribat's own ingest), rows, CSV,
JSON and the terminal table."""

from __future__ import annotations

import csv
import io
import itertools
import uuid
from collections.abc import Callable
from typing import Any

import orjson
import pytest
import stix2
from hypothesis import given, settings
from hypothesis import strategies as st
from stix2 import v21

from ribat.clock import format_us
from ribat.errors import ValidationError
from ribat.hub import Hub
from ribat.hunt.hits import Hit, Sample
from ribat.hunt.sightings import (
    CSV_COLUMNS,
    MAX_COUNT,
    TABLE_WIDTHS,
    TLP2_MARKING_IDS,
    author_recipient,
    hits_from_json,
    main_values,
    render_table,
    sco_id,
    scos_of,
    to_csv,
    to_json,
    to_rows,
    to_stix,
)
from ribat.intel import SHARE_EXTENSION, ObjectFilter, Tlp
from ribat.intel.tlp import TLP_MARKING_IDS, tlp_of_object
from support import World

NOW = 1_717_200_000_000_000  # 2024-06-01T00:00:00Z
T0 = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z
SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
MD5 = "d41d8cd98f00b204e9800998ecf8427e"
HUNTER = {
    "type": "identity",
    "spec_version": "2.1",
    "id": "identity--0b7e1a52-51a4-4c1e-8f55-7d3b9a0c2e11",
    "created": "2024-01-01T00:00:00.000Z",
    "modified": "2024-01-01T00:00:00.000Z",
    "name": "CERT A",
    "identity_class": "organization",
}
AUTHOR = "identity--5d1f0c3a-9e7b-4a26-b1c8-2f6e4d8a0b93"


def ids() -> Callable[[], str]:
    counter = itertools.count(1)
    return lambda: str(uuid.UUID(int=next(counter), version=4))


def connection(src: str, dst: str, dst_port: int = 443, **traffic: Any) -> dict[str, dict[str, Any]]:
    kind = "ipv6-addr" if ":" in dst else "ipv4-addr"
    return {
        "0": {"type": kind, "value": src},
        "1": {"type": kind, "value": dst},
        "2": {
            "type": "network-traffic",
            "src_ref": "0",
            "dst_ref": "1",
            "src_port": 49152,
            "dst_port": dst_port,
            "protocols": ["ipv4", "tcp"],
            **traffic,
        },
    }


def hit(
    n: int, name: str, samples: list[Sample] | None = None, *, pattern: str = "[ipv4-addr:value = '198.51.100.7']"
) -> Hit:
    h = Hit(f"indicator--00000000-0000-4000-8000-{n:012d}", name, AUTHOR, pattern)
    for s in samples or []:
        h.add(s)
    return h


def sample(line: int, seconds: int, objects: dict[str, dict[str, Any]], matched: tuple[str, ...] = ("1",)) -> Sample:
    return Sample("/var/log/zeek/conn.log", line, T0 + seconds * 1_000_000, objects, matched)


def by_type(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [o for o in bundle["objects"] if o["type"] == kind]


def by_id(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {o["id"]: o for o in bundle["objects"]}


def c2_hit() -> Hit:
    return hit(
        1,
        "C2 server",
        [sample(10, 0, connection("10.0.0.5", "198.51.100.7")), sample(42, 90, connection("10.0.0.6", "198.51.100.7"))],
    )


# -- the bundle ----------------------------------------------------------------------------------


def test_bundle_without_recipients_parses_with_stix2_strictly() -> None:
    bundle = to_stix([c2_hit()], hunter_identity=HUNTER, now_us=NOW, new_id=ids())
    parsed = stix2.parse(orjson.dumps(bundle).decode(), allow_custom=False)
    kinds = [type(o).__name__ for o in parsed.objects]
    assert kinds.count("Sighting") == 1
    assert kinds.count("ObservedData") == 2
    assert kinds[0] == "Identity"
    assert parsed.id == "bundle--00000000-0000-4000-8000-000000000004"


def test_bundle_with_recipients_parses_with_stix2_extension_included() -> None:
    bundle = to_stix([c2_hit()], hunter_identity=HUNTER, share_with=["org:cert-b"], now_us=NOW, new_id=ids())
    for allow_custom in (True, False):  # a property extension by extension definition is standard STIX 2.1
        parsed = stix2.parse(bundle, allow_custom=allow_custom)
        assert [o.id for o in parsed.objects] == [o["id"] for o in bundle["objects"]]
        sighting = next(o for o in parsed.objects if o.type == "sighting")
        assert sighting.extensions[SHARE_EXTENSION]["share_with"] == ["org:cert-b"]


def test_sighting_names_the_indicator_the_hunter_and_the_time_window() -> None:
    bundle = to_stix([c2_hit()], hunter_identity=HUNTER, now_us=NOW, new_id=ids())
    (sighting,) = by_type(bundle, "sighting")
    assert sighting["sighting_of_ref"] == "indicator--00000000-0000-4000-8000-000000000001"
    assert sighting["where_sighted_refs"] == [HUNTER["id"]]
    assert sighting["created_by_ref"] == HUNTER["id"]
    assert sighting["count"] == 2
    assert sighting["first_seen"] == "2024-01-01T00:00:00.000000Z"
    assert sighting["last_seen"] == "2024-01-01T00:01:30.000000Z"
    assert sighting["created"] == sighting["modified"] == format_us(NOW)
    observed = by_type(bundle, "observed-data")
    assert sighting["observed_data_refs"] == [o["id"] for o in observed]
    stix2.parse(sighting)


def test_one_match_gives_a_sighting_whose_last_seen_equals_first_seen() -> None:
    h = hit(1, "one", [sample(1, 5, connection("10.0.0.5", "198.51.100.7"))])
    (sighting,) = by_type(to_stix([h], hunter_identity=HUNTER, now_us=NOW, new_id=ids()), "sighting")
    assert sighting["first_seen"] == sighting["last_seen"] == "2024-01-01T00:00:05.000000Z"
    assert stix2.parse(sighting).count == 1


def test_observed_data_is_the_sampled_record_at_its_time() -> None:
    h = hit(1, "one", [sample(1, 5, connection("10.0.0.5", "198.51.100.7"))])
    bundle = to_stix([h], hunter_identity=HUNTER, now_us=NOW, new_id=ids())
    (observed,) = by_type(bundle, "observed-data")
    assert observed["first_observed"] == observed["last_observed"] == "2024-01-01T00:00:05.000000Z"
    assert observed["number_observed"] == 1
    assert observed["created_by_ref"] == HUNTER["id"]
    objects = by_id(bundle)
    assert sorted(objects[ref]["type"] for ref in observed["object_refs"]) == [
        "ipv4-addr",
        "ipv4-addr",
        "network-traffic",
    ]
    assert "conn.log" not in orjson.dumps(bundle).decode()  # no log paths leave the hunter
    stix2.parse(observed)


def test_count_above_the_stix_maximum_is_written_as_the_maximum() -> None:
    h = hit(1, "noisy", [sample(1, 0, connection("10.0.0.5", "198.51.100.7"))])
    h.count = MAX_COUNT + 5
    (sighting,) = by_type(to_stix([h], hunter_identity=HUNTER, now_us=NOW, new_id=ids()), "sighting")
    assert sighting["count"] == MAX_COUNT == 999_999_999
    stix2.parse(sighting)


def test_hunter_must_be_an_identity() -> None:
    with pytest.raises(ValidationError) as err:
        to_stix([c2_hit()], hunter_identity={"type": "organization", "id": "x"}, now_us=NOW)
    assert err.value.field == "hunter_identity"
    with pytest.raises(ValidationError):
        to_stix([c2_hit()], hunter_identity={**HUNTER, "id": "location--" + HUNTER["id"][10:]}, now_us=NOW)


# -- deterministic SCO ids, against stix2's ----------------------------------------------------


def scos(objects: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return scos_of(objects, new_id=ids())


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({"type": "ipv4-addr", "value": "198.51.100.7"}, v21.IPv4Address(value="198.51.100.7")),
        ({"type": "ipv6-addr", "value": "2001:db8::1"}, v21.IPv6Address(value="2001:db8::1")),
        ({"type": "domain-name", "value": "évil.example"}, v21.DomainName(value="évil.example")),
        ({"type": "url", "value": "http://a.example/x?q=1"}, v21.URL(value="http://a.example/x?q=1")),
        ({"type": "email-addr", "value": "a@b.example"}, v21.EmailAddress(value="a@b.example")),
        ({"type": "file", "hashes": {"SHA-256": SHA256}}, v21.File(hashes={"SHA-256": SHA256})),
        (
            {"type": "file", "hashes": {"SHA-256": SHA256, "MD5": MD5}, "name": "a.exe", "size": 3},
            v21.File(hashes={"SHA-256": SHA256, "MD5": MD5}, name="a.exe", size=3),
        ),
        ({"type": "file", "hashes": {"sha256": SHA256}}, v21.File(hashes={"SHA-256": SHA256})),
        ({"type": "file", "name": "invoice.pdf.exe"}, v21.File(name="invoice.pdf.exe")),
        (
            {"type": "x509-certificate", "hashes": {"SHA-1": "a" * 40}, "serial_number": "01:02"},
            v21.X509Certificate(hashes={"SHA-1": "a" * 40}, serial_number="01:02"),
        ),
        ({"type": "autonomous-system", "number": 64500}, v21.AutonomousSystem(number=64500)),
        (
            {"type": "software", "name": "curl", "version": "8.0"},
            v21.Software(name="curl", version="8.0"),
        ),
    ],
)
def test_sco_ids_are_the_ones_stix2_derives(obj: dict[str, Any], expected: Any) -> None:
    (sco,) = scos({"0": obj}).values()
    assert sco["id"] == expected.id
    assert stix2.parse(sco).id == expected.id


@settings(max_examples=60, deadline=None)
@given(value=st.text(min_size=1), name=st.text(min_size=1))
def test_ids_of_any_text_are_the_ones_stix2_derives(value: str, name: str) -> None:
    converted = scos({"0": {"type": "domain-name", "value": value}, "1": {"type": "file", "name": name}})
    assert converted["0"]["id"] == v21.DomainName(value=value).id
    assert converted["1"]["id"] == v21.File(name=name).id


def test_network_traffic_id_is_derived_from_its_addresses_ids() -> None:
    objects = connection(
        "10.0.0.5",
        "198.51.100.7",
        80,
        start="2024-01-01T00:00:00.500000Z",
        extensions={"http-request-ext": {"request_method": "GET", "request_value": "/x"}},
    )
    converted = scos(objects)
    src = v21.IPv4Address(value="10.0.0.5")
    dst = v21.IPv4Address(value="198.51.100.7")
    traffic = v21.NetworkTraffic(
        src_ref=src.id,
        dst_ref=dst.id,
        src_port=49152,
        dst_port=80,
        protocols=["ipv4", "tcp"],
        start="2024-01-01T00:00:00.500000Z",
        extensions={"http-request-ext": {"request_method": "GET", "request_value": "/x"}},
    )
    assert converted["2"]["id"] == traffic.id
    assert converted["2"]["src_ref"] == src.id
    assert converted["2"]["dst_ref"] == dst.id
    assert list(converted) == ["0", "1", "2"]  # referenced objects first
    assert stix2.parse(converted["2"]).id == traffic.id


def test_referenced_objects_come_before_the_objects_that_refer_to_them() -> None:
    objects = {
        "0": {"type": "domain-name", "value": "c2.example", "resolves_to_refs": ["1"]},
        "1": {"type": "ipv4-addr", "value": "198.51.100.7"},
        "2": {"type": "email-message", "is_multipart": False, "from_ref": "3", "subject": "invoice"},
        "3": {"type": "email-addr", "value": "x@c2.example"},
    }
    converted = scos(objects)
    assert list(converted) == ["1", "0", "3", "2"]
    sender = v21.EmailAddress(value="x@c2.example")
    message = v21.EmailMessage(is_multipart=False, from_ref=sender.id, subject="invoice")
    assert converted["2"]["id"] == message.id
    assert converted["0"]["resolves_to_refs"] == [v21.IPv4Address(value="198.51.100.7").id]


def test_the_share_extension_does_not_change_an_id() -> None:
    plain = {"type": "file", "hashes": {"MD5": MD5}, "extensions": {"pdf-ext": {"version": "1.7"}}}
    shared = {**plain, "extensions": {**plain["extensions"], SHARE_EXTENSION: {"share_with": ["org:cert-b"]}}}
    assert sco_id(shared) == sco_id(plain) == v21.File(**{k: v for k, v in plain.items() if k != "type"}).id


def test_objects_without_id_contributing_properties_get_ids_from_new_id() -> None:
    converted = scos({"0": {"type": "process", "pid": 4}, "1": {"type": "x-sensor-alert", "rule": "r"}})
    assert converted["0"]["id"] == "process--00000000-0000-4000-8000-000000000001"
    assert converted["1"]["id"] == "x-sensor-alert--00000000-0000-4000-8000-000000000002"


def test_mutual_references_end_and_keep_derived_ids_where_possible() -> None:
    objects = {
        "0": {"type": "directory", "path": "C:\\Temp", "contains_refs": ["1"]},
        "1": {"type": "file", "name": "a.exe", "parent_directory_ref": "0"},
    }
    converted = scos(objects)
    directory = v21.Directory(path="C:\\Temp")
    assert converted["0"]["id"] == directory.id
    assert converted["1"]["id"] == v21.File(name="a.exe", parent_directory_ref=directory.id).id
    assert converted["0"]["contains_refs"] == [converted["1"]["id"]]


def test_dangling_local_references_are_dropped_and_stix_ids_kept() -> None:
    known = "ipv4-addr--12592121-be4c-5a93-a813-5a5af16e50db"
    objects = {
        "0": {"type": "domain-name", "value": "a.example", "resolves_to_refs": ["7", known]},
        "1": {"type": "network-traffic", "src_ref": "9", "dst_ref": known, "protocols": ["tcp"]},
        "2": {"type": "", "value": "no type"},
    }
    converted = scos(objects)
    assert set(converted) == {"0", "1"}
    assert converted["0"]["resolves_to_refs"] == [known]
    assert "src_ref" not in converted["1"]
    assert converted["1"]["id"] == v21.NetworkTraffic(dst_ref=known, protocols=["tcp"]).id


# -- deduplication, markings, sharing ------------------------------------------------------------


def test_objects_repeated_across_samples_appear_once() -> None:
    bundle = to_stix([c2_hit()], hunter_identity=HUNTER, now_us=NOW, new_id=ids())
    addresses = [o["value"] for o in by_type(bundle, "ipv4-addr")]
    assert sorted(addresses) == ["10.0.0.5", "10.0.0.6", "198.51.100.7"]
    assert len(by_type(bundle, "network-traffic")) == 2
    identifiers = [o["id"] for o in bundle["objects"]]
    assert len(identifiers) == len(set(identifiers))


def test_a_record_sampled_by_two_hits_is_one_observed_data() -> None:
    record = sample(7, 3, connection("10.0.0.5", "198.51.100.7"))
    a = hit(1, "address", [record])
    b = hit(2, "port", [record], pattern="[network-traffic:dst_port = 443]")
    bundle = to_stix([a, b], hunter_identity=HUNTER, now_us=NOW, new_id=ids())
    (observed,) = by_type(bundle, "observed-data")
    assert [s["observed_data_refs"] for s in by_type(bundle, "sighting")] == [[observed["id"]], [observed["id"]]]


@pytest.mark.parametrize("level", list(Tlp))
def test_every_object_the_hunter_writes_carries_the_tlp_marking(level: Tlp) -> None:
    bundle = to_stix([c2_hit()], hunter_identity=HUNTER, tlp=level, now_us=NOW, new_id=ids())
    written = [o for o in bundle["objects"] if o["type"] != "identity"]
    assert len(written) == 8  # 3 addresses, 2 connections, 2 observed-data, 1 sighting
    for obj in written:
        assert obj["object_marking_refs"] == [TLP2_MARKING_IDS[level]]
        assert tlp_of_object(obj) is level
    assert TLP_MARKING_IDS[TLP2_MARKING_IDS[level]] is level


def test_a_stricter_marking_already_on_an_observed_object_is_kept() -> None:
    red = TLP2_MARKING_IDS[Tlp.RED]
    objects = {"0": {"type": "ipv4-addr", "value": "10.0.0.5", "object_marking_refs": [red]}}
    h = hit(1, "x", [sample(1, 0, objects, ("0",))])
    bundle = to_stix([h], hunter_identity=HUNTER, tlp=Tlp.GREEN, now_us=NOW, new_id=ids())
    (address,) = by_type(bundle, "ipv4-addr")
    assert address["object_marking_refs"] == [red, TLP2_MARKING_IDS[Tlp.GREEN]]
    assert tlp_of_object(address) is Tlp.RED


def test_recipients_are_named_on_every_object_the_hunter_writes() -> None:
    bundle = to_stix(
        [c2_hit()],
        hunter_identity=HUNTER,
        share_with=["org:cert-b", "circle:wg", "org:cert-b"],
        now_us=NOW,
        new_id=ids(),
    )
    for obj in bundle["objects"]:
        if obj["type"] == "identity":
            assert "extensions" not in obj
            continue
        assert obj["extensions"][SHARE_EXTENSION] == {
            "extension_type": "property-extension",
            "share_with": ["org:cert-b", "circle:wg"],
        }


def test_a_recipient_must_be_an_org_a_circle_or_a_user() -> None:
    with pytest.raises(ValidationError) as err:
        to_stix([c2_hit()], hunter_identity=HUNTER, share_with=["cert-b"], now_us=NOW)
    assert err.value.field == "share_with"


def test_the_author_recipient_is_the_authors_organisation_short_name() -> None:
    assert author_recipient(AUTHOR, {AUTHOR: "cert-b"}) == "org:cert-b"
    assert author_recipient(AUTHOR, {}) is None
    assert author_recipient(None, {AUTHOR: "cert-b"}) is None


def _shared_bundle(world: World, tlp: Tlp, share_with: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    hub: Hub = world.hub
    indicator = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": "indicator--00000000-0000-4000-8000-000000000001",
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z",
        "created_by_ref": world.org_b.identity_id,
        "pattern": "[ipv4-addr:value = '198.51.100.7']",
        "pattern_type": "stix",
        "valid_from": "2024-01-01T00:00:00Z",
    }
    status = hub.intel.ingest(world.principal("bob@b.example"), "shared", indicator)
    assert status.failure_count == 0
    h = c2_hit()
    h.created_by_ref = world.org_b.identity_id
    identities = {o.identity_id: o.short_name for o in hub.accounts.list_orgs()}
    recipient = author_recipient(h.created_by_ref, identities)
    assert recipient == "org:cert-b"
    bundle = to_stix(
        [h],
        hunter_identity=hub.accounts.identity_object(world.org_a.id),
        tlp=tlp,
        share_with=[recipient, *share_with],
        now_us=NOW,
        new_id=ids(),
    )
    return bundle, indicator


def _readable(world: World, email: str) -> set[str]:
    page = world.hub.intel.objects(world.principal(email), "shared", ObjectFilter(), limit=1000)
    return {orjson.loads(body)["id"] for body in page.bodies}


def test_the_hub_stores_a_sighting_bundle_shared_with_the_indicator_author(world: World) -> None:
    bundle, indicator = _shared_bundle(world, Tlp.AMBER, [])
    status = world.hub.intel.ingest(world.principal("alice@a.example"), "shared", bundle)
    assert status.failure_count == 0, status.failures
    assert status.success_count == len(bundle["objects"])
    written = {o["id"] for o in bundle["objects"] if o["type"] != "identity"}
    assert written <= _readable(world, "bob@b.example")  # the named author's organisation
    assert written <= _readable(world, "alice@a.example")  # the hunter's own
    assert not written & _readable(world, "carol@c.example")  # AMBER, not named
    (sighting,) = by_type(bundle, "sighting")
    page = world.hub.intel.object(world.principal("bob@b.example"), "shared", sighting["id"], ObjectFilter())
    stored = orjson.loads(page.bodies[0])
    assert stored["sighting_of_ref"] == indicator["id"]
    assert stored["extensions"][SHARE_EXTENSION]["share_with"] == ["org:cert-b"]


def test_the_hub_rejects_recipients_it_does_not_know_and_names_them(world: World) -> None:
    bundle, _ = _shared_bundle(world, Tlp.AMBER, ["org:no-such-cert"])
    status = world.hub.intel.ingest(world.principal("alice@a.example"), "shared", bundle)
    assert status.failure_count == len(bundle["objects"]) - 1  # all but the identity
    assert all("no-such-cert" in (f.message or "") for f in status.failures)


# -- rows, CSV, JSON -----------------------------------------------------------------------------


def table_hits() -> list[Hit]:
    file_objects = {"0": {"type": "file", "hashes": {"SHA-256": SHA256, "MD5": MD5}, "name": "dropper.exe"}}
    return [
        hit(3, "Beta domain", [sample(5, 10, {"0": {"type": "domain-name", "value": "c2.example"}}, ("0",))]),
        c2_hit(),
        hit(2, "alpha file", [Sample("/data/files.log", 2, T0, file_objects, ("0",))]),
    ]


def test_rows_are_sorted_by_count_then_name_and_list_files_and_values() -> None:
    rows = to_rows(table_hits())
    assert [r["name"] for r in rows] == ["C2 server", "alpha file", "Beta domain"]
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert rows[0]["files"] == ["/var/log/zeek/conn.log"]
    assert rows[0]["sample_values"] == ["198.51.100.7"]
    assert rows[0]["first_seen"] == "2024-01-01T00:00:00.000000Z"
    assert rows[1]["sample_values"] == [SHA256, MD5]
    assert rows[2]["sample_values"] == ["c2.example"]


def test_main_values_are_of_the_matched_objects_else_of_all() -> None:
    objects = connection("10.0.0.5", "2001:db8::7")
    assert main_values(sample(1, 0, objects, ("2",))) == ["10.0.0.5:49152 -> [2001:db8::7]:443"]
    assert main_values(sample(1, 0, objects, ())) == ["10.0.0.5", "2001:db8::7", "10.0.0.5:49152 -> [2001:db8::7]:443"]


def test_csv_cells_cannot_run_as_formulas() -> None:
    evil = hit(
        9,
        '=HYPERLINK("http://x.example","click")',
        [
            Sample("@payload.log", 1, T0, {"0": {"type": "url", "value": "+cmd|' /C calc'!A0"}}, ("0",)),
            Sample("\tlog", 2, T0 + 1, {"0": {"type": "domain-name", "value": "-2+3"}}, ("0",)),
        ],
        pattern="[url:value = '+cmd']",
    )
    text = to_csv([evil])
    assert text.endswith("\r\n")
    header, row = list(csv.reader(io.StringIO(text)))
    assert header == list(CSV_COLUMNS)
    cells = dict(zip(header, row, strict=True))
    assert cells["name"] == '\'=HYPERLINK("http://x.example","click")'
    assert cells["files"] == "'@payload.log | \tlog"
    assert cells["sample_values"] == "'+cmd|' /C calc'!A0 | -2+3"
    assert cells["pattern"] == "[url:value = '+cmd']"
    assert cells["count"] == "2"
    for cell in row:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_json_round_trips_through_orjson_and_back_to_hits() -> None:
    hits = table_hits()
    data = to_json(hits)
    again = orjson.loads(orjson.dumps(data))
    assert again == data
    assert [h["indicator_id"] for h in again["hits"]] == [r["indicator_id"] for r in to_rows(hits)]
    first = again["hits"][0]
    assert first["samples"][0] == {
        "file": "/var/log/zeek/conn.log",
        "line": 10,
        "time": "2024-01-01T00:00:00.000000Z",
        "objects": connection("10.0.0.5", "198.51.100.7"),
        "matched": ["1"],
    }
    ordered = sorted(hits, key=lambda h: (-h.count, h.name.casefold()))
    assert hits_from_json(again) == ordered


def test_json_that_is_not_hunt_output_is_refused_with_the_place() -> None:
    data = to_json([c2_hit()])
    data["hits"][0]["samples"][1]["time"] = "yesterday"
    with pytest.raises(ValidationError) as err:
        hits_from_json(data)
    assert err.value.field == "hits[0].samples[1].time"
    with pytest.raises(ValidationError):
        hits_from_json({"hits": [{"indicator_id": "x"}]})


# -- the terminal table --------------------------------------------------------------------------


def test_table_is_sorted_aligned_and_summed() -> None:
    lines = render_table(table_hits()).splitlines()
    assert lines[0].split()[:2] == ["COUNT", "INDICATOR"]
    assert set(lines[1]) == {"-", " "}
    names = [line[7:].split("  ")[0].strip() for line in lines[2:5]]
    assert names == ["C2 server", "alpha file", "Beta domain"]
    assert lines[2].startswith("    2  C2 server")
    start = lines[0].index("FIRST SEEN")
    assert [line[start : start + 19] for line in lines[2:5]] == [
        "2024-01-01 00:00:00",
        "2024-01-01 00:00:00",
        "2024-01-01 00:00:10",
    ]
    values = lines[0].index("VALUES")
    assert lines[2][values:] == "198.51.100.7"
    assert lines[2][lines[0].index("FILES") :].startswith("conn.log ")
    assert lines[-1] == "3 indicators, 4 matches"


def test_long_values_are_cut_with_an_ellipsis_at_the_capped_width() -> None:
    long_name = "An indicator with a very long name " * 4
    long_url = "http://c2.example/" + "a" * 200
    h = hit(1, long_name, [sample(1, 0, {"0": {"type": "url", "value": long_url}}, ("0",))])
    lines = render_table([h]).splitlines()
    indicator = lines[0].index("INDICATOR")
    cell = lines[2][indicator : indicator + TABLE_WIDTHS["indicator"]]
    assert cell.endswith("…")
    assert cell[:-1] == long_name[: TABLE_WIDTHS["indicator"] - 1]
    values = lines[2][lines[0].index("VALUES") :]
    assert len(values) == TABLE_WIDTHS["values"]
    assert values.endswith("…")
    assert values.startswith("http://c2.example/aaa")
    assert max(len(line) for line in lines) <= 5 + 40 + 19 * 2 + 28 + 48 + 2 * 5


def test_table_escapes_terminal_controls_from_the_logs() -> None:
    h = hit(1, "x\x1b[31mred\u202e", [sample(1, 0, {"0": {"type": "domain-name", "value": "a\nb"}}, ("0",))])
    text = render_table([h])
    assert "\x1b" not in text and "\u202e" not in text
    assert "x\\x1b[31mred\\u202e" in text
    assert "a\\x0ab" in text
    assert len(text.splitlines()) == 4


def test_wide_and_combining_characters_keep_columns_aligned() -> None:
    hits = [
        hit(1, "مؤشرٌ", [sample(1, 0, {"0": {"type": "domain-name", "value": "a.example"}}, ("0",))]),
        hit(2, "指標", [sample(1, 0, {"0": {"type": "domain-name", "value": "b.example"}}, ("0",))]),
    ]
    lines = render_table(hits).splitlines()
    # the FIRST SEEN column starts at the same terminal cell on every row
    header_cells = lines[0].index("FIRST SEEN")
    for line in lines[2:4]:
        stamp = line.index("2024-")
        prefix = line[:stamp]
        width = sum(2 if ch in "指標" else 0 if ch == "\u064c" else 1 for ch in prefix)
        assert width == header_cells


def test_table_of_no_hits_says_so() -> None:
    lines = render_table([]).splitlines()
    assert lines[0].startswith("COUNT")
    assert lines[-1] == "no matches"
