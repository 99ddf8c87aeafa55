"""What a log type reads and what it means in STIX: source fields, object paths, object builder.

A :class:`Layout` is the mapping of one log type (``zeek.conn``, ``suricata.dns``…) to STIX
Cyber-observable Objects (STIX 2.1 §6): the fields it keeps and their kinds, the columns that
hold each object path, and the function that builds the objects of one row. The builders here
are shared by the Zeek and Suricata readers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ribat.hunt.readers._convert import may_contain
from ribat.hunt.readers.base import (
    FILE_COLUMN,
    LINE_COLUMN,
    TIME_COLUMN,
    Conversion,
    ObjectBuilder,
    ObjectGraph,
    RecordBatch,
    format_timestamp,
    paths_present,
)

__all__ = ["Layout", "connection", "http_columns", "http_request", "ip_version", "make_batch"]


def _identity(table: pa.Table) -> pa.Table:
    return table


@dataclass(frozen=True)
class Layout:
    log_type: str
    fields: Mapping[str, str]
    """Source field → kind (``str``, ``int``, ``float``, ``bool``, ``time``, ``strlist``)."""
    paths: Mapping[str, tuple[str, ...]]
    object_types: frozenset[str]
    build: ObjectBuilder
    derive: Callable[[pa.Table], pa.Table] = _identity
    """Adds the derived columns (a module-level function, so that batches pickle)."""
    derive_inputs: frozenset[str] | None = frozenset()
    """The fields ``derive`` reads, which a reader converts before it; None when not known (every field)."""


def make_batch(
    table: pa.Table, layout: Layout, source: str, lazy: Mapping[str, Conversion] | None = None
) -> RecordBatch:
    """A :class:`RecordBatch` of a converted table: derived columns, the file column, present paths."""
    table = layout.derive(table)
    indices = pa.array(np.zeros(table.num_rows, dtype=np.int32))
    table = table.append_column(FILE_COLUMN, pa.DictionaryArray.from_arrays(indices, pa.array([source])))
    first = [c for c in (TIME_COLUMN, LINE_COLUMN, FILE_COLUMN) if c in table.column_names]
    table = table.select([*first, *(c for c in table.column_names if c not in first)])
    return RecordBatch(
        table=table,
        log_type=layout.log_type,
        paths=paths_present(layout.paths, table),
        source=source,
        object_types=layout.object_types,
        builder=layout.build,
        lazy=lazy or {},
    )


def ip_version(*addresses: Any) -> str:
    for address in addresses:
        if isinstance(address, str) and address:
            return "ipv6" if ":" in address else "ipv4"
    return "ipv4"


def valid_port(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 65535


def connection(
    graph: ObjectGraph,
    src: Any,
    dst: Any,
    src_port: Any,
    dst_port: Any,
    protocols: Sequence[str | None],
    **extra: Any,
) -> str | None:
    """Add the two address objects and a ``network-traffic`` between them (STIX 2.1 §6.12)."""
    src_key = graph.address(src)
    dst_key = graph.address(dst)
    if src_key is None and dst_key is None:
        return None
    traffic: dict[str, Any] = {"type": "network-traffic"}
    if src_key is not None:
        traffic["src_ref"] = src_key
    if dst_key is not None:
        traffic["dst_ref"] = dst_key
    if valid_port(src_port):
        traffic["src_port"] = src_port
    if valid_port(dst_port):
        traffic["dst_port"] = dst_port
    names: list[str] = []
    for name in protocols:
        if name and name not in names:
            names.append(name)
    traffic["protocols"] = names or [ip_version(src, dst)]
    for key, value in extra.items():
        if value is not None:
            traffic[key] = value
    return graph.add(traffic)


def timestamp_or_none(value: Any) -> str | None:
    return None if value is None else format_timestamp(value)


def count_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


HASH_BY_HEX_LENGTH = {32: "MD5", 40: "SHA-1", 64: "SHA-256", 128: "SHA-512"}


def hash_name(hex_digest: Any) -> str | None:
    """The STIX hash algorithm of a hex digest by its length (Zeek's fingerprints are configurable)."""
    if not isinstance(hex_digest, str):
        return None
    return HASH_BY_HEX_LENGTH.get(len(hex_digest))


# -- vectorised helpers for derived columns -----------------------------------------------------

_IPV4_TEXT = r"^\d{1,3}(?:\.\d{1,3}){3}$"


def column_or_nulls(table: pa.Table, name: str, kind: pa.DataType) -> pa.Array:
    if name in table.column_names:
        column = table.column(name)
        return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    return pa.nulls(table.num_rows, kind)


def http_columns(
    host: pa.Array, uri: pa.Array, server: pa.Array, port: pa.Array, scheme: str = "http"
) -> tuple[pa.Array, pa.Array]:
    """``url`` and ``domain-name`` values of HTTP requests (STIX 2.1 §6.14, §6.3).

    The URL is ``scheme://host+uri`` (the Host header as sent, which may carry a port), the
    server address (and a port other than 80) when there is no Host header, or the URI itself
    when it is already absolute (proxy requests). The domain name is the host without a port,
    none when the host is an address literal.
    """
    if host.null_count:
        bracketed = server
        if may_contain(server, b":"):
            bracketed = pc.if_else(
                pc.fill_null(pc.match_substring(server, ":"), False),
                pc.binary_join_element_wise("[", server, "]", ""),
                server,
            )
        default_port = pc.fill_null(pc.equal(port, 80 if scheme == "http" else 443), True)
        suffix = pc.if_else(default_port, "", pc.binary_join_element_wise(":", port.cast(pa.string()), ""))
        authority = pc.coalesce(host, pc.binary_join_element_wise(bracketed, suffix, ""))
    else:  # every request has a Host header: the server's address is not needed
        authority = host
    absolute = pc.fill_null(
        pc.or_(pc.starts_with(uri, "http://", ignore_case=True), pc.starts_with(uri, "https://", ignore_case=True)),
        False,
    )
    url = pc.if_else(absolute, uri, pc.binary_join_element_wise(f"{scheme}://", authority, uri, ""))
    colon = may_contain(host, b":")  # a port, or an IPv6 literal: most Host headers have neither
    name = pc.replace_substring_regex(host, r":\d+$", "") if colon else host
    literal = pc.match_substring_regex(name, _IPV4_TEXT)
    if colon or may_contain(name, b"["):
        literal = pc.or_(literal, pc.or_(pc.match_substring(name, ":"), pc.match_substring(name, "[")))
    not_a_name = pc.fill_null(pc.or_(literal, pc.equal(name, "")), True)
    return url, pc.if_else(not_a_name, pa.scalar(None, pa.string()), name)


def http_request(
    row: Mapping[str, Any],
    *,
    uri: str,
    host: str,
    user_agent: str,
    referer: str,
    body_length: str | None = None,
) -> dict[str, Any] | None:
    """The ``http-request-ext`` extension of a row, read from the columns named (a reader's own field names) and
    the derived ``_method`` and ``_version`` columns of :func:`http_columns`; None without a method or URI."""
    method, value = row.get("_method"), row.get(uri)
    if not method or value is None:
        return None
    request: dict[str, Any] = {"request_method": method, "request_value": value}
    if row.get("_version"):
        request["request_version"] = row["_version"]
    headers = {
        name: row.get(column)
        for name, column in (("Host", host), ("User-Agent", user_agent), ("Referer", referer))
        if row.get(column)
    }
    if headers:
        request["request_header"] = headers
    if body_length is not None:
        body = count_or_none(row.get(body_length))
        if body:
            request["message_body_length"] = body
    return request
