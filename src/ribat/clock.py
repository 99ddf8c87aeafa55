"""Time and identifiers, injected (``now=``, ``new_id=``) rather than patched in tests."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

__all__ = ["Clock", "NewId", "format_us", "new_uuid", "now_us", "parse_timestamp_us"]

Clock = Callable[[], int]
NewId = Callable[[], str]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def now_us() -> int:
    """Microseconds since the epoch, UTC."""
    return time.time_ns() // 1000


def new_uuid() -> str:
    return str(uuid.uuid4())


def format_us(us: int) -> str:
    """A STIX/TAXII timestamp with microsecond precision: ``2024-01-02T03:04:05.123456Z``."""
    seconds, micros = divmod(us, 1_000_000)
    dt = datetime.fromtimestamp(seconds, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{micros:06d}Z"


_ONE_US = timedelta(microseconds=1)
_EPOCH_NAIVE = datetime(1970, 1, 1)
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.([0-9]+))?[Zz]")


def parse_timestamp_us(text: str) -> int:
    """Parse an RFC 3339 UTC timestamp (``Z`` suffix, any sub-second precision) to microseconds.

    Sub-microsecond digits are truncated. Raises ValueError naming the text. (Runs for
    every ingested object: the shape by one regex, the calendar by the C ISO parser.)
    """
    match = _TIMESTAMP.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"not a UTC timestamp ending in Z: {text!r}")
    try:
        dt = datetime.fromisoformat(text[:19] if text[10] == "T" else text[:10] + "T" + text[11:19])
    except ValueError as exc:
        raise ValueError(f"not a timestamp: {text!r} ({exc})") from None
    frac = match.group(1)
    micros = int((frac + "00000")[:6]) if frac else 0
    return (dt - _EPOCH_NAIVE) // _ONE_US + micros
