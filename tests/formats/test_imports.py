"""The imports use case on both engines: runs and their reports, re-imports that merge, who may
read a run, STIX 2.0 and MISP through the same path, and report extraction with review."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from ribat.errors import EnvelopeError, NotFoundError, PermissionDeniedError, TooLargeError, ValidationError
from ribat.formats.imports import Imports
from ribat.formats.tabular import marking_ref
from ribat.hub import Hub
from ribat.intel import ObjectFilter, Tlp
from support import World, cti_files

START = 1_750_000_000_000_000


def counter_clock(step: int = 1_000_000) -> Any:
    ticks = itertools.count()
    return lambda: START + next(ticks) * step


@pytest.fixture
def imports(hub: Hub) -> Imports:
    return Imports(hub.intel, hub.db, max_upload_bytes=1_000_000, now=counter_clock())


def objects(world: World, email: str, **flt: Any) -> list[dict[str, Any]]:
    page = world.hub.intel.objects(world.principal(email), "shared", ObjectFilter(**flt), limit=1000)
    return [json.loads(body) for body in page.bodies]


CSV = b"""value,type,confidence,note
198.51.100.10,ip,70,first server
evil.example,domain,50,phishing
not an address,ip,10,broken
https://evil.example/login,url,90,landing page
d41d8cd98f00b204e9800998ecf8427e,md5,,empty file
"""


def test_csv_with_a_bad_row_stores_the_rest_and_reports_the_line(world: World, imports: Imports) -> None:
    alice = world.principal("alice@a.example")
    run = imports.run(
        alice,
        "shared",
        "csv",
        CSV,
        name="../../etc/servers.csv",
        options={"map": "value=value,type=type,confidence=confidence,description=note"},
    )
    assert (run.stored, run.merged, run.failed, run.lost) == (4, 0, 0, 1)
    assert run.status == "complete" and run.finished_us is not None
    assert run.name == "servers.csv"  # a display name, never a path
    assert run.org_id == world.org_a.id and run.user_id == world.alice.id and run.kind == "csv"
    assert run.report is not None
    [loss] = run.report["losses"]
    assert loss["where"] == "line 4" and loss["field"] == "value" and loss["value"] == "not an address"
    assert run.report["options"]["map"].startswith("value=value")
    stored = {o["name"]: o for o in objects(world, "alice@a.example", types=("indicator",))}
    assert set(stored) == {
        "198.51.100.10",
        "evil.example",
        "https://evil.example/login",
        "d41d8cd98f00b204e9800998ecf8427e",
    }
    assert stored["198.51.100.10"]["confidence"] == 70
    assert stored["evil.example"]["description"] == "phishing"


IOC_LIST = b"""# Operation Example https://reports.example/op
evil.example
198.51.100.7;65
hxxp://evil[.]example/gate.php
"""


def test_reimporting_the_same_list_reports_everything_as_merged(world: World, imports: Imports) -> None:
    alice = world.principal("alice@a.example")
    first = imports.run(alice, "shared", "ioc-list", IOC_LIST, name="op.txt")
    assert (first.stored, first.merged, first.lost) == (3, 0, 0)
    again = imports.run(alice, "shared", "ioc-list", IOC_LIST, name="op.txt")
    assert (again.stored, again.merged, again.failed, again.lost) == (0, 3, 0, 0)
    versions = objects(world, "alice@a.example", versions=("all",))
    assert len(versions) == 3
    assert {o["description"] for o in versions} == {"Operation Example https://reports.example/op"}


def test_a_changed_detail_becomes_a_new_version_of_the_same_indicator(world: World, imports: Imports) -> None:
    alice = world.principal("alice@a.example")
    imports.run(alice, "shared", "ioc-list", b"evil.example;40\n", name="scores.txt")
    changed = imports.run(alice, "shared", "ioc-list", b"evil.example;80\n", name="scores.txt")
    assert (changed.stored, changed.merged) == (1, 0)
    [old, new] = sorted(objects(world, "alice@a.example", versions=("all",)), key=lambda o: o["modified"])
    assert old["id"] == new["id"]
    assert old["created"] == new["created"] and old["valid_from"] == new["valid_from"]
    assert new["modified"] > old["modified"]
    assert (old["confidence"], new["confidence"]) == (40, 80)


def test_an_outsider_cannot_read_another_organisations_run(world: World, imports: Imports) -> None:
    run = imports.run(world.principal("alice@a.example"), "shared", "ioc-list", IOC_LIST, name="op.txt")
    assert imports.run_report(world.principal("anna@a.example"), run.id).id == run.id  # same organisation
    assert imports.run_report(world.principal("admin@hub.example"), run.id).report is not None
    with pytest.raises(NotFoundError):
        imports.run_report(world.principal("bob@b.example"), run.id)
    assert imports.runs(world.principal("bob@b.example")).runs == []
    listed = imports.runs(world.principal("anna@a.example"))
    assert [r.id for r in listed.runs] == [run.id] and listed.total == 1
    assert listed.runs[0].report is None


def test_runs_are_listed_newest_first_and_paged(world: World, imports: Imports) -> None:
    alice = world.principal("alice@a.example")
    ids = [
        imports.run(alice, "shared", "ioc-list", f"{n}.evil.example\n".encode(), name=f"{n}.txt").id for n in range(3)
    ]
    page = imports.runs(alice, limit=2)
    assert [r.id for r in page.runs] == ids[::-1][:2] and page.total == 3
    assert [r.id for r in imports.runs(alice, limit=2, offset=2).runs] == ids[:1]
    with pytest.raises(ValidationError):
        imports.runs(alice, limit=0)


def test_refusals_name_the_problem(world: World, imports: Imports) -> None:
    alice = world.principal("alice@a.example")
    with pytest.raises(ValidationError, match="unknown kind"):
        imports.run(alice, "shared", "yaml", b"x", name="x")
    with pytest.raises(ValidationError, match="not understood for a stix import"):
        imports.run(alice, "shared", "stix", b"[]", name="x", options={"map": "value=1"})
    with pytest.raises(TooLargeError):
        imports.run(alice, "shared", "ioc-list", b"x" * 1_000_001, name="big.txt")
    with pytest.raises(PermissionDeniedError):
        imports.run(world.principal("anna@a.example"), "shared", "ioc-list", IOC_LIST, name="op.txt")
    with pytest.raises(EnvelopeError, match="not valid JSON"):
        imports.run(alice, "shared", "stix", b"{oops", name="x.json")
    with pytest.raises(ValidationError, match="no column named"):
        imports.run(alice, "shared", "csv", CSV, name="x.csv", options={"map": "value=indicator"})
    assert imports.runs(alice).total == 0  # a file that cannot be read at all records no run


def test_tlp_option_marks_converted_indicators(world: World, imports: Imports) -> None:
    alice = world.principal("alice@a.example")
    imports.run(alice, "shared", "ioc-list", b"evil.example\n", name="x.txt", options={"tlp": "amber+strict"})
    [indicator] = objects(world, "alice@a.example")
    assert indicator["object_marking_refs"] == [marking_ref(Tlp.AMBER_STRICT)]
    assert objects(world, "bob@b.example") == []
    with pytest.raises(ValidationError, match="not a TLP level"):
        imports.run(alice, "shared", "ioc-list", b"evil.example\n", name="x.txt", options={"tlp": "purple"})


OPENIOC = b"""<ioc xmlns="http://schemas.mandiant.com/2010/ioc" id="11111111-2222-4333-8444-555555555555">
<short_description>Loader</short_description><authored_date>2020-01-01T00:00:00</authored_date>
<definition><Indicator operator="OR">
<IndicatorItem id="a" condition="is"><Context search="FileItem/Md5sum"/>
  <Content>d41d8cd98f00b204e9800998ecf8427e</Content></IndicatorItem>
<IndicatorItem id="b" condition="is"><Context search="RegistryItem/Path"/>
  <Content>HKLM\\Run</Content></IndicatorItem>
</Indicator></definition></ioc>"""


def test_openioc_import_reports_the_unmapped_item(world: World, imports: Imports) -> None:
    run = imports.run(world.principal("alice@a.example"), "shared", "openioc", OPENIOC, name="loader.ioc")
    assert (run.stored, run.lost) == (1, 1)
    assert run.report is not None and run.report["losses"][0]["field"] == "RegistryItem/Path"
    again = imports.run(world.principal("alice@a.example"), "shared", "openioc", OPENIOC, name="loader.ioc")
    assert (again.stored, again.merged) == (0, 1)


@pytest.mark.parametrize("relative", cti_files("stix20/unit42-playbooks/*.json"))
def test_unit42_stix20_bundles_import_and_come_back_as_21(
    world: World, imports: Imports, data_dir: Path, relative: str
) -> None:
    payload = (data_dir / "cti" / relative).read_bytes()
    bundle = orjson.loads(payload)
    assert bundle.get("spec_version") == "2.0" or all("spec_version" not in o for o in bundle["objects"])
    run = imports.run(world.principal("alice@a.example"), "shared", "stix", payload, name=Path(relative).name)
    assert run.failed == 0, run.report
    assert run.stored + run.merged == len(bundle["objects"])
    back = objects(world, "alice@a.example")
    assert {o["id"] for o in back} == {o["id"] for o in bundle["objects"]}
    assert {o["spec_version"] for o in back} == {"2.1"}


def test_misp_event_imports_through_the_same_path(world: World, imports: Imports, data_dir: Path) -> None:
    payload = (data_dir / "cti" / "misp" / "events" / "eset-turla-outlook-2018.json").read_bytes()
    run = imports.run(world.principal("alice@a.example"), "shared", "misp", payload, name="turla.json")
    assert run.kind == "misp" and run.status == "complete"
    assert run.stored > 0 and run.failed == 0, run.report
    assert run.report is not None and run.report["counts"]["events"] == 1
    assert len(objects(world, "alice@a.example")) == run.stored
    again = imports.run(world.principal("alice@a.example"), "shared", "misp", payload, name="turla.json")
    assert (again.stored, again.merged) == (0, run.stored)


REPORT = b"""<html><head><title>Operation Example</title></head><body>
<p>The implant beacons to 1.2.3[.]4 every hour. Its loader came from hxxp://evil[.]example/a.</p>
<p>Mail was sent from user[@]example.com.</p></body></html>"""


def test_extraction_is_held_until_reviewed_then_published(world: World, imports: Imports) -> None:
    alice = world.principal("alice@a.example")
    extraction = imports.extract(alice, "shared", "C:\\reports\\op-example.html", REPORT)
    assert extraction.name == "op-example.html" and extraction.title == "Operation Example"
    assert [(c.kind, c.value, c.status) for c in extraction.candidates] == [
        ("ipv4", "1.2.3.4", "pending"),
        ("url", "http://evil.example/a", "pending"),
        ("email", "user@example.com", "pending"),
    ]
    assert objects(world, "alice@a.example") == []  # nothing published yet

    ip, url, email = extraction.candidates
    review = imports.review(alice, extraction.id, accept=[ip.id, url.id], reject=[email.id], tlp=Tlp.GREEN)
    assert [c.status for c in review.extraction.candidates] == ["accepted", "accepted", "rejected"]
    assert review.run is not None and review.run.kind == "report" and review.run.stored == 2
    published = {o["pattern"]: o for o in objects(world, "bob@b.example")}  # GREEN: the community reads it
    assert set(published) == {"[ipv4-addr:value = '1.2.3.4']", "[url:value = 'http://evil.example/a']"}
    ip_indicator = published["[ipv4-addr:value = '1.2.3.4']"]
    assert "op-example.html" in ip_indicator["description"]
    assert "The implant beacons to 1.2.3[.]4 every hour." in ip_indicator["description"]
    assert ip_indicator["object_marking_refs"] == [marking_ref(Tlp.GREEN)]
    assert review.extraction.candidates[0].object_id == ip_indicator["id"]
    assert imports.run_report(alice, review.run.id).report["extraction_id"] == extraction.id  # type: ignore[index]

    # Rejected candidates stay on record and may still be accepted; published ones cannot be rejected.
    with pytest.raises(ValidationError, match="already published"):
        imports.review(alice, extraction.id, reject=[ip.id])
    later = imports.review(alice, extraction.id, accept=[email.id])
    assert [c.status for c in later.extraction.candidates] == ["accepted", "accepted", "accepted"]
    assert len(objects(world, "alice@a.example")) == 3


def test_extraction_review_rules(world: World, imports: Imports) -> None:
    alice = world.principal("alice@a.example")
    extraction = imports.extract(alice, "shared", "op.html", REPORT)
    first = extraction.candidates[0].id
    with pytest.raises(NotFoundError):
        imports.extraction(world.principal("bob@b.example"), extraction.id)
    with pytest.raises(NotFoundError):
        imports.review(world.principal("bob@b.example"), extraction.id, accept=[first])
    with pytest.raises(ValidationError, match="not candidates of extraction"):
        imports.review(alice, extraction.id, accept=["nope"])
    with pytest.raises(ValidationError, match="both accepted and rejected"):
        imports.review(alice, extraction.id, accept=[first], reject=[first])
    with pytest.raises(PermissionDeniedError):
        imports.review(world.principal("anna@a.example"), extraction.id, accept=[first])
    with pytest.raises(ValidationError, match="binary content"):
        imports.extract(alice, "shared", "x.bin", b"\x00\x01garbage")
    assert [c.status for c in imports.extraction(alice, extraction.id).candidates] == ["pending"] * 3
    assert [x.id for x in imports.extractions(alice)] == [extraction.id]


class _FailingIntel:
    """The hub's Intel, except that ingest fails from its second call on (a server error
    half-way through a file)."""

    def __init__(self, intel: Any) -> None:
        self._intel = intel
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._intel, name)

    def ingest(self, *args: Any) -> Any:
        self.calls += 1
        if self.calls > 1:
            raise RuntimeError("database went away")
        return self._intel.ingest(*args)


def test_a_run_that_fails_half_way_records_the_error_and_keeps_what_was_stored(world: World, hub: Hub) -> None:
    imports = Imports(_FailingIntel(hub.intel), hub.db, now=counter_clock())  # type: ignore[arg-type]
    alice = world.principal("alice@a.example")
    values = "\n".join(f"host{n}.evil.example" for n in range(1500)).encode()
    with pytest.raises(RuntimeError):
        imports.run(alice, "shared", "ioc-list", values, name="hosts.txt")
    [run] = imports.runs(alice).runs
    assert (run.status, run.stored, run.merged) == ("failed", 1000, 0)
    report = imports.run_report(alice, run.id).report
    assert report is not None and report["error"] == "RuntimeError: database went away"
    assert len(objects(world, "alice@a.example")) == 1000


def test_long_reports_are_cut_but_counts_stay_whole(world: World, imports: Imports) -> None:
    bad = "\n".join(f"bad value {n}" for n in range(10_005)).encode()
    run = imports.run(world.principal("alice@a.example"), "shared", "ioc-list", bad, name="bad.txt")
    assert run.lost == 10_005 and run.report is not None
    assert len(run.report["losses"]) == 10_000 and "counts are whole" in run.report["truncated"]
