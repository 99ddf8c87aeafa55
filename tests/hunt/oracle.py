"""stix2-matcher as the oracle: records with embedded objects (what Ribat's readers produce) are handed to it
as one STIX 2.1 bundle, the form it takes for ``stix_version="2.1"``."""

from __future__ import annotations

from typing import Any

from stix2matcher.matcher import match

from ribat.hunt.evaluate import records_to_bundle as to_bundle

__all__ = ["oracle_match", "to_bundle"]


def oracle_match(pattern: str, records: list[dict[str, Any]]) -> bool:
    """Whether stix2-matcher says ``pattern`` matches ``records``."""
    return bool(match(pattern, [to_bundle(records)], stix_version="2.1"))
