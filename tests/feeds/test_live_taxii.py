"""A ``taxii`` feed pulling from a real ``ribat serve`` process on 127.0.0.1 (a second hub set up
through the ``ribat`` command, as in tests/e2e), over real sockets with the feed's own HTTP client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from e2e.live import Coalition, CollectionSpec, LiveHub, Org, User, get_all, post_objects, start_hub
from ribat.feeds import Credentials, Feeds, RunStatus
from support import World, indicator

pytestmark = pytest.mark.e2e

ANALYST = "ana@remote.example"


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    coalition = Coalition(
        orgs=(Org("remote", "Remote CERT", "MY"),),
        users=(User(ANALYST, "remote"),),
        collections=(CollectionSpec("outbound", "Outbound", "green", owner="remote", read=("community",)),),
    )
    with start_hub("sqlite", coalition, tmp_path_factory.mktemp("remote-hub")) as hub:
        yield hub


def test_a_feed_pulls_pages_from_a_real_hub_and_then_only_what_is_new(world: World, remote: LiveHub) -> None:
    url = remote.collection_url("outbound")
    with remote.http(ANALYST) as client:
        post_objects(client, url, [indicator(n) for n in range(1000, 1020)])
        # The remote hub serves this module's tests on both local engines: count what it holds.
        total = len(get_all(client, f"{url}objects/", {"match[version]": "all"}))

    feeds = Feeds.for_hub(world.hub, taxii_page_size=7)
    try:
        feed = feeds.add(
            "real remote",
            kind="taxii",
            source=remote.collection_url("outbound"),
            collection="shared",
            user="alice@a.example",
            credentials=Credentials(api_key=remote.members[ANALYST].key),
            tags=["remote-hub"],
        )
        first = feeds.run(feed.id)
        assert (first.status, first.fetched, first.stored, first.failed) == (RunStatus.OK, total, total, 0), first
        assert feeds.get(feed.id).cursor["added_after"].endswith("Z")

        assert feeds.run(feed.id).fetched == 0

        with remote.http(ANALYST) as client:
            post_objects(
                client, url, [indicator(n, modified=f"2024-02-0{total % 9 + 1}T00:00:00.000Z") for n in (1, 2, 3)]
            )
        third = feeds.run(feed.id)
        assert (third.fetched, third.stored, third.merged) == (3, 3, 0)
        assert world.hub.intel.count("shared") == total + 3
    finally:
        feeds.close()
