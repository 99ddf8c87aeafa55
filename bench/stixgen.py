"""Deterministic, distinct, realistic STIX 2.1 indicators (STIX 2.1 section 4.7).

``indicator(i)`` depends only on the seed and ``i``, so any slice of the sequence can be
generated on its own and both servers receive byte-identical envelopes. Every
indicator carries a distinct observable: an IPv4 address, a domain name, a URL or a
SHA-256 file hash. About a third carry a TLP 2.0 marking (STIX extension form); all of
them are readable by the benchmark's user on Ribat (it is their author), so both
servers answer the same page to the same query.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from datetime import UTC, datetime, timedelta

import orjson

__all__ = ["BATCH", "DEFAULT_SEED", "envelope_bytes", "indicator"]

BATCH = 1000
DEFAULT_SEED = 20240917

_BASE = datetime(2024, 1, 1, tzinfo=UTC)
_AUTHOR = "identity--5b1a8a61-6f1e-4c44-9a57-0c9d1b2f7e10"

# TLP 2.0 marking definitions (OASIS cti-stix-common-objects), with their weights out
# of 100; the rest are unmarked and take the collection's default.
_TLP = (
    ("marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", 12),  # CLEAR
    ("marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", 12),  # GREEN
    ("marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", 8),  # AMBER
    ("marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", 3),  # AMBER+STRICT
)

_WORDS = (
    "update", "secure", "login", "cdn", "mail", "portal", "cloud", "auth", "files",
    "static", "verify", "account", "support", "docs", "api", "sync", "office", "drive",
)  # fmt: skip
_TLDS = ("com", "net", "org", "info", "xyz", "top", "io", "biz", "ru", "cn")
_PATHS = ("wp-admin/x.php", "gate.php", "dl/payload.bin", "inv/invoice.doc", "c2/beacon", "s/l.js")
_TYPES = ("malicious-activity", "anomalous-activity", "compromised", "attribution")
_PHASES = ("reconnaissance", "delivery", "exploitation", "installation", "command-and-control")
_KINDS = ("ipv4", "domain", "url", "sha256")


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def _stamp(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _observable(kind: str, i: int, seed: int, rng: random.Random) -> tuple[str, str]:
    """(pattern, short description) for the ``i``-th indicator; distinct for every ``i``."""
    if kind == "ipv4":
        # An odd multiplier is a bijection modulo 2**32: distinct addresses for distinct i.
        n = (i * 2654435761 + seed) % 2**32
        ip = ".".join(str((n >> s) & 255) for s in (24, 16, 8, 0))
        return f"[ipv4-addr:value = '{ip}']", f"IP address {ip}"
    if kind == "domain":
        domain = f"{rng.choice(_WORDS)}-{_base36(i)}.{rng.choice(_TLDS)}"
        return f"[domain-name:value = '{domain}']", f"domain {domain}"
    if kind == "url":
        url = f"http://{rng.choice(_WORDS)}-{_base36(i)}.{rng.choice(_TLDS)}/{rng.choice(_PATHS)}"
        return f"[url:value = '{url}']", f"URL {url}"
    digest = hashlib.sha256(f"{seed}:{i}".encode()).hexdigest()
    return f"[file:hashes.'SHA-256' = '{digest}']", f"file with SHA-256 {digest[:12]}..."


def indicator(i: int, seed: int = DEFAULT_SEED) -> dict[str, object]:
    """The ``i``-th indicator of the sequence for ``seed``."""
    rng = random.Random((seed << 40) | i)
    kind = _KINDS[rng.randrange(4)]
    pattern, what = _observable(kind, i, seed, rng)
    created = _BASE + timedelta(seconds=i, milliseconds=rng.randrange(1000))
    modified = created + timedelta(hours=rng.randrange(48)) if rng.random() < 0.3 else created
    obj: dict[str, object] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.UUID(int=rng.getrandbits(128), version=4)}",
        "created_by_ref": _AUTHOR,
        "created": _stamp(created),
        "modified": _stamp(modified),
        "name": f"Malicious {what}",
        "description": f"Seen in {rng.choice(_PHASES)} activity; reported by a coalition member.",
        "indicator_types": [rng.choice(_TYPES)],
        "pattern": pattern,
        "pattern_type": "stix",
        "pattern_version": "2.1",
        "valid_from": _stamp(created),
        "confidence": rng.randrange(30, 100, 5),
        "kill_chain_phases": [
            {"kill_chain_name": "lockheed-martin-cyber-kill-chain", "phase_name": rng.choice(_PHASES)}
        ],
    }
    if rng.random() < 0.2:
        obj["valid_until"] = _stamp(created + timedelta(days=rng.randrange(30, 365)))
    roll = rng.randrange(100)
    for marking, weight in _TLP:
        if roll < weight:
            obj["object_marking_refs"] = [marking]
            break
        roll -= weight
    return obj


def envelope_bytes(start: int, count: int = BATCH, seed: int = DEFAULT_SEED) -> bytes:
    """A TAXII 2.1 envelope (section 3.7) of indicators ``start`` .. ``start + count - 1``."""
    return orjson.dumps({"objects": [indicator(i, seed) for i in range(start, start + count)]})
