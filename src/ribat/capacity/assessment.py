"""Plain data of an assessment campaign: the campaign, its participants, answers, review and evidence.

A campaign assesses one country against one pinned model version (``model_key`` = ``id@version``). It moves
``draft → review → final``: contributors answer in draft (each keeps their own answer per indicator, so they
may disagree), the review settles one *consensus* answer per indicator and keeps the contributors' answers
beside it, and a final campaign is immutable. See ``docs/capacity-assessments.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ribat.capacity.scoring import Answer

__all__ = [
    "Assessment",
    "AssessmentEvent",
    "Consensus",
    "Contribution",
    "Evidence",
    "EvidenceKind",
    "EvidenceStatus",
    "Participant",
    "ParticipantRole",
    "State",
    "Visibility",
    "VisibilityScope",
]


class State(StrEnum):
    DRAFT = "draft"
    REVIEW = "review"
    FINAL = "final"


class ParticipantRole(StrEnum):
    """What a participant does in a campaign.

    * ``lead`` — the lead assessor: manages participants, settles the review, moves the state (one per campaign);
    * ``reviewer`` — answers, and settles consensus answers in review;
    * ``contributor`` — answers and adds evidence;
    * ``observer`` — reads the campaign, changes nothing.
    """

    LEAD = "lead"
    REVIEWER = "reviewer"
    CONTRIBUTOR = "contributor"
    OBSERVER = "observer"

    @property
    def answers(self) -> bool:
        return self is not ParticipantRole.OBSERVER

    @property
    def settles(self) -> bool:
        return self in (ParticipantRole.LEAD, ParticipantRole.REVIEWER)


class VisibilityScope(StrEnum):
    """Who, beyond the campaign, may read a final campaign's results (scores, consensus answers, report).

    * ``campaign`` — nobody beyond the campaign's participants and the assessed organisation (the default);
    * ``circles`` — also the organisations of the named trust circles;
    * ``organisations`` — also the named organisations;
    * ``coalition`` — every organisation of the hub.

    Contributors' own answers, the review's record and uploaded documents never leave the campaign.
    """

    CAMPAIGN = "campaign"
    CIRCLES = "circles"
    ORGANISATIONS = "organisations"
    COALITION = "coalition"


@dataclass(frozen=True)
class Visibility:
    scope: VisibilityScope = VisibilityScope.CAMPAIGN
    circle_ids: frozenset[str] = frozenset()
    org_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Participant:
    user_id: str
    org_id: str
    role: ParticipantRole
    added_us: int


@dataclass(frozen=True)
class Assessment:
    """A campaign. ``org_id`` is the assessed organisation (in ``country``); ``previous_id`` is the earlier final
    campaign of the same country and model it is compared with (``None`` for a first assessment).
    ``target_stage`` is the stage (id) the roadmap aims for; ``None`` means the next stage of each factor."""

    id: str
    title: str
    country: str
    org_id: str
    model_id: str
    model_version: str
    state: State
    lead_user_id: str
    created_by: str
    created_us: int
    updated_us: int
    visibility: Visibility = field(default_factory=Visibility)
    target_stage: str | None = None
    previous_id: str | None = None
    review_us: int | None = None
    final_us: int | None = None
    final_digest: str | None = None
    participants: tuple[Participant, ...] = ()

    @property
    def model_key(self) -> str:
        return f"{self.model_id}@{self.model_version}"

    def participant(self, user_id: str) -> Participant | None:
        for p in self.participants:
            if p.user_id == user_id:
                return p
        return None


@dataclass(frozen=True)
class Contribution:
    """One participant's answer to one indicator."""

    indicator_id: str
    user_id: str
    answer: Answer
    comment: str
    updated_us: int


@dataclass(frozen=True)
class Consensus:
    """The answer the review settled on. ``disagreement`` keeps, when the contributors' answers differed at the
    moment it was settled, each contributor's answer then (user id → answer); it is empty when they agreed."""

    indicator_id: str
    answer: Answer
    comment: str
    decided_by: str
    decided_us: int
    disagreement: tuple[tuple[str, Answer], ...] = ()


class EvidenceKind(StrEnum):
    LINK = "link"
    DOCUMENT = "document"
    PLATFORM = "platform"


class EvidenceStatus(StrEnum):
    """Links and documents are ``accepted`` when added; platform items are ``proposed`` until the assessor
    accepts or rejects them."""

    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Evidence:
    """A piece of evidence for one indicator.

    A ``link`` has ``url``; a ``document`` has ``filename``, ``media_type``, ``size`` and ``sha256`` (its bytes are
    fetched separately); a ``platform`` item has ``metric`` (the metric's id), ``query`` (what was counted, in
    words), ``window_start_us``/``window_end_us`` and ``value`` (the figure, as text with its unit).
    """

    id: str
    indicator_id: str
    kind: EvidenceKind
    title: str
    status: EvidenceStatus
    added_by: str
    added_us: int
    url: str | None = None
    filename: str | None = None
    media_type: str | None = None
    size: int | None = None
    sha256: str | None = None
    metric: str | None = None
    query: str | None = None
    window_start_us: int | None = None
    window_end_us: int | None = None
    value: str | None = None
    decided_by: str | None = None
    decided_us: int | None = None


@dataclass(frozen=True)
class AssessmentEvent:
    """One entry of a campaign's record: who did what when (state changes, participants, consensus)."""

    at_us: int
    user_id: str
    action: str
    detail: str
