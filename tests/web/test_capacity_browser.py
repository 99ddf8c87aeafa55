"""A capacity assessment walked through in a real browser: Debian's Chromium driven by Playwright against a real
``ribat serve``. The lead creates a campaign, answers, sends it to review, settles it, makes it final, reads the
results and downloads the PDF report. Screenshots of the pages in English, Arabic and French are saved in
``test-artifacts/screenshots/``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import launch, live_hub, new_page, shot, switch

from e2e.live import Coalition, LiveHub, Org, User

pytestmark = pytest.mark.e2e

COALITION = Coalition(
    orgs=(Org("om-cert", "National CERT of Oman", "OM"), Org("ma-cert", "maCERT", "MA")),
    users=(User("lead@om-cert.example", "om-cert"), User("analyst@ma-cert.example", "ma-cert")),
)
FIRST = ["cmm.d1.f1.i1", "cmm.d1.f1.i2", "cmm.d1.f2.i1"]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    with live_hub(COALITION, tmp_path_factory.mktemp("capacity-ui")) as hub:
        yield hub


@pytest.fixture(scope="module")
def chromium(live: LiveHub) -> Iterator[Any]:
    with launch() as browser:
        yield browser


@pytest.fixture
def page(live: LiveHub, chromium: Any) -> Iterator[Any]:
    with new_page(chromium, live.base_url, accept_downloads=True) as opened:
        yield opened


def _flash(page: Any) -> str:
    text: str = page.locator(".flash").inner_text()
    return text


def test_the_lead_runs_a_campaign_to_final_and_reads_its_results(live: LiveHub, page: Any, tmp_path: Path) -> None:
    lead = live.members["lead@om-cert.example"]
    page.goto("/login")
    page.get_by_label("Email").fill(lead.email)
    page.get_by_label("Password").fill(lead.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
    switch(page, "en")

    # A new campaign, from the list page's form.
    page.locator("#nav").get_by_role("link", name="Assessments").click()
    page.wait_for_url("**/assessments")
    page.get_by_label("Maturity model").select_option("coalition-cmm@2026.1")
    page.get_by_label("Title").fill("Oman national review 2026")
    page.get_by_label("Target stage").select_option("established")
    shot(page, "en-assessments")
    page.get_by_role("button", name="Create the assessment").click()
    page.wait_for_url("**/assessments/*")
    assert "Oman national review 2026" in page.locator("h1").inner_text()
    assert "created" in _flash(page)

    # Answer three indicators of the first dimension.
    page.locator(".subnav").get_by_role("link", name="Answers").click()
    page.wait_for_url("**/answer")
    page.locator(f'input[name="answer:{FIRST[0]}"][value="met"]').check()
    page.locator(f'textarea[name="comment:{FIRST[0]}"]').fill("Adopted by the council of ministers.")
    page.locator(f'input[name="answer:{FIRST[1]}"][value="met"]').check()
    page.locator(f'input[name="answer:{FIRST[2]}"][value="partly_met"]').check()
    shot(page, "en-assessment-answers")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/answer?dimension=cmm.d1")
    assert "Answers saved: 3." in _flash(page)
    assert page.locator(f'input[name="answer:{FIRST[2]}"][value="partly_met"]').is_checked()

    # Review: settle what was answered, and the rest as unknown; then final.
    page.locator(".subnav").get_by_role("link", name="Overview").click()
    page.get_by_role("button", name="Send to review").click()
    page.wait_for_load_state()
    assert "in review" in _flash(page)
    page.locator(".subnav").get_by_role("link", name="Review").click()
    page.get_by_role("button", name="Settle every agreed answer").click()
    page.wait_for_load_state()
    assert "3 answers all contributors agreed on are settled." in _flash(page)
    page.get_by_role("button", name="Settle every unanswered indicator as unknown").click()
    page.wait_for_load_state()
    assert "settled as unknown" in _flash(page)
    shot(page, "en-assessment-review")
    page.locator(".subnav").get_by_role("link", name="Overview").click()
    page.get_by_role("button", name="Make final").click()
    page.wait_for_load_state()
    assert "final" in _flash(page)
    assert page.locator(".campaign-line .state").inner_text() == "Final"

    # The results, in the three languages.
    page.locator(".subnav").get_by_role("link", name="Results").click()
    page.wait_for_url("**/results")
    assert page.locator(".provisional").count() == 0
    assert page.locator("svg.radar").count() == 1
    assert "gap:coalition-cmm@2026.1:" in page.locator("table.gaps").inner_text()
    shot(page, "en-assessment-results")
    switch(page, "ar")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert "خريطة الطريق" in page.locator("main").inner_text()
    shot(page, "ar-assessment-results")
    results_url = page.url
    for tab, name in (("نظرة عامة", "overview"), ("الإجابات", "answers")):
        page.locator(".subnav").get_by_role("link", name=tab, exact=True).click()
        page.wait_for_load_state()
        shot(page, f"ar-assessment-{name}")
    page.goto(results_url)
    switch(page, "fr")
    assert "Feuille de route" in page.locator("main").inner_text()
    shot(page, "fr-assessment-results")

    # The PDF report downloads; the HTML one opens.
    with page.expect_download() as info:
        page.locator("ul.downloads a[hreflang='fr']", has_text="PDF").click()
    saved = tmp_path / "report.pdf"
    info.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF-")
    page.locator("ul.downloads a[hreflang='ar']", has_text="HTML").click()
    page.wait_for_url("**/report?lang=ar&format=html")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    page.go_back()

    # The benchmark hides every aggregate of a single country.
    page.goto("/benchmarks")
    assert page.locator("td.agg").count() == 0 and page.locator("td.suppressed").count() > 0
    shot(page, "fr-benchmarks")
    switch(page, "en")
