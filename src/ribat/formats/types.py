"""Plain records shared by the converters, the imports and the exports of the formats context."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Conversion", "Loss"]


@dataclass(frozen=True)
class Loss:
    """Something in the source that the conversion could not carry into STIX 2.1 (or back).

    ``where`` locates it in the source (``event 5a3c…/attribute 9f1e…``, ``line 12``),
    ``field`` names the field, ``value`` is the value as found (shortened when long) and
    ``reason`` says why it was not carried. Nothing is dropped without a ``Loss``.
    """

    where: str
    field: str
    value: str
    reason: str


@dataclass
class Conversion:
    """The STIX 2.1 objects a source document converts to, and what could not be carried."""

    objects: list[dict[str, Any]] = field(default_factory=list)
    losses: list[Loss] = field(default_factory=list)
    # Free-form counts for the import report (``events``, ``attributes``, ``lines`` …).
    counts: dict[str, int] = field(default_factory=dict)

    def extend(self, other: Conversion) -> None:
        self.objects.extend(other.objects)
        self.losses.extend(other.losses)
        for k, v in other.counts.items():
            self.counts[k] = self.counts.get(k, 0) + v
