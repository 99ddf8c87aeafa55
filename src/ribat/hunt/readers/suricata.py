"""Suricata EVE JSON (``eve.json``) to record batches, one log type per ``event_type``.

Every event gives its flow's two addresses and a ``network-traffic`` (with byte and packet
counts from a ``flow`` section); the application sections add their objects wherever they
appear (an ``alert`` carrying ``http`` metadata gets the URL too): ``dns`` (versions 1, 2 and 3
of the DNS log, detailed or grouped answers), ``http``, ``tls``, ``fileinfo`` and ``smtp``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ribat.hunt.readers import _convert
from ribat.hunt.readers._io import span_of
from ribat.hunt.readers._jsonlines import JsonField, json_tables, rebatch_tables
from ribat.hunt.readers.base import LogRange, ObjectGraph, Problems, RecordBatch
from ribat.hunt.readers.layout import (
    Layout,
    column_or_nulls,
    connection,
    count_or_none,
    http_columns,
    http_request,
    ip_version,
    make_batch,
    timestamp_or_none,
)

__all__ = ["EVE", "read_eve"]

_NAME_RR = pa.list_(pa.struct([("rrname", pa.string()), ("rrtype", pa.string())]))
_ANSWERS = pa.list_(pa.struct([("rrname", pa.string()), ("rrtype", pa.string()), ("rdata", pa.string())]))

FIELDS: dict[str, str | pa.DataType] = {
    "event_type": "str",
    "src_ip": "str",
    "src_port": "int",
    "dest_ip": "str",
    "dest_port": "int",
    "proto": "str",
    "app_proto": "str",
    "alert.action": "str",
    "alert.signature_id": "int",
    "alert.signature": "str",
    "alert.category": "str",
    "alert.severity": "int",
    "dns.version": "int",
    "dns.type": "str",
    "dns.id": "int",
    "dns.rcode": "str",
    "dns.rrname": "str",
    "dns.rrtype": "str",
    "dns.rdata": "str",
    "dns.queries": _NAME_RR,
    "dns.query": _NAME_RR,
    "dns.answers": _ANSWERS,
    "dns.grouped.A": "strlist",
    "dns.grouped.AAAA": "strlist",
    "dns.grouped.CNAME": "strlist",
    "http.hostname": "str",
    "http.http_port": "int",
    "http.url": "str",
    "http.http_user_agent": "str",
    "http.http_method": "str",
    "http.protocol": "str",
    "http.http_refer": "str",
    "http.http_content_type": "str",
    "http.status": "int",
    "http.length": "int",
    "tls.sni": "str",
    "tls.version": "str",
    "tls.subject": "str",
    "tls.issuerdn": "str",
    "tls.serial": "str",
    "tls.fingerprint": "str",
    "tls.notbefore": "str",
    "tls.notafter": "str",
    "tls.ja3.hash": "str",
    "fileinfo.filename": "str",
    "fileinfo.magic": "str",
    "fileinfo.md5": "str",
    "fileinfo.sha1": "str",
    "fileinfo.sha256": "str",
    "fileinfo.size": "int",
    "fileinfo.state": "str",
    "flow.pkts_toserver": "int",
    "flow.pkts_toclient": "int",
    "flow.bytes_toserver": "int",
    "flow.bytes_toclient": "int",
    "flow.start": "str",
    "flow.end": "str",
    "smtp.helo": "str",
    "smtp.mail_from": "str",
    "smtp.rcpt_to": "strlist",
}

_SKIPPED_EVENTS = frozenset({"stats"})
_ADDRESS_TYPES = frozenset({"A", "AAAA"})
_NAME_TYPES = frozenset({"CNAME", "PTR", "NS", "MX", "DNAME", "SRV"})


def _strip_brackets(values: pa.Array) -> pa.Array:
    return pc.replace_substring_regex(pc.utf8_trim_whitespace(values), r"^<(.*)>$", r"\1")


def _derive(table: pa.Table) -> pa.Table:
    hostname = column_or_nulls(table, "http.hostname", pa.string())
    http_port = column_or_nulls(table, "http.http_port", pa.int64())
    host = pc.if_else(
        pc.is_valid(http_port), pc.binary_join_element_wise(hostname, http_port.cast(pa.string()), ":"), hostname
    )
    url, domain = http_columns(
        host,
        column_or_nulls(table, "http.url", pa.string()),
        column_or_nulls(table, "dest_ip", pa.string()),
        column_or_nulls(table, "dest_port", pa.int64()),
    )
    fingerprint = column_or_nulls(table, "tls.fingerprint", pa.string())
    file_name = pc.replace_substring_regex(column_or_nulls(table, "fileinfo.filename", pa.string()), r"^.*[/\\]", "")
    derived = {
        "_host": host,
        "_url": url,
        "_domain": domain,
        "_method": pc.utf8_lower(column_or_nulls(table, "http.http_method", pa.string())),
        "_version": pc.utf8_lower(column_or_nulls(table, "http.protocol", pa.string())),
        "_dns_queries": _convert.list_field(column_or_nulls(table, "dns.queries", _NAME_RR), "rrname"),
        "_dns_query": _convert.list_field(column_or_nulls(table, "dns.query", _NAME_RR), "rrname"),
        "_dns_answer_names": _convert.list_field(column_or_nulls(table, "dns.answers", _ANSWERS), "rrname"),
        "_dns_answer_data": _convert.list_field(column_or_nulls(table, "dns.answers", _ANSWERS), "rdata"),
        "_tls_sha1": pc.utf8_lower(pc.replace_substring(fingerprint, ":", "")),
        "_file_name": pc.if_else(pc.fill_null(pc.equal(file_name, ""), True), pa.scalar(None, pa.string()), file_name),
        "_mail_from": _strip_brackets(column_or_nulls(table, "smtp.mail_from", pa.string())),
        "_rcpt_to": _convert.map_list(column_or_nulls(table, "smtp.rcpt_to", pa.list_(pa.string())), _strip_brackets),
    }
    for name, values in derived.items():
        table = table.append_column(name, values)
    return table


def _timestamp_text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return timestamp_or_none(_convert._time_of(value))
    except (ValueError, TypeError, OverflowError):
        return None


def _dns(graph: ObjectGraph, row: Mapping[str, Any]) -> None:
    names = [row.get("dns.rrname"), *(row.get("_dns_queries") or ()), *(row.get("_dns_query") or ())]
    queried = [key for key in (graph.domain(name) for name in names) if key is not None]
    rdata = row.get("dns.rdata")
    if rdata and row.get("dns.rrname"):
        rrtype = (row.get("dns.rrtype") or "").upper()
        target = (
            graph.address(rdata) if rrtype in _ADDRESS_TYPES else graph.domain(rdata) if rrtype in _NAME_TYPES else None
        )
        graph.link(queried[0], "resolves_to_refs", target)
    for answer in row.get("dns.answers") or ():
        rrtype = (answer.get("rrtype") or "").upper()
        data = answer.get("rdata")
        target = (
            graph.address(data) if rrtype in _ADDRESS_TYPES else graph.domain(data) if rrtype in _NAME_TYPES else None
        )
        owner = graph.domain(answer.get("rrname"))
        if owner is not None:
            graph.link(owner, "resolves_to_refs", target)
    for column, as_address in (("dns.grouped.A", True), ("dns.grouped.AAAA", True), ("dns.grouped.CNAME", False)):
        for data in row.get(column) or ():
            target = graph.address(data) if as_address else graph.domain(data)
            if queried:
                graph.link(queried[0], "resolves_to_refs", target)


def _certificate(row: Mapping[str, Any]) -> dict[str, Any] | None:
    cert: dict[str, Any] = {"type": "x509-certificate"}
    if row.get("_tls_sha1"):
        cert["hashes"] = {"SHA-1": row["_tls_sha1"]}
    for prop, column in (("subject", "tls.subject"), ("issuer", "tls.issuerdn"), ("serial_number", "tls.serial")):
        if row.get(column):
            cert[prop] = row[column]
    for prop, column in (("validity_not_before", "tls.notbefore"), ("validity_not_after", "tls.notafter")):
        moment = _timestamp_text(row.get(column))
        if moment is not None:
            cert[prop] = moment
    return cert if len(cert) > 1 else None


def _file(row: Mapping[str, Any]) -> dict[str, Any] | None:
    hashes = {
        algorithm: row[column]
        for algorithm, column in (("MD5", "fileinfo.md5"), ("SHA-1", "fileinfo.sha1"), ("SHA-256", "fileinfo.sha256"))
        if row.get(column)
    }
    if not hashes and not row.get("_file_name"):
        return None
    obj: dict[str, Any] = {"type": "file"}
    if hashes:
        obj["hashes"] = hashes
    if row.get("_file_name"):
        obj["name"] = row["_file_name"]
    size = count_or_none(row.get("fileinfo.size"))
    if size is not None:
        obj["size"] = size
    return obj


def _build(row: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    graph = ObjectGraph()
    src, dst = row.get("src_ip"), row.get("dest_ip")
    app = (row.get("app_proto") or "").lower()
    request = http_request(
        row, uri="http.url", host="_host", user_agent="http.http_user_agent", referer="http.http_refer"
    )
    connection(
        graph,
        src,
        dst,
        row.get("src_port"),
        row.get("dest_port"),
        [
            ip_version(src, dst),
            (row.get("proto") or "").lower() or None,
            app if app not in ("", "failed", "unknown") else None,
        ],
        start=_timestamp_text(row.get("flow.start")),
        end=_timestamp_text(row.get("flow.end")),
        src_byte_count=count_or_none(row.get("flow.bytes_toserver")),
        dst_byte_count=count_or_none(row.get("flow.bytes_toclient")),
        src_packets=count_or_none(row.get("flow.pkts_toserver")),
        dst_packets=count_or_none(row.get("flow.pkts_toclient")),
        extensions={"http-request-ext": request} if request else None,
    )
    _dns(graph, row)
    graph.domain(row.get("_domain"))
    if row.get("_url"):
        graph.add({"type": "url", "value": row["_url"]})
    graph.domain(row.get("tls.sni"))
    cert = _certificate(row)
    if cert is not None:
        graph.add(cert)
    obj = _file(row)
    if obj is not None:
        graph.add(obj)
    for address in (row.get("_mail_from"), *(row.get("_rcpt_to") or ())):
        if address:
            graph.unique("email-addr", address)
    return graph.objects


_HTTP_EXT = "network-traffic:extensions.'http-request-ext'"
_ADDRESSES = ("src_ip", "dest_ip", "dns.rdata", "_dns_answer_data", "dns.grouped.A", "dns.grouped.AAAA")

EVE = Layout(
    log_type="suricata",
    fields={name: kind if isinstance(kind, str) else "nested" for name, kind in FIELDS.items()},
    paths={
        "ipv4-addr:value": _ADDRESSES,
        "ipv6-addr:value": _ADDRESSES,
        "network-traffic:src_ref.value": ("src_ip",),
        "network-traffic:dst_ref.value": ("dest_ip",),
        "network-traffic:src_port": ("src_port",),
        "network-traffic:dst_port": ("dest_port",),
        "network-traffic:src_byte_count": ("flow.bytes_toserver",),
        "network-traffic:dst_byte_count": ("flow.bytes_toclient",),
        "network-traffic:src_packets": ("flow.pkts_toserver",),
        "network-traffic:dst_packets": ("flow.pkts_toclient",),
        "domain-name:value": (
            "dns.rrname",
            "dns.rdata",
            "_dns_queries",
            "_dns_query",
            "_dns_answer_names",
            "_dns_answer_data",
            "dns.grouped.CNAME",
            "_domain",
            "tls.sni",
        ),
        "domain-name:resolves_to_refs[*].value": (
            "dns.rdata",
            "_dns_answer_data",
            "dns.grouped.A",
            "dns.grouped.AAAA",
            "dns.grouped.CNAME",
        ),
        "url:value": ("_url",),
        f"{_HTTP_EXT}.request_method": ("_method",),
        f"{_HTTP_EXT}.request_value": ("http.url",),
        f"{_HTTP_EXT}.request_version": ("_version",),
        f"{_HTTP_EXT}.request_header.Host": ("_host",),
        f"{_HTTP_EXT}.request_header.'User-Agent'": ("http.http_user_agent",),
        f"{_HTTP_EXT}.request_header.Referer": ("http.http_refer",),
        "file:hashes.MD5": ("fileinfo.md5",),
        "file:hashes.'SHA-1'": ("fileinfo.sha1",),
        "file:hashes.'SHA-256'": ("fileinfo.sha256",),
        "file:name": ("_file_name",),
        "file:size": ("fileinfo.size",),
        "x509-certificate:hashes.'SHA-1'": ("_tls_sha1",),
        "x509-certificate:subject": ("tls.subject",),
        "x509-certificate:issuer": ("tls.issuerdn",),
        "x509-certificate:serial_number": ("tls.serial",),
        "email-addr:value": ("_mail_from", "_rcpt_to"),
    },
    object_types=frozenset(
        {"ipv4-addr", "ipv6-addr", "network-traffic", "domain-name", "url", "file", "x509-certificate", "email-addr"}
    ),
    build=_build,
    derive=_derive,
    derive_inputs=None,
)


def _fields() -> list[JsonField]:
    fields: list[JsonField] = []
    for name, kind in FIELDS.items():
        keys = tuple(name.split("."))
        if isinstance(kind, str):
            fields.append(JsonField(name, keys, kind))
        else:
            fields.append(JsonField(name, keys, "nested", kind))
    return fields


_LAYOUTS: dict[str, Layout] = {}


def _layout(event_type: str) -> Layout:
    layout = _LAYOUTS.get(event_type)
    if layout is None:
        layout = dataclasses.replace(EVE, log_type=f"suricata.{event_type}")
        _LAYOUTS[event_type] = layout
    return layout


def read_eve(
    path: str | os.PathLike[str],
    source: str,
    problems: Problems,
    *,
    batch_rows: int,
    chunk_bytes: int,
    part: LogRange | None = None,
) -> Iterator[RecordBatch]:
    """Batches of one event type each, in the order their first event appears (in the file, or in ``part``)."""

    def report(line: int, reason: str) -> None:
        problems.add(source, line, reason)

    span = None if part is None else span_of(part)
    if part is not None and span is None:
        return
    time_field = JsonField("timestamp", ("timestamp",), "nested", pa.string())
    tables = json_tables(path, _fields(), time_field, report, chunk_bytes=chunk_bytes, span=span)
    pending: dict[str, list[pa.Table]] = {}
    counts: dict[str, int] = {}
    for table in tables:
        kinds = pc.fill_null(table.column("event_type"), "")
        for event_type in pc.unique(kinds).to_pylist():
            if event_type in _SKIPPED_EVENTS:
                continue
            chosen = table.filter(pc.equal(kinds, event_type))
            pending.setdefault(event_type, []).append(chosen)
            counts[event_type] = counts.get(event_type, 0) + chosen.num_rows
            if counts[event_type] >= batch_rows:
                counts[event_type] = 0
                yield from _flush(pending.pop(event_type), event_type, source, batch_rows)
    for event_type, parts in pending.items():
        yield from _flush(parts, event_type, source, batch_rows)


def _flush(parts: list[pa.Table], event_type: str, source: str, batch_rows: int) -> Iterator[RecordBatch]:
    layout = _layout(event_type or "unknown")
    for table in rebatch_tables(iter(parts), batch_rows):
        yield make_batch(table, layout, source)
