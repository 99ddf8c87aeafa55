"""The assessment store on SQLAlchemy Core: SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ribat.capacity import _tables as t
from ribat.capacity.assessment import (
    Assessment,
    AssessmentEvent,
    Consensus,
    Contribution,
    Evidence,
    EvidenceKind,
    EvidenceStatus,
    Participant,
    ParticipantRole,
    State,
    Visibility,
    VisibilityScope,
)
from ribat.capacity.scoring import Answer
from ribat.capacity.store import PinnedModel
from ribat.db import Database
from ribat.errors import ConflictError, NotFoundError, StateError

__all__ = ["SqlAssessmentStore"]

a = t.assessments
p = t.assessment_participants
c = t.assessment_contributions
k = t.assessment_consensus
ev = t.assessment_evidence
doc = t.assessment_documents
log_ = t.assessment_events
m = t.capacity_models


def visibility_json(visibility: Visibility) -> str:
    return orjson.dumps(
        {
            "scope": visibility.scope.value,
            "circles": sorted(visibility.circle_ids),
            "organisations": sorted(visibility.org_ids),
        }
    ).decode()


def _visibility(text: str) -> Visibility:
    data = orjson.loads(text)
    return Visibility(
        VisibilityScope(data["scope"]), frozenset(data.get("circles", ())), frozenset(data.get("organisations", ()))
    )


def _assessment(row: Any, participants: Sequence[Participant]) -> Assessment:
    return Assessment(
        id=row.id,
        title=row.title,
        country=row.country,
        org_id=row.org_id,
        model_id=row.model_id,
        model_version=row.model_version,
        state=State(row.state),
        lead_user_id=row.lead_user_id,
        created_by=row.created_by,
        created_us=row.created_us,
        updated_us=row.updated_us,
        visibility=_visibility(row.visibility),
        target_stage=row.target_stage,
        previous_id=row.previous_id,
        review_us=row.review_us,
        final_us=row.final_us,
        final_digest=row.final_digest,
        participants=tuple(participants),
    )


def _evidence(row: Any) -> Evidence:
    return Evidence(
        id=row.id,
        indicator_id=row.indicator_id,
        kind=EvidenceKind(row.kind),
        title=row.title,
        status=EvidenceStatus(row.status),
        added_by=row.added_by,
        added_us=row.added_us,
        url=row.url,
        filename=row.filename,
        media_type=row.media_type,
        size=row.size,
        sha256=row.sha256,
        metric=row.metric,
        query=row.query,
        window_start_us=row.window_start_us,
        window_end_us=row.window_end_us,
        value=row.value,
        decided_by=row.decided_by,
        decided_us=row.decided_us,
    )


def _pinned(row: Any) -> PinnedModel:
    return PinnedModel(row.model_id, row.version, row.kind, row.source_name, row.source, row.sha256)


class SqlAssessmentStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- models --------------------------------------------------------------------------------

    def pin_model(self, model: PinnedModel, now_us: int) -> PinnedModel:
        with self.db.write() as conn:
            row = conn.execute(select(m).where(m.c.model_id == model.model_id, m.c.version == model.version)).first()
            if row is not None:
                return _pinned(row)
            conn.execute(
                insert(m).values(
                    model_id=model.model_id,
                    version=model.version,
                    kind=model.kind,
                    source_name=model.source_name,
                    source=model.source,
                    sha256=model.sha256,
                    pinned_us=now_us,
                )
            )
        return model

    def pinned_model(self, model_id: str, version: str) -> PinnedModel | None:
        with self.db.read() as conn:
            row = conn.execute(select(m).where(m.c.model_id == model_id, m.c.version == version)).first()
        return None if row is None else _pinned(row)

    def pinned_models(self) -> list[PinnedModel]:
        with self.db.read() as conn:
            rows = conn.execute(select(m).order_by(m.c.model_id, m.c.version)).all()
        return [_pinned(row) for row in rows]

    # -- campaigns -----------------------------------------------------------------------------

    def _participants(self, conn: Connection, ids: Sequence[str]) -> dict[str, list[Participant]]:
        found: dict[str, list[Participant]] = {i: [] for i in ids}
        if not ids:
            return found
        rows = conn.execute(
            select(p).where(p.c.assessment_id.in_(ids)).order_by(p.c.assessment_id, p.c.added_us, p.c.user_id)
        ).all()
        for row in rows:
            found[row.assessment_id].append(
                Participant(row.user_id, row.org_id, ParticipantRole(row.role), row.added_us)
            )
        return found

    def _many(self, conn: Connection, rows: Sequence[Any]) -> list[Assessment]:
        people = self._participants(conn, [row.id for row in rows])
        return [_assessment(row, people[row.id]) for row in rows]

    def add(self, assessment: Assessment, event: AssessmentEvent) -> None:
        try:
            with self.db.write() as conn:
                conn.execute(
                    insert(a).values(
                        id=assessment.id,
                        title=assessment.title,
                        country=assessment.country,
                        org_id=assessment.org_id,
                        model_id=assessment.model_id,
                        model_version=assessment.model_version,
                        state=assessment.state.value,
                        lead_user_id=assessment.lead_user_id,
                        created_by=assessment.created_by,
                        created_us=assessment.created_us,
                        updated_us=assessment.updated_us,
                        visibility=visibility_json(assessment.visibility),
                        target_stage=assessment.target_stage,
                        previous_id=assessment.previous_id,
                    )
                )
                for person in assessment.participants:
                    conn.execute(
                        insert(p).values(
                            assessment_id=assessment.id,
                            user_id=person.user_id,
                            org_id=person.org_id,
                            role=person.role.value,
                            added_us=person.added_us,
                        )
                    )
                self._event(conn, assessment.id, event)
        except IntegrityError:
            raise ConflictError("assessment", assessment.id) from None

    def get(self, assessment_id: str) -> Assessment | None:
        with self.db.read() as conn:
            row = conn.execute(select(a).where(a.c.id == assessment_id)).first()
            if row is None:
                return None
            return self._many(conn, [row])[0]

    def list_assessments(
        self, *, country: str | None = None, model_id: str | None = None, state: State | None = None
    ) -> list[Assessment]:
        query = select(a)
        if country is not None:
            query = query.where(a.c.country == country)
        if model_id is not None:
            query = query.where(a.c.model_id == model_id)
        if state is not None:
            query = query.where(a.c.state == state.value)
        with self.db.read() as conn:
            rows = conn.execute(query.order_by(a.c.created_us.desc(), a.c.id)).all()
            return self._many(conn, rows)

    def latest_final(self, country: str, model_id: str, *, before_us: int | None = None) -> Assessment | None:
        query = select(a).where(a.c.country == country, a.c.model_id == model_id, a.c.state == State.FINAL.value)
        if before_us is not None:
            query = query.where(a.c.final_us < before_us)
        with self.db.read() as conn:
            row = conn.execute(query.order_by(a.c.final_us.desc(), a.c.id).limit(1)).first()
            return None if row is None else self._many(conn, [row])[0]

    def finals(self, model_id: str, version: str) -> list[Assessment]:
        query = select(a).where(a.c.model_id == model_id, a.c.model_version == version, a.c.state == State.FINAL.value)
        with self.db.read() as conn:
            rows = conn.execute(query.order_by(a.c.final_us.desc(), a.c.id)).all()
            return self._many(conn, rows)

    def _lock(self, conn: Connection, assessment_id: str, states: Collection[State], action: str) -> State:
        """The campaign's state, the row locked until the transaction ends; StateError unless in ``states``."""
        row = conn.execute(select(a.c.state).where(a.c.id == assessment_id).with_for_update()).first()
        if row is None:
            raise NotFoundError("assessment", assessment_id)
        state = State(row.state)
        if state not in states:
            raise StateError("assessment", assessment_id, state.value, action)
        return state

    def _touch(self, conn: Connection, assessment_id: str, now_us: int, **values: Any) -> None:
        conn.execute(update(a).where(a.c.id == assessment_id).values(updated_us=now_us, **values))

    def _event(self, conn: Connection, assessment_id: str, event: AssessmentEvent) -> None:
        conn.execute(
            insert(log_).values(
                assessment_id=assessment_id,
                at_us=event.at_us,
                user_id=event.user_id,
                action=event.action,
                detail=event.detail,
            )
        )

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
    ) -> None:
        values: dict[str, Any] = {"state": new_state.value}
        if review_us is not None:
            values["review_us"] = review_us
        if final_us is not None:
            values["final_us"] = final_us
            values["final_digest"] = final_digest
        with self.db.write() as conn:
            self._lock(conn, assessment_id, states, f"move to {new_state.value}")
            self._touch(conn, assessment_id, event.at_us, **values)
            self._event(conn, assessment_id, event)

    def set_visibility(
        self, assessment_id: str, states: Collection[State], visibility: Visibility, event: AssessmentEvent
    ) -> None:
        with self.db.write() as conn:
            self._lock(conn, assessment_id, states, "change its visibility")
            self._touch(conn, assessment_id, event.at_us, visibility=visibility_json(visibility))
            self._event(conn, assessment_id, event)

    def set_target(
        self, assessment_id: str, states: Collection[State], target_stage: str | None, event: AssessmentEvent
    ) -> None:
        with self.db.write() as conn:
            self._lock(conn, assessment_id, states, "change its target stage")
            self._touch(conn, assessment_id, event.at_us, target_stage=target_stage)
            self._event(conn, assessment_id, event)

    def put_participant(
        self, assessment_id: str, states: Collection[State], participant: Participant, event: AssessmentEvent
    ) -> None:
        with self.db.write() as conn:
            self._lock(conn, assessment_id, states, "change its participants")
            if participant.role is ParticipantRole.LEAD:
                conn.execute(
                    update(p)
                    .where(p.c.assessment_id == assessment_id, p.c.role == ParticipantRole.LEAD.value)
                    .values(role=ParticipantRole.REVIEWER.value)
                )
                self._touch(conn, assessment_id, event.at_us, lead_user_id=participant.user_id)
            else:
                self._touch(conn, assessment_id, event.at_us)
            changed = conn.execute(
                update(p)
                .where(p.c.assessment_id == assessment_id, p.c.user_id == participant.user_id)
                .values(role=participant.role.value)
            ).rowcount
            if not changed:
                conn.execute(
                    insert(p).values(
                        assessment_id=assessment_id,
                        user_id=participant.user_id,
                        org_id=participant.org_id,
                        role=participant.role.value,
                        added_us=participant.added_us,
                    )
                )
            self._event(conn, assessment_id, event)

    def remove_participant(
        self, assessment_id: str, states: Collection[State], user_id: str, event: AssessmentEvent
    ) -> None:
        with self.db.write() as conn:
            self._lock(conn, assessment_id, states, "change its participants")
            gone = conn.execute(delete(p).where(p.c.assessment_id == assessment_id, p.c.user_id == user_id)).rowcount
            if not gone:
                raise NotFoundError("participant", user_id)
            self._touch(conn, assessment_id, event.at_us)
            self._event(conn, assessment_id, event)

    # -- answers -------------------------------------------------------------------------------

    def put_contributions(
        self,
        assessment_id: str,
        states: Collection[State],
        user_id: str,
        answers: Mapping[str, tuple[Answer, str]],
        now_us: int,
    ) -> None:
        with self.db.write() as conn:
            self._lock(conn, assessment_id, states, "change answers")
            if answers:
                conn.execute(
                    delete(c).where(
                        c.c.assessment_id == assessment_id,
                        c.c.user_id == user_id,
                        c.c.indicator_id.in_(list(answers)),
                    )
                )
                conn.execute(
                    insert(c),
                    [
                        {
                            "assessment_id": assessment_id,
                            "indicator_id": indicator_id,
                            "user_id": user_id,
                            "answer": answer.value,
                            "comment": comment,
                            "updated_us": now_us,
                        }
                        for indicator_id, (answer, comment) in answers.items()
                    ],
                )
            self._touch(conn, assessment_id, now_us)

    def contributions(self, assessment_id: str) -> list[Contribution]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(c).where(c.c.assessment_id == assessment_id).order_by(c.c.indicator_id, c.c.updated_us)
            ).all()
        return [Contribution(r.indicator_id, r.user_id, Answer(r.answer), r.comment, r.updated_us) for r in rows]

    def put_consensus(
        self, assessment_id: str, states: Collection[State], items: Sequence[Consensus], event: AssessmentEvent
    ) -> None:
        with self.db.write() as conn:
            self._lock(conn, assessment_id, states, "settle answers")
            if items:
                conn.execute(
                    delete(k).where(
                        k.c.assessment_id == assessment_id, k.c.indicator_id.in_([i.indicator_id for i in items])
                    )
                )
                conn.execute(
                    insert(k),
                    [
                        {
                            "assessment_id": assessment_id,
                            "indicator_id": item.indicator_id,
                            "answer": item.answer.value,
                            "comment": item.comment,
                            "decided_by": item.decided_by,
                            "decided_us": item.decided_us,
                            "disagreement": orjson.dumps([[u, ans.value] for u, ans in item.disagreement]).decode(),
                        }
                        for item in items
                    ],
                )
            self._touch(conn, assessment_id, event.at_us)
            self._event(conn, assessment_id, event)

    def consensus(self, assessment_id: str) -> dict[str, Consensus]:
        with self.db.read() as conn:
            rows = conn.execute(select(k).where(k.c.assessment_id == assessment_id).order_by(k.c.indicator_id)).all()
        return {
            r.indicator_id: Consensus(
                r.indicator_id,
                Answer(r.answer),
                r.comment,
                r.decided_by,
                r.decided_us,
                tuple((u, Answer(ans)) for u, ans in orjson.loads(r.disagreement)),
            )
            for r in rows
        }

    # -- evidence ------------------------------------------------------------------------------

    def add_evidence(
        self, assessment_id: str, states: Collection[State], items: Sequence[Evidence], content: bytes | None = None
    ) -> None:
        with self.db.write() as conn:
            self._lock(conn, assessment_id, states, "add evidence")
            for item in items:
                conn.execute(insert(ev).values(assessment_id=assessment_id, **_evidence_values(item)))
            if content is not None:
                (item,) = items
                conn.execute(insert(doc).values(evidence_id=item.id, content=content))
            if items:
                self._touch(conn, assessment_id, items[-1].added_us)

    def evidence(self, assessment_id: str) -> list[Evidence]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(ev)
                .where(ev.c.assessment_id == assessment_id)
                .order_by(ev.c.indicator_id, ev.c.added_us, ev.c.id)
            ).all()
        return [_evidence(row) for row in rows]

    def document(self, assessment_id: str, evidence_id: str) -> bytes | None:
        with self.db.read() as conn:
            row = conn.execute(
                select(doc.c.content)
                .join(ev, ev.c.id == doc.c.evidence_id)
                .where(ev.c.assessment_id == assessment_id, doc.c.evidence_id == evidence_id)
            ).first()
        return None if row is None else bytes(row.content)

    def decide_evidence(
        self,
        assessment_id: str,
        states: Collection[State],
        evidence_id: str,
        status: EvidenceStatus,
        user_id: str,
        now_us: int,
    ) -> None:
        with self.db.write() as conn:
            self._lock(conn, assessment_id, states, "decide on evidence")
            changed = conn.execute(
                update(ev)
                .where(ev.c.assessment_id == assessment_id, ev.c.id == evidence_id)
                .values(status=status.value, decided_by=user_id, decided_us=now_us)
            ).rowcount
            if not changed:
                raise NotFoundError("evidence", evidence_id)
            self._touch(conn, assessment_id, now_us)

    def remove_evidence(self, assessment_id: str, states: Collection[State], evidence_id: str) -> None:
        with self.db.write() as conn:
            self._lock(conn, assessment_id, states, "remove evidence")
            where = and_(ev.c.assessment_id == assessment_id, ev.c.id == evidence_id)
            if conn.execute(select(ev.c.id).where(where)).first() is None:
                raise NotFoundError("evidence", evidence_id)
            conn.execute(delete(doc).where(doc.c.evidence_id == evidence_id))
            conn.execute(delete(ev).where(where))

    # -- record --------------------------------------------------------------------------------

    def events(self, assessment_id: str) -> list[AssessmentEvent]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(log_).where(log_.c.assessment_id == assessment_id).order_by(log_.c.at_us, log_.c.id)
            ).all()
        return [AssessmentEvent(r.at_us, r.user_id, r.action, r.detail) for r in rows]


def _evidence_values(item: Evidence) -> dict[str, Any]:
    return {
        "id": item.id,
        "indicator_id": item.indicator_id,
        "kind": item.kind.value,
        "title": item.title,
        "status": item.status.value,
        "added_by": item.added_by,
        "added_us": item.added_us,
        "url": item.url,
        "filename": item.filename,
        "media_type": item.media_type,
        "size": item.size,
        "sha256": item.sha256,
        "metric": item.metric,
        "query": item.query,
        "window_start_us": item.window_start_us,
        "window_end_us": item.window_end_us,
        "value": item.value,
        "decided_by": item.decided_by,
        "decided_us": item.decided_us,
    }
