"""The indicator-set compiler: what it skips and counts, and what each index finds."""

from __future__ import annotations

from typing import Any

import pytest

from ribat.hunt.compile import Window, canonical_path, compile_indicators, fold_record_hashes
from ribat.hunt.evaluate import observation_matches

T2024 = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z


def ind(n: int, pattern: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--00000000-0000-4000-8000-{n:012d}",
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z",
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": "2024-01-01T00:00:00Z",
        **extra,
    }


def test_unusable_indicators_are_skipped_and_counted_by_reason() -> None:
    compiled = compile_indicators(
        [
            ind(1, "[domain-name:value = 'a.example']"),
            ind(2, "[domain-name:value = 'b.example']", revoked=True),
            ind(3, "[domain-name:value = 'c.example']", valid_until="2024-02-01T00:00:00Z"),
            ind(4, "[domain-name:value = 'd.example']", valid_from="2025-06-01T00:00:00Z"),
            ind(5, 'alert tcp any any -> any any (msg:"x"; sid:1;)', pattern_type="snort"),
            ind(6, "rule x { condition: true }", pattern_type="yara"),
            ind(7, "[domain-name:value = ]"),
            {"type": "malware", "id": "malware--1"},
        ],
        window=Window(since_us=T2024 + 40 * 86_400_000_000, until_us=T2024 + 365 * 86_400_000_000),
    )
    assert [i.id[-1] for i in compiled.indicators] == ["1"]
    assert compiled.skipped == {
        "revoked": 1,
        "expired": 1,
        "not yet valid": 1,
        "pattern_type snort": 1,
        "pattern_type yara": 1,
        "invalid": 1,
    }
    assert len(compiled.problems) == 1 and compiled.problems[0].startswith("indicator--")


def test_equality_and_in_find_their_indicators_and_hashes_ignore_case() -> None:
    compiled = compile_indicators(
        [
            ind(1, "[domain-name:value = 'evil.example']"),
            ind(2, "[domain-name:value IN ('evil.example', 'bad.example')]"),
            ind(3, "[file:hashes.'SHA-256' = 'AABBCC']"),
            ind(4, "[network-traffic:dst_port = 4444]"),
        ]
    )
    assert compiled.candidates("domain-name:value", "evil.example") == {0, 1}
    assert compiled.candidates("domain-name:value", "bad.example") == {1}
    assert compiled.candidates("domain-name:value", "Evil.example") == set()  # domain values are exact
    assert compiled.candidates(canonical_path("file:hashes.'SHA-256'"), "aabbcc") == {2}
    assert compiled.candidates(canonical_path("file:hashes.'SHA-256'"), "AaBbCc") == {2}
    assert compiled.candidates("network-traffic:dst_port", 4444) == {3}
    # The compiled pattern and a folded record match exactly, whatever case each side wrote.
    record = fold_record_hashes(
        {"type": "observed-data", "objects": {"0": {"type": "file", "hashes": {"SHA-256": "AaBbCc"}}}}
    )
    assert observation_matches(compiled.indicators[2].pattern.observations()[0], record)


def test_hash_literals_are_folded_whichever_way_the_path_is_written() -> None:
    compiled = compile_indicators(
        [
            ind(1, "[file:'hashes'.MD5 = 'ABCDEF']"),
            ind(2, "[file:hashes.'SHA-256' = 'AbCd' OR file:name = 'Setup.EXE']"),
            ind(3, "[file:name = 'HASHES.TXT']"),
        ]
    )
    assert [c.value for c in compiled.indicators[0].pattern.comparisons()] == ["abcdef"]
    assert [c.value for c in compiled.indicators[1].pattern.comparisons()] == ["abcd", "Setup.EXE"]
    assert [c.value for c in compiled.indicators[2].pattern.comparisons()] == ["HASHES.TXT"]


def test_networks_find_every_address_they_hold_in_ipv4_and_ipv6() -> None:
    compiled = compile_indicators(
        [
            ind(1, "[ipv4-addr:value ISSUBSET '198.51.100.0/24']"),
            ind(2, "[ipv4-addr:value ISSUBSET '198.51.0.0/16']"),
            ind(3, "[ipv6-addr:value ISSUBSET '2001:db8::/32']"),
            ind(4, "[ipv4-addr:value = '198.51.100.7']"),
        ]
    )
    path = "ipv4-addr:value"
    assert compiled.candidates(path, "198.51.100.7") == {0, 1, 3}
    assert compiled.candidates(path, "198.51.7.1") == {1}
    assert compiled.candidates(path, "198.51.100.0/25") == {0, 1}
    assert compiled.candidates(path, "203.0.113.1") == set()
    assert compiled.candidates(path, "not an address") == set()
    assert compiled.candidates("ipv6-addr:value", "2001:db8:1::5") == {2}


def test_like_and_matches_are_found_through_their_literal_runs_and_regexes() -> None:
    compiled = compile_indicators(
        [
            ind(1, "[url:value LIKE 'http://%.evil.example/%']"),
            ind(2, "[url:value LIKE '%']"),
            ind(3, "[url:value MATCHES '^https?://[a-z]+\\\\.bad\\\\.example/']"),
        ]
    )
    assert compiled.candidates("url:value", "http://www.evil.example/x") == {0, 1}
    assert compiled.candidates("url:value", "https://cdn.bad.example/y") == {1, 2}
    assert compiled.candidates("url:value", "http://fine.example/") == {1}


def test_and_indexes_one_side_or_needs_every_side_and_the_rest_is_residual() -> None:
    compiled = compile_indicators(
        [
            ind(1, "[domain-name:value = 'a.example' AND domain-name:value != 'b.example']"),
            ind(2, "[domain-name:value = 'a.example' OR url:value = 'http://a.example/']"),
            ind(3, "[domain-name:value = 'a.example' OR network-traffic:dst_port > 1024]"),
            ind(4, "[network-traffic:dst_port > 1024] FOLLOWEDBY [domain-name:value = 'c.example']"),
            ind(5, "[ipv4-addr:value ISSUPERSET '10.0.0.1']"),
        ]
    )
    assert compiled.candidates("domain-name:value", "a.example") == {0, 1}
    assert compiled.candidates("url:value", "http://a.example/") == {1}
    assert compiled.residual == [2, 3, 4]
    assert compiled.residual_types[2] == frozenset({"domain-name", "network-traffic"})
    assert compiled.residual_types[4] == frozenset({"ipv4-addr"})


def test_validity_is_kept_for_the_per_record_check() -> None:
    compiled = compile_indicators([ind(1, "[domain-name:value = 'a.example']", valid_until="2024-02-01T00:00:00Z")])
    only = compiled.indicators[0]
    assert only.valid_at(T2024) and not only.valid_at(T2024 - 1)
    assert not only.valid_at(T2024 + 31 * 86_400_000_000)
    assert only.single


@pytest.mark.parametrize("path", ["file:hashes.'SHA-256'", "file:hashes.MD5", "network-traffic:src_ref.value"])
def test_canonical_paths_are_stable(path: str) -> None:
    assert canonical_path(canonical_path(path)) == canonical_path(path)


def test_an_indicator_given_twice_is_compiled_once_from_its_newest_version() -> None:
    old = ind(1, "[domain-name:value = 'old.example']", modified="2024-01-01T00:00:00.000Z")
    new = ind(1, "[domain-name:value = 'new.example']", modified="2024-03-01T00:00:00.000Z")
    compiled = compile_indicators([new, old, new])
    assert len(compiled.indicators) == 1 and compiled.skipped == {"duplicate": 2}
    assert compiled.candidates("domain-name:value", "new.example") == {0}
    assert compiled.candidates("domain-name:value", "old.example") == set()


def test_every_required_comparison_on_a_new_path_is_indexed() -> None:
    compiled = compile_indicators(
        [ind(1, "[domain-name:value = 'a.example'] FOLLOWEDBY [domain-name:value = 'b.example']")]
    )
    assert compiled.candidates("domain-name:value", "a.example") == {0}
    assert compiled.candidates("domain-name:value", "b.example") == {0}
