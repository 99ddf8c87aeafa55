"""A hunt walked through in a real browser: Debian's Chromium driven by Playwright against a real ``ribat serve``.
An analyst uploads the Simda capture's dns.log, watches the hunt finish (htmx polls its progress), reads what it
found, downloads the CSV, and the sightings reach the indicator's author. Screenshots of the pages in English,
Arabic and French are saved in ``test-artifacts/screenshots/``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import launch, live_hub, new_page, shot, switch

from e2e.live import TLP_GREEN, Coalition, CollectionSpec, LiveHub, Org, User, get_all, post_objects

pytestmark = pytest.mark.e2e

COALITION = Coalition(
    orgs=(Org("om-cert", "National CERT of Oman", "OM"), Org("ma-cert", "maCERT", "MA")),
    users=(User("analyst@om-cert.example", "om-cert"), User("analyst@ma-cert.example", "ma-cert")),
    collections=(CollectionSpec("shared", "Shared indicators", write=("community",)),),
)
SIMDA = "cti/logs/stratosphere-005-simda"
INDICATOR = {
    "type": "indicator",
    "spec_version": "2.1",
    "id": "indicator--6f1d3c2e-8a4b-4c5d-9e0f-1a2b3c4d5e6f",
    "created": "2024-05-14T00:00:00.000Z",
    "modified": "2024-05-14T00:00:00.000Z",
    "name": "Simda DGA domain",
    "pattern": "[domain-name:value = 'volykyc.com']",
    "pattern_type": "stix",
    "valid_from": "1970-01-01T00:00:00Z",  # the capture's clock starts at the epoch
    "object_marking_refs": [TLP_GREEN],
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    with live_hub(COALITION, tmp_path_factory.mktemp("hunts-ui")) as hub:
        with hub.http("analyst@ma-cert.example") as client:
            post_objects(client, hub.collection_url("shared"), [INDICATOR])
        yield hub


@pytest.fixture(scope="module")
def chromium(live: LiveHub) -> Iterator[Any]:
    with launch() as browser:
        yield browser


@pytest.fixture
def page(live: LiveHub, chromium: Any) -> Iterator[Any]:
    with new_page(chromium, live.base_url, accept_downloads=True) as opened:
        yield opened


def test_an_analyst_uploads_a_log_watches_the_hunt_finish_and_reads_the_results(
    live: LiveHub, page: Any, data_dir: Path
) -> None:
    member = live.members["analyst@om-cert.example"]
    page.goto("/login")
    page.get_by_label("Email").fill(member.email)
    page.get_by_label("Password").fill(member.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
    switch(page, "en")

    page.locator("#nav").get_by_role("link", name="Hunts").click()
    page.wait_for_url("**/hunts")
    assert page.get_by_label("Shared indicators").is_checked()  # the one collection the analyst may read
    page.get_by_label("Log files").set_input_files(str(data_dir / SIMDA / "dns.log"))
    page.get_by_label("Post the sightings to").select_option(label="Shared indicators")
    page.get_by_label("TLP of the sightings").select_option("green")
    shot(page, "en-hunts")
    page.get_by_role("button", name="Start the hunt").click()
    page.wait_for_url("**/hunts/*")
    assert "The hunt has started." in page.locator(".flash").inner_text()

    # htmx polls the progress until the hunt ends and the results replace it.
    page.locator("table.hits").wait_for(timeout=60_000)
    assert page.locator(".hunt-state .state").inner_text() == "finished"
    row = page.locator("table.hits tbody tr")
    assert row.count() == 1
    cells = row.locator("td")
    assert "Simda DGA domain" in cells.nth(0).inner_text() and INDICATOR["id"] in cells.nth(0).inner_text()
    assert cells.nth(1).inner_text() == "7" and "volykyc.com" in cells.nth(4).inner_text()
    assert cells.nth(5).inner_text() == "dns.log"
    assert "7 matches found" in page.locator(".figures").inner_text()
    assert "1 sighting posted." in page.locator("main").inner_text()
    shot(page, "en-hunt")

    with page.expect_download() as download:
        page.get_by_role("link", name="CSV, one row per indicator").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.startswith("indicator_id,name,count,") and "volykyc.com" in text

    # The sighting reached the indicator's author.
    with live.http("analyst@ma-cert.example") as client:
        sightings = get_all(client, f"{live.collection_url('shared')}objects/", {"match[type]": "sighting"})
    assert [(s["sighting_of_ref"], s["count"]) for s in sightings] == [(INDICATOR["id"], 7)]

    switch(page, "ar")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert page.locator(".hunt-state .state").inner_text() == "منتهية"
    assert "المؤشرات التي عُثر عليها" in page.locator("main").inner_text()
    shot(page, "ar-hunt")
    page.locator("#nav").get_by_role("link", name="التعقّب").click()
    page.wait_for_url("**/hunts")
    shot(page, "ar-hunts")
    page.go_back()
    page.wait_for_url("**/hunts/*")

    switch(page, "fr")
    assert "Indicateurs trouvés" in page.locator("main").inner_text()
    assert page.locator(".hunt-state .state").inner_text() == "terminée"
    shot(page, "fr-hunt")
