"""``ribat hunt``, in process (typer's runner), over the Simda capture: indicators from a STIX file (without a
database) or from hub collections under TLP (SQLite and PostgreSQL), output formats, STIX bundles, sharing the
sightings, the time window, bad lines and errors."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path, PurePath
from typing import Any

import orjson
import pytest
import stix2
from click.testing import Result
from rich.console import Console
from typer.testing import CliRunner

from ribat.cli.hunt import HuntRun, Meter, parse_moment, summary
from ribat.hunt.engine import HuntResult, HuntStats
from ribat.hunt.readers import Problems
from ribat.intel import ObjectFilter
from ribat.intel.tlp import TLP_MARKING_IDS, Tlp
from support import World, indicator

Run = Callable[..., Result]

SIMDA = "cti/logs/stratosphere-005-simda"
VOLYKYC = "volykyc.com"  # a Simda DGA domain asked 7 times in the capture's dns.log
PUFYMOQ = "pufymoq.com"  # another, also asked 7 times
RED = next(k for k, v in TLP_MARKING_IDS.items() if v is Tlp.RED)
GREEN = next(k for k, v in TLP_MARKING_IDS.items() if v is Tlp.GREEN)
AMBER = next(k for k, v in TLP_MARKING_IDS.items() if v is Tlp.AMBER)


def dns_indicator(n: int, domain: str, **extra: Any) -> dict[str, object]:
    # The capture's clock starts at the epoch: the indicators must be valid from then.
    fields: dict[str, Any] = {
        "pattern": f"[domain-name:value = '{domain}']",
        "valid_from": "1970-01-01T00:00:00Z",
        "name": domain,
        **extra,
    }
    return indicator(n, **fields)


def queries(log: Path, domain: str, field: str = "query") -> list[tuple[int, float]]:
    """(line number, ts) of every line of a Zeek log whose ``field`` is ``domain``, read with nothing but ``split``."""
    found = []
    fields: list[str] = []
    for number, line in enumerate(log.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith("#fields"):
            fields = line.split("\t")[1:]
        elif not line.startswith("#"):
            row = dict(zip(fields, line.split("\t"), strict=False))
            if row.get(field) == domain:
                found.append((number, float(row["ts"])))
    return found


def _runner(monkeypatch: pytest.MonkeyPatch, database_url: str, hunt_dir: Path) -> Run:
    from ribat.cli import app

    monkeypatch.setenv("RIBAT_DATABASE_URL", database_url)
    monkeypatch.setenv("RIBAT_HUNT_DIR", str(hunt_dir))
    monkeypatch.delenv("RIBAT_SECRET_KEY", raising=False)
    runner = CliRunner()

    def invoke(*args: str | Path, code: int = 0) -> Result:
        result = runner.invoke(app, [str(a) for a in args])
        assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
        return result

    return invoke


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """``ribat`` with a database that cannot be opened: a hunt with a STIX file must not need one."""
    return _runner(monkeypatch, f"sqlite:///{tmp_path / 'missing' / 'nowhere.db'}", tmp_path / "hunts")


@pytest.fixture
def shared(world: World) -> World:
    """Bob (cert-b) shares a GREEN indicator for volykyc.com; carol (cert-c) a RED one for pufymoq.com."""
    world.hub.intel.ingest(
        world.principal("bob@b.example"),
        "shared",
        {"objects": [dns_indicator(1, VOLYKYC, object_marking_refs=[GREEN])]},
    )
    world.hub.intel.ingest(
        world.principal("carol@c.example"),
        "shared",
        {"objects": [dns_indicator(2, PUFYMOQ, object_marking_refs=[RED])]},
    )
    return world


@pytest.fixture
def cli(shared: World, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """``ribat`` on the database of ``shared`` (each engine)."""
    return _runner(monkeypatch, db_url, tmp_path / "hunts")


@pytest.fixture
def logs(data_dir: Path) -> Path:
    return data_dir / SIMDA


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    """A STIX 2.1 bundle: the volykyc.com indicator, a revoked one and a Snort rule."""
    path = tmp_path / "indicators.json"
    objects = [
        dns_indicator(1, VOLYKYC),
        dns_indicator(3, PUFYMOQ, revoked=True),
        dns_indicator(4, "galykes.com", pattern_type="snort", pattern='alert udp any any -> any 53 (msg:"x";)'),
    ]
    path.write_text(
        json.dumps({"type": "bundle", "id": "bundle--0b1e2f0c-5b35-4c7e-9d2e-0f3c7c1d5a01", "objects": objects})
    )
    return path


def table_rows(stdout: str) -> dict[str, int]:
    """Indicator name → count, from the table's rows (between the dashes and the closing line)."""
    lines = stdout.splitlines()
    assert lines[0].split()[:2] == ["COUNT", "INDICATOR"]
    rows = {}
    for line in lines[2:-1]:
        count, name = line.split()[:2]
        rows[name] = int(count)
    return rows


def stix_objects(hub_world: World, email: str, kind: str) -> list[dict[str, Any]]:
    page = hub_world.hub.intel.objects(hub_world.principal(email), "shared", ObjectFilter(types=(kind,)))
    return [orjson.loads(b) for b in page.bodies]


# -- indicators from a file, no database ---------------------------------------------------------


def test_a_hunt_with_an_indicator_file_prints_the_hits_and_a_summary(offline: Run, logs: Path, bundle: Path) -> None:
    result = offline("hunt", logs / "dns.log", logs / "conn.log", "--indicators", bundle)
    assert table_rows(result.stdout) == {VOLYKYC: 7}
    assert result.stdout.splitlines()[-1] == "1 indicator, 7 matches"
    assert "dns.log" in result.stdout and "conn.log" not in result.stdout  # the files of the samples
    assert "1,984 records read in" in result.stderr  # 992 lines in each log
    assert "; 1 indicator used, 2 skipped (1 pattern_type snort, 1 revoked); 7 matches; 0 problems" in result.stderr
    assert "records/s" in result.stderr


def test_json_and_csv_give_the_hits_with_their_samples(offline: Run, logs: Path, bundle: Path) -> None:
    dns = logs / "dns.log"
    expected = queries(dns, VOLYKYC)
    data = json.loads(offline("hunt", dns, "--indicators", bundle, "--format", "json").stdout)
    (hit,) = data["hits"]
    assert hit["indicator_id"] == dns_indicator(1, VOLYKYC)["id"] and hit["count"] == len(expected) == 7
    assert sorted(s["line"] for s in hit["samples"]) == sorted(line for line, _ in expected)
    assert {s["file"] for s in hit["samples"]} == {str(dns)}
    rows = list(csv.DictReader(io.StringIO(offline("hunt", dns, "--indicators", bundle, "--format", "csv").stdout)))
    assert [(r["name"], r["count"], r["sample_values"]) for r in rows] == [(VOLYKYC, "7", VOLYKYC)]


def test_since_and_until_leave_out_the_records_outside_the_window(offline: Run, logs: Path, bundle: Path) -> None:
    dns = logs / "dns.log"
    times = [ts for _, ts in queries(dns, VOLYKYC)]
    cut = 185.0  # 1970-01-01T00:03:05Z: some queries come before it, some after
    later = sum(1 for ts in times if ts >= cut)
    assert 0 < later < len(times)
    after = offline("hunt", dns, "--indicators", bundle, "--since", "1970-01-01T00:03:05Z")
    assert table_rows(after.stdout) == {VOLYKYC: later}
    before = offline("hunt", dns, "--indicators", bundle, "--until", "1970-01-01T00:03:05+00:00", "--format", "json")
    assert json.loads(before.stdout)["hits"][0]["count"] == len(times) - later
    nothing = offline("hunt", dns, "--indicators", bundle, "--since", "1970-01-02")
    assert nothing.stdout.splitlines()[-1] == "no matches"
    assert "992 records read" in nothing.stderr and "0 matches" in nothing.stderr


def test_a_malformed_line_is_reported_with_its_file_and_line_and_the_hunt_goes_on(
    offline: Run, logs: Path, bundle: Path, tmp_path: Path
) -> None:
    lines = (logs / "dns.log").read_text(encoding="utf-8").splitlines(keepends=True)
    broken = tmp_path / "dns-broken.log"
    broken.write_text("".join([*lines[:12], "this is not a zeek line\n", *lines[12:]]), encoding="utf-8")
    result = offline("hunt", broken, "--indicators", bundle)
    assert table_rows(result.stdout) == {VOLYKYC: 7}
    assert "992 records read" in result.stderr and "; 1 problem" in result.stderr
    assert f"\n  {broken}:13: " in result.stderr


def test_json_lines_are_hunted_through_a_mapping_given_inline_or_as_a_file(
    offline: Run, bundle: Path, tmp_path: Path
) -> None:
    log = tmp_path / "proxy.jsonl"
    log.write_text(
        "\n".join(
            json.dumps({"when": f"2024-05-01T12:00:0{i}Z", "client": "10.0.0.9", "asked": name})
            for i, name in enumerate([VOLYKYC, "example.org", VOLYKYC])
        )
        + "\n"
    )
    mapping = {"time": "when", "domain-name:value": "asked", "ipv4-addr:value": "client"}
    inline = offline("hunt", log, "--indicators", bundle, "--mapping", json.dumps(mapping))
    assert table_rows(inline.stdout) == {VOLYKYC: 2}
    mapping_file = tmp_path / "mapping.json"
    mapping_file.write_text(json.dumps(mapping))
    from_file = offline("hunt", log, "--indicators", bundle, "--kind", "jsonl", "--mapping", mapping_file)
    assert table_rows(from_file.stdout) == {VOLYKYC: 2}
    bad = offline("hunt", log, "--indicators", bundle, "--mapping", '{"domain-name:colour": "asked"}', code=1)
    assert "error: mapping['domain-name:colour']: unsupported property" in bad.stderr
    unmapped = offline("hunt", log, "--indicators", bundle, code=1)
    assert "needs a mapping" in unmapped.stderr


def test_a_stix_20_bundle_is_read_and_its_invalid_objects_are_listed(offline: Run, logs: Path, tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    old = {
        "type": "indicator",
        "id": "indicator--7f1a2b3c-4d5e-4f60-8a9b-0c1d2e3f4a5b",
        "created": "2017-01-01T00:00:00.000Z",
        "modified": "2017-01-01T00:00:00.000Z",
        "labels": ["malicious-activity"],
        "pattern": f"[domain-name:value = '{PUFYMOQ}']",
        "valid_from": "1970-01-01T00:00:00Z",
    }
    broken = {**old, "id": "indicator--8f1a2b3c-4d5e-4f60-8a9b-0c1d2e3f4a5b", "pattern": "[domain-name:value = "}
    path.write_text(json.dumps({"type": "bundle", "id": "bundle--1b1e2f0c-5b35-4c7e-9d2e-0f3c7c1d5a01",
                                "spec_version": "2.0", "objects": [old, broken]}))  # fmt: skip
    result = offline("hunt", logs / "dns.log", "--indicators", path, "--format", "json")
    (hit,) = json.loads(result.stdout)["hits"]
    assert (hit["indicator_id"], hit["count"]) == ("indicator--7f1a2b3c-4d5e-4f60-8a9b-0c1d2e3f4a5b", 7)
    assert f"{path}: 1 object not valid STIX, left out:" in result.stderr
    assert "objects[1] indicator--8f1a2b3c-4d5e-4f60-8a9b-0c1d2e3f4a5b: pattern" in result.stderr
    assert "1 indicator used, 1 skipped (1 invalid)" in result.stderr


def test_files_that_cannot_be_read_are_errors_naming_them(
    offline: Run, logs: Path, bundle: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere.json"
    assert (
        f"error: --indicators {missing}: cannot read"
        in offline("hunt", logs / "dns.log", "--indicators", missing, code=1).stderr
    )
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    assert (
        f"error: --indicators {garbage}: not valid JSON"
        in offline("hunt", logs / "dns.log", "--indicators", garbage, code=1).stderr
    )
    empty = tmp_path / "empty.json"
    empty.write_text(
        json.dumps({"type": "bundle", "id": "bundle--2b1e2f0c-5b35-4c7e-9d2e-0f3c7c1d5a01", "objects": []})
    )
    assert (
        "no valid STIX indicator in the file" in offline("hunt", logs / "dns.log", "--indicators", empty, code=1).stderr
    )
    gone = tmp_path / "gone.log"
    result = offline("hunt", logs / "dns.log", gone, "--indicators", bundle, code=1)
    assert f"error: paths: {gone}: cannot read" in result.stderr and result.stdout == ""
    no_dir = offline("hunt", logs / "dns.log", "--indicators", bundle, "--out", tmp_path / "no" / "b.json", code=1)
    assert f"error: --out {tmp_path / 'no' / 'b.json'}: no directory {tmp_path / 'no'}" in no_dir.stderr
    wrong_kind = offline("hunt", logs / "dns.log", "--indicators", bundle, "--kind", "suricata", code=1)
    assert "not JSON lines" in wrong_kind.stderr  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "--collection ID (repeatable) or --indicators FILE"),
        (("--collection", "shared", "--indicators", "x.json"), "not both"),
        (("--indicators", "x.json", "--since", "yesterday"), "--since/--until: 'yesterday' is not a date"),
        (("--indicators", "x.json", "--since", "2024-05-02", "--until", "2024-05-01"), "later than --since"),
        (("--indicators", "x.json", "--tlp", "purple"), "--tlp: not a TLP level"),
        (("--indicators", "x.json", "--kind", "pcap"), "--kind must be one of"),
        (("--indicators", "x.json", "--share"), "needs --share-to COLLECTION"),
        (("--indicators", "x.json", "--share-to", "shared"), "go with --share"),
        (("--collection", "c", "--share", "--share-with", "cert-b"), "use org:SHORT_NAME"),
        (("--indicators", "x.json", "--scheduler", "localhost"), "give the scheduler's address"),
        (("--indicators", "x.json", "--mapping", "{oops"), "--mapping: not valid JSON"),
    ],
)
def test_usage_errors_exit_2(offline: Run, logs: Path, args: tuple[str, ...], message: str) -> None:
    assert message in offline("hunt", logs / "dns.log", *args, code=2).stderr


def test_times_on_the_command_line() -> None:
    assert parse_moment("1970-01-01T00:03:05Z") == 185_000_000
    assert parse_moment("1970-01-01T00:03:05.5Z") == 185_500_000
    assert parse_moment("1970-01-01T01:03:05+01:00") == 185_000_000
    assert parse_moment("1970-01-01 00:03:05") == 185_000_000  # no offset: UTC
    assert parse_moment("1970-01-02") == 86_400_000_000
    assert parse_moment("1970-01-02", end=True) == 2 * 86_400_000_000  # an --until date holds the whole day
    with pytest.raises(ValueError, match="not a date"):
        parse_moment("tomorrow")


def test_the_progress_bar_shows_records_per_second_only_when_enabled() -> None:
    drawn = io.StringIO()
    stats = HuntStats(records=123_456)
    with Meter(Console(file=drawn, force_terminal=True, width=120), enabled=True, label="hunting") as meter:
        meter(stats)
        meter.progress.refresh()
    assert "123,456 records" in drawn.getvalue() and "records/s" in drawn.getvalue()
    silent = io.StringIO()
    with Meter(Console(file=silent, force_terminal=True, width=120), enabled=False, label="hunting") as meter:
        meter(stats)
    assert silent.getvalue() == ""


def test_quiet_and_a_pipe_draw_no_progress_bar(offline: Run, logs: Path, bundle: Path) -> None:
    for extra in ((), ("--quiet",)):
        result = offline("hunt", logs / "dns.log", "--indicators", bundle, *extra)
        assert "hunting" not in result.stderr and len(result.stderr.splitlines()) == 1


def test_the_summary_adds_the_indicators_set_aside_before_the_hunt_to_those_it_skipped() -> None:
    problems = Problems()
    problems.add("dns.log", 3, "bad")
    result = HuntResult({}, HuntStats(records=2000, matches=5), {"revoked": 1})
    run = HuntRun(result, problems, 2.0, indicators=4, set_aside={"invalid": 2, "duplicate": 1})
    assert summary(run) == (
        "2,000 records read in 2.00 s (1,000 records/s); 3 indicators used, 4 skipped (2 invalid, 1 duplicate, "
        "1 revoked); 5 matches; 1 problem"
    )


def test_only_the_newest_version_of_an_indicator_is_hunted_with(offline: Run, logs: Path, tmp_path: Path) -> None:
    old = dns_indicator(1, PUFYMOQ, modified="2024-01-01T00:00:00.000Z")
    new = dns_indicator(1, VOLYKYC, modified="2024-02-01T00:00:00.000Z")
    path = tmp_path / "versions.json"
    path.write_text(json.dumps([new, old, new]))
    result = offline("hunt", logs / "dns.log", "--indicators", path)
    assert table_rows(result.stdout) == {VOLYKYC: 7}  # each match counted once, with the newest pattern
    assert "1 indicator used, 2 skipped (2 duplicate)" in result.stderr


# -- on a Dask cluster ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster:
        yield cluster.scheduler_address


def test_a_hunt_on_a_dask_cluster_finds_what_a_local_hunt_finds(
    offline: Run, logs: Path, bundle: Path, scheduler: str
) -> None:
    paths = [logs / "dns.log", logs / "conn.log", logs / "http.log"]
    local = json.loads(offline("hunt", *paths, "--indicators", bundle, "--format", "json").stdout)
    remote = offline("hunt", *paths, "--indicators", bundle, "--format", "json", "--scheduler", scheduler)
    asked = len(queries(logs / "dns.log", VOLYKYC)) + len(queries(logs / "http.log", VOLYKYC, "host"))
    assert json.loads(remote.stdout) == local and local["hits"][0]["count"] == asked == 11
    assert {PurePath(s["file"]).name for s in local["hits"][0]["samples"]} == {"dns.log", "http.log"}
    assert "11 matches" in remote.stderr


def test_an_unreachable_scheduler_is_an_error(
    offline: Run, logs: Path, bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ribat.cli.hunt.SCHEDULER_TIMEOUT", "1s")  # nothing listens there: no need to wait 10 s
    result = offline("hunt", logs / "dns.log", "--indicators", bundle, "--scheduler", "tcp://127.0.0.1:1", code=1)
    assert "error: --scheduler tcp://127.0.0.1:1: cannot reach the Dask scheduler" in result.stderr


# -- with a hub (SQLite and PostgreSQL) ----------------------------------------------------------


def test_a_collection_hunt_uses_only_the_indicators_the_user_may_read(cli: Run, logs: Path) -> None:
    dns = logs / "dns.log"
    alice = cli("hunt", dns, "--collection", "shared", "--as", "alice@a.example")
    assert table_rows(alice.stdout) == {VOLYKYC: 7}  # carol's RED indicator is not alice's to use
    assert "1 indicator used" in alice.stderr
    carol = cli("hunt", dns, "--collection", "shared", "--as", "carol@c.example")
    assert table_rows(carol.stdout) == {VOLYKYC: 7, PUFYMOQ: 7}
    assert "2 indicators used" in carol.stderr


def test_an_indicator_in_two_collections_counts_each_match_once(cli: Run, shared: World, logs: Path) -> None:
    shared.hub.intel.create_collection("copy", alias="copy", owner_org_id=shared.org_a.id)
    shared.hub.intel.ingest(
        shared.principal("alice@a.example"),
        "copy",
        {"objects": [dns_indicator(1, VOLYKYC, object_marking_refs=[GREEN])]},
    )
    result = cli("hunt", logs / "dns.log", "--collection", "shared", "--collection", "copy", "--as", "alice@a.example")
    assert table_rows(result.stdout) == {VOLYKYC: 7}
    assert "1 indicator used, 1 skipped (1 duplicate)" in result.stderr


def test_sightings_are_shared_with_the_indicator_author_and_no_one_else(cli: Run, shared: World, logs: Path) -> None:
    result = cli("hunt", logs / "dns.log", "--collection", "shared", "--share", "--as", "alice@a.example")
    assert "shared with org:cert-b in shared (TLP:AMBER): " in result.stderr and ", 0 failed" in result.stderr
    assert "1 sighting shared" in result.stderr
    (sighting,) = stix_objects(shared, "bob@b.example", "sighting")
    assert sighting["count"] == 7 and sighting["sighting_of_ref"] == dns_indicator(1, VOLYKYC)["id"]
    assert sighting["where_sighted_refs"] == [shared.org_a.identity_id]
    assert sighting["object_marking_refs"] == [AMBER]
    assert stix_objects(shared, "carol@c.example", "sighting") == []  # AMBER, not shared with cert-c
    assert len(stix_objects(shared, "anna@a.example", "sighting")) == 1  # the hunter's own organisation


def test_sightings_are_also_shared_with_the_recipients_named(cli: Run, shared: World, logs: Path) -> None:
    cli("hunt", logs / "dns.log", "--collection", "shared", "--share", "--share-with", "org:cert-c",
        "--as", "alice@a.example")  # fmt: skip
    (seen,) = stix_objects(shared, "carol@c.example", "sighting")
    assert seen["object_marking_refs"] == [AMBER] and seen["count"] == 7
    assert len(stix_objects(shared, "bob@b.example", "sighting")) == 1
    # TLP:RED reaches the people named, and no organisation: not even the indicator's author.
    result = cli("hunt", logs / "dns.log", "--collection", "shared", "--share", "--share-with",
                 "user:carol@c.example", "--tlp", "red", "--as", "alice@a.example")  # fmt: skip
    assert "shared with user:carol@c.example, org:cert-b in shared (TLP:RED)" in result.stderr
    assert sorted(s["object_marking_refs"][0] for s in stix_objects(shared, "carol@c.example", "sighting")) == sorted(
        [AMBER, RED]
    )
    assert [s["object_marking_refs"] for s in stix_objects(shared, "bob@b.example", "sighting")] == [[AMBER]]


def test_a_file_hunt_shares_with_the_organisation_that_made_each_indicator(
    cli: Run, shared: World, logs: Path, tmp_path: Path
) -> None:
    path = tmp_path / "bob.json"
    path.write_text(json.dumps(dns_indicator(7, VOLYKYC, created_by_ref=shared.org_b.identity_id)))
    result = cli("hunt", logs / "dns.log", "--indicators", path, "--share", "--share-to", "shared",
                 "--as", "carol@c.example")  # fmt: skip
    assert "shared with org:cert-b in shared" in result.stderr
    (sighting,) = stix_objects(shared, "bob@b.example", "sighting")
    assert sighting["sighting_of_ref"] == dns_indicator(7, VOLYKYC)["id"]
    assert stix_objects(shared, "alice@a.example", "sighting") == []


def test_out_writes_a_stix_bundle_of_the_sightings(cli: Run, shared: World, logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "sightings.json"
    result = cli("hunt", logs / "dns.log", "--collection", "shared", "--out", out, "--as", "alice@a.example")
    assert "wrote 1 sighting and 7 observed-data" in result.stderr and str(out) in result.stderr
    parsed = stix2.parse(out.read_text(), allow_custom=False)
    by_type: dict[str, list[Any]] = {}
    for obj in parsed.objects:
        by_type.setdefault(obj.type, []).append(obj)
    (sighting,) = by_type["sighting"]
    assert sighting.count == 7 and sighting.sighting_of_ref == dns_indicator(1, VOLYKYC)["id"]
    (identity,) = by_type["identity"]
    assert identity.id == shared.org_a.identity_id == sighting.where_sighted_refs[0]
    assert len(sighting.observed_data_refs) == 7 == len(by_type["observed-data"])
    assert {o.value for o in by_type["domain-name"]} == {VOLYKYC}
    assert stix_objects(shared, "alice@a.example", "sighting") == []  # writing a file shares nothing


def test_collections_that_cannot_be_used_are_errors(cli: Run, shared: World, logs: Path, tmp_path: Path) -> None:
    dns = logs / "dns.log"
    unknown = cli("hunt", dns, "--collection", "nope", "--as", "alice@a.example", code=1)
    assert "error: collection 'nope' not found" in unknown.stderr and unknown.stdout == ""
    shared.hub.intel.create_collection("private", alias="private", owner_org_id=shared.org_b.id)
    hidden = cli("hunt", dns, "--collection", "private", "--as", "alice@a.example", code=1)
    assert "error: collection 'private' not found" in hidden.stderr
    empty = cli("hunt", dns, "--collection", "private", "--as", "bob@b.example", code=1)
    assert "error: no indicator that bob@b.example may read in private" in empty.stderr
    reader = cli("hunt", dns, "--collection", "shared", "--share", "--as", "anna@a.example", code=1)
    assert "error:" in reader.stderr and "write to" in reader.stderr and reader.stdout == ""  # before the hunt
    stranger = cli("hunt", dns, "--collection", "shared", "--share", "--share-with", "org:nowhere",
                   "--as", "alice@a.example", code=1)  # fmt: skip
    assert "error: organisation 'nowhere' not found" in stranger.stderr
    assert stix_objects(shared, "alice@a.example", "sighting") == []
    nobody = cli("hunt", dns, "--collection", "shared", "--as", "ghost@nowhere.example", code=1)
    assert "error:" in nobody.stderr and "ghost@nowhere.example" in nobody.stderr
