"""The feed pages: the list, a feed with its runs, defining, running, disabling and removing
feeds, for the right users only, in three languages. The feeds read a directory of STIX files,
so no network is needed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ribat.feeds import Feeds
from ribat.intel import ObjectFilter
from support import World, indicator


def _directory(tmp_path: Path, *numbers: int) -> Path:
    drop = tmp_path / "drop"
    drop.mkdir(exist_ok=True)
    for n in numbers:
        bundle = {"type": "bundle", "id": f"bundle--00000000-0000-4000-8000-{n:012d}", "objects": [indicator(n)]}
        (drop / f"{n}.json").write_text(json.dumps(bundle))
    return drop


def _define(b: Any, source: Path | str, **fields: str) -> Any:
    form = {"name": "drop box", "kind": "directory", "source": str(source), "collection": "shared", "every": "30"}
    form.update(fields)
    return b.post("/feeds", form)


def _feed_id(response: Any) -> str:
    assert response.status_code == 303, response.text[:2000]
    location: str = response.headers["location"]
    assert location.startswith("/feeds/")
    return location.removeprefix("/feeds/")


def test_feed_pages_need_a_session(browser: Any) -> None:
    b = browser()
    for path in ["/feeds", "/feeds/x"]:
        response = b.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next="), path


def test_define_list_and_run_a_directory_feed(world: World, browser: Any, tmp_path: Path) -> None:
    drop = _directory(tmp_path, 1, 2)
    admin = browser("admin@hub.example")
    feed_id = _feed_id(_define(admin, drop, user=world.alice.id, tlp="green", tags="drop, partner"))
    feed = Feeds.for_hub(world.hub).get(feed_id)
    assert feed.owner_user_id == world.alice.id and feed.tags == ("drop", "partner") and feed.interval_minutes == 30

    listing = admin.get("/feeds").text
    assert "drop box" in listing and str(drop.resolve()) in listing and "every 30 minutes" in listing
    page = admin.get(f"/feeds/{feed_id}").text
    assert "This feed has not run yet." in page and 'action="/feeds/' + feed_id + '/run"' in page

    alice = browser("alice@a.example")
    response = alice.post(f"/feeds/{feed_id}/run")
    assert response.status_code == 303
    flash_page = alice.get(response.headers["location"]).text
    assert "Run finished (succeeded): 2 fetched, 2 stored, 0 merged, 0 failed." in flash_page
    assert "by hand" in flash_page
    runs = Feeds.for_hub(world.hub).runs(feed_id)
    assert len(runs) == 1 and runs[0].stored == 2
    page = world.hub.intel.objects(world.principal("alice@a.example"), "shared", ObjectFilter(), limit=100)
    assert {indicator(1)["id"], indicator(2)["id"]} <= {m.object_id for m in page.metas}
    # The list shows the last run.
    assert "2 stored, 0 merged, 0 failed" in alice.get("/feeds").text


def test_feeds_of_another_organisation_are_not_found(world: World, browser: Any, tmp_path: Path) -> None:
    admin = browser("admin@hub.example")
    feed_id = _feed_id(_define(admin, _directory(tmp_path, 3), user=world.alice.id))
    bob = browser("bob@b.example")
    assert bob.get(f"/feeds/{feed_id}").status_code == 404
    assert "drop box" not in bob.get("/feeds").text
    assert bob.post(f"/feeds/{feed_id}/run").status_code == 404
    assert Feeds.for_hub(world.hub).runs(feed_id) == []


def test_readers_see_feeds_but_cannot_run_or_define_them(world: World, browser: Any, tmp_path: Path) -> None:
    admin = browser("admin@hub.example")
    feed_id = _feed_id(_define(admin, _directory(tmp_path, 4), user=world.alice.id))
    anna = browser("anna@a.example")
    page = anna.get(f"/feeds/{feed_id}").text
    assert "drop box" in page and "/run" not in page
    assert 'action="/feeds"' not in anna.get("/feeds").text
    assert anna.post(f"/feeds/{feed_id}/run").status_code == 403
    assert Feeds.for_hub(world.hub).runs(feed_id) == []


def test_form_errors_are_shown_at_their_field(world: World, browser: Any, tmp_path: Path) -> None:
    alice = browser("alice@a.example")
    # Only admins may read the hub's directories.
    response = _define(alice, _directory(tmp_path, 5))
    assert response.status_code == 400 and 'id="error-source"' in response.text
    response = _define(alice, "ftp://lists.example/c2.txt", kind="text")
    assert response.status_code == 400 and 'id="error-source"' in response.text
    response = _define(alice, "https://lists.example/c2.txt", kind="text", every="often")
    assert response.status_code == 400 and 'id="error-every"' in response.text
    assert 'value="https://lists.example/c2.txt"' in response.text  # the form keeps what was typed
    response = _define(alice, "https://lists.example/c2.csv", kind="csv", mapping="value")
    assert response.status_code == 400 and 'id="error-mapping"' in response.text
    response = _define(alice, "https://lists.example/c2.txt", kind="text", api_key="k", username="u", password="p")
    assert response.status_code == 400 and 'id="error-credentials"' in response.text
    assert 'value="k"' not in response.text  # a secret is never sent back
    assert _feed_id(_define(alice, "https://lists.example/c2.txt", kind="text"))
    response = _define(alice, "https://lists.example/other.txt", kind="text")
    assert response.status_code == 400 and 'id="error-name"' in response.text and "already exists" in response.text
    assert [f.name for f in Feeds.for_hub(world.hub).list()] == ["drop box"]


def test_disable_enable_and_remove(world: World, browser: Any) -> None:
    alice = browser("alice@a.example")
    feed_id = _feed_id(_define(alice, "https://lists.example/c2.txt", kind="text"))
    feeds = Feeds.for_hub(world.hub)
    assert alice.post(f"/feeds/{feed_id}/enabled", {"enabled": "0"}).status_code == 303
    assert not feeds.get(feed_id).enabled
    assert "disabled" in alice.get(f"/feeds/{feed_id}").text
    assert alice.post(f"/feeds/{feed_id}/enabled", {"enabled": "1"}).status_code == 303
    assert feeds.get(feed_id).enabled
    assert alice.post(f"/feeds/{feed_id}/enabled", {"enabled": "maybe"}).status_code == 400
    assert alice.post(f"/feeds/{feed_id}/remove", csrf=False).status_code == 403
    assert alice.post(f"/feeds/{feed_id}/remove").status_code == 303
    assert feeds.list() == []
    assert alice.get(f"/feeds/{feed_id}").status_code == 404


def test_feed_pages_in_arabic_and_french(world: World, browser: Any, tmp_path: Path) -> None:
    admin = browser("admin@hub.example")
    feed_id = _feed_id(_define(admin, _directory(tmp_path, 6), user=world.alice.id))
    admin.post(f"/feeds/{feed_id}/run")
    for lang, direction, words in (
        ("ar", "rtl", ("التغذيات", "تعريف تغذية", "تشغيل الآن", "يدويًا")),
        ("fr", "ltr", ("Flux", "Définir un flux", "Lancer maintenant", "à la main")),
    ):
        admin.post("/language", {"lang": lang, "next": "/"})
        listing, page = admin.get("/feeds"), admin.get(f"/feeds/{feed_id}")
        assert listing.status_code == 200 and page.status_code == 200
        for response in (listing, page):
            assert f'<html lang="{lang}" dir="{direction}">' in response.text
        assert words[0] in listing.text and words[1] in listing.text
        assert words[2] in page.text and words[3] in page.text
