"""Assessment campaigns through the service, on SQLite and PostgreSQL: roles, states, review, visibility,
immutability, pinning, comparison and benchmarks."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from ribat.accounts import OrgKind, Role
from ribat.capacity import (
    Access,
    Answer,
    Assessments,
    EvidenceStatus,
    ModelResult,
    State,
    Visibility,
    VisibilityScope,
    WeightedResult,
    shipped_models,
)
from ribat.capacity.models import SHIPPED_MODELS
from ribat.errors import ConflictError, NotFoundError, PermissionDeniedError, StateError, ValidationError
from ribat.hub import Hub
from support import World

CMM = "coalition-cmm@2026.1"
GCI = "gci-style@2026.1"


class Clock:
    def __init__(self) -> None:
        self.t = 1_800_000_000_000_000

    def __call__(self) -> int:
        self.t += 1_000_000
        return self.t


@pytest.fixture
def svc(hub: Hub) -> Assessments:
    return Assessments.for_hub(hub, now=Clock())


@pytest.fixture
def cmm() -> object:
    return next(m for m in shipped_models() if m.key == CMM)


def all_ids(service: Assessments, key: str) -> list[str]:
    return [i.id for i in service.model(key).indicators()]


def campaign(svc: Assessments, world: World, key: str = CMM) -> str:
    """A campaign of CERT A's country led by alice, with bob contributing and carol observing."""
    a = svc.create(world.principal("alice@a.example"), org_ref="cert-a", model_key=key, title="Malaysia 2026")
    lead = world.principal("alice@a.example")
    svc.add_participant(lead, a.id, "bob@b.example", "contributor")
    svc.add_participant(lead, a.id, "carol@c.example", "observer")
    return a.id


def finish(svc: Assessments, world: World, aid: str, answer: Answer = Answer.MET) -> None:
    lead = world.principal("alice@a.example")
    ids = all_ids(svc, svc.get(lead, aid).model_key)
    svc.answer(lead, aid, {i: (answer, "") for i in ids})
    svc.transition(lead, aid, "review")
    svc.settle_agreed(lead, aid)
    # Other contributors may have answered differently: the lead settles what is still open with ``answer``.
    open_ = [item.indicator_id for item in svc.review(lead, aid) if item.consensus is None]
    svc.settle(lead, aid, {i: (answer, "") for i in open_})
    svc.transition(lead, aid, "final")


def test_a_campaign_goes_from_draft_through_review_to_an_immutable_final(svc: Assessments, world: World) -> None:
    aid = campaign(svc, world)
    alice, bob, carol = (world.principal(e) for e in ("alice@a.example", "bob@b.example", "carol@c.example"))
    ids = all_ids(svc, CMM)
    first, second, third = ids[:3]
    assert svc.answer(alice, aid, {first: (Answer.MET, "law passed"), second: ("partly met", "")}).saved == 2
    assert svc.answer(bob, aid, {first: (Answer.NOT_MET, "not enforced"), second: (Answer.PARTLY_MET, "")}).saved == 2
    with pytest.raises(PermissionDeniedError):
        svc.answer(carol, aid, {first: (Answer.MET, "")})
    with pytest.raises(PermissionDeniedError):
        svc.transition(bob, aid, "review")
    with pytest.raises(StateError, match="is draft: cannot settle"):
        svc.settle(alice, aid, {first: (Answer.MET, "")})
    assert svc.transition(alice, aid, "review").state is State.REVIEW
    with pytest.raises(StateError):
        svc.answer(bob, aid, {third: (Answer.MET, "")})

    review = {item.indicator_id: item for item in svc.review(alice, aid)}
    assert review[first].disputed and review[first].agreed is None
    assert not review[second].disputed and review[second].agreed is Answer.PARTLY_MET
    assert svc.settle_agreed(alice, aid).saved == 1
    svc.settle(alice, aid, {first: (Answer.PARTLY_MET, "passed, not yet enforced")})
    kept = svc.consensus(alice, aid)[first]
    assert kept.answer is Answer.PARTLY_MET
    assert dict(kept.disagreement) == {world.alice.id: Answer.MET, world.bob.id: Answer.NOT_MET}
    assert svc.consensus(alice, aid)[second].disagreement == ()

    with pytest.raises(ValidationError, match=rf"{len(ids) - 2} indicator\(s\) have no consensus"):
        svc.transition(alice, aid, "final")
    svc.settle(alice, aid, {i: (Answer.UNKNOWN, "") for i in ids[2:]})
    final = svc.transition(alice, aid, "final")
    assert final.state is State.FINAL and final.final_us is not None and len(final.final_digest or "") == 64

    for change in (
        lambda: svc.settle(alice, aid, {first: (Answer.MET, "")}),
        lambda: svc.add_participant(alice, aid, "anna@a.example", "contributor"),
        lambda: svc.remove_participant(alice, aid, "bob@b.example"),
        lambda: svc.add_link(alice, aid, first, "https://example.org/law"),
        lambda: svc.set_target(alice, aid, "strategic"),
        lambda: svc.transition(alice, aid, "draft"),
    ):
        with pytest.raises((StateError, ValidationError)):
            change()
    assert svc.consensus(alice, aid)[first].answer is Answer.PARTLY_MET
    view = svc.view(alice, aid)
    assert not view.provisional
    assert view.answers[first] is Answer.PARTLY_MET
    actions = [e.action for e in svc.events(alice, aid)]
    assert actions[0] == "created" and actions[-1] == "state" and "settled" in actions


def test_the_store_refuses_a_write_to_a_final_campaign_even_without_the_service_check(
    svc: Assessments, world: World
) -> None:
    aid = campaign(svc, world)
    finish(svc, world, aid)
    with pytest.raises(StateError, match="is final"):
        svc.store.put_contributions(aid, (State.DRAFT,), world.alice.id, {all_ids(svc, CMM)[0]: (Answer.MET, "")}, 1)


def test_an_organisation_outside_the_campaign_cannot_see_it_at_all(svc: Assessments, world: World) -> None:
    aid = campaign(svc, world)
    outsider = world.hub.accounts.create_org("CERT D", "cert-d", "SN", OrgKind.NATIONAL_CERT)
    world.hub.accounts.create_user("dia@d.example", outsider.id, Role.ANALYST)
    dia = world.principal("dia@d.example")
    for read in (svc.get, svc.view, svc.contributions, svc.consensus, svc.evidence, svc.events, svc.review):
        with pytest.raises(NotFoundError):
            read(dia, aid)
    assert svc.campaigns(dia) == ([], 0)
    # A user of the assessed organisation who takes no part still sees everything of their own assessment.
    anna = world.principal("anna@a.example")
    assert svc.decision(anna, aid).access is Access.CAMPAIGN
    assert svc.campaigns(anna)[1] == 1


def test_visibility_shares_final_results_but_never_the_campaign_record(svc: Assessments, world: World) -> None:
    aid = campaign(svc, world)
    acc = world.hub.accounts
    d = acc.create_org("CERT D", "cert-d", "SN", OrgKind.NATIONAL_CERT)
    e = acc.create_org("CERT E", "cert-e", "TN", OrgKind.NATIONAL_CERT)
    acc.create_user("dia@d.example", d.id, Role.READER)
    acc.create_user("eli@e.example", e.id, Role.READER)
    circle = acc.create_circle("maghreb")
    acc.add_to_circle("maghreb", ["cert-e"])
    alice, dia, eli = (world.principal(x) for x in ("alice@a.example", "dia@d.example", "eli@e.example"))

    svc.set_visibility(alice, aid, Visibility(VisibilityScope.COALITION))
    with pytest.raises(NotFoundError):
        svc.get(dia, aid)  # not final yet: nothing is shared before that
    finish(svc, world, aid)
    assert svc.get(dia, aid).state is State.FINAL
    assert svc.decision(dia, aid).code == "coalition"
    shared = svc.consensus(dia, aid)
    assert all(item.decided_by == "" and item.disagreement == () for item in shared.values())
    for record in (svc.contributions, svc.evidence, svc.events, svc.review):
        with pytest.raises(PermissionDeniedError):
            record(dia, aid)

    # The visibility of a final campaign may still change: it is not part of the results.
    svc.set_visibility(alice, aid, Visibility(VisibilityScope.CIRCLES, circle_ids=frozenset({circle.id})))
    with pytest.raises(NotFoundError):
        svc.get(dia, aid)
    assert svc.get(eli, aid).id == aid
    svc.set_visibility(alice, aid, Visibility(VisibilityScope.ORGANISATIONS, org_ids=frozenset({d.id})))
    assert svc.get(dia, aid).id == aid
    with pytest.raises(NotFoundError):
        svc.get(eli, aid)
    with pytest.raises(PermissionDeniedError):
        svc.set_visibility(world.principal("bob@b.example"), aid, Visibility(VisibilityScope.COALITION))
    with pytest.raises(ValidationError, match="unknown trust circle"):
        svc.set_visibility(alice, aid, Visibility(VisibilityScope.CIRCLES, circle_ids=frozenset({"nope"})))
    with pytest.raises(ValidationError, match="only with the scope"):
        svc.set_visibility(alice, aid, Visibility(VisibilityScope.COALITION, org_ids=frozenset({d.id})))


def test_who_may_create_and_manage_a_campaign(svc: Assessments, world: World) -> None:
    with pytest.raises(PermissionDeniedError):
        svc.create(world.principal("anna@a.example"), org_ref="cert-a", model_key=CMM, title="x")  # a reader
    with pytest.raises(PermissionDeniedError):
        svc.create(world.principal("bob@b.example"), org_ref="cert-a", model_key=CMM, title="x")  # another org
    made = svc.create(
        world.principal("admin@hub.example"), org_ref="cert-b", model_key=GCI, title="Oman", lead_ref="bob@b.example"
    )
    assert made.country == "OM" and made.lead_user_id == world.bob.id
    roles = {p.user_id: p.role.value for p in made.participants}
    assert roles == {world.bob.id: "lead", world.admin.id: "observer"}
    with pytest.raises(PermissionDeniedError):
        svc.add_participant(world.principal("admin@hub.example"), made.id, "carol@c.example", "contributor")
    with pytest.raises(ValidationError, match="role"):
        svc.add_participant(world.principal("bob@b.example"), made.id, "carol@c.example", "boss")
    with pytest.raises(ValidationError, match="appoint another lead"):
        svc.add_participant(world.principal("bob@b.example"), made.id, "bob@b.example", "contributor")
    moved = svc.add_participant(world.principal("bob@b.example"), made.id, "carol@c.example", "lead")
    assert moved.lead_user_id == world.carol.id
    assert {p.user_id: p.role.value for p in moved.participants}[world.bob.id] == "reviewer"
    with pytest.raises(NotFoundError):
        svc.create(world.principal("admin@hub.example"), org_ref="cert-a", model_key="nope@1", title="x")
    with pytest.raises(ValidationError, match="title"):
        svc.create(world.principal("alice@a.example"), org_ref="cert-a", model_key=CMM, title="  ")
    with pytest.raises(ValidationError, match="weighted"):
        svc.create(world.principal("alice@a.example"), org_ref="cert-a", model_key=GCI, title="x", target_stage="x")


def test_bad_answers_are_reported_one_by_one_and_the_good_ones_kept(svc: Assessments, world: World) -> None:
    aid = campaign(svc, world)
    alice = world.principal("alice@a.example")
    good = all_ids(svc, CMM)[0]
    outcome = svc.answer(
        alice,
        aid,
        {
            good: (Answer.MET, "ok"),
            "cmm.d9.f9.i9": (Answer.MET, ""),
            all_ids(svc, CMM)[1]: ("maybe", ""),
            all_ids(svc, CMM)[2]: (Answer.MET, "x" * 5000),
        },
    )
    assert outcome.saved == 1
    assert len(outcome.problems) == 3
    assert any("cmm.d9.f9.i9" in p and "not an indicator" in p for p in outcome.problems)
    assert any("'maybe' is not one of" in p for p in outcome.problems)
    assert any("limit is 4000" in p for p in outcome.problems)
    assert [(c.indicator_id, c.comment) for c in svc.contributions(alice, aid)] == [(good, "ok")]


def test_evidence_links_documents_and_who_may_remove_them(svc: Assessments, world: World) -> None:
    aid = campaign(svc, world)
    alice, bob, carol = (world.principal(e) for e in ("alice@a.example", "bob@b.example", "carol@c.example"))
    ind = all_ids(svc, CMM)[0]
    link = svc.add_link(bob, aid, ind, "https://example.org/strategy.pdf", "National strategy")
    assert link.status is EvidenceStatus.ACCEPTED
    with pytest.raises(ValidationError, match="http or https"):
        svc.add_link(bob, aid, ind, "javascript:alert(1)")
    with pytest.raises(PermissionDeniedError):
        svc.add_link(carol, aid, ind, "https://example.org/")
    with pytest.raises(ValidationError, match="not an indicator"):
        svc.add_link(bob, aid, "nope", "https://example.org/")
    body = b"%PDF-1.4 minimal"
    doc = svc.add_document(bob, aid, ind, "../../etc/passwd.pdf", body)
    assert doc.filename == "passwd.pdf" and doc.size == len(body) and doc.media_type == "application/pdf"
    assert svc.document(alice, aid, doc.id) == (doc, body)
    with pytest.raises(ValidationError, match="not a PDF"):
        svc.add_document(bob, aid, ind, "fake.pdf", b"MZ\x90\x00")
    with pytest.raises(ValidationError, match="is not accepted"):
        svc.add_document(bob, aid, ind, "tool.exe", b"MZ")
    small = Assessments.for_hub(world.hub, max_document_bytes=1024)
    with pytest.raises(ValidationError, match="limit is 1024"):
        small.add_document(bob, aid, ind, "big.txt", b"x" * 1025)
    # A contributor removes their own evidence only; the lead may remove any.
    other = svc.add_link(alice, aid, ind, "https://example.org/a")
    with pytest.raises(PermissionDeniedError):
        svc.remove_evidence(bob, aid, other.id)
    svc.remove_evidence(bob, aid, link.id)
    svc.remove_evidence(alice, aid, doc.id)
    assert [e.id for e in svc.evidence(alice, aid)] == [other.id]
    with pytest.raises(NotFoundError):
        svc.document(alice, aid, doc.id)


def test_results_are_provisional_until_final_and_a_later_campaign_is_compared_with_the_last_final(
    svc: Assessments, world: World
) -> None:
    alice = world.principal("alice@a.example")
    first = campaign(svc, world)
    ids = all_ids(svc, CMM)
    svc.answer(alice, first, {ids[0]: (Answer.MET, "")})
    draft = svc.view(alice, first)
    assert draft.provisional and draft.answers == {ids[0]: Answer.MET}
    finish(svc, world, first, Answer.NOT_MET)
    second = svc.create(alice, org_ref="cert-a", model_key=CMM, title="Malaysia 2027")
    assert second.previous_id == first
    svc.answer(alice, second.id, {i: (Answer.MET, "") for i in ids})
    shown = svc.view(alice, second.id)
    assert isinstance(shown.result, ModelResult)
    assert shown.comparison is not None
    overall = next(c for c in shown.comparison.changes if c.scope == "overall")
    assert overall.before == 0 and overall.after == 5 and overall.delta == 5
    assert len(shown.comparison.improved()) == len(shown.comparison.changes)
    assert svc.compare(alice, second.id, first).after_key == CMM


def test_a_pinned_model_version_cannot_silently_change(hub: Hub, world: World, tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    text = (SHIPPED_MODELS / "gci-style.yaml").read_text(encoding="utf-8").replace("id: gci-style", "id: gci-x", 1)
    (models / "x.yaml").write_text(text, encoding="utf-8")
    svc = Assessments.for_hub(hub, models_dir=models)
    made = svc.create(world.principal("alice@a.example"), org_ref="cert-a", model_key="gci-x", title="t")
    assert made.model_key == "gci-x@2026.1"
    # The file is edited in place, keeping its version: the campaign stays on the pinned text, and a new campaign
    # on that version is refused until the version is raised.
    (models / "x.yaml").write_text(text.replace("weight: 20", "weight: 21", 1), encoding="utf-8")
    fresh = Assessments.for_hub(hub, models_dir=models)
    with pytest.raises(ConflictError, match="differs from the text pinned"):
        fresh.create(world.principal("alice@a.example"), org_ref="cert-a", model_key="gci-x@2026.1", title="t")
    assert fresh.model("gci-x@2026.1").dimensions == svc.model("gci-x@2026.1").dimensions


def test_benchmarks_suppress_groups_under_three_countries_and_show_only_readable_own_values(
    hub: Hub, world: World
) -> None:
    svc = Assessments.for_hub(hub, now=Clock())
    acc = hub.accounts
    countries = ["SN", "TN", "EG", "JO"]
    leads = []
    for n, cc in enumerate(countries):
        org = acc.create_org(f"CERT {cc}", f"cert-{cc.lower()}", cc, OrgKind.NATIONAL_CERT)
        leads.append(acc.create_user(f"lead{n}@{cc.lower()}.example", org.id, Role.ANALYST))
    answers = itertools.cycle([Answer.MET, Answer.NOT_MET, Answer.PARTLY_MET])

    def final(n: int) -> None:
        p = acc.principal_for(leads[n].email)
        made = svc.create(p, org_ref=f"cert-{countries[n].lower()}", model_key=GCI, title="GCI")
        ids = all_ids(svc, GCI)
        svc.answer(p, made.id, {i: (next(answers), "") for i in ids})
        svc.transition(p, made.id, "review")
        svc.settle_agreed(p, made.id)
        svc.transition(p, made.id, "final")

    sn = acc.principal_for(leads[0].email)
    empty = svc.benchmark(sn, GCI)
    assert empty.benchmark is None and empty.countries is None
    final(0)
    final(1)
    two = svc.benchmark(sn, GCI)
    assert two.countries is None
    assert two.benchmark is not None
    assert all(s.level.suppressed and s.level.values is None for s in (*two.benchmark.pillars, two.benchmark.overall))
    assert two.own is not None and two.positions  # its own values it always sees
    final(2)
    three = svc.benchmark(sn, GCI)
    assert three.countries == 3 and three.benchmark is not None
    assert three.benchmark.overall.level.values is not None and three.benchmark.overall.level.values.count == 3
    # A viewer whose country has no final campaign sees the aggregates and no own values.
    outsider = svc.benchmark(world.principal("carol@c.example"), GCI)
    assert outsider.own is None and outsider.positions == ()
    assert isinstance(svc.view(sn, svc.campaigns(sn)[0][0].id).result, WeightedResult)
    with pytest.raises(ValidationError):
        Assessments.for_hub(hub, benchmark_minimum=2)


def test_campaign_listing_pages_and_filters(svc: Assessments, world: World) -> None:
    alice = world.principal("alice@a.example")
    made = [svc.create(alice, org_ref="cert-a", model_key=CMM, title=f"t{n}").id for n in range(5)]
    page, total = svc.campaigns(alice, limit=2, offset=1)
    assert total == 5 and [x.id for x in page] == list(reversed(made))[1:3]
    assert svc.campaigns(alice, state=State.FINAL) == ([], 0)
    assert svc.campaigns(alice, country="OM") == ([], 0)
    with pytest.raises(ValidationError):
        svc.campaigns(alice, limit=0)


def test_reports_render_in_english_and_arabic(svc: Assessments, world: World) -> None:
    aid = campaign(svc, world)
    alice = world.principal("alice@a.example")
    finish(svc, world, aid, Answer.PARTLY_MET)
    html = svc.report(alice, aid, language="ar").decode()
    assert 'dir="rtl"' in html and "ماليزيا" in html
    assert svc.report(alice, aid, language="en", fmt="pdf").startswith(b"%PDF-")
    with pytest.raises(ValidationError, match="language"):
        svc.report(alice, aid, language="de")


def test_answers_export_and_import_through_the_service(svc: Assessments, world: World) -> None:
    aid = campaign(svc, world)
    alice, bob = world.principal("alice@a.example"), world.principal("bob@b.example")
    ids = all_ids(svc, CMM)
    csv_file = (
        "indicator_id,answer,comment\n" + f"{ids[0]},met,a\n{ids[1]},sometimes,b\nnope,met,\n{ids[2]},not met,c\n"
    )
    outcome = svc.import_answers(bob, aid, csv_file.encode(), filename="answers.csv")
    assert outcome.saved == 2
    assert any("line 3" in p for p in outcome.problems) and any("line 4" in p for p in outcome.problems)
    assert {(c.indicator_id, c.answer) for c in svc.contributions(bob, aid)} == {
        (ids[0], Answer.MET),
        (ids[2], Answer.NOT_MET),
    }
    exported = svc.export(alice, aid, fmt="csv").decode()
    assert "bob@b.example" in exported and exported.count("\r\n") == 1 + len(ids) + 2
    finish(svc, world, aid, Answer.PARTLY_MET)
    as_json = svc.export(alice, aid, fmt="json", language="ar")
    back = svc.model(CMM)
    from ribat.capacity import read_answers

    assert read_answers(back, as_json).answers == {i: (Answer.PARTLY_MET, "") for i in ids}
    # A viewer of shared results exports the consensus alone: no contributors, no evidence.
    svc.set_visibility(alice, aid, Visibility(VisibilityScope.COALITION))
    d = world.hub.accounts.create_org("CERT D", "cert-d", "SN", OrgKind.NATIONAL_CERT)
    world.hub.accounts.create_user("dia@d.example", d.id, Role.READER)
    shared = svc.export(world.principal("dia@d.example"), aid, fmt="csv").decode()
    assert "bob@b.example" not in shared and "alice@a.example" not in shared and ",contributor," not in shared
    assert shared.count(",partly_met,") == len(ids)
    with pytest.raises(ValidationError, match="format"):
        svc.export(alice, aid, fmt="xlsx")


def test_platform_evidence_is_proposed_from_the_country_s_sharing_and_decided_by_the_assessors(
    svc: Assessments, world: World
) -> None:
    from support import indicator

    alice, bob = world.principal("alice@a.example"), world.principal("bob@b.example")
    now = svc.now()
    world.hub.intel.ingest(
        alice, "shared", {"type": "bundle", "id": "bundle--1", "objects": [indicator(1), indicator(2)]}
    )
    world.hub.intel.ingest(bob, "shared", {"type": "bundle", "id": "bundle--2", "objects": [indicator(3)]})
    aid = campaign(svc, world)
    tagged = {(i.id, m) for i in svc.model(CMM).indicators() for m in i.evidence}
    assert tagged, "the shipped model names platform metrics on some indicators"
    items = svc.propose_platform_evidence(bob, aid, end_us=now + 3_600_000_000)
    assert {(e.indicator_id, e.metric) for e in items} == tagged
    volume = next(e for e in items if e.metric == "sharing.volume")
    # Only Malaysia's organisation counts: alice's two indicators, not bob's (Oman).
    assert volume.status is EvidenceStatus.PROPOSED and volume.value is not None and "2" in volume.value
    assert "CERT A" in (volume.query or "") and "CERT B" not in (volume.query or "")
    assert svc.propose_platform_evidence(bob, aid, end_us=now + 3_600_000_000) == []  # same window: not twice
    with pytest.raises(PermissionDeniedError):
        svc.decide_evidence(bob, aid, volume.id, accept=True)  # a contributor proposes, assessors decide
    assert svc.decide_evidence(alice, aid, volume.id, accept=True).status is EvidenceStatus.ACCEPTED
    assert svc.decide_evidence(alice, aid, items[1].id, accept=False).status is EvidenceStatus.REJECTED
    with pytest.raises(PermissionDeniedError):
        svc.propose_platform_evidence(world.principal("carol@c.example"), aid)  # an observer
