"""Every page of the web interface, with and without permission."""

from __future__ import annotations

from typing import Any

from support import World, indicator

TLP_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"

READING_PAGES = ["/", "/search", "/search?q=10.0", "/account"]
WRITING_PAGES = ["/contribute", "/upload"]
ADMIN_PAGES = ["/admin/organisations", "/admin/users", "/admin/circles", "/admin/collections"]


def test_pages_redirect_to_sign_in_without_a_session(browser: Any) -> None:
    b = browser()
    for path in [*READING_PAGES, *WRITING_PAGES, *ADMIN_PAGES, "/objects/indicator--x", "/contribute/check"]:
        response = b.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next="), path


def test_every_page_renders_for_an_admin(world: World, browser: Any) -> None:
    world.hub.intel.ingest(world.principal("admin@hub.example"), "shared", {"objects": [indicator(1)]})
    b = browser("admin@hub.example")
    for path in [*READING_PAGES, *WRITING_PAGES, *ADMIN_PAGES, f"/admin/users/{world.alice.id}"]:
        response = b.get(path)
        assert response.status_code == 200, (path, response.text[:500])
        assert response.headers["content-type"].startswith("text/html")
        assert '<html lang="en" dir="ltr">' in response.text


def test_analysts_get_403_on_admin_pages(world: World, browser: Any) -> None:
    b = browser("alice@a.example")
    for path in [*READING_PAGES, *WRITING_PAGES]:
        assert b.get(path).status_code == 200, path
    for path in [*ADMIN_PAGES, f"/admin/users/{world.bob.id}"]:
        assert b.get(path).status_code == 403, path
    assert b.post("/admin/organisations", {"name": "X", "short_name": "x", "country": "OM"}).status_code == 403
    assert "Administration" not in b.get("/").text


def test_readers_cannot_contribute(browser: Any) -> None:
    b = browser("anna@a.example")
    assert b.get("/").status_code == 200
    assert b.get("/contribute").status_code == 403
    assert b.get("/upload").status_code == 403
    assert 'href="/contribute"' not in b.get("/search").text


def test_static_files_are_served_without_a_session(browser: Any) -> None:
    b = browser()
    assert b.get("/static/ribat.css").status_code == 200
    assert "htmx" in b.get("/static/htmx.min.js").text


def test_taxii_errors_stay_json(world: World, browser: Any) -> None:
    response = browser().get("/taxii2/")
    assert response.status_code == 401 and response.headers["content-type"].startswith("application/taxii+json")
