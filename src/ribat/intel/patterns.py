"""STIX patterns: a fast recogniser for the common shapes, the full grammar for the rest.

STIX 2.1 §9 defines the patterning language; the normative grammar is the ANTLR
grammar that ``stix2-patterns`` ships.  Running that parser costs ~200 µs a pattern,
which alone would cap ingest at ~5,000 indicators/s, so :func:`pattern_error` first
tries a hand-written recogniser that only ever says "valid, certainly" and falls back
to ``stix2patterns.validator.run_validator`` for everything else.  ``run_validator``
is the entry point ``stix2`` itself uses for ``Indicator`` objects: unlike
``stix2patterns.v21.pattern.Pattern`` (a bare parse) it also applies the
object-validator hash checks, the duplicate-qualifier check (§9.5.1) and the
missing-brackets check, so it is the one with the right semantics.

The recogniser accepts a strict subset of the grammar, token for token::

    pattern     := ws* observation (ws+ (AND|OR|FOLLOWEDBY) ws+ observation)* ws*
    observation := "[" ws* comparison (ws+ (AND|OR) ws+ comparison)* ws* "]"
    comparison  := object-path ws* op ws* literal
    object-path := type ":" (property | 'quoted') ("." (property | 'quoted') | "[" (n | "*") "]")*
    op          := = | == | != | <> | < | <= | > | >=
    literal     := 'string' | integer | float | true | false | t'timestamp'

where ``ws`` is space, tab, CR or LF only, identifiers are ASCII and never one of the
grammar's keywords, and booleans only follow ``=``/``!=``.  Parentheses, qualifiers
(WITHIN, REPEATS, START/STOP), NOT, LIKE, MATCHES, IN, ISSUBSET, ISSUPERSET, EXISTS,
hex and binary constants, comments, Unicode whitespace and anything unusual go to the
full grammar.  The one semantic rule in ``run_validator`` that can reject a
grammatical comparison, the hash check on ``...hashes.<algorithm>`` paths, is applied
here with the same algorithm table; anything that would fail it (or that
``stix2-patterns`` would crash on, such as an index as the last ``hashes`` step) is
left to the fallback, which produces its message.  The test suite checks both sides
against ``stix2-patterns`` on generated and hand-written patterns, for the 2.1 and
the 2.0 grammar (the two agree on the recognised subset).

The fallback is memoised per (pattern, version) so that a feed repeating one complex
pattern does not pay for the ANTLR parse each time; the recogniser is not cached.
"""

from __future__ import annotations

import functools
import re
from typing import Final

__all__ = ["pattern_error"]

_KEYWORDS: Final = (
    "AND|OR|NOT|FOLLOWEDBY|LIKE|MATCHES|ISSUPERSET|ISSUBSET|EXISTS|LAST|IN|START|STOP"
    "|SECONDS|true|false|WITHIN|REPEATS|TIMES"
)
# A keyword only wins over an identifier when the lexer's longest match is exactly it.
_NOT_KEYWORD: Final = rf"(?!(?:{_KEYWORDS})(?![A-Za-z0-9_-]))"
_WS: Final = "[ \t\r\n]"
_STRING: Final = r"'[^'\\]*(?:\\['\\][^'\\]*)*'"
# Property names may not contain hyphens; the lexer would read "a-b" as one token.
_PROPERTY: Final = rf"{_NOT_KEYWORD}[A-Za-z_][A-Za-z0-9_]*(?![A-Za-z0-9_-])"
_OBJECT_TYPE: Final = rf"{_NOT_KEYWORD}[A-Za-z_][A-Za-z0-9_-]*"
_STEP: Final = rf"\.(?:{_PROPERTY}|{_STRING})|\[(?:\*|0|[1-9][0-9]*)\]"
_TIMESTAMP: Final = (
    r"t'[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)(?:\.[0-9]+)?Z'"
)
_NUMBER: Final = r"[+-]?[0-9]*\.[0-9]+|[+-]?(?:0|[1-9][0-9]*)"

_DELIMITED: Final = r"(?=[ \t\r\n\]])"
_PLAIN_COMPARISON: Final = (
    rf"{_OBJECT_TYPE}:(?:{_PROPERTY}|{_STRING})(?:{_STEP})*{_WS}*"
    rf"(?:(?:==|=|!=|<>){_WS}*(?:{_STRING}|(?:{_NUMBER}|{_TIMESTAMP}|true|false){_DELIMITED})"
    rf"|(?:<=|>=|<|>){_WS}*(?:{_STRING}|(?:{_NUMBER}|{_TIMESTAMP}){_DELIMITED}))"
)
_PLAIN_OBSERVATION: Final = rf"\[{_WS}*{_PLAIN_COMPARISON}(?:{_WS}+(?:AND|OR){_WS}+{_PLAIN_COMPARISON})*{_WS}*\]"
# The whole recognised language in one expression, for patterns without "hashes".
_PLAIN_PATTERN: Final = re.compile(
    rf"{_WS}*{_PLAIN_OBSERVATION}(?:{_WS}+(?:AND|OR|FOLLOWEDBY){_WS}+{_PLAIN_OBSERVATION})*{_WS}*"
)
_OPEN: Final = re.compile(rf"{_WS}*\[{_WS}*")
_COMPARISON: Final = re.compile(
    rf"(?P<path>{_OBJECT_TYPE}:(?:{_PROPERTY}|{_STRING})(?:{_STEP})*)"
    rf"{_WS}*(?:(?P<eq>==|=|!=|<>)|<=|>=|<|>){_WS}*"
    rf"(?:(?P<string>{_STRING})|(?:{_NUMBER}|{_TIMESTAMP}|(?P<bool>true|false))(?=[ \t\r\n\]]))"
)
_COMPARISON_JOIN: Final = re.compile(rf"{_WS}+(?:AND|OR){_WS}+")
_CLOSE: Final = re.compile(rf"{_WS}*\]")
_OBSERVATION_JOIN: Final = re.compile(rf"{_WS}+(?:AND|OR|FOLLOWEDBY){_WS}+\[{_WS}*")
_END: Final = re.compile(rf"{_WS}*\Z")
_PATH_COMPONENT: Final = re.compile(rf"([A-Za-z_][A-Za-z0-9_]*)|({_STRING})|\[([^\]]*)\]")
# The usual shape, ``hashes.NAME`` or ``hashes.'NAME'`` right after the colon.
_PLAIN_HASHES_PATH: Final = re.compile(r"hashes\.(?:([A-Za-z0-9_]+)|'([^'\\]*)')")

# The hash-value table of stix2patterns' object validator, keyed like it: the last
# path step upper-cased with "-" and "'" removed.  MD6 is narrowed to exact lengths
# (stix2-patterns only looks at the first 32 characters), which keeps it a subset.
_HEX_LENGTHS: Final = {
    "MD5": (32,),
    "MD6": (32, 40, 56, 64, 96, 128),
    "RIPEMD160": (40,),
    "SHA1": (40,),
    "SHA224": (56,),
    "SHA256": (64,),
    "SHA384": (96,),
    "SHA512": (128,),
    "SHA3224": (56,),
    "SHA3256": (64,),
    "SHA3384": (96,),
    "SHA3512": (128,),
    "WHIRLPOOL": (128,),
}
_HEX_DIGITS: Final = "0123456789abcdefABCDEF"
_SSDEEP: Final = re.compile(r"[a-zA-Z0-9/+:.]{1,128}")


def pattern_error(pattern: str, version: str = "2.1") -> str | None:
    """Return ``None`` if ``pattern`` is a valid STIX pattern, else the reason.

    ``version`` selects the grammar exactly as ``stix2`` does for an indicator's
    ``pattern_version``: ``"2.1"`` is the STIX 2.1 grammar and any other value the
    STIX 2.0 grammar (§4.7 ``pattern_version``; STIX 2.0 indicators upgraded by
    :mod:`ribat.intel.upgrade` carry ``"2.0"``).
    """
    if not isinstance(pattern, str):
        return f"a pattern must be a string, not {type(pattern).__name__}"
    if _recognised(pattern):
        return None
    return _full_grammar_error(pattern, "2.1" if version == "2.1" else "2.0")


def _recognised(pattern: str) -> bool:
    """True only if ``pattern`` is certainly valid (see the module docstring)."""
    if "hashes" not in pattern:
        return _PLAIN_PATTERN.fullmatch(pattern) is not None
    # Walk comparison by comparison so that each hashes path meets its own value.
    match = _OPEN.match(pattern)
    if match is None:
        return False
    pos = match.end()
    while True:
        comparison = _COMPARISON.match(pattern, pos)
        if comparison is None:
            return False
        if comparison["bool"] is not None and comparison["eq"] is None:
            return False
        path = comparison["path"]
        if "hashes" in path and not _hash_check_passes(path, comparison["string"]):
            return False
        pos = comparison.end()
        join = _COMPARISON_JOIN.match(pattern, pos)
        if join is not None:
            pos = join.end()
            continue
        close = _CLOSE.match(pattern, pos)
        if close is None:
            return False
        pos = close.end()
        join = _OBSERVATION_JOIN.match(pattern, pos)
        if join is not None:
            pos = join.end()
            continue
        return _END.match(pattern, pos) is not None


def _hash_check_passes(path: str, string_literal: str | None) -> bool:
    """Apply stix2patterns' hash check to one comparison; False means "not certain"."""
    rest = path[path.index(":") + 1 :]
    plain = _PLAIN_HASHES_PATH.fullmatch(rest)
    last: str | None
    if plain is not None:
        last = plain[1] or plain[2]
    else:
        steps: list[str | None] = []
        for name, quoted, index in _PATH_COMPONENT.findall(rest):
            if name:
                steps.append(name)
            elif quoted:
                steps.append(quoted[1:-1].replace("\\'", "'").replace("\\\\", "\\"))
            else:
                steps.append("*" if index == "*" else None)
        if "hashes" not in steps:
            return True
        last = steps[-1]
    if last is None:
        return False  # an index as the last step makes stix2-patterns raise
    if not last.isascii():
        return False
    algorithm = last.upper().replace("-", "").replace("'", "")
    lengths = _HEX_LENGTHS.get(algorithm)
    if lengths is None and algorithm != "SSDEEP":
        return True
    if string_literal is None:
        return False
    value = string_literal[1:-1]
    if "\\" in value or "'" in value:
        return False
    if lengths is None:
        return _SSDEEP.fullmatch(value) is not None
    return len(value) in lengths and not value.strip(_HEX_DIGITS)


@functools.lru_cache(maxsize=2048)
def _full_grammar_error(pattern: str, version: str) -> str | None:
    from stix2patterns.validator import run_validator

    try:
        errors = run_validator(pattern, version)
    except Exception as exc:  # stix2-patterns raises on some inputs instead of reporting
        return f"pattern cannot be parsed ({type(exc).__name__})"
    if not errors:
        return None
    message = str(errors[0])
    return message.removeprefix("FAIL: ")
