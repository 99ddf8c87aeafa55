"""The ``taxii`` source against a second Ribat hub: paging, ``added_after``, failure half-way
and resume, credentials, the feed's TLP and tags."""

from __future__ import annotations

import httpx

from feeds._support import RemoteHub, feeds_for, stored_bodies
from ribat.feeds import Credentials, RunStatus
from ribat.feeds.decorate import TLP2_MARKING_IDS
from ribat.intel import Tlp
from support import World, indicator


def _feed(world: World, remote: RemoteHub, **kwargs: object):  # type: ignore[no-untyped-def]
    feeds = feeds_for(world.hub, http=remote.client(), taxii_page_size=10)
    feed = feeds.add(
        "remote hub",
        kind="taxii",
        source=remote.collection_url,
        collection="shared",
        user="alice@a.example",
        credentials=Credentials(api_key=remote.key("alice@a.example")),
        **kwargs,  # type: ignore[arg-type]
    )
    return feeds, feed


def test_pages_are_pulled_then_only_what_was_added_since(world: World, remote: RemoteHub) -> None:
    remote.publish(indicator(n) for n in range(25))
    feeds, feed = _feed(world, remote)

    first = feeds.run(feed.id)
    assert (first.status, first.fetched, first.stored, first.merged, first.failed) == (RunStatus.OK, 25, 25, 0, 0)
    assert len(remote.objects_requests()) == 3, "25 objects in pages of 10"
    cursor = feeds.get(feed.id).cursor["added_after"]

    remote.requests.clear()
    again = feeds.run(feed.id)
    assert (again.status, again.fetched, again.stored) == (RunStatus.OK, 0, 0)
    (request,) = remote.objects_requests()
    assert request.url.params["added_after"] == cursor

    remote.publish(indicator(n) for n in range(100, 103))
    more = feeds.run(feed.id)
    assert (more.fetched, more.stored, more.merged) == (3, 3, 0)
    assert world.hub.intel.count("shared") == 28


def test_a_server_error_on_page_3_keeps_pages_1_and_2_and_the_next_run_resumes(world: World, remote: RemoteHub) -> None:
    remote.publish(indicator(n) for n in range(25))
    feeds, feed = _feed(world, remote)
    broken = {"on": True}

    def fail_third_page(request: httpx.Request) -> int | None:
        page = len(remote.objects_requests())
        return 500 if broken["on"] and request.url.path.endswith("/objects/") and page >= 3 else None

    remote.fail = fail_third_page
    failed = feeds.run(feed.id)
    assert failed.status is RunStatus.ERROR
    assert "HTTP 500" in (failed.error or "") and "gave up after 5 attempts" in (failed.error or "")
    assert (failed.fetched, failed.stored) == (20, 20)
    assert world.hub.intel.count("shared") == 20, "pages 1 and 2 stay committed"
    assert feeds.get(feed.id).consecutive_failures == 1

    broken["on"] = False
    remote.requests.clear()
    resumed = feeds.run(feed.id)
    assert (resumed.status, resumed.fetched, resumed.stored, resumed.merged) == (RunStatus.OK, 5, 5, 0)
    assert len(remote.objects_requests()) == 1, "only what followed page 2 is asked for"
    assert world.hub.intel.count("shared") == 25
    assert feeds.get(feed.id).consecutive_failures == 0


def test_a_4xx_is_not_retried_and_wrong_credentials_say_so(world: World, remote: RemoteHub) -> None:
    feeds = feeds_for(world.hub, http=remote.client())
    feed = feeds.add(
        "bad key",
        kind="taxii",
        source=remote.collection_url,
        collection="shared",
        user="alice@a.example",
        credentials=Credentials(api_key="rbt_00000000_wrong"),
    )
    run = feeds.run(feed.id)
    assert run.status is RunStatus.ERROR and "HTTP 401" in (run.error or "")
    assert len(remote.objects_requests()) == 1


def test_basic_credentials_work_too(world: World, remote: RemoteHub) -> None:
    remote.publish([indicator(1)])
    key = remote.key("alice@a.example")
    feeds, feed = _feed(world, remote)
    feeds.update(feed.id, credentials=Credentials(username=key.split("_")[1], password=key))
    assert feeds.run(feed.id).stored == 1


def test_the_feed_marks_unmarked_objects_with_its_tlp_and_labels_them_with_its_tags(
    world: World, remote: RemoteHub
) -> None:
    red = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
    remote.publish([indicator(1), indicator(2, tlp_ref=red, labels=["malicious-activity"])])
    feeds, feed = _feed(world, remote, tlp="green", tags=["source:remote", "malicious-activity"])
    assert feeds.run(feed.id).stored == 2
    bodies = {b["id"]: b for b in stored_bodies(world.hub, world.principal("alice@a.example"), "shared")}
    plain, marked = bodies[str(indicator(1)["id"])], bodies[str(indicator(2)["id"])]
    assert plain["object_marking_refs"] == [TLP2_MARKING_IDS[Tlp.GREEN]]
    assert plain["labels"] == ["source:remote", "malicious-activity"]
    assert marked["object_marking_refs"] == [red], "an object's own TLP is kept"
    assert marked["labels"] == ["malicious-activity", "source:remote"]
    # GREEN: another organisation reads the unmarked one; the RED one stays with alice.
    seen_by_bob = {b["id"] for b in stored_bodies(world.hub, world.principal("bob@b.example"), "shared")}
    assert seen_by_bob == {plain["id"]}


def test_invalid_objects_make_a_partial_run_and_the_valid_ones_are_stored(world: World, remote: RemoteHub) -> None:
    remote.publish([indicator(1)])
    original = remote.__call__

    def with_a_bad_object(request: httpx.Request) -> httpx.Response:
        response = original(request)
        if not request.url.path.endswith("/objects/"):
            return response
        page = response.json()
        page["objects"] = [*page.get("objects", []), {"type": "indicator", "id": "indicator--not-a-uuid"}]
        return httpx.Response(
            200, headers={k: v for k, v in response.headers.items() if k != "content-length"}, json=page
        )

    feeds = feeds_for(world.hub, http=httpx.Client(transport=httpx.MockTransport(with_a_bad_object)))
    feed = feeds.add(
        "tampered",
        kind="taxii",
        source=remote.collection_url,
        collection="shared",
        user="alice@a.example",
        credentials=Credentials(api_key=remote.key("alice@a.example")),
    )
    run = feeds.run(feed.id)
    assert (run.status, run.stored, run.failed) == (RunStatus.PARTIAL, 1, 1)
    assert any("indicator--not-a-uuid" in p for p in run.problems)
    assert feeds.get(feed.id).consecutive_failures == 0


def _added_after_only_server(objects: list[dict[str, object]], page: int) -> httpx.MockTransport:
    """A TAXII server that pages by ``added_after`` alone (no ``next``), as TAXII 2.1 allows."""
    stamps = [f"2025-01-01T00:00:{n:02d}.000000Z" for n in range(len(objects))]

    def handler(request: httpx.Request) -> httpx.Response:
        after = request.url.params.get("added_after")
        start = 0 if after is None else stamps.index(after) + 1
        chunk = objects[start : start + page]
        headers = {"Content-Type": "application/taxii+json;version=2.1"}
        if chunk:
            headers["X-TAXII-Date-Added-First"] = stamps[start]
            headers["X-TAXII-Date-Added-Last"] = stamps[start + len(chunk) - 1]
        return httpx.Response(200, headers=headers, json={"more": start + page < len(objects), "objects": chunk})

    return httpx.MockTransport(handler)


def test_a_server_that_pages_by_added_after_alone_is_followed(world: World) -> None:
    objects = [indicator(n) for n in range(7)]
    feeds = feeds_for(world.hub, http=httpx.Client(transport=_added_after_only_server(objects, 3)))
    feed = feeds.add(
        "no next", kind="taxii", source="https://t.example/c/", collection="shared", user="alice@a.example"
    )
    run = feeds.run(feed.id)
    assert (run.status, run.stored) == (RunStatus.OK, 7)
    assert feeds.get(feed.id).cursor == {"added_after": "2025-01-01T00:00:06.000000Z"}


def test_a_server_saying_more_on_an_empty_page_stops_the_run(world: World) -> None:
    empty = httpx.MockTransport(lambda request: httpx.Response(200, json={"more": True, "next": "again"}))
    feeds = feeds_for(world.hub, http=httpx.Client(transport=empty))
    feed = feeds.add("loop", kind="taxii", source="https://t.example/c/", collection="shared", user="alice@a.example")
    run = feeds.run(feed.id)
    assert run.status is RunStatus.ERROR and "is empty but says more=true" in (run.error or "")


def test_a_page_that_is_not_json_stops_the_run(world: World) -> None:
    garbage = httpx.MockTransport(lambda request: httpx.Response(200, text="<html>login</html>"))
    feeds = feeds_for(world.hub, http=httpx.Client(transport=garbage))
    feed = feeds.add("html", kind="taxii", source="https://t.example/c/", collection="shared", user="alice@a.example")
    run = feeds.run(feed.id)
    assert run.status is RunStatus.ERROR and "page 1 is not valid JSON" in (run.error or "")
