"""Two hubs linked from the web interface in a real browser: Debian's Chromium driven by Playwright against two real
``ribat serve`` processes, each with its own database. Hub B's operator has added hub A as a peer it serves and
handed over the sync key; A's administrator adds B on the peers page, sees it listed, syncs now and reads the run,
in English, Arabic and French. Screenshots are saved in ``test-artifacts/screenshots/``."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from browser import launch, live_hub, new_page, shot, switch

from e2e.federation import coalition
from e2e.live import TLP_GREEN, LiveHub, User, get_all, post_objects

pytestmark = pytest.mark.e2e

# The background sync stays off, so that only the button starts a run; one retry keeps a failure short.
SETTINGS = {"RIBAT_FEDERATION_SCHEDULER": "false", "RIBAT_FEDERATION_RETRIES": "1"}
ADMIN = "admin@a.example"


def indicator(name: str) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": name,
        "pattern": f"[domain-name:value = '{name}.example']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
        "object_marking_refs": [TLP_GREEN],
    }


@dataclasses.dataclass
class Pair:
    a: LiveHub
    b: LiveHub
    sync_key: str  # the key of A's sync account on B
    from_a: list[dict[str, Any]]
    from_b: list[dict[str, Any]]


@pytest.fixture(scope="module")
def hubs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    identities = {n: f"identity--{uuid.uuid4()}" for n in "ab"}
    spec_a = coalition("a", "ab", identities)
    spec_a = dataclasses.replace(spec_a, users=(*spec_a.users, User(ADMIN, "cert-a", "admin")))
    with (
        live_hub(spec_a, tmp_path_factory.mktemp("peers-ui-a"), SETTINGS) as a,
        live_hub(coalition("b", "ab", identities), tmp_path_factory.mktemp("peers-ui-b"), SETTINGS) as b,
    ):
        from_a = [indicator("seen-at-a")]
        from_b = [indicator(f"seen-at-b-{n}") for n in range(3)]
        with a.http("analyst@a.example") as client:
            post_objects(client, a.collection_url("shared"), from_a)
        with b.http("analyst@b.example") as client:
            post_objects(client, b.collection_url("shared"), from_b)
        with b.http() as admin:
            served = admin.post(
                "/api/v1/peers",
                json={
                    "name": "a",
                    "url": a.api_root_url,
                    "direction": "serve",
                    "collections": ["shared"],
                    "org": "cert-a",
                },
            )
            assert served.status_code == 201, served.text
        yield Pair(a, b, served.json()["sync_key"], from_a, from_b)


@pytest.fixture(scope="module")
def chromium(hubs: Pair) -> Iterator[Any]:
    with launch() as browser:
        yield browser


@pytest.fixture
def page(hubs: Pair, chromium: Any) -> Iterator[Any]:
    with new_page(chromium, hubs.a.base_url) as opened:
        yield opened


def _flash(page: Any) -> str:
    text: str = page.locator(".flash").inner_text()
    return text


def test_an_administrator_adds_a_peer_syncs_it_and_reads_the_run(hubs: Pair, page: Any) -> None:
    admin = hubs.a.members[ADMIN]
    page.goto("/login")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(admin.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
    switch(page, "en")

    page.locator("#nav").get_by_role("link", name="Administration").click()
    page.wait_for_url("**/admin/organisations")
    page.locator(".subnav").get_by_role("link", name="Peer hubs").click()
    page.wait_for_url("**/peers")
    assert "No peer hubs yet." in page.locator("main").inner_text()
    page.get_by_label("Name", exact=True).fill("b")
    page.get_by_label("The peer's TAXII 2.1 API root").fill(hubs.b.api_root_url)
    page.get_by_label("Direction").select_option(label="Pull and push")
    page.get_by_label("The key the peer gave this hub").fill(hubs.sync_key)
    page.get_by_label("Collection pairs").fill(f"shared={hubs.b.collections['shared']}")
    page.get_by_label("The local organisation that stands for the peer's operator").select_option(
        label="cert-b · National CERT B"
    )
    page.get_by_label("Highest TLP that crosses").select_option(label="TLP:GREEN")
    page.get_by_label("Sync every (seconds)").fill("600")
    shot(page, "en-peers-add")
    # The full-page screenshot leaves the page scrolled where a click at the button would land beside it.
    page.evaluate("() => window.scrollTo(0, 0)")
    with page.expect_navigation():
        page.get_by_role("button", name="Add the peer").click()

    # The new peer's own sync key (for B's operator, were B to start syncs) is shown once; the peer is listed.
    assert page.locator(".newkey .secret").inner_text().startswith("rbt_")
    row = page.locator('tr[data-peer="b"]')
    assert "not synced yet" in row.inner_text() and "Pull and push" in row.inner_text()
    shot(page, "en-peers-added")

    with page.expect_navigation(url="**/peers"):  # the run's answer redirects back to the list
        row.get_by_role("button", name="Sync with b now").click()
    assert "Sync with b finished (succeeded): 3 pulled, 1 pushed, 0 already held, 0 echoes left out" in _flash(page)
    row = page.locator('tr[data-peer="b"]')
    assert row.locator(".run-state .state").inner_text() == "succeeded"
    assert "3 pulled, 1 pushed, 0 deleted" in row.inner_text()
    assert page.locator(".newkey").count() == 0  # shown once only
    shot(page, "en-peers")

    row.get_by_role("link", name="b").click()
    page.wait_for_url("**/peers/b")
    runs = page.locator("table.runs tbody tr")
    assert runs.count() == 1
    cells = runs.first.locator("td")
    assert cells.nth(1).inner_text() == "by hand" and "succeeded" in cells.nth(2).inner_text()
    assert (cells.nth(4).inner_text(), cells.nth(5).inner_text()) == ("3", "1")
    streams = page.locator("table.checkpoints tbody tr td:nth-child(3)").all_inner_texts()
    assert {"objects pulled", "objects pushed"} <= set(streams)
    shot(page, "en-peer")

    # What B's analyst wrote is on A, and A's on B.
    with hubs.b.http("analyst@b.example") as client:
        on_b = get_all(client, f"{hubs.b.collection_url('shared')}objects/")
    assert {o["id"] for o in hubs.from_a} <= {o["id"] for o in on_b}
    with hubs.a.http("analyst@a.example") as client:
        on_a = get_all(client, f"{hubs.a.collection_url('shared')}objects/")
    assert {o["id"] for o in hubs.from_b} <= {o["id"] for o in on_a}

    switch(page, "ar")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert page.locator(".run-state .state").inner_text() == "ناجحة"
    assert "نقاط الاستئناف" in page.locator("main").inner_text()
    with page.expect_navigation(url="**/peers/b"):
        page.get_by_role("button", name="زامن الآن").click()
    assert "انتهت المزامنة مع b (ناجحة): 0 مُستلَم، 0 مُرسَل" in _flash(page)
    assert page.locator("table.runs tbody tr").count() == 2
    shot(page, "ar-peer")
    page.locator(".subnav").get_by_role("link", name="المنصات النظيرة").click()
    page.wait_for_url("**/peers")
    assert page.locator('tr[data-peer="b"] .run-state .state').inner_text() == "ناجحة"
    shot(page, "ar-peers")

    switch(page, "fr")
    assert "Plateformes pairs" in page.locator("main h2").inner_text()
    assert page.locator('tr[data-peer="b"] .run-state .state').inner_text() == "réussie"
    shot(page, "fr-peers")
    page.locator('tr[data-peer="b"]').get_by_role("link", name="b").click()
    page.wait_for_url("**/peers/b")
    assert "Points de reprise" in page.locator("main").inner_text()
    assert "Récupérer et envoyer" in page.locator("dl.meta").inner_text()
    shot(page, "fr-peer")
