"""Observable values of STIX objects: extraction, normal forms, the detection shape."""

from __future__ import annotations

from typing import Any

import pytest
from stix2matcher.matcher import match

from ribat.intel.observables import (
    MAX_VALUE,
    Observable,
    classify,
    detection_observables,
    normalise,
    observables_of,
    pattern_for,
    range_key,
)


def ind(pattern: str, **extra: Any) -> dict[str, Any]:
    return {"type": "indicator", "pattern": pattern, "pattern_type": "stix", **extra}


def test_every_indexed_comparison_in_a_pattern_is_found_wherever_it_stands() -> None:
    pattern = (
        "([file:hashes.'SHA-256' = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' "
        "AND file:name = 'dropper.exe'] FOLLOWEDBY [network-traffic:dst_ref.value = '198.51.100.1']) "
        "WITHIN 60 SECONDS OR [email-message:from_ref.value = 'Boss@Corp.example']"
    )
    assert observables_of(ind(pattern)) == [
        Observable("sha256", "a" * 64),
        Observable("filename", "dropper.exe"),
        Observable("ipv4", "198.51.100.1"),
        Observable("email", "boss@corp.example"),
    ]


def test_non_stix_patterns_and_unindexed_paths_give_nothing() -> None:
    assert observables_of(ind("alert tcp any any -> any any (sid:1;)", pattern_type="snort")) == []
    assert observables_of(ind("[process:name = 'cmd.exe']")) == []
    assert observables_of(ind("[ipv4-addr:value != '10.0.0.1']")) == []


def test_cyber_observables_give_their_values() -> None:
    assert observables_of({"type": "url", "value": "HTTPS://Www.Example.org/A"}) == [
        Observable("url", "https://www.example.org/A"),
        Observable("domain", "www.example.org"),
    ]
    assert observables_of(
        {"type": "file", "hashes": {"MD5": "D41D8CD98F00B204E9800998ECF8427E", "x-custom": "1"}, "name": "a.txt"}
    ) == [Observable("md5", "d41d8cd98f00b204e9800998ecf8427e"), Observable("filename", "a.txt")]
    assert observables_of({"type": "ipv6-addr", "value": "2001:DB8:0:0::1"}) == [Observable("ipv6", "2001:db8::1")]
    inline = {"type": "observed-data", "objects": {"0": {"type": "domain-name", "value": "Evil.Example."}}}
    assert observables_of(inline) == [Observable("domain", "evil.example")]


@pytest.mark.parametrize(
    ("kind", "raw", "normal"),
    [
        ("ipv4", "10.1.2.3/8", "10.0.0.0/8"),
        ("ipv4", "10.1.2.3/32", "10.1.2.3"),
        ("ipv6", "2001:db8::1/128", "2001:db8::1"),
        ("domain", " WWW.Example.COM. ", "www.example.com"),
        ("md5", "D41D8CD98F00B204E9800998ECF8427E", "d41d8cd98f00b204e9800998ecf8427e"),
        ("sha1", "abc", None),
        ("email", "not an address", None),
        ("domain", "no_tld", None),
        ("ipv4", "2001:db8::1", None),
    ],
)
def test_normal_forms(kind: str, raw: str, normal: str | None) -> None:
    assert normalise(kind, raw) == normal


def test_long_values_keep_a_digest_so_equal_values_stay_equal() -> None:
    long_url = "http://example.org/" + "a" * 2000
    other = "http://example.org/" + "a" * 1999 + "b"
    a, b = normalise("url", long_url), normalise("url", other)
    assert a is not None and b is not None
    assert len(a) == MAX_VALUE and a != b and a == normalise("url", long_url)


def test_detection_shape_is_a_disjunction_of_equalities_only() -> None:
    assert detection_observables(ind("[domain-name:value = 'a.example' OR domain-name:value = 'b.example']")) == [
        Observable("domain", "a.example"),
        Observable("domain", "b.example"),
    ]
    assert detection_observables(ind("[url:value = 'http://x.example/'] OR [ipv4-addr:value = '192.0.2.1']")) == [
        Observable("url", "http://x.example/"),
        Observable("ipv4", "192.0.2.1"),
    ]
    for compound in (
        "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e' AND file:name = 'x']",
        "[domain-name:value = 'a.example'] AND [domain-name:value = 'b.example']",
        "[domain-name:value = 'a.example'] FOLLOWEDBY [domain-name:value = 'b.example']",
        "[domain-name:value = 'a.example'] WITHIN 5 SECONDS",
        "[domain-name:value LIKE '%.example']",
        "[process:name = 'cmd.exe']",
    ):
        assert detection_observables(ind(compound)) is None, compound


def _observed(obs: Observable) -> list[dict[str, Any]]:
    """An observed-data (inline objects, as stix2-matcher reads STIX 2.0) holding just this value."""
    sco: dict[str, Any]
    if obs.kind in ("ipv4", "ipv6"):
        sco = {"type": f"{obs.kind}-addr", "value": obs.value}
    elif obs.kind == "domain":
        sco = {"type": "domain-name", "value": obs.value}
    elif obs.kind == "url":
        sco = {"type": "url", "value": obs.value}
    elif obs.kind == "email":
        sco = {"type": "email-addr", "value": obs.value}
    elif obs.kind == "filename":
        sco = {"type": "file", "name": obs.value}
    else:
        name = {"md5": "MD5", "sha1": "SHA-1", "sha256": "SHA-256", "sha512": "SHA-512"}[obs.kind]
        sco = {"type": "file", "hashes": {name: obs.value}}
    return [
        {
            "type": "observed-data",
            "first_observed": "2024-01-01T00:00:00Z",
            "last_observed": "2024-01-01T00:00:00Z",
            "number_observed": 1,
            "objects": {"0": sco},
        }
    ]


@pytest.mark.parametrize(
    "value",
    [
        "192.0.2.9",
        "192.0.2.0/24",
        "2001:db8::7",
        "evil.example",
        "http://evil.example/a?b=c",
        "x@evil.example",
        "d41d8cd98f00b204e9800998ecf8427e",
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    ],
)
def test_pattern_for_matches_its_own_value_by_stix2_matcher(value: str) -> None:
    obs = classify(value)
    assert obs is not None
    pattern = pattern_for(obs)
    network = obs.kind == "ipv4" and "/" in obs.value
    # A network is written with ISSUBSET: not an equality, so not of the detection shape.
    assert detection_observables(ind(pattern)) == (None if network else [obs])
    probe = Observable("ipv4", "192.0.2.5") if network else obs
    assert match(pattern, _observed(probe), stix_version="2.0"), pattern


def test_range_keys_order_networks_and_reverse_domains() -> None:
    assert range_key(Observable("ipv4", "10.0.0.0/8")) == "0a000000"
    assert range_key(Observable("domain", "www.example.com")) == "com.example.www."
    assert range_key(Observable("md5", "0" * 32)) is None
