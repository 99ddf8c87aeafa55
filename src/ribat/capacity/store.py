"""The storage interface of the capacity context (a ``typing.Protocol``).

``ribat.capacity._store_sql.SqlAssessmentStore`` implements it on SQLite and PostgreSQL. Every write that depends
on a campaign's state takes ``states``: the write happens only if the campaign is in one of them, checked in the
same transaction (the row is locked on PostgreSQL; SQLite has a single writer), and otherwise raises
:class:`~ribat.errors.StateError`. That is what makes a final campaign immutable even against a concurrent writer.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from ribat.capacity.assessment import (
    Assessment,
    AssessmentEvent,
    Consensus,
    Contribution,
    Evidence,
    EvidenceStatus,
    Participant,
    State,
    Visibility,
)
from ribat.capacity.scoring import Answer

__all__ = ["AssessmentStore", "PinnedModel"]


@dataclass(frozen=True)
class PinnedModel:
    """The exact text of a model version, as first used by an assessment."""

    model_id: str
    version: str
    kind: str
    source_name: str
    source: str
    sha256: str


class AssessmentStore(Protocol):
    # -- models --------------------------------------------------------------------------------

    def pin_model(self, model: PinnedModel, now_us: int) -> PinnedModel:
        """Keep ``model``'s text unless that version is already pinned; returns the pinned one (the caller compares
        digests)."""
        ...

    def pinned_model(self, model_id: str, version: str) -> PinnedModel | None: ...

    def pinned_models(self) -> list[PinnedModel]: ...

    # -- campaigns -----------------------------------------------------------------------------

    def add(self, assessment: Assessment, event: AssessmentEvent) -> None:
        """Store a new campaign with its participants and its first record entry."""
        ...

    def get(self, assessment_id: str) -> Assessment | None: ...

    def list_assessments(
        self, *, country: str | None = None, model_id: str | None = None, state: State | None = None
    ) -> list[Assessment]:
        """Campaigns, newest first, with their participants."""
        ...

    def latest_final(self, country: str, model_id: str, *, before_us: int | None = None) -> Assessment | None:
        """The newest final campaign of ``country`` on ``model_id`` (any version), finalised before ``before_us``."""
        ...

    def finals(self, model_id: str, version: str) -> list[Assessment]:
        """Every final campaign on that model version, newest first."""
        ...

    def set_state(
        self,
        assessment_id: str,
        states: Collection[State],
        new_state: State,
        event: AssessmentEvent,
        *,
        review_us: int | None = None,
        final_us: int | None = None,
        final_digest: str | None = None,
    ) -> None: ...

    def set_visibility(
        self, assessment_id: str, states: Collection[State], visibility: Visibility, event: AssessmentEvent
    ) -> None: ...

    def set_target(
        self, assessment_id: str, states: Collection[State], target_stage: str | None, event: AssessmentEvent
    ) -> None: ...

    def put_participant(
        self, assessment_id: str, states: Collection[State], participant: Participant, event: AssessmentEvent
    ) -> None:
        """Add a participant or change their role (a new lead replaces the campaign's lead, who becomes a
        reviewer)."""
        ...

    def remove_participant(
        self, assessment_id: str, states: Collection[State], user_id: str, event: AssessmentEvent
    ) -> None: ...

    # -- answers -------------------------------------------------------------------------------

    def put_contributions(
        self,
        assessment_id: str,
        states: Collection[State],
        user_id: str,
        answers: Mapping[str, tuple[Answer, str]],
        now_us: int,
    ) -> None:
        """Set ``user_id``'s answers (indicator id → (answer, comment)) in one transaction."""
        ...

    def contributions(self, assessment_id: str) -> list[Contribution]: ...

    def put_consensus(
        self, assessment_id: str, states: Collection[State], items: Sequence[Consensus], event: AssessmentEvent
    ) -> None: ...

    def consensus(self, assessment_id: str) -> dict[str, Consensus]: ...

    # -- evidence ------------------------------------------------------------------------------

    def add_evidence(
        self, assessment_id: str, states: Collection[State], items: Sequence[Evidence], content: bytes | None = None
    ) -> None:
        """Add evidence items; ``content`` is the bytes of a single document item."""
        ...

    def evidence(self, assessment_id: str) -> list[Evidence]: ...

    def document(self, assessment_id: str, evidence_id: str) -> bytes | None: ...

    def decide_evidence(
        self,
        assessment_id: str,
        states: Collection[State],
        evidence_id: str,
        status: EvidenceStatus,
        user_id: str,
        now_us: int,
    ) -> None: ...

    def remove_evidence(self, assessment_id: str, states: Collection[State], evidence_id: str) -> None: ...

    # -- record --------------------------------------------------------------------------------

    def events(self, assessment_id: str) -> list[AssessmentEvent]: ...
