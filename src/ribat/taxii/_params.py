"""TAXII 2.1 query parameters (section 3.5-3.6) and media-type negotiation (section 1.6.8)."""

from __future__ import annotations

from collections.abc import Mapping

from ribat.clock import parse_timestamp_us
from ribat.errors import ValidationError
from ribat.intel import ObjectFilter
from ribat.web.errors import HttpProblem

__all__ = ["check_accept", "check_content_type", "object_filter", "page_limit"]

_KNOWN = {"added_after", "limit", "next", "match[id]", "match[type]", "match[version]", "match[spec_version]"}


def _is_taxii21(media: str, family: str) -> bool:
    parts = [p.strip().lower() for p in media.split(";")]
    if parts[0] not in (f"application/{family}+json",):
        return False
    params = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
    version = params.get("version")
    return version in (None, "2.1")


def check_accept(accept: str | None, family: str = "taxii") -> None:
    """406 unless the client accepts TAXII 2.1 JSON (or anything)."""
    if accept is None or not accept.strip():
        return
    for item in accept.split(","):
        media = item.strip()
        base = media.split(";")[0].strip().lower()
        if base in ("*/*", "application/*") or _is_taxii21(media, family):
            return
    raise HttpProblem(
        406,
        "Not Acceptable",
        f"this endpoint answers with application/{family}+json;version=2.1, which {accept!r} does not accept",
    )


def check_content_type(content_type: str | None) -> None:
    """415 unless the body is TAXII 2.1 (envelope) or STIX 2.1 (bundle) JSON."""
    if content_type and (_is_taxii21(content_type, "taxii") or _is_taxii21(content_type, "stix")):
        return
    raise HttpProblem(
        415,
        "Unsupported Media Type",
        f"send application/taxii+json;version=2.1, not {content_type or 'no Content-Type'!r}",
    )


def _csv(params: Mapping[str, str], name: str) -> tuple[str, ...]:
    value = params.get(name)
    if value is None:
        return ()
    items = tuple(v.strip() for v in value.split(",") if v.strip())
    if not items:
        raise ValidationError(name, "must list at least one value")
    return items


def object_filter(params: Mapping[str, str], *, allow_version: bool = True) -> ObjectFilter:
    for name in params:
        if name not in _KNOWN:
            raise ValidationError(name, "unsupported query parameter")
    added_after = params.get("added_after")
    added_after_us = None
    if added_after is not None:
        try:
            added_after_us = parse_timestamp_us(added_after)
        except ValueError:
            raise ValidationError("added_after", f"not a TAXII timestamp: {added_after!r}") from None
    versions = _csv(params, "match[version]") if allow_version else ()
    for v in versions:
        if v not in ("first", "last", "all"):
            try:
                parse_timestamp_us(v)
            except ValueError:
                raise ValidationError("match[version]", f"{v!r} is not first, last, all or a timestamp") from None
    spec_versions = _csv(params, "match[spec_version]")
    for sv in spec_versions:
        if sv not in ("2.0", "2.1"):
            raise ValidationError("match[spec_version]", f"{sv!r} is not a STIX version (2.0 or 2.1)")
    return ObjectFilter(
        added_after_us=added_after_us,
        ids=_csv(params, "match[id]"),
        types=_csv(params, "match[type]"),
        versions=versions or ("last",),
        spec_versions=spec_versions,
    )


def page_limit(params: Mapping[str, str]) -> int | None:
    raw = params.get("limit")
    if raw is None:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ValidationError("limit", f"must be a positive integer, not {raw!r}")
    return int(raw)
