"""The export use case on both engines: reads under TLP through the intel context, paging,
filters, warninglists; the HTTP endpoint and the ``ribat exports`` command."""

from __future__ import annotations

import csv
import io
import json
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import idstools.rule
import pytest
import suricataparser
import typer
from typer.testing import CliRunner

from ribat.config import Settings
from ribat.errors import NotFoundError, PermissionDeniedError, ValidationError
from ribat.formats.exporting import ExportReport, Exports
from ribat.formats.exports import ZEEK_HEADER, ExportFilter, parse_filter
from ribat.hub import Hub
from ribat.intel import SHARE_EXTENSION, Grant, Tlp
from ribat.intel.warninglists import Warninglist, WarninglistIndex
from ribat.web import create_app
from support import AsgiClient, World, indicator

CLEAR = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
AMBER_STRICT = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
NOW = 1_735_689_600_000_000  # 2025-01-01T00:00:00Z

# Values only the author's side may see; none may reach another organisation's export.
SECRET_VALUES = ("192.0.2.66", "amber-secret.example", "192.0.2.77", "red-secret.example", "strict.example")
FILE_FORMATS = ("stix", "csv", "suricata", "zeek")


def _pattern(kind: str, value: str) -> str:
    return f"[{kind}:value = '{value}']"


def _seed(world: World) -> dict[str, dict[str, Any]]:
    alice = world.principal("alice@a.example")
    objects = {
        "clear": indicator(1, tlp_ref=CLEAR, name="public scanner", pattern=_pattern("ipv4-addr", "192.0.2.10")),
        "green": indicator(
            2, tlp_ref=GREEN, name="phishing domain", pattern=_pattern("domain-name", "phish.example"), confidence=70
        ),
        "amber": indicator(
            3,
            tlp_ref=AMBER,
            name="amber only",
            pattern="[ipv4-addr:value = '192.0.2.66' OR domain-name:value = 'amber-secret.example']",
        ),
        "strict": indicator(4, tlp_ref=AMBER_STRICT, pattern=_pattern("domain-name", "strict.example")),
        "red": indicator(
            5,
            tlp_ref=RED,
            name="red eyes only",
            pattern="[ipv4-addr:value = '192.0.2.77'] OR [domain-name:value = 'red-secret.example']",
        ),
        "unmarked": indicator(6, pattern=_pattern("url", "http://unmarked.example/x")),  # the collection default: AMBER
    }
    status = world.hub.intel.ingest(alice, "shared", {"objects": list(objects.values())})
    assert status.success_count == len(objects)
    return objects


def _exports(world: World, **kwargs: Any) -> Exports:
    return Exports(world.hub.intel, now=lambda: NOW, **kwargs)


def _export(
    world: World, email: str, fmt: str, flt: ExportFilter | None = None, *, kind: str | None = None, **kwargs: Any
) -> tuple[str, ExportReport]:
    out = io.BytesIO()
    report = _exports(world, **kwargs).export(
        world.principal(email), "shared", fmt, flt or ExportFilter(), out, kind=kind
    )
    return out.getvalue().decode("utf-8"), report


@pytest.mark.parametrize("fmt", [*FILE_FORMATS, "blocklist"])
def test_what_another_organisation_may_not_read_never_appears(world: World, fmt: str) -> None:
    objects = _seed(world)
    kind = "ip" if fmt == "blocklist" else None
    for email in ("bob@b.example", "carol@c.example", "admin@hub.example"):
        text, report = _export(world, email, fmt, kind=kind)
        assert not any(value in text for value in SECRET_VALUES), (email, fmt)
        assert objects["red"]["id"] not in text and objects["amber"]["id"] not in text
        assert report.tally.objects == 2  # CLEAR and GREEN
        if fmt != "blocklist":
            assert objects["green"]["id"] in text
        if fmt == "blocklist":
            assert "192.0.2.10" in text
    # The author's organisation sees its AMBER and AMBER+STRICT objects; RED only its author.
    text, report = _export(world, "anna@a.example", fmt, kind=kind)
    assert "192.0.2.66" in text and "192.0.2.77" not in text and report.tally.objects == 5
    text, report = _export(world, "alice@a.example", fmt, kind=kind)
    assert "192.0.2.66" in text and "192.0.2.77" in text and report.tally.objects == 6


def test_red_shared_with_a_named_user_reaches_only_that_user(world: World) -> None:
    alice = world.principal("alice@a.example")
    named = indicator(
        7,
        tlp_ref=RED,
        pattern=_pattern("ipv4-addr", "192.0.2.88"),
        extensions={SHARE_EXTENSION: {"extension_type": "property-extension", "share_with": ["user:bob@b.example"]}},
    )
    world.hub.intel.ingest(alice, "shared", {"objects": [named]})
    assert "192.0.2.88" in _export(world, "bob@b.example", "zeek")[0]
    assert "192.0.2.88" not in _export(world, "carol@c.example", "zeek")[0]


def test_the_stored_tlp_drives_the_tlp_filter(world: World) -> None:
    objects = _seed(world)
    text, report = _export(world, "alice@a.example", "stix", ExportFilter(max_tlp=Tlp.GREEN))
    bundle = json.loads(text)
    assert {o["id"] for o in bundle["objects"]} == {objects["clear"]["id"], objects["green"]["id"]}
    # The unmarked indicator took the collection's default (AMBER) at ingest.
    assert report.tally.skipped["tlp"] == 4
    text, _ = _export(world, "alice@a.example", "stix", ExportFilter(max_tlp=Tlp.AMBER))
    assert objects["unmarked"]["id"] in text and objects["strict"]["id"] not in text


def test_paging_reads_every_page(world: World) -> None:
    alice = world.principal("alice@a.example")
    world.hub.intel.ingest(alice, "shared", {"objects": [indicator(n, tlp_ref=GREEN) for n in range(1, 12)]})
    text, report = _export(world, "bob@b.example", "blocklist", kind="ipv4", page_size=3)
    values = [line for line in text.splitlines() if not line.startswith("#")]
    assert values == [f"10.0.0.{n}" for n in range(1, 12)]
    assert report.tally.objects == 11 and report.tally.values == 11


def test_filters_and_validity_through_the_hub(world: World) -> None:
    alice = world.principal("alice@a.example")
    objects = [
        indicator(1, tlp_ref=GREEN, confidence=90),
        indicator(2, tlp_ref=GREEN, confidence=10),
        indicator(3, tlp_ref=GREEN, revoked=True),
        indicator(4, tlp_ref=GREEN, valid_until="2024-06-01T00:00:00Z"),
        indicator(5, tlp_ref=GREEN, valid_from="2026-01-01T00:00:00Z"),
        indicator(6, tlp_ref=GREEN, pattern="[ipv4-addr:value = '10.0.0.6' AND ipv4-addr:value = '10.0.0.60']"),
        indicator(7, tlp_ref=GREEN, modified="2024-09-01T00:00:00.000Z"),
    ]
    world.hub.intel.ingest(alice, "shared", {"objects": objects})
    text, report = _export(world, "bob@b.example", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["value"] for r in rows] == ["10.0.0.1", "10.0.0.2", "10.0.0.7"]
    assert dict(report.tally.skipped) == {"revoked": 1, "expired": 1, "not_yet_valid": 1, "not_detection_shape": 1}
    assert "10.0.0.60" not in text
    text, _ = _export(world, "bob@b.example", "csv", parse_filter(min_confidence="50"))
    assert [r["value"] for r in csv.DictReader(io.StringIO(text))] == ["10.0.0.1"]
    text, _ = _export(world, "bob@b.example", "csv", parse_filter(since="2024-06-01"))
    assert [r["value"] for r in csv.DictReader(io.StringIO(text))] == ["10.0.0.7"]
    text, report = _export(world, "bob@b.example", "suricata", parse_filter(types=["malware"]))
    assert report.tally.objects == 0 and report.tally.notes


def test_warninglist_hits_are_left_out_unless_asked_for(world: World) -> None:
    alice = world.principal("alice@a.example")
    world.hub.intel.ingest(
        alice,
        "shared",
        {
            "objects": [
                indicator(1, tlp_ref=GREEN, pattern=_pattern("ipv4-addr", "8.8.8.8")),
                indicator(2, tlp_ref=GREEN, pattern=_pattern("ipv4-addr", "45.77.10.3")),
            ]
        },
    )
    lists = WarninglistIndex([Warninglist("Public DNS", 1, "", "cidr", ("8.8.8.8",))])
    for fmt in FILE_FORMATS:
        text, report = _export(world, "bob@b.example", fmt, warninglists=lists)
        assert "8.8.8.8" not in text and "45.77.10.3" in text, fmt
        assert report.tally.skipped["flagged"] == 1
        text, report = _export(world, "bob@b.example", fmt, ExportFilter(include_flagged=True), warninglists=lists)
        assert "8.8.8.8" in text and "flagged" not in report.tally.skipped


def test_several_collections_export_once_each_object(world: World) -> None:
    alice = world.principal("alice@a.example")
    world.hub.intel.create_collection("second", alias="second", grants=[Grant("community", "", True, True)])
    world.hub.intel.ingest(alice, "shared", {"objects": [indicator(1, tlp_ref=GREEN), indicator(2, tlp_ref=GREEN)]})
    world.hub.intel.ingest(alice, "second", {"objects": [indicator(2, tlp_ref=GREEN), indicator(3, tlp_ref=GREEN)]})
    out = io.BytesIO()
    report = _exports(world).export(world.principal("bob@b.example"), ["shared", "second"], "zeek", ExportFilter(), out)
    lines = out.getvalue().decode().splitlines()
    assert lines[0] + "\n" == ZEEK_HEADER
    assert sorted(line.split("\t")[0] for line in lines[1:]) == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    assert report.tally.skipped == {"duplicate": 1}
    assert report.filename == "ribat-collections-zeek.intel" and len(report.collection_ids) == 2


def test_unreadable_or_unknown_collections_and_bad_formats_fail_before_writing(world: World, tmp_path: Path) -> None:
    world.hub.intel.create_collection("a only", alias="a-only", owner_org_id=world.org_a.id)
    writers = world.hub.intel.create_collection(
        "drop box", alias="dropbox", grants=[Grant("community", "", False, True)]
    )
    exports = _exports(world)
    bob = world.principal("bob@b.example")
    target = tmp_path / "exports" / "out.rules"
    target.parent.mkdir()
    with pytest.raises(NotFoundError):
        exports.export(bob, "a-only", "suricata", ExportFilter(), target)
    with pytest.raises(PermissionDeniedError):
        exports.export(bob, writers.id, "suricata", ExportFilter(), target)
    with pytest.raises(ValidationError) as err:
        exports.export(bob, "shared", "snort", ExportFilter(), target)
    assert err.value.field == "format"
    with pytest.raises(ValidationError) as err:
        exports.export(bob, "shared", "blocklist", ExportFilter(), target)
    assert err.value.field == "kind"
    assert not list(target.parent.iterdir())


def test_a_path_is_written_whole(world: World, tmp_path: Path) -> None:
    _seed(world)
    target = tmp_path / "exports" / "shared.rules"
    target.parent.mkdir()
    report = _exports(world).export(world.principal("bob@b.example"), "shared", "suricata", ExportFilter(), target)
    rules = [line for line in target.read_text().splitlines() if line and not line.startswith("#")]
    assert len(rules) == report.tally.values == 4  # one IP rule, three for the GREEN domain
    for rule in rules:
        assert suricataparser.parse_rule(rule) is not None and idstools.rule.parse(rule) is not None
    assert [p.name for p in target.parent.iterdir()] == ["shared.rules"]


# -- HTTP -------------------------------------------------------------------------------------


@pytest.fixture
def client(world: World) -> Iterator[AsgiClient]:
    c = AsgiClient(create_app(hub=world.hub))
    try:
        yield c
    finally:
        c.close()


def test_http_export_streams_the_file_with_its_type_and_name(world: World, client: AsgiClient) -> None:
    objects = _seed(world)
    base = "/api/v1/collections/shared/export"
    r = client.get(f"{base}/suricata", headers=world.auth("bob@b.example"))
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.headers["content-disposition"] == 'attachment; filename="ribat-shared-suricata.rules"'
    summary = json.loads(r.headers["x-ribat-export"])
    assert summary == {"objects": 2, "values": 4, "skipped": {}}
    assert not any(value in r.text for value in SECRET_VALUES)

    r = client.get(f"{base}/zeek", headers=world.auth("bob@b.example"))
    assert r.text.startswith(ZEEK_HEADER)
    assert f"http://testserver/objects/{objects['green']['id']}" in r.text

    r = client.get(f"{base}/blocklist", params={"kind": "domain"}, headers=world.auth("alice@a.example"))
    assert r.headers["content-disposition"] == 'attachment; filename="ribat-shared-domain.txt"'
    assert [v for v in r.text.splitlines() if not v.startswith("#")] == [
        "amber-secret.example",
        "phish.example",
        "red-secret.example",
        "strict.example",
    ]

    r = client.get(
        f"{base}/stix",
        params=[("type", "indicator"), ("max_tlp", "green"), ("min_confidence", "50")],
        headers=world.auth("alice@a.example"),
    )
    assert r.headers["content-type"] == "application/stix+json;version=2.1"
    assert [o["id"] for o in r.json()["objects"]] == [objects["green"]["id"]]

    r = client.get(
        f"{base}/csv", params={"since": "2023-01-01", "until": "2030-01-01"}, headers=world.auth("bob@b.example")
    )
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert len(list(csv.reader(io.StringIO(r.text)))) == 3


def test_http_export_leaves_out_what_the_hub_warninglists_flag(settings: Settings, data_dir: Path) -> None:
    hub = Hub.open(settings.model_copy(update={"warninglists_dir": data_dir / "cti" / "misp" / "warninglists"}))
    try:
        world = World(hub)
        values = ("8.8.8.8", "45.77.10.3")
        objects = [indicator(n, tlp_ref=GREEN, pattern=_pattern("ipv4-addr", v)) for n, v in enumerate(values, 1)]
        hub.intel.ingest(world.principal("alice@a.example"), "shared", {"objects": objects})
        client = AsgiClient(create_app(hub=hub))
        try:
            url = "/api/v1/collections/shared/export/suricata"
            r = client.get(url, headers=world.auth("bob@b.example"))
            assert "8.8.8.8" not in r.text and "45.77.10.3" in r.text
            assert json.loads(r.headers["x-ribat-export"])["skipped"] == {"flagged": 1}
            r = client.get(url, params={"include_flagged": "true"}, headers=world.auth("bob@b.example"))
            assert "8.8.8.8" in r.text and "warninglist List of known IPv4 public DNS resolvers" in r.text
        finally:
            client.close()
    finally:
        hub.close()


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("suricata", {"max_tlp": "purple"}, "max_tlp"),
        ("suricata", {"since": "last week"}, "since"),
        ("suricata", {"min_confidence": "lots"}, "min_confidence"),
        ("suricata", {"include_flagged": "maybe"}, "include_flagged"),
        ("suricata", {"type": "Not A Type"}, "type"),
        ("blocklist", {}, "kind"),
        ("blocklist", {"kind": "phone"}, "kind"),
        ("snort", {}, "format"),
    ],
)
def test_http_bad_filters_are_json_errors_naming_the_parameter(
    world: World, client: AsgiClient, path: str, params: dict[str, str], field: str
) -> None:
    r = client.get(f"/api/v1/collections/shared/export/{path}", params=params, headers=world.auth("bob@b.example"))
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    details = body["error"] if "error" in body else body["details"]
    assert details["field"] == field


def test_http_export_needs_authentication_and_a_visible_collection(world: World, client: AsgiClient) -> None:
    assert client.get("/api/v1/collections/shared/export/csv").status_code == 401
    world.hub.intel.create_collection("a only", alias="a-only", owner_org_id=world.org_a.id)
    r = client.get("/api/v1/collections/a-only/export/csv", headers=world.auth("bob@b.example"))
    assert r.status_code == 404 and r.headers["content-type"] == "application/json"
    r = client.get("/api/v1/collections/a-only/export/csv", headers=world.auth("alice@a.example"))
    assert r.status_code == 200


# -- CLI --------------------------------------------------------------------------------------


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Any:
    from ribat.cli.exports import register

    monkeypatch.setenv("RIBAT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("RIBAT_SECRET_KEY", settings.secret_key or "")
    monkeypatch.delenv("RIBAT_WARNINGLISTS_DIR", raising=False)
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test root."""

    register(app)
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, result.output
        return result.output

    return invoke


def test_cli_exports_each_format(world: World, cli: Any, tmp_path: Path) -> None:
    _seed(world)
    out = tmp_path / "bob.rules"
    said = cli("exports", "suricata", "--collection", "shared", "--out", str(out), "--user", "bob@b.example")
    assert "wrote 4 rules from 2 selected objects" in said
    assert all(v not in out.read_text() for v in SECRET_VALUES)
    zeek = tmp_path / "alice.intel"
    said = cli(
        "exports",
        "zeek",
        "-c",
        "shared",
        "--out",
        str(zeek),
        "--user",
        "alice@a.example",
        "--max-tlp",
        "amber+strict",
        "--base-url",
        "https://hub.example/",
    )
    assert "skipped 1: TLP above the highest asked for" in said
    assert "https://hub.example/objects/indicator--" in zeek.read_text()
    ips = tmp_path / "ips.txt"
    cli("exports", "blocklist", "--kind", "ip", "-c", "shared", "--out", str(ips), "--user", "anna@a.example")
    assert [v for v in ips.read_text().splitlines() if not v.startswith("#")] == ["192.0.2.10", "192.0.2.66"]
    said = cli(
        "exports",
        "csv",
        "-c",
        "shared",
        "--out",
        str(tmp_path / "x.csv"),
        "--user",
        "bob@b.example",
        "--since",
        "someday",
        code=1,
    )
    assert "since" in said
    said = cli("exports", "suricata", "-c", "nope", "--out", str(tmp_path / "y"), "--user", "bob@b.example", code=1)
    assert "not found" in said.lower()
    custom = tmp_path / "custom.rules"
    cli("exports", "suricata", "-c", "shared", "--out", str(custom), "--user", "bob@b.example", "--sid-base", "5000000")
    sids = [idstools.rule.parse(r).sid for r in custom.read_text().splitlines() if r and not r.startswith("#")]
    assert sids and all(5_000_000 <= s < 1_005_000_000 for s in sids)
    lists = tmp_path / "lists" / "mine"
    lists.mkdir(parents=True)
    (lists / "list.json").write_text(
        json.dumps(
            {
                "name": "Phishing tests",
                "version": 1,
                "description": "test list",
                "type": "hostname",
                "list": ["phish.example"],
            }
        )
    )
    said = cli(
        "exports", "zeek", "-c", "shared", "--out", str(tmp_path / "z.intel"), "--user", "bob@b.example",
        "--lists", str(tmp_path / "lists"),
    )  # fmt: skip
    assert "skipped 1: a value hits a warninglist" in said
    assert "phish.example" not in (tmp_path / "z.intel").read_text()


# -- MISP -------------------------------------------------------------------------------------


@pytest.fixture
def misp_loaded() -> None:
    """misp-stix's dependencies warn on import (six's importer); load them once, quietly."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImportWarning)
        import ribat.formats.misp  # noqa: F401


def test_misp_event_json_holds_only_readable_objects_and_loads_in_pymisp(world: World, misp_loaded: None) -> None:
    from pymisp import MISPEvent

    _seed(world)
    text, report = _export(world, "bob@b.example", "misp")
    assert not any(value in text for value in SECRET_VALUES)
    document = json.loads(text)
    assert report.tally.values == 1 and "Event" in document
    event = MISPEvent()
    event.load(document)
    values = {a.value for a in event.attributes} | {a.value for o in event.objects for a in o.attributes}
    assert {"192.0.2.10", "phish.example"} <= values
    text, report = _export(world, "alice@a.example", "misp")
    assert "192.0.2.77" in text and "red-secret.example" in text


def test_misp_feed_holds_only_readable_objects(world: World, tmp_path: Path, misp_loaded: None) -> None:
    pytest.importorskip("ribat.formats.misp_feed")
    _seed(world)
    out = io.BytesIO()
    _exports(world).export(world.principal("bob@b.example"), "shared", "misp-feed", ExportFilter(), out)
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as archive:
        names = archive.namelist()
        assert "manifest.json" in names and "hashes.csv" in names
        everything = b"".join(archive.read(n) for n in names)
    assert not any(value.encode() in everything for value in SECRET_VALUES)
    assert b"phish.example" in everything
    feed = tmp_path / "feed"
    _exports(world).export(world.principal("bob@b.example"), "shared", "misp-feed", ExportFilter(), feed)
    assert (feed / "manifest.json").is_file()
