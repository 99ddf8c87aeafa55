"""The column conversions' shortcuts: the buffer search that spares a kernel over every value, and the derived
HTTP columns that use it."""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa
import pytest

from ribat.hunt.readers._convert import TextConversion, may_contain, unescape_zeek
from ribat.hunt.readers.layout import http_columns


def test_the_buffer_search_never_misses_a_value_that_holds_the_needle() -> None:
    values = pa.array(["plain", "caf\\xc3\\xa9", None, "(empty)"])
    assert may_contain(values, b"\\x")
    assert may_contain(values, b"(empty)")
    assert not may_contain(values, b"\\t")
    assert may_contain(pa.array([b"a\\x41"], pa.binary()), b"\\x")
    assert not may_contain(pa.array([], pa.string()), b"\\x")
    assert not may_contain(pa.array([None, None], pa.string()), b"\\x")
    assert may_contain(pa.array([1, 2]), b"\\x")  # not text: the caller's kernel decides
    # A slice shares its parent's buffer: the search may say yes for bytes outside it, never no for bytes in it.
    assert may_contain(values.slice(1, 1), b"\\x")
    assert may_contain(values.slice(0, 1), b"\\x")


def test_conversions_after_the_search_give_the_values() -> None:
    values = pa.array(["plain", "caf\\xc3\\xa9", None, "(empty)"])
    assert unescape_zeek(values).to_pylist() == ["plain", "café", None, "(empty)"]
    assert TextConversion("str", empty="(empty)", unescape=True)(values).to_pylist() == ["plain", "café", None, ""]
    untouched = pa.array(["a", "b"])
    assert unescape_zeek(untouched) is untouched  # nothing to unescape: the same array, no copy


def _http_reference(host: str | None, uri: str | None, server: str | None, port: int | None) -> tuple[Any, Any]:
    """``http_columns`` one request at a time, in plain Python."""
    url = None
    if uri is not None:
        if uri.lower().startswith(("http://", "https://")):
            url = uri
        else:
            authority = host
            if authority is None and server is not None:
                bracketed = f"[{server}]" if ":" in server else server
                authority = bracketed + ("" if port is None or port == 80 else f":{port}")
            url = None if authority is None else f"http://{authority}{uri}"
    name = None
    if host is not None:
        bare = re.sub(r":\d+$", "", host)
        literal = re.fullmatch(r"\d{1,3}(?:\.\d{1,3}){3}", bare) or ":" in bare or "[" in bare
        name = None if literal or bare == "" else bare
    return url, name


_REQUESTS = [
    ("evil.example", "/a", "203.0.113.9", 80),
    ("evil.example:8080", "/b", "203.0.113.9", 8080),
    ("203.0.113.9", "/c", "203.0.113.9", 80),
    ("[2001:db8::9]:8080", "/d", "2001:db8::9", 8080),
    ("proxy.example", "HTTP://other.example/y", "203.0.113.9", 3128),
    ("", "/e", "203.0.113.9", 80),
    (None, "/f", "2001:db8::9", 8080),
    (None, "/g", "203.0.113.9", 80),
    (None, "/h", None, None),
    ("quiet.example", None, "203.0.113.9", 80),
]


@pytest.mark.parametrize(
    "rows",
    [[0, 2, 4, 5, 9], [0, 1, 2, 3, 4], list(range(len(_REQUESTS)))],
    ids=["no null host, no colon", "no null host, colons", "null hosts"],
)
def test_http_urls_and_names_agree_with_the_rule_whichever_shortcut_applies(rows: list[int]) -> None:
    host, uri, server, port = (list(column) for column in zip(*(_REQUESTS[i] for i in rows), strict=True))
    url, name = http_columns(
        pa.array(host, pa.string()),
        pa.array(uri, pa.string()),
        pa.array(server, pa.string()),
        pa.array(port, pa.int64()),
    )
    expected = [_http_reference(*_REQUESTS[i]) for i in rows]
    assert url.to_pylist() == [e[0] for e in expected]
    assert name.to_pylist() == [e[1] for e in expected]
