"""Who may see what of an assessment campaign: one pure decision, like the TLP engine's, with its reason.

Three levels, each including the one before:

* ``NONE`` — the campaign does not exist for this viewer (it is not listed, and reading it is "not found");
* ``RESULTS`` — the results of a *final* campaign: scores, consensus answers, report, roadmap, comparison. Given by
  the campaign's visibility setting (``ribat.capacity.assessment.VisibilityScope``);
* ``CAMPAIGN`` — everything: each contributor's answers, the review's record, evidence and documents. Given to the
  campaign's participants and to the users of the assessed organisation, never by the visibility setting.

What a viewer may *change* depends on their role in the campaign and on its state; :mod:`ribat.capacity.service`
checks that.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from ribat.capacity.assessment import Assessment, State, VisibilityScope

__all__ = ["Access", "AccessDecision", "Viewer", "decide"]


class Access(IntEnum):
    NONE = 0
    RESULTS = 1
    CAMPAIGN = 2


@dataclass(frozen=True)
class Viewer:
    user_id: str
    org_id: str
    circle_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class AccessDecision:
    """``reason`` is a short English sentence; ``code`` names the rule, for translation."""

    access: Access
    code: str
    reason: str


def decide(viewer: Viewer, assessment: Assessment) -> AccessDecision:
    """What ``viewer`` may see of ``assessment``, and why."""
    mine = assessment.participant(viewer.user_id)
    if mine is not None:
        return AccessDecision(Access.CAMPAIGN, "participant", f"you take part in this campaign as {mine.role.value}")
    if viewer.org_id == assessment.org_id:
        return AccessDecision(Access.CAMPAIGN, "assessed", "your organisation is the one assessed")
    if assessment.state is not State.FINAL:
        return AccessDecision(Access.NONE, "not-final", "only a final campaign's results are ever shared")
    visibility = assessment.visibility
    if visibility.scope is VisibilityScope.COALITION:
        return AccessDecision(Access.RESULTS, "coalition", "the assessed country shared these results with everyone")
    if visibility.scope is VisibilityScope.CIRCLES and viewer.circle_ids & visibility.circle_ids:
        return AccessDecision(
            Access.RESULTS, "circle", "the assessed country shared these results with a trust circle of yours"
        )
    if visibility.scope is VisibilityScope.ORGANISATIONS and viewer.org_id in visibility.org_ids:
        return AccessDecision(
            Access.RESULTS, "organisation", "the assessed country shared these results with your organisation"
        )
    return AccessDecision(Access.NONE, "not-shared", "the assessed country has not shared these results with you")
