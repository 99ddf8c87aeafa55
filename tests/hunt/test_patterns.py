"""Pattern text → IR: shapes, typed literals, errors, the prefilter rule, and the fast parse path."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ribat.errors import ValidationError
from ribat.hunt.patterns import (
    ANY_INDEX,
    BoolExpr,
    BoolOp,
    Comparison,
    CompOp,
    ObjectPath,
    Observation,
    ObsOp,
    ObsOperator,
    Qualified,
    ValueKind,
    _antlr_parse,
    _fast_one,
    _fast_parse,
    parse_pattern,
    parse_timestamp,
)


def cmp(path: str, op: CompOp, value: object, kind: ValueKind = ValueKind.STRING, negated: bool = False) -> Comparison:
    type_, _, prop = path.partition(":")
    return Comparison(ObjectPath(type_, tuple(prop.split("."))), op, value, kind, negated)  # type: ignore[arg-type]


def test_a_single_comparison_is_one_observation() -> None:
    p = parse_pattern("[ipv4-addr:value = '198.51.100.7']")
    assert p.root == Observation(cmp("ipv4-addr:value", CompOp.EQ, "198.51.100.7"))
    assert p.is_single_observation
    assert p.text == "[ipv4-addr:value = '198.51.100.7']"


def test_and_binds_tighter_than_or_inside_an_observation_and_both_flatten() -> None:
    p = parse_pattern("[a:b = 1 OR a:c = 2 AND a:d = 3 AND a:e = 4 OR (a:f = 5 OR a:g = 6)]")
    one = ValueKind.INT
    assert p.root == Observation(
        BoolExpr(
            BoolOp.OR,
            (
                cmp("a:b", CompOp.EQ, 1, one),
                BoolExpr(
                    BoolOp.AND,
                    (cmp("a:c", CompOp.EQ, 2, one), cmp("a:d", CompOp.EQ, 3, one), cmp("a:e", CompOp.EQ, 4, one)),
                ),
                cmp("a:f", CompOp.EQ, 5, one),
                cmp("a:g", CompOp.EQ, 6, one),
            ),
        )
    )


def test_followedby_binds_loosest_then_or_then_and() -> None:
    p = parse_pattern("[a:b = 1] FOLLOWEDBY [a:b = 2] OR [a:b = 3] AND [a:b = 4] FOLLOWEDBY [a:b = 5]")
    o = [Observation(cmp("a:b", CompOp.EQ, i, ValueKind.INT)) for i in range(1, 6)]
    assert p.root == ObsOp(
        ObsOperator.FOLLOWEDBY, (o[0], ObsOp(ObsOperator.OR, (o[1], ObsOp(ObsOperator.AND, (o[2], o[3])))), o[4])
    )
    assert p.observations() == tuple(o)
    assert not p.is_single_observation


def test_qualifiers_nest_innermost_first() -> None:
    p = parse_pattern(
        "([a:b = 1] REPEATS 2 TIMES WITHIN 5.5 SECONDS) START t'2020-01-01T00:00:00Z' STOP t'2020-01-01T00:00:01.25Z'"
    )
    leaf = Observation(cmp("a:b", CompOp.EQ, 1, ValueKind.INT))
    start = 1577836800 * 1_000_000
    assert p.root == Qualified(
        Qualified(Qualified(leaf, repeats=2), within_seconds=5.5), start=start, stop=start + 1_250_000
    )
    assert isinstance(p.root, Qualified) and isinstance(p.root.child, Qualified)
    assert p.root.child.within_us == 5_500_000


@pytest.mark.parametrize(
    ("literal", "value", "kind"),
    [
        ("'x'", "x", ValueKind.STRING),
        ("'it\\'s a \\\\ b'", "it's a \\ b", ValueKind.STRING),
        ("'\\\\\\''", "\\'", ValueKind.STRING),
        ("42", 42, ValueKind.INT),
        ("-7", -7, ValueKind.INT),
        ("+7", 7, ValueKind.INT),
        ("2.5", 2.5, ValueKind.FLOAT),
        ("-0.5", -0.5, ValueKind.FLOAT),
        ("true", True, ValueKind.BOOL),
        ("false", False, ValueKind.BOOL),
        ("b'YWJj'", b"abc", ValueKind.BINARY),
        ("h'00fF'", b"\x00\xff", ValueKind.HEX),
        ("t'1970-01-01T00:00:01.5Z'", 1_500_000, ValueKind.TIMESTAMP),
        ("t'2020-02-29T23:59:59.1234567Z'", 1583020799123456, ValueKind.TIMESTAMP),
    ],
)
def test_literals_are_typed(literal: str, value: object, kind: ValueKind) -> None:
    (c,) = parse_pattern(f"[x:y = {literal}]").comparisons()
    assert (c.value, c.kind) == (value, kind)
    assert type(c.value) is type(value)


def test_paths_keep_quoted_keys_indexes_and_wildcards() -> None:
    (a, b, c) = parse_pattern(
        "[file:hashes.'SHA-256' = 'x' AND x-y:a[0].b[*].'c d'[-1] = 'y' AND file:'odd key' EXISTS]".replace(
            "file:'odd key' EXISTS", "EXISTS file:'odd key'"
        )
    ).comparisons()
    assert a.path == ObjectPath("file", ("hashes", "SHA-256"))
    assert b.path == ObjectPath("x-y", ("a", 0, "b", ANY_INDEX, "c d", -1))
    assert c == Comparison(ObjectPath("file", ("odd key",)), CompOp.EXISTS, None, ValueKind.NONE)
    assert str(b.path) == "x-y:a[0].b[*].'c d'[-1]"


def test_in_sets_hold_one_kind_or_numbers() -> None:
    (c,) = parse_pattern("[x:y IN (1, 2.5, 1)]").comparisons()
    assert c.value == frozenset({1, 2.5}) and c.op is CompOp.IN
    (e,) = parse_pattern("[x:y NOT IN ()]").comparisons()
    assert e.value == frozenset() and e.negated
    (h,) = parse_pattern("[x:y IN (h'01', b'AQ==')]").comparisons()
    assert h.value == frozenset({b"\x01"})
    for mixed in ("('a', 1)", "(true, 1)", "(t'2020-01-01T00:00:00Z', 1)"):
        with pytest.raises(ValidationError, match="one kind"):
            parse_pattern(f"[x:y IN {mixed}]")


def test_not_and_every_operator_are_kept() -> None:
    ops = {
        "=": CompOp.EQ,
        "==": CompOp.EQ,
        "!=": CompOp.NE,
        "<>": CompOp.NE,
        "<": CompOp.LT,
        "<=": CompOp.LE,
        ">": CompOp.GT,
        ">=": CompOp.GE,
        "LIKE": CompOp.LIKE,
        "MATCHES": CompOp.MATCHES,
    }
    for text, op in ops.items():
        (c,) = parse_pattern(f"[x:y NOT {text} '1']").comparisons()
        assert (c.op, c.negated) == (op, True)
    (s,) = parse_pattern("[x:y ISSUBSET '10.0.0.0/8']").comparisons()
    (u,) = parse_pattern("[x:y NOT ISSUPERSET '2001:db8::1']").comparisons()
    (n,) = parse_pattern("[NOT EXISTS x:y]").comparisons()
    assert (s.op, u.op, u.negated, n.op, n.negated) == (CompOp.ISSUBSET, CompOp.ISSUPERSET, True, CompOp.EXISTS, True)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[ipv4-addr:value = ]", "no viable alternative"),
        ("ipv4-addr:value = '1'", "no viable alternative at input 'ipv4-addr'"),
        ("[a:b = 1] WITHIN 0 SECONDS", "WITHIN must be positive"),
        ("[a:b = 1] REPEATS 0 TIMES", "REPEATS needs at least 1"),
        ("[a:b = t'2020-02-30T00:00:00Z']", "invalid timestamp"),
        ("[a:b MATCHES '(']", "invalid regular expression"),
        ("[a:b ISSUBSET '10.0.0.0/33']", "not an IP address"),
        ("[a:b ISSUPERSET 'example.com']", "not an IP address"),
    ],
)
def test_errors_name_the_pattern_and_the_reason(text: str, reason: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_pattern(text)
    assert err.value.field == "pattern"
    assert reason in err.value.reason
    assert repr(text) in err.value.reason


def test_non_text_is_refused() -> None:
    with pytest.raises(ValidationError):
        parse_pattern(42)  # type: ignore[arg-type]


# --- the prefilter rule -----------------------------------------------------------------------------------


def test_one_indexable_child_is_enough_under_and() -> None:
    p = parse_pattern("[file:size > 10 AND file:name MATCHES 'x' AND file:hashes.MD5 = 'ab']")
    (obs,) = p.observations()
    assert obs.required() == (cmp("file:hashes.MD5", CompOp.EQ, "ab"),)
    assert obs.types() == {"file"}


def test_every_child_is_needed_under_or() -> None:
    p = parse_pattern("[ipv4-addr:value = '1.2.3.4' OR ipv4-addr:value ISSUBSET '10.0.0.0/8']")
    assert [c.op for c in p.required() or ()] == [CompOp.EQ, CompOp.ISSUBSET]
    unindexable = parse_pattern("[ipv4-addr:value = '1.2.3.4' OR ipv4-addr:value != '10.0.0.1']")
    assert unindexable.required() is None
    assert unindexable.observations()[0].types() == {"ipv4-addr"}


def test_negated_and_order_comparisons_are_not_indexable_by_default() -> None:
    assert parse_pattern("[file:name NOT = 'a']").required() is None
    assert parse_pattern("[file:size > 5]").required() is None
    order = parse_pattern("[file:size > 5]").required(lambda c: c.op is CompOp.GT)
    assert order == (cmp("file:size", CompOp.GT, 5, ValueKind.INT),)


def test_pattern_requirements_join_all_observation_expressions() -> None:
    p = parse_pattern(
        "([domain-name:value = 'a.example' AND domain-name:resolves_to_refs[*].value = '10.0.0.1'] "
        "FOLLOWEDBY [url:value LIKE 'http://a.example/%']) WITHIN 60 SECONDS"
    )
    assert [str(c) for c in p.required() or ()] == [
        "domain-name:value = 'a.example'",
        "url:value LIKE 'http://a.example/%'",
    ]
    both_needed = parse_pattern("[a:b = 1] AND [a:c > 1]")
    assert both_needed.required() is None


def test_mixed_types_under_and_can_never_match() -> None:
    (obs,) = parse_pattern("[file:name = 'a' AND ipv4-addr:value = '1.2.3.4']").observations()
    assert obs.types() == frozenset()


# --- the fast path and the text form ----------------------------------------------------------------------

COMMON = [
    "[ipv4-addr:value = '198.51.100.7']",
    "[file:hashes.'SHA-256' = 'ab' OR file:hashes.MD5 = 'cd']",
    "[url:value LIKE 'http://%/x' AND url:value NOT MATCHES '^https']",
    "[network-traffic:dst_ref.value ISSUBSET '10.0.0.0/8']",
    "[email-addr:value != 'a@example.com' OR email-addr:display_name = 'it\\'s']",
]


@pytest.mark.parametrize("text", COMMON)
def test_common_patterns_take_the_fast_path_and_agree_with_the_grammar(text: str) -> None:
    fast = _fast_parse(text)
    assert fast is not None
    assert fast == _antlr_parse(text)


@pytest.mark.parametrize(
    "text",
    [
        "[ipv4-addr:value = '198.51.100.7']",
        "[network-traffic:dst_ref.value ISSUBSET '10.0.0.0/8']",
        "[file:hashes.'SHA-256' != 'it\\'s']",
        "[url:value MATCHES '^https?://']",
    ],
)
def test_a_single_comparison_is_read_by_one_expression_as_the_grammar_reads_it(text: str) -> None:
    one = _fast_one(text)
    assert one is not None
    assert one == _antlr_parse(text) == _fast_parse(text)


@pytest.mark.parametrize(
    "text",
    ["[a:AND = 'y']", "[AND:b = 'y']", "[a:b.OR = 'y']", "[a:b  = 'y']", "[a:b NOT = 'y']", "[a:b.c.d = 'y']"],
)
def test_shapes_the_one_expression_leaves_to_the_tokens(text: str) -> None:
    assert _fast_one(text) is None
    assert _outcome(_fast_parse, text) in (None, _outcome(_antlr_parse, text))


TOKENS = [
    "[", "]", ":", ".", " ", "  ", "\t", "=", "==", "!=", "<", "NOT", "AND", "OR", "IN", "LIKE", "MATCHES",
    "ISSUBSET", "ISSUPERSET", "EXISTS", "file", "ipv4-addr", "x-", "value", "name", "na-me", "true", "OR1",
    "hashes", "'SHA-256'", "'a\\'b'", "'x'", "'10.0.0.0/8'", "'('", "'a%'", "1", "h'01'", "(", ")", "'", "_x",
]  # fmt: skip


@st.composite
def almost_patterns(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        return "".join(draw(st.lists(st.sampled_from(TOKENS), max_size=14)))
    path = draw(st.sampled_from(["file:name", "ipv4-addr:value", "file:hashes.'SHA-256'", "x-y:a.b_c", "a:'q r'.s"]))
    op = draw(st.sampled_from(["=", "!=", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET", "NOT ="]))
    value = draw(st.sampled_from(["'x'", "'10.0.0.0/8'", "'1.2.3.4'", "'('", "'a\\\\'", "'é'", "'%'"]))
    parts = [f"{path} {op} {value}"]
    for _ in range(draw(st.integers(0, 3))):
        parts.append(draw(st.sampled_from(["AND", "OR"])))
        parts.append(f"{path} {op} {value}")
    sep = draw(st.sampled_from([" ", "  "]))
    return "[" + sep.join(parts) + "]"


def _outcome(parse: object, text: str) -> object:
    try:
        return parse(text)  # type: ignore[operator]
    except ValidationError:
        return "error"


@settings(max_examples=400, deadline=None)
@given(almost_patterns())
def test_the_fast_path_never_disagrees_with_the_grammar(text: str) -> None:
    fast = _outcome(_fast_parse, text)
    if fast is None:
        return  # not a shape the fast path takes
    assert fast == _outcome(_antlr_parse, text)


ROUND_TRIP = [
    *COMMON,
    "[a:b IN (1, 2.5)] REPEATS 2 TIMES WITHIN 1.5 SECONDS",
    "([a:b = h'00ff'] OR [a:c = t'2020-01-01T00:00:00.000001Z']) FOLLOWEDBY [NOT EXISTS a:d[*].e]",
    "[a:b = true AND (a:c < -1 OR a:d >= 0.5)] START t'2020-01-01T00:00:00Z' STOP t'2021-01-01T00:00:00Z'",
    "[a:'AND'.x = 'y']",
    "[a:b = 0.00001 OR a:c > 1e16 OR a:d = t'0999-01-01T00:00:00Z']".replace("1e16", "10000000000000000.0"),
]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_the_text_form_parses_back_to_the_same_tree(text: str) -> None:
    root = parse_pattern(text).root
    assert parse_pattern(str(root)).root == root


# --- timestamps -------------------------------------------------------------------------------------------


def _reference_timestamp(text: str) -> int | str:
    from stix2matcher.matcher import _str_to_datetime

    try:
        stamp = _str_to_datetime(text)
    except ValueError:
        return "error"
    return (stamp - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


@settings(max_examples=400, deadline=None)
@given(
    st.tuples(
        st.sampled_from(["2020", "1969", "0001", "9999", "20", "202a"]),
        st.sampled_from(["-01", "-1", "-12", "-13", "-02"]),
        st.sampled_from(["-01", "-9", "-29", "-30", "-31"]),
        st.sampled_from(["T", "t", " "]),
        st.sampled_from(["00", "23", "24", "7"]),
        st.sampled_from([":00", ":59", ":60", ":5"]),
        st.sampled_from([":00", ":59", ":60", ":1"]),
        st.sampled_from(["", ".", ".5", ".123456", ".1234567", ".123456789", ".12.3"]),
        st.sampled_from(["Z", "z", "", "+00:00"]),
    ).map("".join)
)
def test_timestamps_parse_as_the_reference_parses_them(text: str) -> None:
    try:
        ours: int | str = parse_timestamp(text)
    except ValueError:
        ours = "error"
    assert ours == _reference_timestamp(text)
