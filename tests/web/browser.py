"""What the browser tests share: Debian's Chromium driven by Playwright against a real ``ribat serve``.

``live_hub`` starts a hub for a module (failing in CI, skipping elsewhere, when Chromium is missing),
``launch`` opens the browser, ``new_page`` a page in a fresh context, ``shot`` saves a full-page
screenshot under ``test-artifacts/screenshots/`` and ``switch`` changes the interface language.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from e2e.live import Coalition, LiveHub, start_hub

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


@contextmanager
def live_hub(coalition: Coalition, tmp: Path, settings: Mapping[str, str] | None = None) -> Iterator[LiveHub]:
    """``settings``: extra ``RIBAT_*`` environment variables for the hub."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is missing (run `make setup` as root)")
    with start_hub("sqlite", coalition, tmp, settings) as hub:
        yield hub


@contextmanager
def launch() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def new_page(browser: Any, base_url: str, **options: Any) -> Iterator[Any]:
    context = browser.new_context(base_url=base_url, locale="en-GB", viewport={"width": 1280, "height": 900}, **options)
    try:
        yield context.new_page()
    finally:
        context.close()


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def switch(page: Any, lang: str) -> None:
    page.locator(f'form.lang button[value="{lang}"]').click()
    page.wait_for_load_state()
    assert page.evaluate("document.documentElement.lang") == lang
