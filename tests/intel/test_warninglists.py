"""MISP warninglists: loading every list type from the shared data, and what each type hits."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ribat.cli import app
from ribat.errors import ValidationError
from ribat.intel.warninglists import (
    Hit,
    LoadResult,
    Warninglist,
    WarninglistIndex,
    load_directory,
    parse_warninglist,
)


@pytest.fixture(scope="module")
def lists_dir(data_dir: Path) -> Path:
    return data_dir / "cti" / "misp" / "warninglists"


@pytest.fixture(scope="module")
def loaded(lists_dir: Path) -> LoadResult:
    return load_directory(lists_dir)


def entries(lists_dir: Path, name: str) -> list[str]:
    return list(json.loads((lists_dir / name / "list.json").read_text(encoding="utf-8"))["list"])


def hit_names(loaded: LoadResult, value: str) -> dict[str, str]:
    return {hit.list_name: hit.matched_entry for hit in loaded.index.hits(value)}


def doc(list_type: str, items: list[object], **extra: object) -> dict[str, object]:
    return {"name": f"test {list_type}", "version": 1, "description": "d", "type": list_type, "list": items, **extra}


def index_of(list_type: str, items: list[object]) -> WarninglistIndex:
    return WarninglistIndex([parse_warninglist(doc(list_type, items), f"{list_type}/list.json")])


# -- loading --------------------------------------------------------------------------------


def test_every_shared_warninglist_loads_without_problems(lists_dir: Path, loaded: LoadResult) -> None:
    files = sorted(lists_dir.glob("*/list.json"))
    assert files
    assert loaded.problems == []
    assert len(loaded.index.lists) == len(files)
    assert {wl.type for wl in loaded.index.lists} == {"cidr", "hostname", "string", "substring", "regex"}
    rfc1918 = next(wl for wl in loaded.index.lists if wl.source == "rfc1918/list.json")
    assert rfc1918.name == "List of RFC 1918 CIDR blocks" and "ip-src" in rfc1918.matching_attributes


def test_a_bad_file_is_reported_by_file_and_field_and_the_others_still_load(tmp_path: Path) -> None:
    for name, content in {
        "good": json.dumps(doc("cidr", ["10.0.0.0/8"])),
        "bad-type": json.dumps(doc("ipset", ["10.0.0.0/8"])),
        "no-version": json.dumps({k: v for k, v in doc("string", ["a"]).items() if k != "version"}),
        "not-json": "{ nope",
    }.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "list.json").write_text(content)

    result = load_directory(tmp_path)

    assert [wl.source for wl in result.index.lists] == ["good/list.json"]
    found = {(p.source, p.field) for p in result.problems}
    assert found == {
        ("bad-type/list.json", "type"),
        ("no-version/list.json", "version"),
        ("not-json/list.json", "(file)"),
    }
    assert "ipset" in str(next(p for p in result.problems if p.field == "type"))
    assert result.index.hits("10.9.9.9") == [Hit("test cidr", "cidr", "10.0.0.0/8")]


def test_parse_names_the_source_and_field_of_an_invalid_document() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_warninglist(doc("string", ["ok", 3]), "x/list.json")
    assert caught.value.field == "x/list.json: list[1]"
    with pytest.raises(ValidationError, match="matching_attributes"):
        parse_warninglist(doc("string", ["ok"], matching_attributes="md5"), "x/list.json")


def test_an_invalid_regex_entry_is_reported_and_the_rest_of_the_list_kept() -> None:
    index = index_of("regex", ["/^(unclosed/", "/^abuse@/i"])

    assert [(p.source, p.field) for p in index.problems] == [("regex/list.json", "list[0]")]
    assert "invalid regex" in index.problems[0].reason
    assert index.hits("ABUSE@example.org") == [Hit("test regex", "regex", "/^abuse@/i")]


def test_a_bad_cidr_entry_is_reported_and_the_rest_of_the_list_kept() -> None:
    index = index_of("cidr", ["10.0.0.0/33", "192.0.2.0/24"])
    assert [p.field for p in index.problems] == ["list[0]"]
    assert index.hits("192.0.2.7") == [Hit("test cidr", "cidr", "192.0.2.0/24")]


# -- cidr -----------------------------------------------------------------------------------


def test_private_ipv4_hits_rfc1918_and_a_public_one_does_not(loaded: LoadResult) -> None:
    assert hit_names(loaded, "10.1.2.3")["List of RFC 1918 CIDR blocks"] == "10.0.0.0/8"
    assert hit_names(loaded, "172.20.0.0/16")["List of RFC 1918 CIDR blocks"] == "172.16.0.0/12"
    assert "List of RFC 1918 CIDR blocks" not in hit_names(loaded, "172.32.0.1")
    assert "List of RFC 1918 CIDR blocks" not in hit_names(loaded, "10.0.0.0/7")


def test_public_resolvers_hit_the_public_dns_lists(lists_dir: Path, loaded: LoadResult) -> None:
    v4 = next(wl.name for wl in loaded.index.lists if wl.source == "public-dns-v4/list.json")
    v6 = next(wl.name for wl in loaded.index.lists if wl.source == "public-dns-v6/list.json")
    assert "8.8.8.8" in entries(lists_dir, "public-dns-v4")
    assert hit_names(loaded, "8.8.8.8")[v4] == "8.8.8.8"
    ipv6 = entries(lists_dir, "public-dns-v6")[0]
    assert hit_names(loaded, ipv6.upper())[v6] == ipv6
    assert v6 not in hit_names(loaded, "2001:db8::1")


def test_sinkhole_addresses_and_networks_hit_the_sinkhole_list(lists_dir: Path, loaded: LoadResult) -> None:
    listed = entries(lists_dir, "sinkholes")
    single = next(e for e in listed if "/" not in e)
    network = next(e for e in listed if "/" in e)
    inside = str(next(ipaddress.ip_network(network).hosts()))
    assert hit_names(loaded, single)["List of known sinkholes"] == single
    assert hit_names(loaded, inside)["List of known sinkholes"] == network
    assert hit_names(loaded, f"http://{single}/gate.php")["List of known sinkholes"] == single


def test_ipv6_networks_contain_addresses(lists_dir: Path, loaded: LoadResult) -> None:
    network = next(e for e in entries(lists_dir, "google-gcp") if e == "2600:1900:4000::/40")
    assert hit_names(loaded, "2600:1900:4000:1::5")["List of known GCP (Google Cloud Platform) IP address ranges"] == (
        network
    )


def test_most_specific_cidr_entry_is_reported() -> None:
    index = index_of("cidr", ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.3"])
    assert index.hits("10.1.2.3") == [Hit("test cidr", "cidr", "10.1.2.3")]
    assert index.hits("10.1.9.9") == [Hit("test cidr", "cidr", "10.1.0.0/16")]
    assert index.hits("11.0.0.1") == []
    assert index.hits("not an ip") == []


# -- hostname -------------------------------------------------------------------------------


def test_hostname_hits_on_the_value_and_its_parent_domains(loaded: LoadResult) -> None:
    shortener = "List of known URL Shorteners domains"
    assert hit_names(loaded, "bit.ly")[shortener] == "bit.ly"
    assert hit_names(loaded, "Links.BIT.ly.")[shortener] == "bit.ly"
    assert shortener not in hit_names(loaded, "notbit.ly")
    assert shortener not in hit_names(loaded, "bit.ly.example.com")


def test_hostname_is_extracted_from_urls_and_email_addresses(loaded: LoadResult) -> None:
    shortener = "List of known URL Shorteners domains"
    assert hit_names(loaded, "https://user@www.bit.ly:8443/abc?x=1")[shortener] == "bit.ly"
    assert hit_names(loaded, "bit.ly/abc")[shortener] == "bit.ly"
    assert hit_names(loaded, "someone@bit.ly")[shortener] == "bit.ly"
    assert hit_names(loaded, "10086.cn:8080")["Top 1000 website from Alexa"] == "10086.cn"


def test_hostname_entries_are_normalised() -> None:
    index = index_of("hostname", [".Example.COM.", ""])
    assert [p.field for p in index.problems] == ["list[1]"]
    assert index.hits("a.b.example.com") == [Hit("test hostname", "hostname", ".Example.COM.")]


# -- string ---------------------------------------------------------------------------------


def test_empty_file_hashes_hit_exactly_and_case_insensitively(lists_dir: Path, loaded: LoadResult) -> None:
    empty = "List of known hashes for empty files"
    md5 = "d41d8cd98f00b204e9800998ecf8427e"
    assert md5 in entries(lists_dir, "empty-hashes")
    assert hit_names(loaded, md5)[empty] == md5
    assert hit_names(loaded, md5.upper())[empty] == md5
    assert empty not in hit_names(loaded, md5[:-1])
    assert empty not in hit_names(loaded, md5 + "0")


def test_string_lists_match_whole_values_only(loaded: LoadResult) -> None:
    tlds = "TLDs as known by IANA"
    assert hit_names(loaded, "com")[tlds] == "COM"
    assert tlds not in hit_names(loaded, "example.com")


def test_composite_values_are_checked_part_by_part(loaded: LoadResult) -> None:
    found = hit_names(loaded, "empty.txt|d41d8cd98f00b204e9800998ecf8427e")
    assert found["List of known hashes for empty files"] == "d41d8cd98f00b204e9800998ecf8427e"


# -- substring ------------------------------------------------------------------------------


def test_substring_hits_when_an_entry_occurs_in_the_value(loaded: LoadResult) -> None:
    analysis = "List of known domains used by automated malware analysis services & security vendors"
    assert hit_names(loaded, "https://www.VirusTotal.com/gui/file/abc")[analysis] == "virustotal.com"
    assert hit_names(loaded, "report.app.any.run")[analysis] == "app.any.run"
    assert analysis not in hit_names(loaded, "any.run")


def test_an_empty_substring_entry_is_refused() -> None:
    index = index_of("substring", ["", "evil"])
    assert [p.field for p in index.problems] == ["list[0]"]
    assert index.hits("benign") == []


# -- regex ----------------------------------------------------------------------------------


def test_regex_list_hits_contact_addresses(loaded: LoadResult) -> None:
    contacts = "Common contact e-mail addresses"
    assert hit_names(loaded, "ABUSE@provider.example")[contacts] == r"/^(security|noc|soc|abuse)\@.*\..*$/i"
    assert contacts not in hit_names(loaded, "alice@provider.example")
    assert contacts not in hit_names(loaded, "abuse@localhost")


def test_undelimited_regex_entries_are_bare_patterns() -> None:
    index = index_of("regex", [r"^evil\d+$"])
    assert index.hits("evil42") == [Hit("test regex", "regex", r"^evil\d+$")]
    assert index.hits("EVIL42") == []


def test_every_list_type_is_reported_once_per_value() -> None:
    lists = [
        Warninglist("a", 1, "d", "cidr", ("10.0.0.0/8", "10.0.0.0/16")),
        Warninglist("b", 1, "d", "substring", ("10.", "0.0")),
    ]
    hits = WarninglistIndex(lists).hits("10.0.0.1")
    assert hits == [Hit("a", "cidr", "10.0.0.0/16"), Hit("b", "substring", "10.")]


# -- ribat check ----------------------------------------------------------------------------


def test_ribat_check_names_the_lists_each_value_hits(lists_dir: Path) -> None:
    result = CliRunner().invoke(app, ["check", "10.1.2.3", "example.invalid", "--lists", str(lists_dir)])

    assert result.exit_code == 0, result.output
    assert "10.1.2.3:" in result.output
    assert "List of RFC 1918 CIDR blocks (cidr): 10.0.0.0/8" in result.output
    assert "example.invalid: no list" in result.output


def test_ribat_check_reads_the_directory_from_the_setting(lists_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIBAT_WARNINGLISTS_DIR", str(lists_dir))
    result = CliRunner().invoke(app, ["check", "https://bit.ly/x"])
    assert result.exit_code == 0, result.output
    assert "List of known URL Shorteners domains (hostname): bit.ly" in result.output


def test_ribat_check_without_a_directory_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RIBAT_WARNINGLISTS_DIR", raising=False)
    result = CliRunner().invoke(app, ["check", "8.8.8.8"])
    assert result.exit_code == 2
    assert "RIBAT_WARNINGLISTS_DIR" in result.output
