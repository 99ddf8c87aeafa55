"""Property: any values, written as Zeek TSV (with Zeek's escapes) or as Zeek JSON, read back the same.

The same records written both ways give the same columns and the same observed-data, keep the
paths contract, and validate as STIX.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .helpers import assert_valid_stix, check_paths_contract, column, observations, read_all, zeek_tsv

FIELDS = [
    "ts",
    "uid",
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "method",
    "host",
    "uri",
    "user_agent",
    "resp_mime_types",
]
TYPES = ["time", "string", "addr", "port", "addr", "port", "string", "string", "string", "string", "vector[string]"]

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
addresses = st.sampled_from(["10.0.0.5", "198.51.100.7", "2001:db8::1", "fe80::1"])


def zeek_escape(value: str, in_set: bool) -> str:
    """Zeek's ASCII writer: backslashes, the separators and control bytes as ``\\xNN``; markers escaped."""
    if value == "":
        return "(empty)"
    out = []
    for char in value:
        if char == "\\" or char == "\t" or (in_set and char == ",") or ord(char) < 0x20 or ord(char) == 0x7F:
            out.extend(f"\\x{b:02x}" for b in char.encode())
        else:
            out.append(char)
    escaped = "".join(out)
    if escaped in ("-", "(empty)"):
        escaped = f"\\x{ord(escaped[0]):02x}{escaped[1:]}"
    return escaped


records = st.lists(
    st.fixed_dictionaries(
        {
            "ts": st.integers(0, 2**33).map(lambda us: us / 1_000_000 + 1_600_000_000),
            "id.orig_h": addresses,
            "id.orig_p": st.integers(0, 65535),
            "id.resp_h": addresses,
            "id.resp_p": st.integers(0, 65535),
            "method": st.sampled_from(["GET", "POST", "PROPFIND"]),
            "host": st.one_of(st.none(), text, st.sampled_from(["evil.example", "evil.example:8080", "192.0.2.1"])),
            "uri": st.one_of(st.none(), text.map(lambda t: "/" + t)),
            "user_agent": st.one_of(st.none(), text),
            # a list holding one empty string is written "(empty)" too, as the empty list: left out
            "resp_mime_types": st.one_of(st.none(), st.lists(text.filter(bool), max_size=3)),
        }
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records)
def test_tsv_and_json_read_back_the_same(rows: list[dict[str, object]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        tsv_rows = []
        for row in rows:
            cells = []
            for name in FIELDS:
                value = row.get(name, "C1" if name == "uid" else None)
                if value is None:
                    cells.append("-")
                elif name == "ts":
                    cells.append(f"{value:.6f}")
                elif isinstance(value, list):
                    cells.append(",".join(zeek_escape(v, True) for v in value) if value else "(empty)")
                else:
                    cells.append(zeek_escape(str(value), False))
            tsv_rows.append(cells)
        tsv = zeek_tsv(folder / "http.log", "http", FIELDS, TYPES, tsv_rows)
        json = folder / "http.json"
        json.write_bytes(
            b"\n".join(
                orjson.dumps(
                    {
                        "uid": "C1",
                        "ts": float(f"{r['ts']:.6f}"),
                        **{k: v for k, v in r.items() if k != "ts" and v is not None},
                    }
                )
                for r in rows
            )
        )
        from_tsv, tsv_problems = read_all(tsv)
        from_json, json_problems = read_all(json)
    assert tsv_problems.count == json_problems.count == 0
    for name in ("method", "host", "uri", "user_agent", "resp_mime_types", "id.resp_p"):
        assert column(from_tsv, name) == column(from_json, name) == [r[name] for r in rows], name
    assert observations(from_tsv) == observations(from_json)
    for batch in from_tsv:
        check_paths_contract(batch)
    for record in observations(from_tsv):
        assert_valid_stix(record)
