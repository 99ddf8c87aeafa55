"""The look-ups on distinct column values: IPv4 addresses as integers, and equality on them agreeing with text
equality (stix2-matcher as the oracle) whichever way the engine tests it."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hunt.oracle import oracle_match
from hunt.readers.helpers import CONN_FIELDS, CONN_TYPES, zeek_tsv
from ribat.hunt import engine
from ribat.hunt._ipv4 import ipv4_numbers
from ribat.hunt.compile import compile_indicators, fold_record_hashes
from ribat.hunt.readers import Problems, open_logs


def _number(a: int, b: int, c: int, d: int) -> int:
    return (a << 24) | (b << 16) | (c << 8) | d


def test_dotted_quads_become_integers_and_nothing_else_does() -> None:
    values = pa.array(
        ["10.0.0.1", None, "ff02::1:3", "a.b.c.d", "1.2.3", "010.001.000.255", "1..2.3", "999.1.1.1", "1.2.3.4.5"]
    )
    rows, numbers = ipv4_numbers(values)
    assert rows.tolist() == [0, 5, 7]
    assert numbers.tolist() == [_number(10, 0, 0, 1), _number(10, 1, 0, 255), _number(999, 1, 1, 1)]


def test_an_all_address_column_takes_the_direct_way_and_gives_the_same() -> None:
    texts = [f"{a}.{b}.7.{a ^ b}" for a in range(1, 40) for b in range(0, 256, 17)]
    rows, numbers = ipv4_numbers(pa.array(texts))
    assert rows.tolist() == list(range(len(texts)))
    assert numbers.tolist() == [_number(*(int(p) for p in t.split("."))) for t in texts]
    empty_rows, empty_numbers = ipv4_numbers(pa.array([], pa.string()))
    assert empty_rows.size == 0 and empty_numbers.size == 0


def test_literals_split_into_integers_and_text() -> None:
    compiled = compile_indicators(
        [
            _ind(1, "[ipv4-addr:value = '10.1.2.3']"),
            _ind(2, "[ipv4-addr:value = '10.1.2.3' OR ipv4-addr:value = '192.0.2.1']"),
            _ind(3, "[ipv4-addr:value = '10.0.0.0/8']"),
        ]
    )
    numbers, others = compiled.paths["ipv4-addr:value"].quad_literals()
    assert numbers.tolist() == [_number(10, 1, 2, 3), _number(192, 0, 2, 1)]
    assert others is not None and others.to_pylist() == ["10.0.0.0/8"]


def _ind(n: int, pattern: str) -> dict[str, Any]:
    return {
        "type": "indicator",
        "id": f"indicator--00000000-0000-4000-8000-{n:012d}",
        "pattern": pattern,
        "pattern_type": "stix",
    }


# Responder values that a numeric comparison could confuse with a literal: the same address with leading zeros,
# an address one off, an IPv6 address, a network as text, a host name of four labels.
_RESPONDERS = ["192.0.2.7", "192.000.002.007", "192.0.2.8", "2001:db8::7", "10.0.0.0/8", "a.b.c.d", "198.51.100.9"]
_TARGETS = [
    "[ipv4-addr:value = '192.0.2.7']",
    "[ipv4-addr:value = '10.0.0.0/8']",
    "[ipv6-addr:value = '2001:db8::7']",
    "[ipv4-addr:value = '198.51.100.9']",
    "[network-traffic:dst_ref.value = '192.000.002.007']",
]
_NETWORK = "[ipv4-addr:value ISSUBSET '198.51.100.0/24']"  # stix2-matcher refuses 'a.b.c.d' under ISSUBSET


@pytest.fixture(scope="module")
def conn_log(tmp_path_factory: pytest.TempPathFactory) -> str:
    rows = []
    for i, responder in enumerate(_RESPONDERS * 3):
        row = ["-"] * len(CONN_FIELDS)
        row[0] = f"{1714557600 + i}.000000"
        row[1] = f"C{i:05d}"
        row[2], row[3], row[4], row[5], row[6] = "10.9.8.7", str(40000 + i), responder, "443", "tcp"
        rows.append(row)
    path = tmp_path_factory.mktemp("lookups") / "conn.log"
    return str(zeek_tsv(path, "conn", CONN_FIELDS, CONN_TYPES, rows))


@pytest.mark.parametrize(
    ("padding", "network", "on_integers"),
    [(0, False, False), (engine._BY_NUMBER, False, True), (0, True, True)],
    ids=["with is_in", "on integers, many literals", "on integers, beside networks"],
)
def test_address_equality_agrees_with_the_oracle_either_way(
    conn_log: str, padding: int, network: bool, on_integers: bool
) -> None:
    """With few literal addresses the engine tests equality with ``is_in``; with many, or beside IPv4 networks, on
    integers. Padding the set with addresses that occur nowhere, or adding a network, moves it from one way to
    the other; the hits must not change."""
    indicators = [_ind(n + 1, p) for n, p in enumerate(_TARGETS)]
    if network:
        indicators.append(_ind(100, _NETWORK))
    indicators += [_ind(1000 + k, f"[ipv4-addr:value = '203.0.{k // 256}.{k % 256}']") for k in range(padding)]
    compiled = compile_indicators(indicators)
    assert engine.by_number(compiled.paths["ipv4-addr:value"]) is on_integers
    result = engine.hunt(open_logs([conn_log], problems=Problems()), compiled)
    records = [
        fold_record_hashes(r)
        for batch in open_logs([conn_log], problems=Problems())
        for r in batch.observed_rows(list(range(batch.num_rows)))
    ]
    for indicator in indicators[: len(_TARGETS)]:
        expected = sum(1 for r in records if oracle_match(indicator["pattern"], [r]))
        hit = result.hits.get(indicator["id"])
        assert (hit.count if hit else 0) == expected, indicator["pattern"]
    assert result.hits[indicators[0]["id"]].count == 3  # 192.0.2.7, never its zero-padded spelling
    assert result.hits[indicators[4]["id"]].count == 3  # and the zero-padded literal only its own spelling
    if network:
        assert result.hits[indicators[5]["id"]].count == 3  # 198.51.100.9 in 198.51.100.0/24
    assert len(result.hits) == 5 + network


_OCTET = st.integers(0, 299).map(str) | st.integers(0, 255).map(lambda n: f"{n:03d}")
_QUAD = st.tuples(_OCTET, _OCTET, _OCTET, _OCTET).map(".".join)
_NEAR = st.sampled_from(["192.0.2.7", "192.0.2.8", "10.0.0.1", "10.255.255.255", "198.51.100.9", "203.0.113.1"])
_VALUE = st.one_of(
    _NEAR,
    _QUAD,
    st.sampled_from(["2001:db8::7", "fe80::1", "10.0.0.0/8", "a.b.c.d", "1..2.3", "host.example", "", "1.2.3"]),
    st.none(),
)


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(_VALUE, min_size=1, max_size=40),
    literals=st.lists(_NEAR | _QUAD | st.sampled_from(["10.0.0.0/8", "2001:db8::7"]), min_size=1, max_size=8),
    networks=st.lists(st.sampled_from(["10.0.0.0/8", "192.0.2.0/24", "198.51.100.0/25", "2001:db8::/32"]), max_size=2),
    padded=st.booleans(),
)
def test_the_batch_look_up_equals_the_value_by_value_look_up(
    values: list[str | None], literals: list[str], networks: list[str], padded: bool
) -> None:
    """Whichever way equality runs (``is_in``, or integers), the look-up over a column's distinct values finds,
    for each value, what the index's own one-value look-up finds."""
    patterns = [f"[ipv4-addr:value = '{v}']" for v in literals]
    patterns += [f"[ipv4-addr:value ISSUBSET '{n}']" for n in networks]
    if padded:
        patterns += [f"[ipv4-addr:value = '203.1.{k // 256}.{k % 256}']" for k in range(engine._BY_NUMBER)]
    index = compile_indicators([_ind(n, p) for n, p in enumerate(patterns, 1)]).paths["ipv4-addr:value"]
    column = engine._Column(pa.array(values, pa.string()), None)
    found = engine._lookup_distinct(column, index)
    uniques = column.uniques.to_pylist()
    expected = {u: index.lookup(v) for u, v in enumerate(uniques) if v is not None and index.lookup(v)}
    assert found == expected
