"""The capacity assessment pages: the list, a campaign's overview, answers, review, evidence and results, the report
and the coalition benchmark — in three languages, for the right users only, every form with its CSRF token."""

from __future__ import annotations

import re
from typing import Any

import pytest
from markupsafe import escape

from ribat.capacity import Answer, Assessments, EvidenceKind, State
from ribat.web.ui.i18n import translator
from support import World

CMM = "coalition-cmm@2026.1"
GCI = "gci-style@2026.1"
D1 = ["cmm.d1.f1.i1", "cmm.d1.f1.i2", "cmm.d1.f1.i3"]
PAGES = ["", "/answer", "/review", "/evidence", "/results"]
TITLE = re.compile(r"<h1>(.*?)</h1>", re.DOTALL)


class Clock:
    def __init__(self) -> None:
        self.t = 1_800_000_000_000_000

    def __call__(self) -> int:
        self.t += 1_000_000
        return self.t


@pytest.fixture
def svc(app: Any, world: World) -> Assessments:
    """The service the pages use (kept on ``app.state``, as the pages keep theirs), with a test clock."""
    service = Assessments.for_hub(world.hub, now=Clock())
    app.state.assessments = service
    return service


def _campaign(svc: Assessments, world: World, *, lead: str = "alice@a.example", org: str = "cert-a") -> str:
    found = svc.create(world.principal(lead), org_ref=org, model_key=CMM, title="National review 2026")
    return found.id


def _final(svc: Assessments, world: World, lead: str, org: str, answer: Answer = Answer.MET) -> str:
    """A final campaign of ``org``'s country on the CMM where every indicator has ``answer``."""
    aid = _campaign(svc, world, lead=lead, org=org)
    principal = world.principal(lead)
    ids = [i.id for i in svc.model(CMM).indicators()]
    svc.answer(principal, aid, {i: (answer, "") for i in ids})
    svc.transition(principal, aid, "review")
    svc.settle_agreed(principal, aid)
    svc.transition(principal, aid, "final")
    return aid


def _location(response: Any) -> str:
    assert response.status_code == 303, response.text[-3000:]
    location: str = response.headers["location"]
    return location


def _answer_form(**answers: str) -> dict[str, str]:
    return {f"answer:{key.replace('_', '.')}": value for key, value in answers.items()}


def test_the_pages_need_a_session(browser: Any) -> None:
    b = browser()
    for path in ["/assessments", "/assessments/x", "/assessments/x/results", "/benchmarks"]:
        response = b.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next="), path


@pytest.mark.parametrize("lang", ["en", "ar", "fr"])
def test_every_page_speaks_the_users_language(svc: Assessments, world: World, browser: Any, lang: str) -> None:
    aid = _campaign(svc, world)
    alice = world.principal("alice@a.example")
    svc.answer(alice, aid, {D1[0]: (Answer.MET, "adopted in 2024")})
    svc.add_link(alice, aid, D1[0], "https://gov.example/strategy", "National strategy")
    world.hub.accounts.set_locale("alice@a.example", lang)
    t = translator(lang)
    b = browser("alice@a.example")
    expected = {
        "/assessments": "New assessment",
        f"/assessments/{aid}": "Participants",
        f"/assessments/{aid}/answer": "Partly met",
        f"/assessments/{aid}/review": "All indicators",
        f"/assessments/{aid}/evidence": "Every kind",
        f"/assessments/{aid}/results": "Provisional result.",
        f"/benchmarks?model={CMM}": "Coalition benchmark",
    }
    for path, message in expected.items():
        response = b.get(path)
        assert response.status_code == 200, (path, response.text[-2000:])
        page = response.text
        assert f'<html lang="{lang}" dir="{"rtl" if lang == "ar" else "ltr"}">' in page, path
        assert t.gettext(message) in page, (path, message)
        assert f'<a href="/assessments" aria-current="page">{t.gettext("Assessments")}</a>' in page, path
        if lang != "en":
            assert t.gettext(message) != message, f"{message!r} has no {lang} translation"
    # The model's own texts are shown in the same language.
    model = svc.model(CMM)
    answer_page = b.get(f"/assessments/{aid}/answer").text
    assert escape(model.indicator(D1[0]).text[lang]) in answer_page
    assert escape(model.dimension("cmm.d1").name[lang]) in answer_page
    results = b.get(f"/assessments/{aid}/results").text
    assert escape(model.factor("cmm.d1.f1").name[lang]) in results and 'class="radar"' in results


def test_an_outsider_gets_the_same_not_found_page_as_for_a_missing_campaign(
    svc: Assessments, world: World, browser: Any
) -> None:
    aid = _campaign(svc, world)
    alice = world.principal("alice@a.example")
    svc.add_document(alice, aid, D1[0], "plan.txt", b"the national plan", "Plan")
    evidence_id = svc.evidence(alice, aid)[0].id
    carol = browser("carol@c.example")
    missing = "00000000-0000-4000-8000-000000000000"
    for path in [*PAGES, "/report?lang=en&format=html", "/export?format=csv", f"/evidence/{evidence_id}/content"]:
        gone = carol.get(f"/assessments/{missing}{path}")
        hidden = carol.get(f"/assessments/{aid}{path}")
        assert gone.status_code == hidden.status_code == 404, path
        assert TITLE.findall(gone.text) == TITLE.findall(hidden.text) == [translator("en").gettext("Not found.")]
    forms: dict[str, dict[str, Any]] = {
        "/state": {"to": "review"},
        "/participants": {"user": "carol@c.example", "role": "lead"},
        "/participants/remove": {"user": world.alice.id},
        "/visibility": {"scope": "coalition"},
        "/target": {"target": "dynamic"},
        "/answer": {"dimension": "cmm.d1", f"answer:{D1[0]}": "met"},
        "/review": {f"consensus:{D1[0]}": "met"},
        "/review/agreed": {},
        "/review/unanswered": {},
        f"/evidence/{evidence_id}/remove": {},
        f"/evidence/{evidence_id}/decision": {"decision": "reject"},
    }
    for path, data in forms.items():
        assert carol.post(f"/assessments/{aid}{path}", data).status_code == 404, path
    assert "National review 2026" not in carol.get("/assessments").text
    found = svc.get(alice, aid)
    assert found.state is State.DRAFT and [p.user_id for p in found.participants] == [world.alice.id]
    assert found.visibility.scope.value == "campaign" and found.target_stage is None
    assert svc.contributions(alice, aid) == [] and len(svc.evidence(alice, aid)) == 1


def test_the_lead_takes_a_campaign_from_draft_to_final_through_the_forms(
    svc: Assessments, world: World, browser: Any
) -> None:
    alice = browser("alice@a.example")
    alice.get("/assessments")
    base = _location(
        alice.post(
            "/assessments",
            {"organisation": world.org_a.id, "model": CMM, "title": "Malaysia 2026", "lead": "", "target": ""},
        )
    )
    aid = base.rsplit("/", 1)[1]
    lead = world.principal("alice@a.example")
    overview = alice.get(base).text
    assert "Assessment “Malaysia 2026” created." in overview and "Send to review" in overview

    # The lead brings in a contributor; a user who does not exist is reported at the form.
    _location(alice.post(f"{base}/participants", {"user": "bob@b.example", "role": "contributor"}))
    assert "bob@b.example takes part as Contributor." in alice.get(base).text
    response = alice.post(f"{base}/participants", {"user": "nobody@nowhere.example", "role": "reviewer"})
    assert response.status_code == 400 and "nobody@nowhere.example" in response.text
    assert "Participants" in response.text  # the overview again, with the problem at its section

    # The contributor answers on the dimension's page; they cannot move the campaign.
    bob = browser("bob@b.example")
    bob.get(f"{base}/answer?dimension=cmm.d1")
    answered = bob.post(
        f"{base}/answer",
        {
            "dimension": "cmm.d1",
            f"answer:{D1[0]}": "not_met",
            f"comment:{D1[0]}": "not enforced",
            f"answer:{D1[1]}": "met",
        },
    )
    assert _location(answered) == f"{base}/answer?dimension=cmm.d1"
    assert "Answers saved: 2. Evidence added: 0." in bob.get(answered.headers["location"]).text
    assert bob.post(f"{base}/state", {"to": "review"}).status_code == 403

    alice.get(f"{base}/answer?dimension=cmm.d1")
    _location(
        alice.post(
            f"{base}/answer",
            {
                "dimension": "cmm.d1",
                f"answer:{D1[0]}": "met",
                f"answer:{D1[1]}": "met",
                f"answer:{D1[2]}": "partly_met",
            },
        )
    )
    page = alice.get(f"{base}/answer?dimension=cmm.d1").text
    assert f'name="answer:{D1[2]}" value="partly_met" checked' in page
    unchanged = alice.post(f"{base}/answer", {"dimension": "cmm.d1", f"answer:{D1[0]}": "met"})
    assert "Nothing to save: no answer changed" in alice.get(_location(unchanged)).text

    # Review: answers close; going final before every indicator is settled is refused and says why.
    _location(alice.post(f"{base}/state", {"to": "review"}))
    assert svc.get(lead, aid).state is State.REVIEW
    closed = bob.get(f"{base}/answer?dimension=cmm.d1").text
    assert 'type="radio"' not in closed and "answers are closed" in closed
    early = alice.post(f"{base}/state", {"to": "final"})
    assert early.status_code == 400 and "have no consensus answer yet" in early.text
    assert svc.get(lead, aid).state is State.REVIEW

    review = alice.get(f"{base}/review").text
    assert f'class="indicator disputed" id="review-{D1[0]}"' in review
    assert f'class="indicator" id="review-{D1[1]}"' in review
    assert "bob@b.example" in review and "not enforced" in review

    _location(
        alice.post(f"{base}/review", {f"consensus:{D1[0]}": "partly_met", f"note:{D1[0]}": "passed, not enforced"})
    )
    settled = svc.consensus(lead, aid)
    assert settled[D1[0]].answer is Answer.PARTLY_MET and settled[D1[0]].comment == "passed, not enforced"
    assert dict(settled[D1[0]].disagreement) == {world.alice.id: Answer.MET, world.bob.id: Answer.NOT_MET}
    agreed = alice.post(f"{base}/review/agreed")
    assert "2 answers all contributors agreed on are settled." in alice.get(_location(agreed)).text
    rest = alice.post(f"{base}/review/unanswered")
    total = len(list(svc.model(CMM).indicators()))
    assert f"{total - 3} indicators nobody answered are settled as unknown." in alice.get(_location(rest)).text
    review = alice.get(f"{base}/review").text
    assert "When it was settled, the answers differed:" in review and "passed, not enforced" in review

    _location(alice.post(f"{base}/state", {"to": "final"}))
    found = svc.get(lead, aid)
    assert found.state is State.FINAL and found.final_digest
    overview = alice.get(base).text
    assert "The campaign is final: its answers and results no longer change." in overview
    assert f'action="{base}/state"' not in overview and f'action="{base}/participants"' not in overview
    for action in ("Campaign created", "Participant added or role changed", "Consensus answers settled"):
        assert action in overview
    results = alice.get(f"{base}/results").text
    assert "Provisional result." not in results and "Report (PDF)" in results
    assert 'type="radio"' not in alice.get(f"{base}/answer").text
    assert alice.post(f"{base}/review/agreed").status_code == 409  # a final campaign changes no more


def test_a_form_without_its_csrf_token_is_refused(svc: Assessments, world: World, browser: Any) -> None:
    aid = _campaign(svc, world)
    lead = world.principal("alice@a.example")
    alice = browser("alice@a.example")
    alice.get("/assessments")
    create = {"organisation": world.org_a.id, "model": CMM, "title": "Forged", "lead": "", "target": ""}
    assert alice.post("/assessments", create, csrf=False).status_code == 403
    assert alice.post("/assessments", {**create, "csrf_token": "forged"}, csrf=False).status_code == 403
    assert svc.campaigns(lead)[1] == 1
    assert alice.post(f"/assessments/{aid}/state", {"to": "review"}, csrf=False).status_code == 403
    assert svc.get(lead, aid).state is State.DRAFT
    refused = alice.post(f"/assessments/{aid}/answer", {"dimension": "cmm.d1", f"answer:{D1[0]}": "met"}, csrf=False)
    assert refused.status_code == 403 and "This form has expired" in refused.text
    assert svc.contributions(lead, aid) == []
    # The same forms with the token go through.
    assert (
        alice.post(f"/assessments/{aid}/answer", {"dimension": "cmm.d1", f"answer:{D1[0]}": "met"}).status_code == 303
    )
    assert [c.answer for c in svc.contributions(lead, aid)] == [Answer.MET]


def test_saving_reports_each_bad_item_and_keeps_the_others_and_documents_keep_a_plain_name(
    svc: Assessments, world: World, browser: Any
) -> None:
    aid = _campaign(svc, world)
    lead = world.principal("alice@a.example")
    alice = browser("alice@a.example")
    alice.get(f"/assessments/{aid}/answer")
    response = alice.post(
        f"/assessments/{aid}/answer",
        {
            "dimension": "cmm.d1",
            f"answer:{D1[0]}": "met",
            f"answer:{D1[1]}": "maybe",
            f"comment:{D1[2]}": "a comment without an answer",
            f"link:{D1[1]}": "ftp://files.example/plan",
            f"link:{D1[2]}": "https://gov.example/plan",
            f"link_title:{D1[2]}": "The plan",
        },
        files={
            f"file:{D1[0]}": ("../../../etc/cron.d/evil.txt", b"<script>alert(1)</script>", "text/html"),
            f"file:{D1[1]}": ("tool.exe", b"MZ\x90\x00", "application/octet-stream"),
        },
    )
    assert response.status_code == 400
    page = response.text
    assert "Answers saved: 1. Evidence added: 2." in page
    assert f"{D1[1]}: answer: &#39;maybe&#39; is not one of" in page
    assert f"{D1[1]}: url: must be an http or https address" in page
    assert f"{D1[1]}: document: .exe is not accepted" in page
    assert f"{D1[2]}: choose an answer to save the comment with." in page
    assert ">a comment without an answer</textarea>" in page  # what was typed is not lost
    assert [(c.indicator_id, c.answer) for c in svc.contributions(lead, aid)] == [(D1[0], Answer.MET)]
    items = svc.evidence(lead, aid)
    documents = [e for e in items if e.kind is EvidenceKind.DOCUMENT]
    assert [(d.indicator_id, d.filename, d.media_type) for d in documents] == [(D1[0], "evil.txt", "text/plain")]
    assert [e.url for e in items if e.kind is EvidenceKind.LINK] == ["https://gov.example/plan"]

    download = alice.get(f"/assessments/{aid}/evidence/{documents[0].id}/content")
    assert download.status_code == 200 and download.content == b"<script>alert(1)</script>"
    assert download.headers["content-disposition"].startswith('attachment; filename="evil.txt"')
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-type"].startswith("text/plain")
    listed = alice.get(f"/assessments/{aid}/evidence").text
    assert "evil.txt" in listed and "cron.d" not in listed
    # Removing it from the answers page goes back there.
    back = f"/assessments/{aid}/answer?dimension=cmm.d1"
    removed = alice.post(f"/assessments/{aid}/evidence/{documents[0].id}/remove", {"back": back})
    assert _location(removed) == back and len(svc.evidence(lead, aid)) == 1
    outside = alice.post(f"/assessments/{aid}/evidence/{items[-1].id}/remove", {"back": "https://evil.example/"})
    assert _location(outside) == f"/assessments/{aid}/evidence"


def test_figures_from_the_platform_are_proposed_then_accepted_or_rejected_by_the_lead(
    svc: Assessments, world: World, browser: Any
) -> None:
    aid = _campaign(svc, world)
    lead = world.principal("alice@a.example")
    svc.add_participant(lead, aid, "bob@b.example", "contributor")
    bob = browser("bob@b.example")
    page = bob.get(f"/assessments/{aid}/evidence").text
    assert "Compute evidence from the platform" not in page and "No evidence yet." in page
    alice = browser("alice@a.example")
    alice.get(f"/assessments/{aid}/evidence")
    computed = alice.post(f"/assessments/{aid}/evidence/platform")
    wanted = [(i.id, m) for i in svc.model(CMM).indicators() for m in i.evidence]
    assert wanted, "the shipped model names platform metrics"
    page = alice.get(_location(computed)).text
    assert f"{len(wanted)} figures from the platform proposed; accept or reject them below." in page
    items = svc.evidence(lead, aid)
    assert sorted((e.indicator_id, e.metric) for e in items) == sorted(wanted)
    assert {e.kind for e in items} == {EvidenceKind.PLATFORM} and {e.status.value for e in items} == {"proposed"}
    assert page.count('value="accept"') == len(wanted) and escape(items[0].query or "") in page
    # Only the lead and reviewers decide.
    assert 'value="accept"' not in bob.get(f"/assessments/{aid}/evidence").text
    assert bob.post(f"/assessments/{aid}/evidence/{items[0].id}/decision", {"decision": "accept"}).status_code == 403
    _location(alice.post(f"/assessments/{aid}/evidence/{items[0].id}/decision", {"decision": "accept"}))
    _location(alice.post(f"/assessments/{aid}/evidence/{items[1].id}/decision", {"decision": "reject"}))
    statuses = {e.id: e.status.value for e in svc.evidence(lead, aid)}
    assert statuses[items[0].id] == "accepted" and statuses[items[1].id] == "rejected"
    assert list(statuses.values()).count("proposed") == len(wanted) - 2
    rejected = alice.get(f"/assessments/{aid}/evidence?status=rejected").text
    assert rejected.count('<tr class="evidence-rejected">') == 1 and "evidence-proposed" not in rejected


def test_observers_and_the_assessed_organisation_read_the_campaign_without_answering(
    svc: Assessments, world: World, browser: Any
) -> None:
    aid = _campaign(svc, world)
    svc.add_participant(world.principal("alice@a.example"), aid, "carol@c.example", "observer")
    for email, notice in (
        ("carol@c.example", "You observe this campaign: you may read it but not answer."),
        ("anna@a.example", "You do not take part in this campaign: you may read it but not answer."),
    ):
        b = browser(email)
        page = b.get(f"/assessments/{aid}/answer").text
        assert notice in page and 'type="radio"' not in page and 'type="file"' not in page
        assert (
            b.post(f"/assessments/{aid}/answer", {"dimension": "cmm.d1", f"answer:{D1[0]}": "met"}).status_code == 403
        )
        assert 'action="/assessments/' + aid + '/state"' not in b.get(f"/assessments/{aid}").text
    assert svc.contributions(world.principal("alice@a.example"), aid) == []


def test_shared_results_can_be_read_but_never_the_campaign_record(svc: Assessments, world: World, browser: Any) -> None:
    aid = _final(svc, world, "alice@a.example", "cert-a")
    carol, bob = browser("carol@c.example"), browser("bob@b.example")
    assert carol.get(f"/assessments/{aid}/results").status_code == 404
    alice = browser("alice@a.example")
    _location(alice.post(f"/assessments/{aid}/visibility", {"scope": "coalition"}))
    overview = carol.get(f"/assessments/{aid}")
    assert overview.status_code == 200
    assert "The assessed country shared these results with every organisation of the hub." in overview.text
    assert "alice@a.example" not in overview.text and "Record" not in overview.text
    assert carol.get(f"/assessments/{aid}/results").status_code == 200
    for path in ("/answer", "/review", "/evidence"):
        assert carol.get(f"/assessments/{aid}{path}").status_code == 403, path
    # Shared with a trust circle: its members' organisations only.
    _location(alice.post(f"/assessments/{aid}/visibility", {"scope": "circles", "circles": [world.circle.id]}))
    assert carol.get(f"/assessments/{aid}/results").status_code == 404
    assert bob.get(f"/assessments/{aid}/results").status_code == 200
    # Circles go with the circles scope only.
    bad = alice.post(f"/assessments/{aid}/visibility", {"scope": "circles"})
    assert bad.status_code == 400 and "name at least one trust circle" in bad.text


def test_the_report_and_the_answers_are_served_in_each_language(svc: Assessments, world: World, browser: Any) -> None:
    aid = _final(svc, world, "alice@a.example", "cert-a", Answer.PARTLY_MET)
    alice = browser("alice@a.example")
    results = alice.get(f"/assessments/{aid}/results").text
    for lang in ("en", "ar", "fr"):
        for fmt in ("html", "pdf"):
            assert f"/assessments/{aid}/report?lang={lang}&amp;format={fmt}" in results
    html = alice.get(f"/assessments/{aid}/report?lang=ar&format=html")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert 'dir="rtl"' in html.text and "ماليزيا" in html.text
    pdf = alice.get(f"/assessments/{aid}/report?lang=fr&format=pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-") and pdf.headers["content-disposition"].startswith("attachment;")
    assert alice.get(f"/assessments/{aid}/report?lang=xx&format=html").status_code == 400
    csv = alice.get(f"/assessments/{aid}/export?format=csv")
    assert csv.status_code == 200 and csv.text.startswith("assessment_id,country,model")
    assert csv.headers["content-disposition"].startswith("attachment;")
    assert alice.get(f"/assessments/{aid}/export?format=json").json()["assessment"]["id"] == aid


def test_a_weighted_model_shows_pillar_scores_a_tier_and_the_questions_to_gain_points(
    svc: Assessments, world: World, browser: Any
) -> None:
    lead = world.principal("alice@a.example")
    aid = svc.create(lead, org_ref="cert-a", model_key=GCI, title="Commitment index 2026").id
    model = svc.model(GCI)
    first, second = list(model.indicators())[:2]
    svc.answer(lead, aid, {first.id: (Answer.MET, ""), second.id: (Answer.NOT_MET, "")})
    alice = browser("alice@a.example")
    answer_page = alice.get(f"/assessments/{aid}/answer").text
    assert f"Weight: {first.weight:g}" in answer_page and "Stage:" not in answer_page
    results = alice.get(f"/assessments/{aid}/results").text
    assert "score (0 to 100)" in results and escape(model.tiers[0].name["en"]) in results
    assert 'class="chart"' in results and 'class="radar"' not in results
    # Every question not answered yes is listed with its stable id; the one answered yes is not.
    assert f"gap:{GCI}:{second.id}" in results and f"gap:{GCI}:{first.id}" not in results
    assert "Report (PDF)" in results and "Answers as CSV" in results
    report = alice.get(f"/assessments/{aid}/report?lang=fr&format=html")
    assert report.status_code == 200 and escape(model.title["fr"]) in report.text


def test_the_benchmark_shows_no_number_until_three_countries_have_a_final(
    svc: Assessments, world: World, browser: Any
) -> None:
    _final(svc, world, "alice@a.example", "cert-a")
    _final(svc, world, "bob@b.example", "cert-b", Answer.NOT_MET)

    def body(page: str) -> str:
        return page[page.index("<tbody>") : page.index("</tbody>")]

    hidden = translator("en").gettext("Hidden: fewer than %(minimum)s countries", minimum="3")
    carol = browser("carol@c.example")
    page = carol.get(f"/benchmarks?model={CMM}").text
    rows = body(page)
    assert hidden in rows and 'class="agg"' not in rows
    assert not re.search(r"\d", re.sub(r"<[^>]+>", " ", rows).replace(hidden, ""))
    assert "countries have a final assessment" not in page and "Your country has no final assessment" in page
    # A member of an assessed country sees its own values beside the (still hidden) aggregates.
    alice_page = browser("alice@a.example").get(f"/benchmarks?model={CMM}").text
    assert 'class="agg"' not in alice_page and body(alice_page).count('<td class="own">') > 10

    _final(svc, world, "carol@c.example", "cert-c", Answer.PARTLY_MET)
    page = carol.get(f"/benchmarks?model={CMM}").text
    assert "3 countries have a final assessment on this model version." in page
    assert 'class="agg"' in page and hidden not in page


def test_the_list_pages_and_filters_by_state(svc: Assessments, world: World, browser: Any) -> None:
    lead = world.principal("alice@a.example")
    ids = [svc.create(lead, org_ref="cert-a", model_key=CMM, title=f"Review number {n:02d}").id for n in range(26)]
    svc.transition(lead, ids[0], "review")
    alice = browser("alice@a.example")
    first = alice.get("/assessments").text
    assert first.count('<tr>\n    <td><a href="/assessments/') == 25 and "(26)" in first
    assert 'href="/assessments?page=2" rel="next"' in first and "Page 1 of 2" in first
    second = alice.get("/assessments?page=2").text
    assert second.count('<tr>\n    <td><a href="/assessments/') == 1 and "Review number 00" in second
    in_review = alice.get("/assessments?state=review").text
    assert in_review.count('<tr>\n    <td><a href="/assessments/') == 1 and "Review number 00" in in_review
    assert "Malaysia" in first  # the country, named in the user's language
    assert alice.get("/assessments?state=closed").status_code == 400
    # Readers see the list but not the form; another organisation's analyst may not assess this one.
    anna = browser("anna@a.example")
    assert 'method="post" action="/assessments"' not in anna.get("/assessments").text
    bob = browser("bob@b.example")
    bob.get("/assessments")
    refused = bob.post(
        "/assessments", {"organisation": world.org_a.id, "model": CMM, "title": "Not ours", "lead": "", "target": ""}
    )
    assert (
        refused.status_code == 400 and "Analysts may create assessments of their own organisation only." in refused.text
    )
    assert 'value="Not ours"' in refused.text  # the form keeps what was typed


def test_results_compare_with_the_previous_final_campaign(svc: Assessments, world: World, browser: Any) -> None:
    before = _final(svc, world, "alice@a.example", "cert-a", Answer.MET)
    lead = world.principal("alice@a.example")
    later = _campaign(svc, world)
    assert svc.get(lead, later).previous_id == before
    model = svc.model(CMM)
    first = model.dimensions[0]
    svc.answer(lead, later, {i.id: (Answer.MET, "") for i in model.indicators() if i.dimension != first.id})
    svc.answer(lead, later, {i.id: (Answer.NOT_MET, "") for i in first.indicators()})
    alice = browser("alice@a.example")
    page = alice.get(f"/assessments/{later}/results").text
    assert "Since the previous final assessment" in page and f'href="/assessments/{before}/results"' in page
    declined = page[page.index('<ul class="declined">') : page.index("</ul>", page.index('<ul class="declined">'))]
    for factor in first.factors:
        assert escape(factor.name["en"]) in declined
    assert escape(first.name["en"]) in declined and "Nothing improved." in page
    assert "Provisional result." in page
