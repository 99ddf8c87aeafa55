"""The web interface in a real browser: Debian's Chromium driven by Playwright against a real
``ribat serve``. Screenshots of the key pages in English, Arabic and French are saved in
``test-artifacts/screenshots/``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import launch, live_hub, new_page, shot, switch

from e2e.live import Coalition, CollectionSpec, LiveHub, Org, User

pytestmark = pytest.mark.e2e

COALITION = Coalition(
    orgs=(Org("om-cert", "National CERT of Oman", "OM"), Org("ma-cert", "maCERT", "MA")),
    users=(User("analyst@om-cert.example", "om-cert"), User("analyst@ma-cert.example", "ma-cert")),
    circles={"gulf-wg": ("om-cert", "ma-cert")},
    collections=(CollectionSpec("shared", "Shared indicators", write=("community",)),),
)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    with live_hub(COALITION, tmp_path_factory.mktemp("ui")) as hub:
        yield hub


@pytest.fixture(scope="module")
def chromium(live: LiveHub) -> Iterator[Any]:
    with launch() as browser:
        yield browser


@pytest.fixture
def page(live: LiveHub, chromium: Any) -> Iterator[Any]:
    with new_page(chromium, live.base_url) as opened:
        yield opened


def test_sign_in_switch_to_arabic_contribute_find_and_open(live: LiveHub, page: Any) -> None:
    member = live.members["analyst@om-cert.example"]
    page.goto("/")
    assert page.url.endswith("/login?next=%2F")
    shot(page, "en-login")
    page.get_by_label("Email").fill(member.email)
    page.get_by_label("Password").fill(member.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
    assert page.locator("h1").inner_text() == "Dashboard"
    shot(page, "en-dashboard")

    # Arabic: right to left, and the navigation mirrored.
    switch(page, "ar")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert page.locator("h1").inner_text() == "لوحة المتابعة"
    brand = page.locator("a.brand").bounding_box()
    items = page.locator("#nav li")
    first, last = items.first.bounding_box(), items.last.bounding_box()
    assert brand["x"] > first["x"] > last["x"], "the navigation runs right to left"
    who = page.locator(".who").bounding_box()
    assert who["x"] + who["width"] < last["x"], "the user menu sits at the inline end (the left) in Arabic"
    shot(page, "ar-dashboard")

    # Contribute an indicator, with the live pattern check.
    page.locator("#nav").get_by_role("link", name="مساهمة").click()
    page.wait_for_url("**/contribute")
    page.get_by_label("نوع القيمة").select_option("domain-name")
    page.get_by_label("القيمة", exact=True).fill("c2.qasr-example.net")
    page.locator("#pattern-check .ok").wait_for()
    assert "domain-name:value = 'c2.qasr-example.net'" in page.locator("#pattern-check code").inner_text()
    page.get_by_label("الاسم", exact=False).first.fill("خادم تحكم وسيطرة")
    page.get_by_label("TLP").select_option("green")
    shot(page, "ar-contribute")
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
    shot(page, "ar-search")
    page.get_by_role("link", name="خادم تحكم وسيطرة").click()
    page.wait_for_url(object_url)
    assert "TLP:GREEN" in page.locator("h1").inner_text()
    assert "لماذا يمكنك رؤية هذا" in page.locator(".why").inner_text()
    shot(page, "ar-object")

    # French, and back to English, for the screenshots of the same pages.
    switch(page, "fr")
    assert page.evaluate("document.documentElement.dir") == "ltr"
    assert "Pourquoi vous voyez ceci" in page.locator(".why").inner_text()
    shot(page, "fr-object")
    for lang, path in (("fr", "/"), ("fr", "/search?q=qasr"), ("fr", "/contribute"), ("fr", "/account")):
        page.goto(path)
        shot(page, f"{lang}-{path.strip('/').split('?')[0] or 'dashboard'}")
    switch(page, "en")
    for path in ("/search?q=qasr", "/contribute", "/account", object_url.removeprefix(live.base_url)):
        page.goto(path)
        name = "object" if "/objects/" in path else path.strip("/").split("?")[0]
        shot(page, f"en-{name}")
    switch(page, "ar")
    page.goto("/account")
    shot(page, "ar-account")
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


REPORT = b"""<html><head><title>Operation Sandfox</title></head><body>
<p>The loader fetches its second stage from hxxp://loader.sandfox[.]example/stage2.bin over plain HTTP.</p>
<p>Stolen files are sent to 45.9.148[.]12 every hour.</p>
</body></html>"""


def test_import_review_and_export_pages(live: LiveHub, page: Any) -> None:
    member = live.members["analyst@om-cert.example"]
    page.goto("/login")
    page.get_by_label("Email").fill(member.email)
    page.get_by_label("Password").fill(member.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
    switch(page, "en")  # the language is the user's setting: another test may have left Arabic

    # Import an IOC list through the form, then read its report.
    page.locator("#nav").get_by_role("link", name="Import and export").click()
    page.wait_for_url("**/imports")
    page.get_by_label("File", exact=True).set_input_files(
        {"name": "c2.txt", "mimeType": "text/plain", "buffer": b"# Sandfox C2\nc2.sandfox.example\nnot a value\n"}
    )
    page.get_by_label("Kind of file").select_option("ioc-list")
    shot(page, "en-imports")
    page.get_by_role("button", name="Import", exact=True).click()
    page.wait_for_url("**/imports/*")
    assert "1 stored" in page.locator(".figures").inner_text().replace("\n", " ")
    assert "not a value" in page.locator("#losses ~ table").inner_text()
    shot(page, "en-import-run")

    # Read a report, publish one candidate and reject the other.
    page.locator(".subnav").get_by_role("link", name="Report extraction").click()
    page.get_by_label("Report", exact=True).set_input_files(
        {"name": "sandfox.html", "mimeType": "text/html", "buffer": REPORT}
    )
    page.get_by_role("button", name="Read the report").click()
    page.wait_for_url("**/extractions/*")
    extraction_path = page.url.removeprefix(live.base_url)
    assert page.locator("mark").count() == 2
    page.locator('input[name="accept"]').first.check()
    page.locator('input[name="reject"]').nth(1).check()
    page.get_by_label("TLP of the published indicators").select_option("green")
    shot(page, "en-extraction")
    page.get_by_role("button", name="Save the review").click()
    page.wait_for_url("**/extractions/*?run=*")
    assert "1 published, 1 rejected" in page.locator(".flash").inner_text()
    shot(page, "en-extraction-reviewed")

    # Count a Zeek export, then download it.
    page.locator(".subnav").get_by_role("link", name="Exports").click()
    page.get_by_label("File format").select_option("zeek")
    page.get_by_role("button", name="Count what would be exported").click()
    page.wait_for_url("**/exports?**")
    export_path = page.url.removeprefix(live.base_url)
    shot(page, "en-exports")
    with page.expect_download() as info:
        page.get_by_role("link", name=re.compile(r"Download ribat-")).click()
    assert "c2.sandfox.example\tIntel::DOMAIN" in Path(info.value.path()).read_text()
    page.goto("/feeds")
    shot(page, "en-feeds")

    for lang in ("ar", "fr"):
        switch(page, lang)
        for path, name in (("/imports", "imports"), (extraction_path, "extraction"), (export_path, "exports")):
            page.goto(path)
            shot(page, f"{lang}-{name}")
        page.goto("/feeds")
        shot(page, f"{lang}-feeds")
    assert page.evaluate("document.documentElement.dir") == "ltr"
    switch(page, "ar")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    switch(page, "en")
