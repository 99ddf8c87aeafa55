"""Zeek logs, TSV (the ASCII writer, with its ``#`` header) and JSON lines, to record batches.

Known log types (conn, dns, http, files, ssl, x509, notice) map to STIX Cyber-observable
Objects as described in ``docs/hunt-logs.md``; any other Zeek log with a connection id
(``id.orig_h`` …) gives its two addresses and a ``network-traffic``.

TSV: the header gives the separator, the set separator, the unset (``-``) and empty
(``(empty)``) markers and the field names; data lines are parsed by pyarrow's streaming CSV
reader. Zeek's ``\\xNN`` escapes are undone. JSON: one object per line with the same field
names, ``ts`` as epoch seconds or ISO 8601.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ribat.hunt.readers import _convert
from ribat.hunt.readers._io import span_of
from ribat.hunt.readers._jsonlines import JsonField, json_tables, rebatch_tables
from ribat.hunt.readers._tabular import Classify, csv_batches, rebatch
from ribat.hunt.readers.base import TIME_COLUMN, LogRange, ObjectGraph, Problems, RecordBatch
from ribat.hunt.readers.layout import (
    Layout,
    column_or_nulls,
    connection,
    count_or_none,
    hash_name,
    http_columns,
    http_request,
    ip_version,
    make_batch,
    timestamp_or_none,
)

__all__ = ["LAYOUTS", "ZeekHeader", "layout_for", "parse_header", "read_zeek_json", "read_zeek_tsv"]

# -- the connection id shared by most logs -------------------------------------------------------

_ID = {"uid": "str", "id.orig_h": "str", "id.orig_p": "int", "id.resp_h": "str", "id.resp_p": "int"}
_ID_PATHS: dict[str, tuple[str, ...]] = {
    "ipv4-addr:value": ("id.orig_h", "id.resp_h"),
    "ipv6-addr:value": ("id.orig_h", "id.resp_h"),
    "network-traffic:src_ref.value": ("id.orig_h",),
    "network-traffic:dst_ref.value": ("id.resp_h",),
    "network-traffic:src_port": ("id.orig_p",),
    "network-traffic:dst_port": ("id.resp_p",),
}
_NETWORK = frozenset({"ipv4-addr", "ipv6-addr", "network-traffic"})


def _traffic(graph: ObjectGraph, row: Mapping[str, Any], *protocols: str | None, **extra: Any) -> str | None:
    src, dst = row.get("id.orig_h"), row.get("id.resp_h")
    return connection(
        graph, src, dst, row.get("id.orig_p"), row.get("id.resp_p"), [ip_version(src, dst), *protocols], **extra
    )


def _transport(row: Mapping[str, Any]) -> str | None:
    proto = row.get("proto")
    if not isinstance(proto, str) or proto in ("", "unknown_transport"):
        return None
    return proto.lower()


# -- conn ----------------------------------------------------------------------------------------


def _build_conn(row: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    graph = ObjectGraph()
    services = [s.strip().lower() for s in (row.get("service") or "").split(",") if s.strip() not in ("", "-")]
    start = row[TIME_COLUMN]
    duration = row.get("duration")
    end = start + round(duration * 1_000_000) if isinstance(duration, float) and duration >= 0 else None
    _traffic(
        graph,
        row,
        _transport(row),
        *services,
        start=timestamp_or_none(start),
        end=timestamp_or_none(end),
        src_byte_count=count_or_none(row.get("orig_bytes")),
        dst_byte_count=count_or_none(row.get("resp_bytes")),
        src_packets=count_or_none(row.get("orig_pkts")),
        dst_packets=count_or_none(row.get("resp_pkts")),
    )
    return graph.objects


CONN = Layout(
    log_type="zeek.conn",
    fields={
        **_ID,
        "proto": "str",
        "service": "str",
        "duration": "float",
        "orig_bytes": "int",
        "resp_bytes": "int",
        "conn_state": "str",
        "orig_pkts": "int",
        "resp_pkts": "int",
    },
    paths={
        **_ID_PATHS,
        "network-traffic:src_byte_count": ("orig_bytes",),
        "network-traffic:dst_byte_count": ("resp_bytes",),
        "network-traffic:src_packets": ("orig_pkts",),
        "network-traffic:dst_packets": ("resp_pkts",),
    },
    object_types=_NETWORK,
    build=_build_conn,
)

# -- dns -----------------------------------------------------------------------------------------


def _build_dns(row: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    graph = ObjectGraph()
    _traffic(graph, row, _transport(row), "dns")
    query = graph.domain(row.get("query"))
    for answer in row.get("answers") or ():
        resolved = graph.resolved(answer)
        if query is not None:
            graph.link(query, "resolves_to_refs", resolved)
    return graph.objects


DNS = Layout(
    log_type="zeek.dns",
    fields={
        **_ID,
        "proto": "str",
        "trans_id": "int",
        "query": "str",
        "qtype_name": "str",
        "rcode_name": "str",
        "answers": "strlist",
    },
    paths={
        **_ID_PATHS,
        "ipv4-addr:value": ("id.orig_h", "id.resp_h", "answers"),
        "ipv6-addr:value": ("id.orig_h", "id.resp_h", "answers"),
        "domain-name:value": ("query", "answers"),
        "domain-name:resolves_to_refs[*].value": ("answers",),
    },
    object_types=_NETWORK | {"domain-name"},
    build=_build_dns,
)

# -- http ----------------------------------------------------------------------------------------

_HTTP_EXT = "network-traffic:extensions.'http-request-ext'"


def _derive_http(table: pa.Table) -> pa.Table:
    host = column_or_nulls(table, "host", pa.string())
    uri = column_or_nulls(table, "uri", pa.string())
    url, name = http_columns(
        host, uri, column_or_nulls(table, "id.resp_h", pa.string()), column_or_nulls(table, "id.resp_p", pa.int64())
    )
    method = pc.utf8_lower(column_or_nulls(table, "method", pa.string()))
    version = pc.binary_join_element_wise("http/", column_or_nulls(table, "version", pa.string()), "")
    for column, values in (("_url", url), ("_domain", name), ("_method", method), ("_version", version)):
        table = table.append_column(column, values)
    return table


def _build_http(row: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    graph = ObjectGraph()
    request = http_request(
        row, uri="uri", host="host", user_agent="user_agent", referer="referrer", body_length="request_body_len"
    )
    _traffic(graph, row, "tcp", "http", extensions={"http-request-ext": request} if request else None)
    graph.domain(row.get("_domain"))
    if row.get("_url"):
        graph.add({"type": "url", "value": row["_url"]})
    return graph.objects


HTTP = Layout(
    log_type="zeek.http",
    fields={
        **_ID,
        "trans_depth": "int",
        "method": "str",
        "host": "str",
        "uri": "str",
        "referrer": "str",
        "version": "str",
        "user_agent": "str",
        "request_body_len": "int",
        "response_body_len": "int",
        "status_code": "int",
        "resp_mime_types": "strlist",
    },
    paths={
        **_ID_PATHS,
        "url:value": ("_url",),
        "domain-name:value": ("_domain",),
        f"{_HTTP_EXT}.request_method": ("_method",),
        f"{_HTTP_EXT}.request_value": ("uri",),
        f"{_HTTP_EXT}.request_version": ("_version",),
        f"{_HTTP_EXT}.request_header.Host": ("host",),
        f"{_HTTP_EXT}.request_header.'User-Agent'": ("user_agent",),
        f"{_HTTP_EXT}.request_header.Referer": ("referrer",),
    },
    object_types=_NETWORK | {"domain-name", "url"},
    build=_build_http,
    derive=_derive_http,
    derive_inputs=frozenset({"host", "uri", "id.resp_h", "id.resp_p", "method", "version"}),
)

# -- files ---------------------------------------------------------------------------------------


def _file_object(row: Mapping[str, Any], name: str | None) -> dict[str, Any] | None:
    hashes = {
        algorithm: row[column]
        for algorithm, column in (("MD5", "md5"), ("SHA-1", "sha1"), ("SHA-256", "sha256"))
        if row.get(column)
    }
    obj: dict[str, Any] = {"type": "file"}
    if hashes:
        obj["hashes"] = hashes
    if name:
        obj["name"] = name
    if not hashes and not name:
        return None
    size = count_or_none(row.get("total_bytes"))
    if size is None:
        size = count_or_none(row.get("seen_bytes"))
    if size is not None:
        obj["size"] = size
    if row.get("mime_type"):
        obj["mime_type"] = row["mime_type"]
    return obj


def _build_files(row: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    graph = ObjectGraph()
    if row.get("id.orig_h") or row.get("id.resp_h"):
        source = (row.get("source") or "").strip().lower() or None
        _traffic(graph, row, source)
    else:
        for host in (*(row.get("tx_hosts") or ()), *(row.get("rx_hosts") or ())):
            graph.address(host)
    obj = _file_object(row, row.get("filename"))
    if obj is not None:
        graph.add(obj)
    return graph.objects


FILES = Layout(
    log_type="zeek.files",
    fields={
        **_ID,
        "fuid": "str",
        "tx_hosts": "strlist",
        "rx_hosts": "strlist",
        "source": "str",
        "mime_type": "str",
        "filename": "str",
        "is_orig": "bool",
        "seen_bytes": "int",
        "total_bytes": "int",
        "md5": "str",
        "sha1": "str",
        "sha256": "str",
    },
    paths={
        **_ID_PATHS,
        "ipv4-addr:value": ("id.orig_h", "id.resp_h", "tx_hosts", "rx_hosts"),
        "ipv6-addr:value": ("id.orig_h", "id.resp_h", "tx_hosts", "rx_hosts"),
        "file:hashes.MD5": ("md5",),
        "file:hashes.'SHA-1'": ("sha1",),
        "file:hashes.'SHA-256'": ("sha256",),
        "file:name": ("filename",),
        "file:size": ("total_bytes", "seen_bytes"),
        "file:mime_type": ("mime_type",),
    },
    object_types=_NETWORK | {"file"},
    build=_build_files,
)

# -- ssl -----------------------------------------------------------------------------------------

_CERT_HASH_PATHS = ("MD5", "'SHA-1'", "'SHA-256'", "'SHA-512'")


def _build_ssl(row: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    graph = ObjectGraph()
    version = row.get("version") or ""
    transport = "udp" if version.upper().startswith("DTLS") else "tcp"
    _traffic(graph, row, transport, "ssl")
    graph.domain(row.get("server_name"))
    server_chain = list(row.get("cert_chain_fps") or ())
    first = True
    for fingerprint in (*server_chain, *(row.get("client_cert_chain_fps") or ())):
        algorithm = hash_name(fingerprint)
        if algorithm is None:
            continue
        cert: dict[str, Any] = {"type": "x509-certificate", "hashes": {algorithm: fingerprint}}
        if first and server_chain:
            for prop, column in (("subject", "subject"), ("issuer", "issuer")):
                if row.get(column):
                    cert[prop] = row[column]
        first = False
        graph.add(cert)
    if first and (row.get("subject") or row.get("issuer")):
        cert = {"type": "x509-certificate"}
        for prop in ("subject", "issuer"):
            if row.get(prop):
                cert[prop] = row[prop]
        graph.add(cert)
    return graph.objects


SSL = Layout(
    log_type="zeek.ssl",
    fields={
        **_ID,
        "version": "str",
        "cipher": "str",
        "server_name": "str",
        "established": "bool",
        "subject": "str",
        "issuer": "str",
        "cert_chain_fps": "strlist",
        "client_cert_chain_fps": "strlist",
        "validation_status": "str",
    },
    paths={
        **_ID_PATHS,
        "domain-name:value": ("server_name",),
        **{f"x509-certificate:hashes.{h}": ("cert_chain_fps", "client_cert_chain_fps") for h in _CERT_HASH_PATHS},
        "x509-certificate:subject": ("subject",),
        "x509-certificate:issuer": ("issuer",),
    },
    object_types=_NETWORK | {"domain-name", "x509-certificate"},
    build=_build_ssl,
)

# -- x509 ----------------------------------------------------------------------------------------


def _build_x509(row: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    cert: dict[str, Any] = {"type": "x509-certificate"}
    algorithm = hash_name(row.get("fingerprint"))
    if algorithm is not None:
        cert["hashes"] = {algorithm: row["fingerprint"]}
    version = row.get("certificate.version")
    if isinstance(version, int):
        cert["version"] = str(version)
    for prop, column in (
        ("serial_number", "certificate.serial"),
        ("subject", "certificate.subject"),
        ("issuer", "certificate.issuer"),
        ("signature_algorithm", "certificate.sig_alg"),
        ("subject_public_key_algorithm", "certificate.key_alg"),
    ):
        if row.get(column):
            cert[prop] = row[column]
    for prop, column in (
        ("validity_not_before", "certificate.not_valid_before"),
        ("validity_not_after", "certificate.not_valid_after"),
    ):
        if row.get(column) is not None:
            cert[prop] = timestamp_or_none(row[column])
    exponent = row.get("certificate.exponent")
    if isinstance(exponent, str) and exponent.isdigit():
        cert["subject_public_key_exponent"] = int(exponent)
    names = [
        f"{label}:{value}"
        for label, column in (("DNS", "san.dns"), ("URI", "san.uri"), ("email", "san.email"), ("IP", "san.ip"))
        for value in row.get(column) or ()
        if value
    ]
    extensions: dict[str, Any] = {}
    if names:
        extensions["subject_alternative_name"] = ", ".join(names)
    if row.get("basic_constraints.ca") is not None:
        extensions["basic_constraints"] = "CA:TRUE" if row["basic_constraints.ca"] else "CA:FALSE"
    if extensions:
        cert["x509_v3_extensions"] = extensions
    if len(cert) == 1:
        return {}
    return {"0": cert}


X509 = Layout(
    log_type="zeek.x509",
    fields={
        "id": "str",
        "fingerprint": "str",
        "certificate.version": "int",
        "certificate.serial": "str",
        "certificate.subject": "str",
        "certificate.issuer": "str",
        "certificate.not_valid_before": "time",
        "certificate.not_valid_after": "time",
        "certificate.key_alg": "str",
        "certificate.sig_alg": "str",
        "certificate.key_type": "str",
        "certificate.key_length": "int",
        "certificate.exponent": "str",
        "san.dns": "strlist",
        "san.uri": "strlist",
        "san.email": "strlist",
        "san.ip": "strlist",
        "basic_constraints.ca": "bool",
        "host_cert": "bool",
        "client_cert": "bool",
    },
    paths={
        **{f"x509-certificate:hashes.{h}": ("fingerprint",) for h in _CERT_HASH_PATHS},
        "x509-certificate:serial_number": ("certificate.serial",),
        "x509-certificate:subject": ("certificate.subject",),
        "x509-certificate:issuer": ("certificate.issuer",),
        "x509-certificate:signature_algorithm": ("certificate.sig_alg",),
        "x509-certificate:subject_public_key_algorithm": ("certificate.key_alg",),
    },
    object_types=frozenset({"x509-certificate"}),
    build=_build_x509,
)

# -- notice --------------------------------------------------------------------------------------


def _build_notice(row: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    graph = ObjectGraph()
    if row.get("id.orig_h") or row.get("id.resp_h"):
        _traffic(graph, row, _transport(row))
    graph.address(row.get("src"))
    graph.address(row.get("dst"))
    return graph.objects


NOTICE = Layout(
    log_type="zeek.notice",
    fields={
        **_ID,
        "fuid": "str",
        "proto": "str",
        "note": "str",
        "msg": "str",
        "sub": "str",
        "src": "str",
        "dst": "str",
        "p": "int",
        "actions": "strlist",
    },
    paths={
        **_ID_PATHS,
        "ipv4-addr:value": ("id.orig_h", "id.resp_h", "src", "dst"),
        "ipv6-addr:value": ("id.orig_h", "id.resp_h", "src", "dst"),
    },
    object_types=_NETWORK,
    build=_build_notice,
)

# -- any other log with a connection id ----------------------------------------------------------


def _build_generic(row: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    graph = ObjectGraph()
    _traffic(graph, row, _transport(row))
    return graph.objects


def generic_layout(path: str) -> Layout:
    return Layout(
        log_type=f"zeek.{path}",
        fields={**_ID, "proto": "str"},
        paths=_ID_PATHS,
        object_types=_NETWORK,
        build=_build_generic,
    )


LAYOUTS: dict[str, Layout] = {
    layout.log_type.removeprefix("zeek."): layout for layout in (CONN, DNS, HTTP, FILES, SSL, X509, NOTICE)
}


def layout_for(path: str | None, fields: Sequence[str]) -> Layout | None:
    """The layout of a Zeek log by its path, else by its fields; None when nothing maps to STIX."""
    if path in LAYOUTS:
        return LAYOUTS[path]
    names = set(fields)
    for candidate, required in (
        ("dns", {"query"}),
        ("http", {"method", "uri"}),
        ("files", {"fuid", "mime_type"}),
        ("ssl", {"server_name", "cipher"}),
        ("x509", {"certificate.serial"}),
        ("notice", {"note", "msg"}),
        ("conn", {"conn_state", "history"}),
    ):
        if required <= names:
            return LAYOUTS[candidate]
    if "id.orig_h" in names or "id.resp_h" in names:
        return generic_layout(path or "log")
    return None


# -- TSV -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ZeekHeader:
    separator: str
    set_separator: str
    empty_field: str
    unset_field: str
    path: str | None
    fields: tuple[str, ...]
    types: tuple[str, ...]
    lines: int
    """How many header lines come before the first data line."""


def _unescape_header(value: str) -> str:
    return re.sub(r"\\x([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), value)


def parse_header(data: bytes) -> ZeekHeader | None:
    """The ``#`` header at the start of a Zeek TSV log, or None when ``data`` does not start with one."""
    separator = "\t"
    values: dict[str, list[str]] = {}
    lines = 0
    for raw in data.split(b"\n"):
        if not raw.startswith(b"#"):
            break
        text = raw.rstrip(b"\r").decode("utf-8", "replace")
        lines += 1
        if text.startswith("#separator"):
            separator = _unescape_header(text[len("#separator") :].strip())
            continue
        name, *rest = text[1:].split(separator)
        values[name] = rest
    if "fields" not in values:
        return None
    path = values["path"][0] if values.get("path") else None
    return ZeekHeader(
        separator=separator,
        set_separator=_unescape_header((values.get("set_separator") or [","])[0]),
        empty_field=(values.get("empty_field") or ["(empty)"])[0],
        unset_field=(values.get("unset_field") or ["-"])[0],
        path=path,
        fields=tuple(values["fields"]),
        types=tuple(values.get("types") or ()),
        lines=lines,
    )


def _tsv_classify(header: ZeekHeader) -> Classify:
    fields_line = header.separator.join(["#fields", *header.fields])

    def classify(text: str, expected: int, actual: int) -> str | None:
        if text.startswith("#"):
            if text.startswith("#fields") and text.rstrip("\r") != fields_line:
                return "the header changes here (a concatenated log): read the parts as separate files"
            return None
        if not text.strip():
            return None
        return f"expected {expected} fields, found {actual}"

    return classify


def read_zeek_tsv(
    path: str | os.PathLike[str],
    header: ZeekHeader,
    source: str,
    problems: Problems,
    *,
    batch_rows: int,
    part: LogRange | None = None,
) -> Iterator[RecordBatch]:
    """The records of a Zeek TSV log, or of the lines of ``part`` (with the header read from the file's start)."""
    whole = part is None or part.start == 0
    layout = layout_for(header.path, header.fields)
    if layout is None:
        if whole:
            problems.add(source, None, f"zeek {header.path or 'log'}: no field maps to a STIX object; file skipped")
        return
    if "ts" not in header.fields:
        if whole:
            problems.add(source, None, "zeek log without a ts field; file skipped")
        return
    span = None if part is None else span_of(part, header.lines)
    if part is not None and span is None:
        return
    wanted = ["ts", *(name for name in layout.fields if name in header.fields)]

    def report(line: int, reason: str) -> None:
        problems.add(source, line, reason)

    batches = csv_batches(
        path,
        column_names=header.fields,
        include=wanted,
        skip_rows=header.lines if span is None else 0,
        delimiter=header.separator,
        quoted=False,
        classify=_tsv_classify(header),
        report=report,
        null_values=[header.unset_field],
        span=span,
    )
    deferred = () if layout.derive_inputs is None else set(layout.fields) - layout.derive_inputs
    for raw in rebatch(batches, batch_rows):
        table = _drop_comments_and_blanks(raw)
        table = _convert.with_time(table, "ts", problems, source)
        table, lazy = _convert.convert_columns(
            table,
            layout.fields,
            problems,
            source,
            set_separator=header.set_separator,
            empty=header.empty_field,
            unescape=True,
            defer=deferred,
        )
        if table.num_rows:
            yield make_batch(table, layout, source, lazy)


def _drop_comments_and_blanks(table: pa.Table) -> pa.Table:
    """Drop blank lines and ``#`` lines that have as many fields as a record (reported by the parser otherwise)."""
    first = table.column("ts")
    stray = pc.fill_null(pc.or_(pc.equal(first, b""), pc.starts_with(first, "#")), False)
    if not pc.any(stray).as_py():
        return table
    return table.filter(pc.invert(stray))


# -- JSON ----------------------------------------------------------------------------------------


def json_layout(first: Mapping[str, Any], file_name: str) -> Layout | None:
    path = first.get("_path")
    if not isinstance(path, str):
        stem = os.path.basename(file_name).split(".")[0]
        path = stem if stem in LAYOUTS else None
    return layout_for(path, list(first))


def read_zeek_json(
    path: str | os.PathLike[str],
    first: Mapping[str, Any],
    source: str,
    problems: Problems,
    *,
    batch_rows: int,
    chunk_bytes: int,
    part: LogRange | None = None,
) -> Iterator[RecordBatch]:
    """Zeek JSON lines (one log type per file, told by ``_path``, the file name or the fields), or the lines of
    ``part``."""
    layout = json_layout(first, source)
    if layout is None:
        if part is None or part.start == 0:
            problems.add(source, None, "zeek log: no field maps to a STIX object; file skipped")
        return
    span = None if part is None else span_of(part)
    if part is not None and span is None:
        return
    ts = first.get("ts")
    time_type = pa.float64() if isinstance(ts, int | float) and not isinstance(ts, bool) else pa.string()
    time_field = JsonField("ts", ("ts",), "time", time_type)
    fields = [
        JsonField(name, (name,), "nested", time_type) if kind == "time" else JsonField(name, (name,), kind)
        for name, kind in layout.fields.items()
    ]
    time_columns = {name: "time" for name, kind in layout.fields.items() if kind == "time"}

    def report(line: int, reason: str) -> None:
        problems.add(source, line, reason)

    tables = json_tables(path, fields, time_field, report, chunk_bytes=chunk_bytes, span=span)
    for table in rebatch_tables(tables, batch_rows):
        if time_columns:
            table, _ = _convert.convert_columns(table, time_columns, problems, source)
        yield make_batch(table, layout, source)


def first_json_object(data: bytes) -> dict[str, Any] | None:
    """The first line of ``data`` as a JSON object, or None."""
    for raw in data.split(b"\n"):
        if not raw.strip():
            continue
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
        return value if isinstance(value, dict) else None
    return None
