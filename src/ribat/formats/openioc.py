"""OpenIOC 1.0 and 1.1 documents → STIX 2.1 indicators. Pure: no I/O.

An OpenIOC document (Mandiant's ``<ioc>`` of 1.0, namespace
``http://schemas.mandiant.com/2010/ioc``; ``<OpenIOC>`` of 1.1, namespace
``http://openioc.org/schemas/OpenIOC_1.1``) holds a tree of ``Indicator`` nodes, each an AND
or an OR of ``IndicatorItem`` leaves and further nodes. A leaf compares one field of a
host or network artefact (``Context/@search``, say ``FileItem/Md5sum``) with a value
(``Content``) under a condition (``is``, ``contains`` …).

The document becomes one STIX 2.1 ``indicator`` (§4.7) whose pattern is the whole tree:

* each leaf whose field maps to a STIX object path (:data:`SEARCH_PATHS`: file hashes, name
  and size; IP addresses; domains from DNS and URL history; URLs; HTTP request URIs and
  user agents; e-mail sender, recipient and subject) becomes a comparison, its condition an
  operator (``is`` ``=``, ``isnot`` ``!=``, ``contains`` ``LIKE '%…%'``, ``starts-with``,
  ``ends-with``, ``matches`` ``MATCHES``, ``greater-than``, ``less-than``; ``negate`` adds ``NOT``);
* comparisons on one kind of object joined by the same operator stay in one observation
  (``[file:name = 'a' AND file:size = 4]``, one file with both); comparisons on different
  kinds become observations joined by AND or OR (``[file:name = 'a'] OR [url:value = 'b']``);
* a leaf that cannot be mapped is a :class:`~ribat.formats.types.Loss`. Under an OR it is
  left out (the others still stand alone); under an AND the whole AND branch is left out,
  since dropping one of its conditions would match more than the author meant, and the
  branch is reported as a loss too.

The document's ``short_description`` becomes the name, ``description`` the description,
``keywords`` the labels, ``authored_date`` and ``last-modified`` the ``created`` and
``modified`` times (UTC when no offset is given), its ``id`` and author an external
reference, and its ``links`` further external references. The indicator's id is a UUIDv5 of
the document's id, so a document imported twice is merged. STIX equality is case-sensitive:
an OpenIOC comparison that ignores case becomes one that does not (values are kept as written;
hashes are lower-cased).

The XML is parsed with lxml without resolving entities, loading DTDs or using the network.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from lxml import etree

from ribat.clock import Clock, format_us, now_us
from ribat.errors import ValidationError
from ribat.formats.types import Conversion, Loss
from ribat.intel.observables import normalise
from ribat.intel.patterns import pattern_error

__all__ = ["SEARCH_PATHS", "openioc_to_stix"]

NAMESPACE: Final = uuid.UUID("0b9e6c1f-2d48-5a7e-8c3b-71f4e2a9d605")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

# OpenIOC search terms → (STIX object path, value kind). Kinds: a hash kind of
# ribat.intel.observables ("md5" …) is checked and lower-cased; "ip" chooses ipv4-addr or
# ipv6-addr by the value; "domain" and "email" are checked; "int" is an integer; "string"
# is kept as written.
SEARCH_PATHS: Final[dict[str, tuple[str, str]]] = {
    "FileItem/Md5sum": ("file:hashes.MD5", "md5"),
    "FileItem/Sha1sum": ("file:hashes.'SHA-1'", "sha1"),
    "FileItem/Sha256sum": ("file:hashes.'SHA-256'", "sha256"),
    "FileItem/FileName": ("file:name", "string"),
    "FileItem/SizeInBytes": ("file:size", "int"),
    "DriverItem/Md5sum": ("file:hashes.MD5", "md5"),
    "DriverItem/Sha1sum": ("file:hashes.'SHA-1'", "sha1"),
    "DriverItem/Sha256sum": ("file:hashes.'SHA-256'", "sha256"),
    "ProcessItem/Md5sum": ("file:hashes.MD5", "md5"),
    "PortItem/remoteIP": ("ip", "ip"),
    "PortItem/localIP": ("ip", "ip"),
    "Network/IP": ("ip", "ip"),
    "Network/DNS": ("domain-name:value", "domain"),
    "DnsEntryItem/Host": ("domain-name:value", "domain"),
    "DnsEntryItem/RecordName": ("domain-name:value", "domain"),
    "UrlHistoryItem/HostName": ("domain-name:value", "domain"),
    "UrlHistoryItem/URL": ("url:value", "string"),
    "Network/URI": ("network-traffic:extensions.'http-request-ext'.request_value", "string"),
    "Network/UserAgent": ("network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'", "string"),
    "Email/From": ("email-message:from_ref.value", "email"),
    "Email/To": ("email-message:to_refs[*].value", "email"),
    "Email/Subject": ("email-message:subject", "string"),
}

_CONDITIONS: Final = {
    "is": "=",
    "isnot": "!=",
    "contains": "LIKE",
    "containsnot": "NOT LIKE",
    "starts-with": "LIKE",
    "ends-with": "LIKE",
    "matches": "MATCHES",
    "greater-than": ">",
    "less-than": "<",
}
_EQUALITY_ONLY: Final = frozenset({"md5", "sha1", "sha256"})


@dataclass(frozen=True)
class _Expr:
    """A pattern fragment: comparisons on one object type (``sco`` set, no brackets yet), or
    an observation expression (``sco`` None)."""

    text: str
    sco: str | None
    compound: bool


def _local(el: Any) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _children(el: Any, name: str) -> Iterator[Any]:
    return (child for child in el if _local(child) == name)


def _child(el: Any, name: str) -> Any | None:
    return next(_children(el, name), None)


def _text(el: Any | None) -> str:
    return (el.text or "").strip() if el is not None else ""


def _short(value: str, size: int = 200) -> str:
    return value if len(value) <= size else value[: size - 1] + "…"


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _time(text: str) -> str | None:
    t = text.strip()
    if not t:
        return None
    try:
        moment = datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_us((moment.astimezone(UTC) - _EPOCH) // timedelta(microseconds=1))


class _Converter:
    def __init__(self, ioc_id: str, losses: list[Loss]) -> None:
        self.ioc_id = ioc_id
        self.losses = losses

    def where(self, el: Any) -> str:
        ident = el.get("id")
        return f"ioc {self.ioc_id}/{_local(el)} {ident}" if ident else f"ioc {self.ioc_id}/{_local(el)}"

    def lose(self, el: Any, field: str, value: str, reason: str) -> None:
        self.losses.append(Loss(self.where(el), field, _short(value), reason))

    def item(self, el: Any) -> _Expr | None:
        context = _child(el, "Context")
        content = _child(el, "Content")
        search = context.get("search", "") if context is not None else ""
        value = (content.text or "") if content is not None else ""
        condition = (el.get("condition") or "").strip().lower()
        mapped = SEARCH_PATHS.get(search)
        if mapped is None:
            self.lose(el, search or "Context", value, "no STIX object path for this OpenIOC search term")
            return None
        if condition not in _CONDITIONS:
            self.lose(el, search, value, f"unknown condition {condition!r}")
            return None
        path, kind = mapped
        if kind in _EQUALITY_ONLY and condition not in ("is", "isnot"):
            self.lose(el, search, value, f"condition {condition!r} is not meaningful for {kind} values")
            return None
        compared = self.comparison(el, search, kind, value.strip(), condition)
        if compared is None:
            return None
        operator, literal = compared
        if path == "ip":
            path = "ipv6-addr:value" if ":" in value else "ipv4-addr:value"
            if "/" in value:
                operator = "ISSUBSET" if operator == "=" else "NOT ISSUBSET"
        if (el.get("negate") or "").strip().lower() == "true":
            operator = operator.removeprefix("NOT ") if operator.startswith("NOT ") else f"NOT {operator}"
        return _Expr(f"{path} {operator} {literal}", path.split(":", 1)[0], False)

    def comparison(self, el: Any, search: str, kind: str, value: str, condition: str) -> tuple[str, str] | None:
        """The operator and the literal of one leaf, or None (and a loss)."""
        operator = _CONDITIONS[condition]
        if not value:
            self.lose(el, search, value, "empty Content")
            return None
        if kind == "int":
            if not re.fullmatch(r"\d+", value) or condition not in ("is", "isnot", "greater-than", "less-than"):
                self.lose(el, search, value, f"not an integer comparison ({condition} {value!r})")
                return None
            return operator, value
        if kind == "ip":
            try:
                ipaddress.ip_network(value, strict=False)
            except ValueError:
                self.lose(el, search, value, "not an IP address or network")
                return None
        elif kind in ("md5", "sha1", "sha256", "domain", "email") and condition in ("is", "isnot"):
            normal = normalise(kind, value)
            if normal is None:
                self.lose(el, search, value, f"not a valid {kind}")
                return None
            value = normal
        if condition in ("contains", "containsnot", "starts-with", "ends-with"):
            if "%" in value or "_" in value:
                # LIKE has no escape character: say the same with a regular expression.
                body = re.escape(value)
                regex = {"starts-with": f"^{body}", "ends-with": f"{body}$"}.get(condition, body)
                return ("NOT MATCHES" if condition == "containsnot" else "MATCHES"), _quote(regex)
            like = {"starts-with": f"{value}%", "ends-with": f"%{value}"}.get(condition, f"%{value}%")
            return operator, _quote(like)
        return operator, _quote(value)

    def node(self, el: Any) -> _Expr | None:
        operator = (el.get("operator") or "OR").strip().upper()
        if operator not in ("AND", "OR"):
            self.lose(el, "operator", operator, "not AND or OR; the branch is left out")
            return None
        parts: list[_Expr] = []
        missing = 0
        for child in el:
            name = _local(child)
            if name == "IndicatorItem":
                found = self.item(child)
            elif name == "Indicator":
                found = self.node(child)
            else:
                continue
            if found is None:
                missing += 1
            else:
                parts.append(found)
        if operator == "AND" and missing:
            if parts:
                self.lose(
                    el,
                    "Indicator",
                    " AND ".join(p.text for p in parts),
                    "an AND branch with a condition that cannot be mapped is left out (it would match more)",
                )
            return None
        return _combine(operator, parts)


def _observation(e: _Expr) -> str:
    if e.sco is not None:
        return f"[{e.text}]"
    return f"({e.text})" if e.compound else e.text


def _combine(operator: str, parts: list[_Expr]) -> _Expr | None:
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    types = {p.sco for p in parts}
    if len(types) == 1 and None not in types:
        text = f" {operator} ".join(f"({p.text})" if p.compound else p.text for p in parts)
        return _Expr(text, parts[0].sco, True)
    return _Expr(f" {operator} ".join(_observation(p) for p in parts), None, True)


def _documents(root: Any) -> list[Any]:
    if _local(root) in ("ioc", "OpenIOC"):
        return [root]
    return [el for el in root.iter() if _local(el) in ("ioc", "OpenIOC")]


def _parse(data: bytes | str) -> Any:
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, remove_comments=True
    )
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        return etree.fromstring(raw, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise ValidationError("document", f"not well-formed XML: {exc}") from None


def openioc_to_stix(data: bytes | str, *, source: str = "", now: Clock = now_us) -> Conversion:
    """Convert an OpenIOC 1.0 or 1.1 document (or an XML file holding several) to STIX 2.1
    indicators (see the module docstring). Not XML, or XML without an OpenIOC document,
    is a ValidationError."""
    root = _parse(data)
    documents = _documents(root)
    if not documents:
        raise ValidationError("document", f"no OpenIOC <ioc> or <OpenIOC> element (root is <{_local(root)}>)")
    conversion = Conversion()
    stamp = format_us(now())
    for doc in documents:
        conversion.counts["documents"] = conversion.counts.get("documents", 0) + 1
        obj = _document(doc, source, stamp, conversion)
        if obj is not None:
            conversion.objects.append(obj)
    conversion.counts["indicators"] = len(conversion.objects)
    return conversion


def _document(doc: Any, source: str, stamp: str, conversion: Conversion) -> dict[str, Any] | None:
    ioc_id = (doc.get("id") or "").strip()
    meta = _child(doc, "metadata")
    meta = meta if meta is not None else doc  # 1.1 keeps metadata in <metadata>, 1.0 at the top
    criteria = _child(doc, "criteria")
    criteria = criteria if criteria is not None else _child(doc, "definition")
    converter = _Converter(ioc_id or "(no id)", conversion.losses)
    items = sum(1 for el in doc.iter() if _local(el) == "IndicatorItem")
    conversion.counts["items"] = conversion.counts.get("items", 0) + items
    tops = list(_children(criteria, "Indicator")) if criteria is not None else []
    if not tops:
        conversion.losses.append(Loss(f"ioc {ioc_id or '(no id)'}", "definition", "", "no Indicator in the document"))
        return None
    expr = _combine("OR", [e for e in (converter.node(top) for top in tops) if e is not None])
    if expr is None:
        conversion.losses.append(
            Loss(f"ioc {ioc_id or '(no id)'}", "definition", "", "nothing in the document maps to a STIX pattern")
        )
        return None
    pattern = f"[{expr.text}]" if expr.sco is not None else expr.text
    problem = pattern_error(pattern)
    if problem is not None:
        conversion.losses.append(Loss(f"ioc {ioc_id or '(no id)'}", "definition", _short(pattern), problem))
        return None
    for parameters in (el for el in doc.iter() if _local(el) == "parameters"):
        for param in parameters:
            if _local(param) == "param":
                conversion.losses.append(
                    Loss(
                        converter.where(param),
                        param.get("name") or "param",
                        _short(_text(_child(param, "value"))),
                        "OpenIOC parameters have no STIX equivalent",
                    )
                )
    created = _time(_text(_child(meta, "authored_date"))) or stamp
    modified = _time(doc.get("last-modified") or "") or created
    if modified < created:
        modified = created
    name = _text(_child(meta, "short_description")) or ioc_id or source or "OpenIOC indicator"
    identity = ioc_id or f"{source}\x1f{pattern}"
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid5(NAMESPACE, identity)}",
        "created": created,
        "modified": modified,
        "name": name,
        "pattern": pattern,
        "pattern_type": "stix",
        "pattern_version": "2.1",
        "valid_from": created,
    }
    description = _text(_child(meta, "description"))
    if description:
        obj["description"] = description
    keywords = _text(_child(meta, "keywords"))
    if keywords:
        obj["labels"] = [k for k in re.split(r"[,;\s]+", keywords) if k]
    references: list[dict[str, str]] = []
    if ioc_id:
        reference = {"source_name": "openioc", "external_id": ioc_id}
        author = _text(_child(meta, "authored_by"))
        if author:
            reference["description"] = f"authored by {author}"
        references.append(reference)
    links = _child(meta, "links")
    for link in _children(links, "link") if links is not None else ():
        text = _text(link)
        href = (link.get("href") or "").strip()
        if not text and not href:
            continue
        ref = {"source_name": (link.get("rel") or "link").strip() or "link"}
        if href:
            ref["url"] = href
        if text:
            ref["description"] = text
        references.append(ref)
    if references:
        obj["external_references"] = references
    return obj
