"""The pattern fast path agrees with stix2-patterns, and recognises the common shapes.

The oracle is ``stix2patterns.validator.run_validator`` (what stix2 runs for an
indicator): ``pattern_error(p)`` is None exactly when it reports no error. The
recogniser's own promise is stronger: whatever it accepts, the full grammar accepts.
Both are checked on a hand-written table of tricky patterns and on generated ones,
under the 2.1 and the 2.0 grammar.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ribat.intel.patterns import _recognised, pattern_error


def stix2_pattern_ok(pattern: str, version: str = "2.1") -> bool:
    """The oracle: does ``stix2patterns.validator.run_validator`` accept ``pattern``?"""
    from stix2patterns.validator import run_validator

    try:
        return not run_validator(pattern, version)
    except Exception:  # it raises on a few inputs instead of reporting them
        return False


SHA256 = "3cb8174becb3c89318ed01ccd76e71cbeb8bc9e0fcbce8e110d40cd71af20fa2"
MD5 = "d41d8cd98f00b204e9800998ecf8427e"

COMMON_SHAPES = [
    "[ipv4-addr:value = '1.2.3.4']",
    "[ipv6-addr:value = '2001:db8::1']",
    f"[file:hashes.'SHA-256' = '{SHA256}']",
    f"[file:hashes.MD5 = '{MD5}']",
    f"[file:hashes.'SHA-256' = '{SHA256}' OR file:hashes.MD5 = '{MD5}']",
    "[domain-name:value = 'x.example.com'] OR [url:value = 'http://x.example.com/a']",
    "[email-addr:value = 'a@example.com' AND email-addr:display_name = 'A']",
    "[network-traffic:dst_port = 443 AND network-traffic:dst_ref.value = '10.0.0.1']",
    "[file:name = 'a.exe'] AND [file:size > 1024]",
    "[process:command_line = 'cmd.exe /c \\'x\\'']",
    "[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\Software']",
    "[x-acme-widget:extensions.'x-ext'.value[0] = 'v'] FOLLOWEDBY [file:name = 'b']",
    "[user-account:is_privileged = true]",
    "[network-traffic:start >= t'2020-02-29T23:59:60.5Z']",
    " [artifact:mime_type != 'text/plain'] \n",
]

# (pattern, valid?) for 2.1; the recogniser may decline any of these, but must never
# accept an invalid one, and pattern_error must agree with the oracle on all of them.
TRICKY = [
    ("[ipv4-addr:value = '1.2.3.4'", False),  # unbalanced
    ("ipv4-addr:value = '1.2.3.4']", False),
    ("[[ipv4-addr:value = '1.2.3.4']]", False),
    ("[]", False),
    ("", False),
    ("   ", False),
    ("[ipv4-addr:value = ]", False),
    ("[ipv4-addr.value = '1']", False),  # bad object path
    ("[ipv4-addr:value- = '1']", False),
    ("[ipv4-addr:'value' = '1']", True),
    ("[-ipv4:value = '1']", False),
    ("[file:hashes[0] = 'x']", False),  # stix2-patterns raises on this one
    ("[file:hashes[*] = 'x']", True),
    ("[file:name[-1] = 'x']", False),
    ("[file:name[01] = 'x']", False),
    ("[file:name. size = 1]", True),
    ("[file:AND = 1]", False),  # keywords are not identifiers
    ("[IN:value = 1]", False),
    ("[INx:value = 1]", True),
    ("[file:size =? 1]", False),  # bad operators
    ("[file:size === 1]", False),
    ("[file:size =< 1]", False),
    ("[file:size <> 1]", True),
    ("[file:size == 1]", True),
    ("[file:size > true]", False),
    ("[file:size = True]", False),
    ("[file:size = 01]", False),
    ("[file:size = 1e5]", False),
    ("[file:size = 5.]", False),
    ("[file:size = .5]", True),
    ("[file:size = -0]", True),
    ("[file:size = +1]", True),
    ("[file:size = 1.5.5]", False),
    ("[file:name = 'a\\nb']", False),  # only \\' and \\\\ are escapes
    ("[file:name = 'a\nb']", True),  # a raw newline is fine
    ("[file:name = 'é😀']", True),
    (f"[file:hashes.'SHA-256' = '{SHA256[:-1]}']", False),
    (f"[file:hashes.sha256 = '{SHA256}']", True),
    (f"[file:hashes.'SHA-256' = '{SHA256}\n']", True),  # stix2-patterns' regex ends in $
    (f"[file:hashes.MD5 IN ('{MD5}')]", False),  # the hash check sees '(...)'
    (f"[file:hashes.MD5 = {5}]", False),
    ("[file:hashes.'ſha-256' = 'abc']", False),  # str.upper() folds ſ to S
    ("[file:hashes.TLSH = 'anything']", True),  # no TLSH rule in stix2-patterns
    ("[file:hashes.SSDEEP = '3:abc:def']", True),
    ("[file:hashes.SSDEEP = '3 abc']", False),
    ("[file:name = 'a'] WITHIN 5 SECONDS", True),  # qualifiers
    ("[file:name = 'a'] WITHIN 5.5 SECONDS", True),
    ("[file:name = 'a'] WITHIN -5 SECONDS", False),
    ("[file:name = 'a'] WITHIN 5 HOURS", False),
    ("[file:name = 'a'] WITHIN 5 SECONDS WITHIN 6 SECONDS", False),
    ("([file:name = 'a'] WITHIN 5 SECONDS) WITHIN 6 SECONDS", True),
    ("[file:name = 'a'] REPEATS 2 TIMES", True),
    ("[file:name = 'a'] REPEATS 0 TIMES", True),
    ("[file:name = 'a'] REPEATS -1 TIMES", False),
    ("[file:name = 'a'] START t'2016-06-01T00:00:00Z' STOP t'2016-06-01T01:00:00Z'", True),
    ("[file:name = 'a'] START '2016-06-01T00:00:00Z' STOP '2016-06-01T01:00:00Z'", False),
    ("[file:name = 'a'] START t'2016-13-01T00:00:00Z' STOP t'2016-06-01T01:00:00Z'", False),
    ("[file:ctime = t'2016-02-30T00:00:00Z']", True),  # the lexer does not know calendars
    ("[file:ctime = t'2016-02-01T24:00:00Z']", False),
    ("[file:ctime = t'2016-02-01T23:59:60Z']", True),
    ("[file:ctime = t'2016-02-01T23:59:59.Z']", False),
    ("[file:ctime = t'2016-02-01 23:59:59Z']", False),
    ("[artifact:payload_bin = b'dGhpcyBpcyBhIHRlc3Q=']", True),  # binary and hex constants
    ("[artifact:payload_bin = b'====']", False),
    ("[artifact:payload_bin = b'abc']", False),
    ("[file:magic_number_hex = h'ffd8']", True),
    ("[file:magic_number_hex = h'ffd']", False),
    ("[file:name LIKE 'a%']", True),
    ("[file:name MATCHES '^a.*$']", True),
    ("[file:name MATCHES 5]", False),
    ("[file:name IN ('a', 'b')]", True),
    ("[file:name IN ()]", True),
    ("[ipv4-addr:value ISSUBSET '10.0.0.0/8']", True),
    ("[ipv4-addr:value ISSUPERSET '10.0.0.0/8']", True),
    ("[ipv4-addr:value NOT ISSUBSET '10.0.0.0/8']", True),
    ("[file:name NOT = 'a']", True),
    ("[NOT file:name = 'a']", False),
    ("[EXISTS file:name]", True),
    ("[file:name = 'a'] FOLLOWEDBY [file:name = 'b']", True),
    ("[file:name = 'a'] followedby [file:name = 'b']", False),
    ("[file:name = 'a'] and [file:name = 'b']", False),
    ("[file:name = 'a']AND[file:name = 'b']", True),
    ("[file:size = 1AND file:name = 'b']", True),
    ("[file:size = 1 ANDfile:name = 'b']", False),
    ("[file:name = 'a'] OR [file:name = 'b'] AND [file:name = 'c']", True),
    ("([file:name = 'a'] OR [file:name = 'b'])", True),
    ("[(file:name = 'a' OR file:name = 'b') AND file:size = 1]", True),
    ("[file:name = 'a'] /* comment */", True),
    ("[file:name = 'a'] // comment", True),
    ("\u00a0[file:name = 'a']", True),  # Unicode whitespace is whitespace to the lexer
    ("\x1c[file:name = 'a']", False),  # ... but not everything str.isspace() says is
    ("[file:name = 'a']\x1c", False),
    ("[file:name = 'a'] ]", False),
]


@pytest.mark.parametrize("pattern", COMMON_SHAPES)
def test_common_shapes_take_the_fast_path_and_are_valid(pattern: str) -> None:
    assert _recognised(pattern)
    assert pattern_error(pattern) is None
    assert stix2_pattern_ok(pattern)


@pytest.mark.parametrize(("pattern", "valid"), TRICKY)
@pytest.mark.parametrize("version", ["2.1", "2.0"])
def test_tricky_patterns_agree_with_stix2_patterns(pattern: str, valid: bool, version: str) -> None:
    expected = stix2_pattern_ok(pattern, version)
    if version == "2.1":
        assert expected is valid, "the table is out of date with stix2-patterns"
    assert (pattern_error(pattern, version) is None) is expected
    if _recognised(pattern):
        assert expected


def test_an_invalid_pattern_has_the_oracles_reason() -> None:
    reason = pattern_error(f"[file:hashes.'SHA-256' = '{SHA256[:10]}']")
    assert reason == f"'{SHA256[:10]}' is not a valid SHA-256 hash"
    assert pattern_error("[file:name = 'a'")
    assert pattern_error("[file:hashes[0] = 'x']") == "pattern cannot be parsed (AttributeError)"


def test_a_non_string_is_not_a_pattern() -> None:
    assert pattern_error(["[file:name = 'a']"]) == "a pattern must be a string, not list"  # type: ignore[arg-type]


def test_exists_is_2_1_only() -> None:
    assert pattern_error("[EXISTS file:name]", "2.1") is None
    assert pattern_error("[EXISTS file:name]", "2.0") is not None
    assert pattern_error("[EXISTS file:name]", "5") is not None  # not 2.1: the 2.0 grammar


# Generated patterns -------------------------------------------------------------------

_identifiers = st.sampled_from(
    [
        "value",
        "name",
        "size",
        "hashes",
        "x_y",
        "_a",
        "a1",
        "AND",
        "IN",
        "true",
        "t",
        "b",
        "h",
        "dst-port",
        "LAST",
        "ANDx",
        "Name",
    ]
)
_types = st.sampled_from(["file", "ipv4-addr", "x-acme", "a", "a-", "OR", "FOLLOWEDBY", "_t", "t", "1a", "domain-name"])
_hash_names = st.sampled_from(
    [
        "MD5",
        "md5",
        "'SHA-256'",
        "'sha-1'",
        "SHA1",
        "'SHA3-256'",
        "SSDEEP",
        "TLSH",
        "'MD6'",
        "WHIRLPOOL",
        "RIPEMD160",
        "'x-hash'",
    ]
)
_string_bodies = st.one_of(
    st.sampled_from([MD5, SHA256, SHA256[:-1], MD5.upper(), "3:ab:cd", "", "a\\'b", "a\\\\b", "a\\b"]),
    st.text(alphabet="ab'\\ \n%é]", max_size=6),
)
_literals = st.one_of(
    _string_bodies.map(lambda s: f"'{s}'"),
    st.sampled_from(
        [
            "1",
            "-1",
            "+1",
            "0",
            "-0",
            "01",
            "1.5",
            ".5",
            "-.5",
            "5.",
            "1e3",
            "true",
            "false",
            "True",
            "t'2020-01-01T00:00:00Z'",
            "t'2020-02-30T23:59:60.123Z'",
            "t'2020-13-01T00:00:00Z'",
            "t'2020-01-01T00:00:00'",
            "h'ff'",
            "h'f'",
            "b'AAAA'",
            "b'AA='",
            "('a', 'b')",
            "()",
            "x",
        ]
    ),
)
_operators = st.sampled_from(
    [
        "=",
        "==",
        "!=",
        "<>",
        "<",
        "<=",
        ">",
        ">=",
        "=?",
        "===",
        "=<",
        "NOT =",
        "LIKE",
        "MATCHES",
        "IN",
        "ISSUBSET",
        "NOT IN",
        "like",
    ]
)
_spaces = st.sampled_from(["", " ", "  ", "\t", "\n", "\r\n", "\u00a0", "\x1c"])


@st.composite
def _paths(draw: st.DrawFn) -> str:
    path = f"{draw(_types)}:{draw(_identifiers)}"
    for _ in range(draw(st.integers(0, 3))):
        path += draw(
            st.one_of(
                _identifiers.map(lambda i: f".{i}"),
                _hash_names.map(lambda h: f".{h}"),
                st.sampled_from(["[0]", "[*]", "[-1]", "[01]", "[ 1 ]", ".'a b'", ". x", "..x"]),
            )
        )
    if draw(st.booleans()):
        path = f"{draw(_types)}:hashes.{draw(_hash_names)}"
    return path


@st.composite
def _comparisons(draw: st.DrawFn) -> str:
    space = draw(_spaces)
    return f"{draw(_paths())}{space}{draw(_operators)}{draw(_spaces)}{draw(_literals)}"


@st.composite
def _observations(draw: st.DrawFn) -> str:
    parts = [draw(_comparisons())]
    for _ in range(draw(st.integers(0, 2))):
        join = draw(st.sampled_from([" AND ", " OR ", "AND", " and ", " ANDOR "]))
        parts.append(join + draw(_comparisons()))
    body = "".join(parts)
    if draw(st.integers(0, 9)) == 0:
        body = f"({body})"
    observation = f"[{draw(_spaces)}{body}{draw(_spaces)}]"
    return observation + draw(
        st.sampled_from(
            [
                "",
                "",
                "",
                " WITHIN 5 SECONDS",
                " REPEATS 2 TIMES",
                " WITHIN 1 SECONDS WITHIN 2 SECONDS",
                " START t'2020-01-01T00:00:00Z' STOP t'2020-01-02T00:00:00Z'",
                "]",
                " /* c */",
            ]
        )
    )


@st.composite
def _patterns(draw: st.DrawFn) -> str:
    parts = [draw(_observations())]
    for _ in range(draw(st.integers(0, 2))):
        parts.append(draw(st.sampled_from([" AND ", " OR ", " FOLLOWEDBY ", "OR", " or "])))
        parts.append(draw(_observations()))
    pattern = draw(_spaces) + "".join(parts) + draw(_spaces)
    if draw(st.integers(0, 7)) == 0:  # damage it
        cut = draw(st.integers(0, len(pattern)))
        pattern = pattern[:cut] + draw(st.sampled_from(["", "[", "]", "'", ":", " "])) + pattern[cut + 1 :]
    return pattern


@st.composite
def _plain_patterns(draw: st.DrawFn) -> str:
    """Patterns in the recogniser's language, so the fast path is exercised hard."""
    comparisons = st.builds(
        lambda p, o, v: f"{p} {o} {v}",
        _paths(),
        st.sampled_from(["=", "!=", "<", ">="]),
        _literals,
    )
    observations = st.lists(comparisons, min_size=1, max_size=3).map(lambda cs: "[" + " OR ".join(cs) + "]")
    return " AND ".join(draw(st.lists(observations, min_size=1, max_size=2)))


_good_names = st.sampled_from(["value", "name", "x_y", "_a", "a1", "ANDx", "INx", "t", "b", "h", "Name", "true_"])
_good_hashes = st.sampled_from(
    [
        f"MD5 = '{MD5}'",
        f"'SHA-256' = '{SHA256}'",
        f"sha256 = '{SHA256.upper()}'",
        f"'SHA-1' = '{MD5}{MD5[:8]}'",
        "SSDEEP = '96:a+b/c.d:e'",
        f"'SHA3-512' = '{SHA256 * 2}'",
        "TLSH = 'x'",
        f"WHIRLPOOL = '{SHA256 * 2}'",
        f"'MD6' = '{MD5}'",
        f"MD5 != '{MD5}'",
        f"MD5 > '{MD5}'",
        "'x-hash' = 'q'",
    ]
)
_good_literals = st.one_of(
    st.text(alphabet="ab '\\\n]é", max_size=5).map(lambda s: "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"),
    st.sampled_from(
        [
            "1",
            "-1",
            "+7",
            "0",
            "-0",
            "1.5",
            ".5",
            "-.5",
            "+0.25",
            "true",
            "false",
            "t'2020-01-01T00:00:00Z'",
            "t'2020-02-30T23:59:60.123456789Z'",
        ]
    ),
)


@st.composite
def _good_comparisons(draw: st.DrawFn) -> str:
    space = st.sampled_from(["", " ", "\t", "\n ", "\r\n"])
    if draw(st.integers(0, 3)) == 0:
        path, rest = "file:hashes.", draw(_good_hashes)
        return path + rest.replace(" = ", draw(space) + "=" + draw(space), 1)
    path = f"{draw(st.sampled_from(['file', 'x-a-b', 'a', 'ipv4-addr', 'Xyz']))}:{draw(_good_names)}"
    for _ in range(draw(st.integers(0, 3))):
        path += draw(
            st.one_of(
                _good_names.map(lambda n: f".{n}"),
                st.sampled_from(["[0]", "[12]", "[*]", ".'a b'", ".'q\\'s'", ".'x-y'"]),
            )
        )
    operator = draw(st.sampled_from(["=", "==", "!=", "<>", "<", "<=", ">", ">="]))
    return f"{path}{draw(space)}{operator}{draw(space)}{draw(_good_literals)}"


@st.composite
def _good_patterns(draw: st.DrawFn) -> str:
    """Mostly valid patterns in and around the recogniser's language."""
    observations = []
    for _ in range(draw(st.integers(1, 3))):
        comparisons = [draw(_good_comparisons()) for _ in range(draw(st.integers(1, 3)))]
        joiner = draw(st.sampled_from([" AND ", " OR ", "\tOR\n"]))
        observations.append("[" + draw(st.sampled_from(["", " "])) + joiner.join(comparisons) + "]")
    return draw(st.sampled_from(["", " ", "\n"])) + draw(st.sampled_from([" AND ", " OR ", " FOLLOWEDBY "])).join(
        observations
    )


@settings(max_examples=300, deadline=None)
@given(pattern=st.one_of(_patterns(), _plain_patterns(), _good_patterns()), version=st.sampled_from(["2.1", "2.0"]))
def test_generated_patterns_agree_with_stix2_patterns(pattern: str, version: str) -> None:
    expected = stix2_pattern_ok(pattern, version)
    assert (pattern_error(pattern, version) is None) is expected
    if _recognised(pattern):
        assert expected


@settings(max_examples=150, deadline=None)
@given(
    value=st.text(min_size=0, max_size=12),
    type_=st.sampled_from(["ipv4-addr", "domain-name", "url", "email-addr"]),
    hash_name=_hash_names,
    digest=st.text(alphabet="0123456789abcdefABCDEFg", min_size=30, max_size=130),
)
def test_generated_values_in_common_shapes_agree_with_stix2_patterns(
    value: str, type_: str, hash_name: str, digest: str
) -> None:
    literal = "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    for pattern in (
        f"[{type_}:value = {literal}]",
        f"[file:hashes.{hash_name} = '{digest}'] OR [{type_}:value = {literal}]",
    ):
        expected = stix2_pattern_ok(pattern)
        assert (pattern_error(pattern) is None) is expected, pattern
        if _recognised(pattern):
            assert expected
