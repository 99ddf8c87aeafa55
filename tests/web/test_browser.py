"""The web interface in a real browser: Debian's Chromium driven by Playwright against a real
``ribat serve``. Screenshots of the key pages in English, Arabic and French are saved in
``test-artifacts/screenshots/``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from e2e.live import Coalition, CollectionSpec, LiveHub, Org, User, start_hub

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
    users=(User("analyst@om-cert.example", "om-cert"), User("analyst@ma-cert.example", "ma-cert")),
    circles={"gulf-wg": ("om-cert", "ma-cert")},
    collections=(CollectionSpec("shared", "Shared indicators", write=("community",)),),
)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is missing (run `make setup` as root)")
    with start_hub("sqlite", COALITION, tmp_path_factory.mktemp("ui")) as hub:
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
    context = chromium.new_context(base_url=live.base_url, locale="en-GB", viewport={"width": 1280, "height": 900})
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


def test_sign_in_switch_to_arabic_contribute_find_and_open(live: LiveHub, page: Any) -> None:
    member = live.members["analyst@om-cert.example"]
    page.goto("/")
    assert page.url.endswith("/login?next=%2F")
    _shot(page, "en-login")
    page.get_by_label("Email").fill(member.email)
    page.get_by_label("Password").fill(member.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
    assert page.locator("h1").inner_text() == "Dashboard"
    _shot(page, "en-dashboard")

    # Arabic: right to left, and the navigation mirrored.
    _switch(page, "ar")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert page.locator("h1").inner_text() == "لوحة المتابعة"
    brand = page.locator("a.brand").bounding_box()
    items = page.locator("#nav li")
    first, last = items.first.bounding_box(), items.last.bounding_box()
    assert brand["x"] > first["x"] > last["x"], "the navigation runs right to left"
    who = page.locator(".who").bounding_box()
    assert who["x"] + who["width"] < last["x"], "the user menu sits at the inline end (the left) in Arabic"
    _shot(page, "ar-dashboard")

    # Contribute an indicator, with the live pattern check.
    page.locator("#nav").get_by_role("link", name="مساهمة").click()
    page.wait_for_url("**/contribute")
    page.get_by_label("نوع القيمة").select_option("domain-name")
    page.get_by_label("القيمة", exact=True).fill("c2.qasr-example.net")
    page.locator("#pattern-check .ok").wait_for()
    assert "domain-name:value = 'c2.qasr-example.net'" in page.locator("#pattern-check code").inner_text()
    page.get_by_label("الاسم", exact=False).first.fill("خادم تحكم وسيطرة")
    page.get_by_label("TLP").select_option("green")
    _shot(page, "ar-contribute")
    page.get_by_role("button", name="مشاركة").click()
    page.wait_for_url("**/objects/indicator--*")
    assert "تمت مشاركة المؤشر." in page.locator(".flash").inner_text()
    object_url = page.url

    # Find it by search and open it.
    page.locator("#nav").get_by_role("link", name="بحث").click()
    page.get_by_label("كلمات للبحث عنها في الأسماء والأوصاف والقيم").fill("qasr-example")
    page.get_by_role("button", name="بحث").last.click()
    page.wait_for_url("**/search?**")
    assert "عُثر على كائن واحد" in page.locator("main").inner_text()
    _shot(page, "ar-search")
    page.get_by_role("link", name="خادم تحكم وسيطرة").click()
    page.wait_for_url(object_url)
    assert "TLP:GREEN" in page.locator("h1").inner_text()
    assert "لماذا يمكنك رؤية هذا" in page.locator(".why").inner_text()
    _shot(page, "ar-object")

    # French, and back to English, for the screenshots of the same pages.
    _switch(page, "fr")
    assert page.evaluate("document.documentElement.dir") == "ltr"
    assert "Pourquoi vous voyez ceci" in page.locator(".why").inner_text()
    _shot(page, "fr-object")
    for lang, path in (("fr", "/"), ("fr", "/search?q=qasr"), ("fr", "/contribute"), ("fr", "/account")):
        page.goto(path)
        _shot(page, f"{lang}-{path.strip('/').split('?')[0] or 'dashboard'}")
    _switch(page, "en")
    for path in ("/search?q=qasr", "/contribute", "/account", object_url.removeprefix(live.base_url)):
        page.goto(path)
        name = "object" if "/objects/" in path else path.strip("/").split("?")[0]
        _shot(page, f"en-{name}")
    _switch(page, "ar")
    page.goto("/account")
    _shot(page, "ar-account")
    assert page.evaluate("document.documentElement.dir") == "rtl"


def test_reading_pages_work_without_javascript(live: LiveHub, chromium: Any) -> None:
    member = live.members["analyst@ma-cert.example"]
    context = chromium.new_context(base_url=live.base_url, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("Email").fill(member.email)
        page.get_by_label("Password").fill(member.password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/")
        page.goto("/search?q=qasr-example")
        assert (
            "object found" in page.locator("main").inner_text() or "objects found" in page.locator("main").inner_text()
        )
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip"
    finally:
        context.close()
