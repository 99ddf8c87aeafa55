"""The export selection rules and renderers (pure): Suricata rules checked by two independent
parsers, the Zeek Intel file's exact layout, blocklists, CSV, STIX bundles."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import idstools.rule
import pytest
import suricataparser
from hypothesis import given, settings
from hypothesis import strategies as st

from ribat.errors import ValidationError
from ribat.formats.exports import (
    CSV_COLUMNS,
    FORMATS,
    ZEEK_HEADER,
    ExportFilter,
    ExportTally,
    Selected,
    SuricataOptions,
    ZeekOptions,
    blocklist_values,
    parse_filter,
    render_blocklist,
    render_csv,
    render_stix,
    render_suricata,
    render_zeek,
    select,
    suricata_content,
    suricata_msg,
    warninglist_flags,
    zeek_field,
)
from ribat.intel.tlp import Tlp
from ribat.intel.warninglists import Warninglist, WarninglistIndex, load_directory

NOW = 1_735_689_600_000_000  # 2025-01-01T00:00:00Z
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
DETECTION = ("csv", "blocklist", "suricata", "zeek")


def ind(n: int, pattern: str, **extra: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.UUID(int=n, version=4)}",
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-03-01T12:00:00.000Z",
        "name": f"indicator {n}",
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": "2024-01-01T00:00:00Z",
    }
    obj.update(extra)
    return obj


def everything(objects: Iterable[dict[str, Any]]) -> list[Selected]:
    kept, _ = select(objects, ExportFilter(), now_us=NOW, detection=True)
    return kept


def rules_of(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def render(fmt: str, items: list[Selected], tally: ExportTally | None = None, kind: str = "ip") -> str:
    tally = tally if tally is not None else ExportTally()
    if fmt == "csv":
        return "".join(render_csv(items, tally))
    if fmt == "blocklist":
        return "".join(render_blocklist(items, tally, kind, generated="2025-01-01T00:00:00Z", source="test"))
    if fmt == "suricata":
        return "".join(render_suricata(items, tally, SuricataOptions(), generated="now", source="test"))
    if fmt == "zeek":
        return "".join(render_zeek(items, tally, ZeekOptions()))
    raise AssertionError(fmt)


# -- Suricata ---------------------------------------------------------------------------------

NASTY_NAME = 'C2 "panel"; see \\\\share (stage 2) ؛ نطاق خبيث'
MIXED = [
    ind(1, "[ipv4-addr:value = '198.51.100.7']", name=NASTY_NAME),
    ind(2, "[ipv4-addr:value = '203.0.113.0/24']"),
    ind(3, "[ipv6-addr:value = '2001:db8:abcd::/48']"),
    ind(4, "[domain-name:value = 'Login-Update.Example.NET']"),
    ind(5, "[url:value = 'http://evil.example:8080/gate.php?id=1;x=\"2\"|y\\\\z']"),
    ind(6, "[url:value = 'https://cdn.example.org/path%20with/escapes']"),
    ind(7, "[url:value = 'http://203.0.113.9/']"),
    ind(8, "[url:value = 'http://xn--80ak6aa92e.example/путь']"),
    ind(9, "[domain-name:value = 'a.example' OR domain-name:value = 'b.example']"),
    ind(10, "[file:hashes.'SHA-256' = '" + "ab" * 32 + "']"),
    ind(11, "[email-addr:value = 'boss@phish.example']"),
]


def _hex_decode(content: str) -> bytes:
    """Decode a Suricata content string (text with |XX XX| hex groups), refusing any raw
    character that must be escaped."""
    out = bytearray()
    for i, part in enumerate(content.split("|")):
        if i % 2:
            out += bytes.fromhex(part)
        else:
            assert not set(part) & set('";\\:'), f"unescaped character in {content!r}"
            out += part.encode("ascii")
    return bytes(out)


def _contents(rule: str) -> list[str]:
    return re.findall(r'content:"((?:[^"\\]|\\.)*)"', rule)


def test_every_rule_parses_with_suricataparser_and_idstools() -> None:
    tally = ExportTally()
    text = render("suricata", everything(MIXED), tally)
    rules = rules_of(text)
    # 2 IPv4 + 1 IPv6 + 3 for the domain (dns, tls, http) + 2 for a.example/b.example (3 each)
    # + 4 URLs = 16 rules
    assert len(rules) == 3 + 3 + 6 + 4
    sids = set()
    for line in rules:
        parsed = suricataparser.parse_rule(line)
        other = idstools.rule.parse(line)
        assert parsed is not None, line
        assert other is not None, line
        assert parsed.action == "alert" and other.action == "alert"
        assert int(parsed.sid) == other.sid
        assert parsed.msg == other.msg and other.msg.startswith("RIBAT ")
        names = [o.name for o in parsed.options]
        assert names[0] == "msg" and names[-2:] == ["sid", "rev"]
        assert "classtype" in names and "metadata" in names
        assert other.classtype == "bad-unknown"
        assert 1_000_000_000 <= other.sid < 2_000_000_000
        assert other.rev == 1709294400  # the indicators' modified time
        assert any(m.startswith("stix_id indicator--") for m in other.metadata)
        assert "tlp amber" in other.metadata
        sids.add(other.sid)
    assert len(sids) == len(rules)
    # The hash and the e-mail address have no rule, and say so.
    assert tally.skipped == {"unsupported:sha256": 1, "unsupported:email": 1}


def test_rules_carry_the_escaped_name_and_the_exact_values() -> None:
    text = render("suricata", everything(MIXED))
    by_id: dict[str, list[str]] = {}
    for line in rules_of(text):
        stix_id = re.search(r"stix_id (indicator--[0-9a-f-]+)", line)
        assert stix_id is not None
        by_id.setdefault(stix_id.group(1), []).append(line)

    nasty = by_id[MIXED[0]["id"]]
    assert len(nasty) == 1
    parsed = idstools.rule.parse(nasty[0])
    assert parsed.msg == "RIBAT IP " + suricata_msg(NASTY_NAME)
    # The escaped msg reads back as the name once Suricata's escapes are undone.
    assert re.sub(r"\\(.)", r"\1", parsed.msg) == "RIBAT IP " + NASTY_NAME
    assert parsed.header == "alert ip $HOME_NET any <> 198.51.100.7 any"
    assert idstools.rule.parse(by_id[MIXED[1]["id"]][0]).dest_addr == "203.0.113.0/24"
    assert idstools.rule.parse(by_id[MIXED[2]["id"]][0]).dest_addr == "2001:db8:abcd::/48"

    domain = by_id[MIXED[3]["id"]]
    assert [r.split(" ", 2)[1] for r in domain] == ["dns", "tls", "http"]
    for rule, buffer in zip(domain, ("dns.query", "tls.sni", "http.host"), strict=True):
        assert f'{buffer}; dotprefix; content:".login-update.example.net"; nocase; endswith;' in rule

    (url,) = by_id[MIXED[4]["id"]]
    assert idstools.rule.parse(url).dest_port == "8080"
    host, uri = _contents(url)
    assert _hex_decode(host) == b"evil.example"
    assert _hex_decode(uri) == b'/gate.php?id=1;x="2"|y\\z'
    assert "bsize:12;" in url and f"bsize:{len(uri.encode()) and len(_hex_decode(uri))};" in url

    (escaped,) = by_id[MIXED[5]["id"]]
    assert "http.uri.raw;" in escaped and _hex_decode(_contents(escaped)[1]) == b"/path%20with/escapes"
    (bare,) = by_id[MIXED[6]["id"]]
    assert "http.uri" not in bare and _contents(bare) == ["203.0.113.9"]
    (idn,) = by_id[MIXED[7]["id"]]
    assert _hex_decode(_contents(idn)[1]) == "/путь".encode()
    assert len(by_id[MIXED[8]["id"]]) == 6  # both domains of the OR, three rules each


def test_content_escaping_uses_hex_for_reserved_bytes() -> None:
    assert suricata_content('a"b;c:d|e\\f') == "a|22|b|3B|c|3A|d|7C|e|5C|f"
    assert suricata_content("::") == "|3A 3A|"
    assert suricata_content("tab\there") == "tab|09|here"
    assert suricata_content("é") == "|C3 A9|"
    assert suricata_msg('a;b"c\\d\ne') == 'a\\;b\\"c\\\\d e'


@settings(max_examples=60, deadline=None)
@given(
    name=st.text(min_size=1, max_size=60).filter(str.strip),
    path=st.text(
        alphabet=st.characters(
            min_codepoint=0x21, max_codepoint=0x2FF, exclude_categories=("Zs", "Cc"), exclude_characters="#?/"
        ),
        max_size=40,
    ),
)
def test_any_name_and_url_path_makes_rules_both_parsers_accept(name: str, path: str) -> None:
    url = f"http://host.example/{path}"
    literal = url.replace("\\", "\\\\").replace("'", "\\'")
    obj = ind(1, f"[url:value = '{literal}']", name=name)
    (rule,) = rules_of(render("suricata", everything([obj])))
    parsed = suricataparser.parse_rule(rule)
    other = idstools.rule.parse(rule)
    assert parsed is not None and other is not None
    assert other.msg == "RIBAT URL " + suricata_msg(name[:200])
    contents = _contents(rule)
    assert _hex_decode(contents[0]) == b"host.example"
    if path:
        assert _hex_decode(contents[1]).decode("utf-8") == "/" + path


def test_sids_are_stable_across_exports_and_orders() -> None:
    first = render("suricata", everything(MIXED))
    second = render("suricata", everything(list(reversed(MIXED[:6]))))

    def sids(text: str) -> dict[tuple[str, ...], int]:
        found = {}
        for rule in rules_of(text):
            parsed = idstools.rule.parse(rule)
            found[(parsed.header, parsed.msg, *parsed.metadata, *_contents(rule))] = parsed.sid
        assert len(found) == len(rules_of(text))
        return found

    one, two = sids(first), sids(second)
    assert two and all(one[key] == sid for key, sid in two.items())


def test_sid_collisions_are_resolved_within_the_range() -> None:
    objects = [ind(n, f"[ipv4-addr:value = '10.0.{n // 256}.{n % 256}']") for n in range(1, 801)]
    tally = ExportTally()
    options = SuricataOptions(sid_base=5000, sid_range=1000)
    text = "".join(render_suricata(everything(objects), tally, options, generated="now", source="t"))
    sids = [idstools.rule.parse(r).sid for r in rules_of(text)]
    assert len(sids) == 800 == len(set(sids))
    assert all(5000 <= s < 6000 for s in sids)
    assert any("collision" in note for note in tally.notes)


def test_suricata_options_are_checked() -> None:
    with pytest.raises(ValidationError) as err:
        SuricataOptions(sid_base=0)
    assert err.value.field == "sid_base"
    with pytest.raises(ValidationError):
        SuricataOptions(sid_base=4_294_967_000)  # fewer than 1000 sids left
    assert SuricataOptions(sid_base=4_000_000_000).range == 294_967_296
    with pytest.raises(ValidationError) as err:
        SuricataOptions(classtype='x"; drop')
    assert err.value.field == "classtype"
    with pytest.raises(ValidationError) as err:
        SuricataOptions(home_net="$HOME_NET any")
    assert err.value.field == "home_net"
    assert SuricataOptions(home_net="[10.0.0.0/8,!10.1.0.0/16]").home_net.startswith("[")


def test_exact_domain_rules_when_subdomains_are_not_wanted() -> None:
    obj = ind(1, "[domain-name:value = 'evil.example']")
    text = "".join(
        render_suricata(everything([obj]), ExportTally(), SuricataOptions(subdomains=False), generated="n", source="t")
    )
    for rule in rules_of(text):
        assert 'content:"evil.example"; nocase; bsize:12;' in rule
        assert idstools.rule.parse(rule) is not None and suricataparser.parse_rule(rule) is not None


# -- Zeek -------------------------------------------------------------------------------------


def test_zeek_file_has_the_exact_header_and_layout() -> None:
    tally = ExportTally()
    objects = [
        *MIXED,
        ind(20, "[file:name = 'invoice\t2024.exe']"),
        ind(21, "[file:hashes.MD5 = 'D41D8CD98F00B204E9800998ECF8427E']", name="tab\there\nnewline"),
        ind(22, "[file:hashes.'SHA-512' = '" + "cd" * 64 + "']"),
        ind(23, "[url:value = 'http://evil.example:80/a']"),
    ]
    text = "".join(render_zeek(everything(objects), tally, ZeekOptions(source="ribat: shared")))
    raw = text.encode("utf-8")
    assert raw.startswith(b"#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.url\n")
    lines = text.split("\n")
    assert lines[-1] == ""  # ends with a newline
    lines = lines[:-1]
    assert lines[0] + "\n" == ZEEK_HEADER
    rows = [line.split("\t") for line in lines[1:]]
    assert all(len(row) == 5 for row in rows)
    assert all(row[2] == "ribat: shared" for row in rows)
    types = {row[1] for row in rows}
    assert types == {
        "Intel::ADDR",
        "Intel::SUBNET",
        "Intel::DOMAIN",
        "Intel::URL",
        "Intel::EMAIL",
        "Intel::FILE_HASH",
        "Intel::FILE_NAME",
    }
    by_value = {row[0]: row for row in rows}
    assert by_value["198.51.100.7"][1] == "Intel::ADDR"
    assert by_value["203.0.113.0/24"][1] == "Intel::SUBNET"
    assert by_value["2001:db8:abcd::/48"][1] == "Intel::SUBNET"
    assert by_value["login-update.example.net"][1] == "Intel::DOMAIN"
    # URLs lose their scheme (Zeek's Intel::URL), and the default HTTP port.
    assert 'evil.example:8080/gate.php?id=1;x="2"|y\\x5cz' in by_value
    assert "cdn.example.org/path%20with/escapes" in by_value
    assert "203.0.113.9/" in by_value
    assert "evil.example/a" in by_value
    assert not any("://" in row[0] for row in rows)
    # TAB and newline travel as \x escapes, which Zeek's ASCII reader decodes.
    assert "invoice\\x092024.exe" in by_value
    hashed = by_value["d41d8cd98f00b204e9800998ecf8427e"]
    assert hashed[1] == "Intel::FILE_HASH" and hashed[3].startswith("tab\\x09here\\x0anewline (indicator--")
    assert all(row[4] == "-" for row in rows)  # no object URL given: unset
    assert tally.skipped["unsupported:sha512"] == 1
    assert tally.skipped["not_detection_shape"] == 0 or "not_detection_shape" not in tally.skipped


def test_zeek_fields_escape_what_the_reader_would_misread() -> None:
    assert zeek_field("") == "-"
    assert zeek_field("-") == "\\x2d"
    assert zeek_field("a\tb\nc\\d") == "a\\x09b\\x0ac\\x5cd"
    text = "".join(
        render_zeek(everything([MIXED[0]]), ExportTally(), ZeekOptions(object_url="https://hub.example/objects/"))
    )
    row = text.splitlines()[1].split("\t")
    assert row[4] == f"https://hub.example/objects/{MIXED[0]['id']}"


# -- blocklists, CSV, STIX --------------------------------------------------------------------


def test_blocklists_are_deduplicated_sorted_and_headed() -> None:
    objects = [
        ind(1, "[ipv4-addr:value = '10.0.0.10']"),
        ind(2, "[ipv4-addr:value = '10.0.0.9' OR ipv4-addr:value = '10.0.0.10']"),
        ind(3, "[ipv4-addr:value = '9.9.9.0/24']"),
        ind(4, "[ipv6-addr:value = '2001:db8::1']"),
        ind(5, "[domain-name:value = 'b.example'] OR [domain-name:value = 'a.example']"),
    ]
    items = everything(objects)
    tally = ExportTally()
    text = render("blocklist", items, tally, kind="ip")
    header = [line for line in text.splitlines() if line.startswith("#")]
    body = [line for line in text.splitlines() if not line.startswith("#")]
    assert header[0] == "# Ribat blocklist: IPv4 and IPv6 addresses and networks (CIDR)"
    assert "# values: 4" in header and "# generated: 2025-01-01T00:00:00Z" in header
    assert body == ["9.9.9.0/24", "10.0.0.9", "10.0.0.10", "2001:db8::1"]
    assert tally.skipped["duplicate_value"] == 1 and tally.skipped["other_kind:domain"] == 2
    assert blocklist_values(items, ExportTally(), "ipv4") == ["9.9.9.0/24", "10.0.0.9", "10.0.0.10"]
    assert blocklist_values(items, ExportTally(), "domain") == ["a.example", "b.example"]
    with pytest.raises(ValidationError) as err:
        blocklist_values(items, ExportTally(), "phone")
    assert err.value.field == "kind"


def test_hash_blocklists_are_list_files_suricata_loads() -> None:
    """Suricata's filemd5/filesha1/filesha256 loader reads the leading run of hex digits of
    each line and skips lines without one (src/detect-file-hash-common.c)."""
    digests = {"md5": "d41d8cd98f00b204e9800998ecf8427e", "sha1": "da39a3ee5e6b4b0d3255bfef95601890afd80709"}
    objects = [
        ind(1, f"[file:hashes.MD5 = '{digests['md5'].upper()}']"),
        ind(2, f"[file:hashes.'SHA-1' = '{digests['sha1']}']"),
    ]
    for kind, digest in digests.items():
        text = render("blocklist", everything(objects), kind=kind)
        loaded = []
        for line in text.splitlines():
            run = re.match(r"[0-9A-Fa-f]*", line)
            assert run is not None
            if run.group():
                loaded.append(run.group())
        assert loaded == [digest]


def test_csv_has_one_row_per_value_and_defuses_formulas() -> None:
    objects = [
        ind(1, "[domain-name:value = 'a.example' OR domain-name:value = 'b.example']", name="=HYPERLINK(1)"),
        ind(
            2,
            "[ipv4-addr:value = '192.0.2.1']",
            confidence=80,
            labels=["c2", "botnet"],
            valid_until="2030-01-01T00:00:00Z",
        ),
    ]
    text = render("csv", everything(objects))
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 4
    record = dict(zip(CSV_COLUMNS, rows[3], strict=True))
    assert record == {
        "indicator_id": objects[1]["id"],
        "kind": "ipv4",
        "value": "192.0.2.1",
        "name": "indicator 2",
        "tlp": "amber",
        "confidence": "80",
        "valid_from": "2024-01-01T00:00:00Z",
        "valid_until": "2030-01-01T00:00:00Z",
        "labels": "c2;botnet",
        "warninglists": "",
    }
    assert rows[1][3] == "'=HYPERLINK(1)" and rows[1][2] == "a.example" and rows[2][2] == "b.example"


def test_stix_bundle_holds_the_selected_objects_as_given() -> None:
    objects = [*MIXED[:3], {"type": "malware", "spec_version": "2.1", "id": "malware--" + str(uuid.uuid4())}]
    kept, _ = select(objects, ExportFilter(), now_us=NOW)
    tally = ExportTally()
    bundle = json.loads("".join(render_stix(kept, tally, bundle_id="bundle--" + str(uuid.UUID(int=1)))))
    assert bundle["type"] == "bundle" and bundle["objects"] == objects and tally.values == 4
    empty = json.loads("".join(render_stix([], ExportTally(), bundle_id="bundle--x")))
    assert empty["objects"] == []


# -- selection --------------------------------------------------------------------------------


def _lists() -> WarninglistIndex:
    return WarninglistIndex(
        [
            Warninglist("Public DNS resolvers", 1, "", "cidr", ("8.8.8.0/24", "1.1.1.1")),
            Warninglist("Top sites", 1, "", "hostname", ("example.com",)),
        ]
    )


FLAGGED = [
    ind(1, "[ipv4-addr:value = '8.8.8.8']"),
    ind(2, "[domain-name:value = 'www.example.com']"),
    ind(3, "[url:value = 'https://example.com/login']"),
    ind(4, "[ipv4-addr:value = '198.51.100.1' OR ipv4-addr:value = '1.1.1.1']"),
]
CLEAN = ind(5, "[ipv4-addr:value = '198.51.100.99']")
FLAGGED_VALUES = ("8.8.8.8", "example.com", "198.51.100.1", "1.1.1.1")


@pytest.mark.parametrize("fmt", DETECTION)
def test_flagged_indicators_are_left_out_unless_asked_for(fmt: str) -> None:
    flags = warninglist_flags(_lists())
    kept, tally = select([*FLAGGED, CLEAN], ExportFilter(), now_us=NOW, detection=True, flags_of=flags)
    assert [k.id for k in kept] == [CLEAN["id"]]
    assert tally.skipped["flagged"] == 4
    text = render(fmt, kept)
    assert "198.51.100.99" in text
    assert not any(value in text for value in FLAGGED_VALUES)

    kept, tally = select(
        [*FLAGGED, CLEAN], ExportFilter(include_flagged=True), now_us=NOW, detection=True, flags_of=flags
    )
    assert "flagged" not in tally.skipped
    assert kept[0].flags == ("Public DNS resolvers",) and kept[1].flags == ("Top sites",)
    text = render(fmt, kept)
    assert "8.8.8.8" in text and "1.1.1.1" in text
    if fmt in ("csv", "zeek"):
        assert "Public DNS resolvers" in text
    if fmt == "suricata":
        for rule in rules_of(text):
            assert suricataparser.parse_rule(rule) is not None
            metadata = idstools.rule.parse(rule).metadata
            assert any(m.startswith("warninglist ") for m in metadata) == ("198.51.100.99" not in rule)
        assert "warninglist Public DNS resolvers" in text and "warninglist Top sites" in text


def test_flags_with_the_shared_misp_warninglists(data_dir: Path) -> None:
    index = load_directory(data_dir / "cti" / "misp" / "warninglists").index
    objects = [ind(1, "[ipv4-addr:value = '8.8.8.8']"), ind(2, "[ipv4-addr:value = '45.77.10.3']")]
    kept, tally = select(objects, ExportFilter(), now_us=NOW, detection=True, flags_of=warninglist_flags(index))
    assert [k.id for k in kept] == [objects[1]["id"]] and tally.skipped["flagged"] == 1
    for fmt in DETECTION:
        assert "8.8.8.8" not in render(fmt, kept)


@pytest.mark.parametrize("fmt", DETECTION)
def test_revoked_expired_and_future_indicators_are_skipped(fmt: str) -> None:
    objects = [
        ind(1, "[ipv4-addr:value = '192.0.2.1']", revoked=True),
        ind(2, "[ipv4-addr:value = '192.0.2.2']", valid_until="2024-06-01T00:00:00Z"),
        ind(3, "[ipv4-addr:value = '192.0.2.3']", valid_until="2025-01-01T00:00:00Z"),  # exactly now: expired
        ind(4, "[ipv4-addr:value = '192.0.2.4']", valid_from="2026-01-01T00:00:00Z"),
        ind(5, "[ipv4-addr:value = '192.0.2.5']", valid_until="2025-01-01T00:00:01Z"),
    ]
    kept, tally = select(objects, ExportFilter(), now_us=NOW, detection=True)
    assert dict(tally.skipped) == {"revoked": 1, "expired": 2, "not_yet_valid": 1}
    assert tally.samples["expired"] == [objects[1]["id"], objects[2]["id"]]
    text = render(fmt, kept)
    assert "192.0.2.5" in text
    assert not any(f"192.0.2.{n}" in text for n in range(1, 5))


@pytest.mark.parametrize("fmt", DETECTION)
def test_a_compound_pattern_is_counted_not_widened(fmt: str) -> None:
    objects = [
        ind(1, "[ipv4-addr:value = '192.0.2.77' AND domain-name:value = 'only-with.example']"),
        ind(2, "[ipv4-addr:value = '192.0.2.78'] FOLLOWEDBY [domain-name:value = 'next.example']"),
        ind(3, "[ipv4-addr:value = '192.0.2.79'] REPEATS 5 TIMES"),
        ind(4, "[network-traffic:dst_port = 4444]"),
        ind(5, "rule x { condition: true }", pattern_type="yara"),
        ind(6, "[ipv4-addr:value = '192.0.2.80']"),
    ]
    tally = ExportTally()
    text = render(fmt, everything(objects), tally)
    assert tally.skipped["not_detection_shape"] == 5
    assert tally.samples["not_detection_shape"] == [o["id"] for o in objects[:5]]
    assert "192.0.2.80" in text
    for value in ("192.0.2.77", "only-with.example", "192.0.2.78", "next.example", "192.0.2.79"):
        assert value not in text


def test_filters_by_type_tlp_date_and_confidence() -> None:
    red = ind(1, "[ipv4-addr:value = '192.0.2.1']", object_marking_refs=[RED], confidence=90)
    green = ind(2, "[ipv4-addr:value = '192.0.2.2']", object_marking_refs=[GREEN], confidence=40)
    unmarked = ind(3, "[ipv4-addr:value = '192.0.2.3']", modified="2023-05-01T00:00:00Z")
    malware = {"type": "malware", "spec_version": "2.1", "id": "malware--" + str(uuid.UUID(int=9))}
    objects = [red, green, unmarked, malware]

    def ids(flt: ExportFilter, **kw: Any) -> list[str]:
        kept, _ = select(objects, flt, now_us=NOW, **kw)
        return [k.id for k in kept]

    assert ids(ExportFilter(types=("malware",))) == [malware["id"]]
    assert ids(ExportFilter(max_tlp=Tlp.GREEN)) == [green["id"]]  # unmarked takes the default (AMBER)
    assert ids(ExportFilter(max_tlp=Tlp.GREEN), default_tlp=Tlp.CLEAR) == [green["id"], unmarked["id"], malware["id"]]
    since = parse_filter(since="2024-01-01")
    assert ids(since) == [red["id"], green["id"]]  # malware has no date: skipped
    assert ids(parse_filter(until="2023-05-01")) == [unmarked["id"]]  # a plain date includes its day
    kept, tally = select(objects, ExportFilter(min_confidence=50), now_us=NOW)
    assert [k.id for k in kept] == [red["id"]]
    assert tally.skipped == {"low_confidence": 1, "no_confidence": 2}
    kept, tally = select(objects, ExportFilter(), now_us=NOW, detection=True)
    assert tally.skipped == {"not_indicator": 1} and len(kept) == 3
    kept, tally = select([red, red], ExportFilter(), now_us=NOW)
    assert len(kept) == 1 and tally.skipped == {"duplicate": 1}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"types": ["indicator,Bad Type"]}, "type"),
        ({"max_tlp": "purple"}, "max_tlp"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2024-13-01"}, "until"),
        ({"since": "2024-02-01", "until": "2024-01-01"}, "until"),
        ({"min_confidence": "high"}, "min_confidence"),
        ({"min_confidence": "101"}, "min_confidence"),
    ],
)
def test_bad_filters_name_the_parameter(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_filter(**kwargs)
    assert err.value.field == field


def test_parse_filter_reads_every_parameter() -> None:
    flt = parse_filter(
        types=["indicator, malware", "indicator"],
        max_tlp="TLP:AMBER+STRICT",
        since="2024-01-01T00:00:00Z",
        until="2024-12-31",
        min_confidence="50",
        include_flagged=True,
    )
    assert flt.types == ("indicator", "malware") and flt.max_tlp is Tlp.AMBER_STRICT
    assert flt.since_us == 1_704_067_200_000_000 and flt.until_us == 1_735_689_600_000_000 - 1
    assert flt.min_confidence == 50 and flt.include_flagged


def test_every_format_is_described() -> None:
    assert set(FORMATS) == {"stix", "misp", "misp-feed", "csv", "blocklist", "suricata", "zeek"}
    assert {f.name for f in FORMATS.values() if f.detection} == set(DETECTION)
