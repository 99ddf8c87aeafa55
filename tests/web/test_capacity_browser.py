"""A capacity assessment walked through in a real browser: Debian's Chromium driven by Playwright against a real
``ribat serve``. The lead creates a campaign, answers, sends it to review, settles it, makes it final, reads the
results and downloads the PDF report. Screenshots of the pages in English, Arabic and French are saved in
``test-artifacts/screenshots/``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from e2e.live import Coalition, LiveHub, Org, User, start_hub

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.e2e

COALITION = Coalition(
    orgs=(Org("om-cert", "National CERT of Oman", "OM"), Org("ma-cert", "maCERT", "MA")),
    users=(User("lead@om-cert.example", "om-cert"), User("analyst@ma-cert.example", "ma-cert")),
)
FIRST = ["cmm.d1.f1.i1", "cmm.d1.f1.i2", "cmm.d1.f2.i1"]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is missing (run `make setup` as root)")
    with start_hub("sqlite", COALITION, tmp_path_factory.mktemp("capacity-ui")) as hub:
        yield hub


@pytest.fixture(scope="module")
def chromium(live: LiveHub) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(live: LiveHub, chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(
        base_url=live.base_url, locale="en-GB", viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    try:
        yield context.new_page()
    finally:
        context.close()


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _switch(page: Any, lang: str) -> None:
    page.locator(f'form.lang button[value="{lang}"]').click()
    page.wait_for_load_state()
    assert page.evaluate("document.documentElement.lang") == lang


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
    _switch(page, "en")

    # A new campaign, from the list page's form.
    page.locator("#nav").get_by_role("link", name="Assessments").click()
    page.wait_for_url("**/assessments")
    page.get_by_label("Maturity model").select_option("coalition-cmm@2026.1")
    page.get_by_label("Title").fill("Oman national review 2026")
    page.get_by_label("Target stage").select_option("established")
    _shot(page, "en-assessments")
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
    _shot(page, "en-assessment-answers")
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
    _shot(page, "en-assessment-review")
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
    _shot(page, "en-assessment-results")
    _switch(page, "ar")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert "خريطة الطريق" in page.locator("main").inner_text()
    _shot(page, "ar-assessment-results")
    results_url = page.url
    for tab, name in (("نظرة عامة", "overview"), ("الإجابات", "answers")):
        page.locator(".subnav").get_by_role("link", name=tab, exact=True).click()
        page.wait_for_load_state()
        _shot(page, f"ar-assessment-{name}")
    page.goto(results_url)
    _switch(page, "fr")
    assert "Feuille de route" in page.locator("main").inner_text()
    _shot(page, "fr-assessment-results")

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
    _shot(page, "fr-benchmarks")
    _switch(page, "en")
