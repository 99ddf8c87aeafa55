"""Defining feeds, their validation and permissions, the schedule and the lease (both engines)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from feeds._support import Clock, feeds_for
from ribat.accounts import SecretBox
from ribat.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from ribat.feeds import Credentials, FeedKind, FeedRun, Feeds, RunStatus, RunTrigger, SqlFeedStore
from ribat.hub import Hub
from ribat.intel import Grant, Tlp
from support import World, indicator

MINUTE = 60 * 1_000_000


def _bundle_dir(tmp_path: Path, count: int = 3) -> Path:
    directory = tmp_path / "stix"
    directory.mkdir()
    (directory / "a.json").write_text(
        json.dumps(
            {
                "type": "bundle",
                "id": "bundle--0a9fbc9e-1f3b-4f7e-9d55-8b4a3e8f1c01",
                "objects": [indicator(n) for n in range(count)],
            }
        )
    )
    return directory


def test_a_feed_is_defined_listed_changed_and_removed(world: World, tmp_path: Path, clock: Clock) -> None:
    feeds = feeds_for(world.hub, now=clock)
    directory = _bundle_dir(tmp_path)
    feed = feeds.add(
        "local bundles",
        kind="directory",
        source=str(directory),
        collection="shared",
        user="alice@a.example",
        every=30,
        tlp="green",
        tags=["feed:local", "feed:local", " osint "],
    )
    assert feed.kind is FeedKind.DIRECTORY and feed.source == str(directory.resolve())
    assert feed.collection_id == world.collection.id
    assert feed.owner_org_id == world.org_a.id and feed.owner_user_id == world.alice.id
    assert feed.tags == ("feed:local", "osint") and feed.tlp is Tlp.GREEN
    assert feed.next_due_us == clock.us and feed.enabled

    assert [f.name for f in feeds.list()] == ["local bundles"]
    assert feeds.get("local bundles").id == feed.id == feeds.get(feed.id).id
    assert feeds.get(feed.id).last_run is None

    changed = feeds.update(feed.id, every=5, tags=["x"], tlp=None, name="renamed")
    assert (changed.interval_minutes, changed.tags, changed.tlp, changed.name) == (5, ("x",), None, "renamed")
    assert not feeds.disable("renamed").enabled
    assert feeds.enable("renamed").enabled

    run = feeds.run("renamed")
    assert run.status is RunStatus.OK and run.stored == 3
    assert feeds.get("renamed").last_run == run

    removed = feeds.remove("renamed")
    assert removed.id == feed.id
    with pytest.raises(NotFoundError):
        feeds.get(feed.id)
    assert SqlFeedStore(world.hub.db, SecretBox(world.hub.secret_key)).runs(feed.id, 10, 0) == []
    assert world.hub.intel.count("shared") == 3, "the objects a removed feed imported stay"


def _ok_args(tmp_path: Path) -> dict[str, Any]:
    return {
        "kind": "taxii",
        "source": "https://taxii.example/taxii2/root/collections/x/",
        "collection": "shared",
        "user": "alice@a.example",
    }


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"kind": "rss"}, "kind", "not one of taxii, misp-feed, csv, text, directory"),
        ({"source": "ftp://taxii.example/x"}, "source", "http:// or https:// URL"),
        ({"source": "https:///no-host"}, "source", "has no host"),
        ({"source": "https://user:pw@taxii.example/c/"}, "source", "not in the URL"),
        ({"kind": "csv", "source": "/etc"}, "source", "http:// or https:// URL"),
        ({"kind": "directory", "source": "/no/such/directory"}, "source", "not an existing directory"),
        ({"kind": "directory", "source": "https://x.example/"}, "source", "local directory, not a URL"),
        ({"kind": "misp-feed", "source": "/no/such/feed"}, "source", "not an existing directory"),
        ({"every": 0}, "every", "at least 1 minute"),
        ({"collection": "nowhere"}, "collection", "no collection 'nowhere'"),
        ({"user": "nobody@x.example"}, "user", "no user"),
        ({"user": "anna@a.example"}, "user", "reader and may not write"),
        ({"tlp": "purple"}, "tlp", "not a TLP level"),
        ({"tags": ["ok", "  "]}, "tags", "non-empty"),
        ({"mapping": {"value": "1"}}, "mapping", "only csv feeds"),
        ({"kind": "csv", "source": "https://x.example/a.csv", "mapping": {"colour": "2"}}, "mapping", "unknown field"),
        ({"credentials": Credentials(api_key="k", username="u", password="p")}, "credentials", "not both"),
        ({"credentials": Credentials(username="u")}, "credentials", "both a user name and a password"),
        ({"name": "  "}, "name", "must not be empty"),
    ],
)
def test_bad_definitions_are_refused_naming_the_field(
    world: World, tmp_path: Path, change: dict[str, Any], field: str, words: str
) -> None:
    feeds = feeds_for(world.hub)
    args = {**_ok_args(tmp_path), **change}
    name = args.pop("name", "a feed")
    with pytest.raises(ValidationError) as caught:
        feeds.add(name, **args)
    assert caught.value.field == field
    assert words in caught.value.reason
    assert feeds.list() == []


def test_the_user_must_be_allowed_to_write_to_the_collection(world: World) -> None:
    world.hub.intel.create_collection("B only", alias="b-only", owner_org_id=world.org_b.id)
    world.hub.intel.create_collection(
        "read only", alias="read-only", grants=[Grant("community", "", can_read=True, can_write=False)]
    )
    feeds = feeds_for(world.hub)
    with pytest.raises(ValidationError, match=r"no collection 'b-only' that alice@a\.example can see"):
        feeds.add("x", kind="text", source="https://x.example/l.txt", collection="b-only", user="alice@a.example")
    with pytest.raises(ValidationError, match="may not write to collection 'read only'"):
        feeds.add("x", kind="text", source="https://x.example/l.txt", collection="read-only", user="alice@a.example")
    assert feeds.add("x", kind="text", source="https://x.example/l.txt", collection="b-only", user="bob@b.example")


def test_names_are_unique(world: World) -> None:
    feeds = feeds_for(world.hub)
    feeds.add("dup", kind="text", source="https://x.example/l.txt", collection="shared", user="alice@a.example")
    with pytest.raises(ConflictError):
        feeds.add("dup", kind="text", source="https://y.example/l.txt", collection="shared", user="bob@b.example")


def test_members_see_and_change_only_their_organisations_feeds(world: World, tmp_path: Path) -> None:
    feeds = feeds_for(world.hub)
    alice, anna, bob, admin = (
        world.principal(e) for e in ("alice@a.example", "anna@a.example", "bob@b.example", "admin@hub.example")
    )
    mine = feeds.add(
        "a-list", kind="text", source="https://x.example/a.txt", collection="shared", user=alice.user.email, by=alice
    )
    theirs = feeds.add(
        "b-list", kind="text", source="https://x.example/b.txt", collection="shared", user=bob.user.email, by=bob
    )

    assert [f.name for f in feeds.list(by=alice)] == ["a-list"]
    assert [f.name for f in feeds.list(by=anna)] == ["a-list"], "readers of the organisation see its feeds"
    assert [f.name for f in feeds.list(by=admin)] == ["a-list", "b-list"]
    with pytest.raises(NotFoundError):
        feeds.get(theirs.id, by=alice)
    with pytest.raises(NotFoundError):
        feeds.remove(theirs.id, by=alice)
    with pytest.raises(PermissionDeniedError):
        feeds.remove(mine.id, by=anna)
    with pytest.raises(PermissionDeniedError):
        feeds.run(mine.id, by=anna)
    with pytest.raises(PermissionDeniedError):
        feeds.add(
            "c", kind="text", source="https://x.example/c.txt", collection="shared", user=bob.user.email, by=alice
        )
    with pytest.raises(PermissionDeniedError, match="local files"):
        feeds.add("d", kind="directory", source=str(tmp_path), collection="shared", user=alice.user.email, by=alice)
    assert feeds.add("d", kind="directory", source=str(tmp_path), collection="shared", user=alice.user.email, by=admin)
    assert feeds.remove(theirs.id, by=admin).name == "b-list"


def test_a_feed_is_due_at_once_then_one_interval_after_each_run(world: World, tmp_path: Path, clock: Clock) -> None:
    feeds = feeds_for(world.hub, now=clock)
    feed = feeds.add(
        "every ten",
        kind="directory",
        source=str(_bundle_dir(tmp_path)),
        collection="shared",
        user="alice@a.example",
        every=10,
    )
    disabled = feeds.add(
        "off", kind="directory", source=str(tmp_path), collection="shared", user="alice@a.example", enabled=False
    )
    assert [f.id for f in feeds.due()] == [feed.id]
    runs = feeds.run_due()
    assert [(r.feed_id, r.trigger, r.status) for r in runs] == [(feed.id, RunTrigger.SCHEDULE, RunStatus.OK)]
    assert feeds.get(feed.id).next_due_us == clock.us + 10 * MINUTE
    assert feeds.due() == [] and feeds.run_due() == []
    clock.advance(minutes=9)
    assert feeds.due() == []
    clock.advance(minutes=1)
    assert [f.id for f in feeds.due()] == [feed.id]
    assert disabled.id not in [f.id for f in feeds.due(clock.us + 10**12)]


def test_only_one_process_claims_a_due_feed(world: World, tmp_path: Path, settings: Any, clock: Clock) -> None:
    other_hub = Hub.open(settings)  # a second process's hub on the same database
    try:
        here = feeds_for(world.hub, now=clock)
        there = feeds_for(other_hub, now=clock)
        feed = here.add(
            "shared", kind="directory", source=str(_bundle_dir(tmp_path)), collection="shared", user="alice@a.example"
        )
        assert here.store.claim(feed.id, clock.us, clock.us + 15 * MINUTE, due_only=True)
        assert not there.store.claim(feed.id, clock.us, clock.us + 15 * MINUTE, due_only=True)
        assert there.due() == [], "a feed another process holds is not due"
        assert there.run_due() == []
        with pytest.raises(ConflictError):
            there.run(feed.id)
        here.store.release(feed.id, clock.us, 0)
        run = there.run(feed.id)
        assert run.status is RunStatus.OK
        assert [r.id for r in here.runs(feed.id)] == [run.id]
    finally:
        other_hub.close()


def test_a_run_left_running_by_a_dead_process_is_closed_when_the_lease_expires(
    world: World, tmp_path: Path, clock: Clock
) -> None:
    feeds = feeds_for(world.hub, now=clock, lease_minutes=15)
    feed = feeds.add(
        "crashy", kind="directory", source=str(_bundle_dir(tmp_path)), collection="shared", user="alice@a.example"
    )
    # A process claims the feed, records the start of a run, and dies.
    assert feeds.store.claim(feed.id, clock.us, clock.us + 15 * MINUTE, due_only=True)
    dead = feeds.store.start_run(FeedRun(id=0, feed_id=feed.id, trigger=RunTrigger.SCHEDULE, started_us=clock.us))
    clock.advance(minutes=14)
    assert feeds.run_due() == []
    clock.advance(minutes=1)
    (run,) = feeds.run_due()
    assert run.status is RunStatus.OK and run.stored == 3
    old = next(r for r in feeds.runs(feed.id) if r.id == dead.id)
    assert old.status is RunStatus.ERROR and old.error is not None and "interrupted" in old.error


def test_runs_are_listed_newest_first_with_limit_and_offset(world: World, tmp_path: Path, clock: Clock) -> None:
    feeds = feeds_for(world.hub, now=clock)
    feed = feeds.add(
        "many", kind="directory", source=str(_bundle_dir(tmp_path)), collection="shared", user="alice@a.example"
    )
    ids = []
    for _ in range(4):
        ids.append(feeds.run(feed.id).id)
        clock.advance(seconds=1)
    assert [r.id for r in feeds.runs(feed.id)] == ids[::-1]
    assert [r.id for r in feeds.runs(feed.id, limit=2, offset=1)] == ids[::-1][1:3]
    first, *later = feeds.runs(feed.id)[::-1]
    assert first.stored == 3 and all(r.stored == 0 and r.fetched == 0 for r in later)
    with pytest.raises(ValidationError):
        feeds.runs(feed.id, limit=0)


def test_a_disabled_user_stops_the_feed_with_an_error(world: World, tmp_path: Path) -> None:
    feeds = feeds_for(world.hub)
    feed = feeds.add(
        "gone", kind="directory", source=str(_bundle_dir(tmp_path)), collection="shared", user="alice@a.example"
    )
    world.hub.accounts.set_active("alice@a.example", False)
    run = feeds.run(feed.id)
    assert run.status is RunStatus.ERROR and "disabled" in (run.error or "")
    assert feeds.get(feed.id).consecutive_failures == 1
    world.hub.accounts.set_active("alice@a.example", True)
    assert feeds.run(feed.id).status is RunStatus.OK
    assert feeds.get(feed.id).consecutive_failures == 0


def test_a_new_source_starts_the_feed_afresh(world: World, tmp_path: Path) -> None:
    feeds = feeds_for(world.hub)
    first = _bundle_dir(tmp_path)
    feed = feeds.add("moving", kind="directory", source=str(first), collection="shared", user="alice@a.example")
    assert feeds.run(feed.id).stored == 3
    assert set(feeds.store.items(feed.id)) == {"a.json"}
    second = tmp_path / "second"
    second.mkdir()
    (second / "a.json").write_text(json.dumps([indicator(n) for n in range(3, 5)]))
    feeds.update(feed.id, every=2)
    assert set(feeds.store.items(feed.id)) == {"a.json"}, "other changes keep the state"
    moved = feeds.update(feed.id, source=str(second))
    assert moved.source == str(second.resolve()) and feeds.store.items(feed.id) == {}
    assert feeds.run(feed.id).stored == 2


def test_a_feed_of_a_disabled_user_can_still_be_disabled_and_removed(world: World, tmp_path: Path) -> None:
    feeds = feeds_for(world.hub)
    feed = feeds.add("orphan", kind="directory", source=str(tmp_path), collection="shared", user="alice@a.example")
    world.hub.accounts.set_active("alice@a.example", False)
    assert not feeds.disable(feed.id).enabled
    with pytest.raises(ValidationError, match="disabled"):
        feeds.update(feed.id, collection="shared")
    assert feeds.update(feed.id, user="bob@b.example").owner_org_id == world.org_b.id
    assert feeds.remove(feed.id).name == "orphan"


def test_credentials_are_sealed_at_rest_and_opened_for_the_feed(world: World) -> None:
    feeds = Feeds.for_hub(world.hub)
    try:
        feed = feeds.add(
            "sealed",
            kind="taxii",
            source="https://hub.partner.example/taxii2/root/collections/x/",
            collection="shared",
            user="alice@a.example",
            credentials=Credentials(api_key="rbt_0badc0de_very-secret-key-material"),
        )
        with world.hub.db.read() as conn:
            stored = conn.exec_driver_sql("SELECT credentials FROM feeds").scalar_one()
        assert "very-secret" not in stored and "rbt_" not in stored
        assert feeds.get(feed.id).credentials == Credentials(api_key="rbt_0badc0de_very-secret-key-material")
        # Sealed under another hub secret: not opened (and never shown), rather than an error.
        other = SqlFeedStore(world.hub.db, SecretBox("another-hub-secret-key"))
        assert other.get(feed.id).credentials is None
    finally:
        feeds.close()


@pytest.mark.parametrize(
    "source",
    ["http://127.0.0.1:8080/list.txt", "http://10.1.2.3/list.txt", "http://[::1]/list.txt", "http://localhost/x.txt"],
)
def test_only_admins_may_point_a_feed_at_the_hubs_own_network(world: World, source: str) -> None:
    feeds = feeds_for(world.hub)
    alice = world.principal("alice@a.example")
    with pytest.raises(PermissionDeniedError, match="loopback, private or link-local"):
        feeds.add("inside", kind="text", source=source, collection="shared", user="alice@a.example", by=alice)
    admin = world.principal("admin@hub.example")
    feed = feeds.add("inside", kind="text", source=source, collection="shared", user="alice@a.example", by=admin)
    assert feed.source == source
