"""What a hunt found: per indicator, how often, when, and samples of the records that matched.

A :class:`Hit` gathers every match of one indicator in one hunt: ``count`` matches between ``first_seen_us`` and
``last_seen_us`` (record times, µs since the epoch), and the ``MAX_SAMPLES`` earliest :class:`Sample` records (by
time, file and line), each with the file and line it was read from and the observed-data objects that matched. The
sightings written from a hunt (``ribat.hunt.sightings``) are made from hits.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MAX_SAMPLES", "Hit", "Sample"]


def _order(sample: Sample) -> tuple[int, str, int]:
    return (sample.time_us, sample.file, sample.line)


MAX_SAMPLES = 20
"""Samples kept per indicator: enough to show and share, bounded whatever the logs hold."""


@dataclass(frozen=True)
class Sample:
    """One matching record: where it was read, when, and its observed-data ``objects`` (STIX 2.0-style embedded
    objects keyed ``"0"``, ``"1"``…, with ``*_ref``/``*_refs`` naming keys). ``matched`` lists the keys of the
    objects that satisfied the pattern (empty when the match spans several records)."""

    file: str
    line: int
    time_us: int
    objects: dict[str, dict[str, Any]]
    matched: tuple[str, ...] = ()


@dataclass
class Hit:
    """Every match of one indicator (``indicator_id``, its ``name`` and ``created_by_ref``, the author)."""

    indicator_id: str
    name: str
    created_by_ref: str | None
    pattern: str
    count: int = 0
    first_seen_us: int | None = None
    last_seen_us: int | None = None
    samples: list[Sample] = field(default_factory=list)

    def add(self, *samples: Sample) -> None:
        """Count one match, made of ``samples``: one record, or the records a multi-observation match used.
        ``first_seen_us``/``last_seen_us`` take their times; samples are kept while fewer than ``MAX_SAMPLES``."""
        if not samples:
            raise ValueError("a match is made of at least one record")
        self.count += 1
        for sample in samples:
            t = sample.time_us
            if self.first_seen_us is None or t < self.first_seen_us:
                self.first_seen_us = t
            if self.last_seen_us is None or t > self.last_seen_us:
                self.last_seen_us = t
            self._keep(sample)

    def _keep(self, sample: Sample) -> None:
        """Keep the ``MAX_SAMPLES`` earliest samples by (time, file, line), whatever order they arrive in, so that
        a hunt split into parts keeps the same samples as one run."""
        kept = self.samples
        key = _order(sample)
        if len(kept) >= MAX_SAMPLES and key >= _order(kept[-1]):
            return
        if not kept or key >= _order(kept[-1]):
            kept.append(sample)
        else:
            kept.insert(bisect.bisect_right(kept, key, key=_order), sample)
        del kept[MAX_SAMPLES:]

    def merge(self, other: Hit) -> None:
        """Fold another part's hits for the same indicator into this one (parts of a distributed hunt)."""
        if other.indicator_id != self.indicator_id:
            raise ValueError("hits of different indicators cannot be merged")
        self.count += other.count
        for t in (other.first_seen_us, other.last_seen_us):
            if t is None:
                continue
            if self.first_seen_us is None or t < self.first_seen_us:
                self.first_seen_us = t
            if self.last_seen_us is None or t > self.last_seen_us:
                self.last_seen_us = t
        for sample in other.samples:
            self._keep(sample)
