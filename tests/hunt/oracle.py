"""stix2-matcher as the oracle: records with embedded objects (what Ribat's readers produce) are handed to it
as one STIX 2.1 bundle, the form it takes for ``stix_version="2.1"``."""

from __future__ import annotations

import uuid
from typing import Any

from stix2matcher.matcher import match

__all__ = ["oracle_match", "to_bundle"]


def to_bundle(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Records with embedded objects → one STIX 2.1 bundle, ``*_ref(s)`` keys rewritten to the objects' ids."""
    objects: list[dict[str, Any]] = []
    for i, record in enumerate(records):
        ids = {
            key: f"{obj['type']}--{uuid.uuid5(uuid.NAMESPACE_OID, f'{i}.{key}')}"
            for key, obj in record["objects"].items()
        }
        objects.append(
            {
                "type": "observed-data",
                "id": f"observed-data--{uuid.uuid5(uuid.NAMESPACE_OID, str(i))}",
                "first_observed": record["first_observed"],
                "last_observed": record["last_observed"],
                "number_observed": record["number_observed"],
                "object_refs": list(ids.values()),
            }
        )
        objects.extend({**_rewrite(obj, ids), "id": ids[key]} for key, obj in record["objects"].items())
    return {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}


def _rewrite(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k.endswith("_ref") and isinstance(v, str):
                out[k] = ids.get(v, v)
            elif k.endswith("_refs") and isinstance(v, list):
                out[k] = [ids.get(r, r) if isinstance(r, str) else r for r in v]
            else:
                out[k] = _rewrite(v, ids)
        return out
    if isinstance(value, list):
        return [_rewrite(v, ids) for v in value]
    return value


def oracle_match(pattern: str, records: list[dict[str, Any]]) -> bool:
    """Whether stix2-matcher says ``pattern`` matches ``records``."""
    return bool(match(pattern, [to_bundle(records)], stix_version="2.1"))
