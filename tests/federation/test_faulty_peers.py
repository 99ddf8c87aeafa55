"""A peer that answers garbage, 500s or nothing, served for real on 127.0.0.1 (``e2e.faulty_peer``): each request is
retried with exponential backoff (the waits are recorded, not slept), the run fails with an error that names the
URL and the fault, the peer's next run backs off, and the checkpoints stay where the last committed page left them,
so that the healed peer's next run resumes there and every object ends up stored once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from e2e.faulty_peer import COLLECTION, FaultyPeer, faulty_peer, green_indicator, stamp
from ribat.federation import Federation, RunStatus
from ribat.intel import ObjectFilter
from ribat.intel._tables import stix_objects
from support import World

SECOND_US = 1_000_000
INTERVAL = 60
RETRIES = 2
BACKOFF = 0.25
KEY = "rbt_00000000_the-key-the-peer-gave-us"

FAULTS = [
    pytest.param("garbage", "HTTP 200 with a body that is not a TAXII answer", id="garbage"),
    pytest.param("not-envelope", "HTTP 200 with a body that is not a TAXII answer", id="not-envelope"),
    pytest.param("500", "HTTP 500", id="500"),
    pytest.param("timeout", "Timeout", id="timeout"),
]


@pytest.fixture
def peer() -> Iterator[FaultyPeer]:
    with faulty_peer() as p:
        yield p


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def fed(world: World, waits: list[float]) -> Federation:
    return Federation.for_hub(world.hub, sleep=waits.append, retries=RETRIES, backoff=BACKOFF, timeout=0.5, page_size=2)


def add(fed: Federation, peer: FaultyPeer, direction: str) -> None:
    fed.add(
        "flaky",
        peer.api_root,
        direction=direction,
        pairs=[("shared", COLLECTION)],
        org="cert-b",
        key=KEY,
        interval_seconds=INTERVAL,
    )


def copies(world: World) -> Counter[str]:
    """How many live copies of each object the hub's ``shared`` collection holds."""
    o = stix_objects
    with world.hub.db.read() as conn:
        ids = conn.execute(
            sa.select(o.c.object_id).where(o.c.collection_id == world.collection.id, o.c.deleted_us.is_(None))
        ).scalars()
        return Counter(ids)


def backoff(attempts: int) -> list[float]:
    return [BACKOFF * 2**k for k in range(attempts - 1)]


@pytest.mark.parametrize(("fault", "says"), FAULTS)
def test_a_faulty_peer_is_retried_with_backoff_then_the_run_fails_and_the_next_one_waits_longer(
    world: World, fed: Federation, peer: FaultyPeer, waits: list[float], fault: str, says: str
) -> None:
    peer.add(4)
    peer.fault = fault
    add(fed, peer, "pull")
    objects_url = f"{peer.api_root}collections/{COLLECTION}/objects/"

    for failures in (1, 2):
        run = fed.run("flaky")
        assert run.status is RunStatus.FAILED
        assert run.error is not None
        assert objects_url in run.error and says in run.error, run.error
        assert f"gave up after {RETRIES + 1} attempts" in run.error, run.error
        # Every attempt reached the peer, with exponential waits between them.
        assert len(peer.calls("GET")) == (RETRIES + 1) * failures
        assert waits == backoff(RETRIES + 1) * failures
        status = fed.status("flaky")
        assert status.last_error == run.error
        assert status.last_run is not None and status.last_run.status is RunStatus.FAILED
        assert status.peer.consecutive_failures == failures
        assert run.finished_us is not None
        assert status.peer.next_due_us == run.finished_us + INTERVAL * 2**failures * SECOND_US
        # Nothing was committed, so no checkpoint moved.
        assert fed.cursors("flaky") == {}
        assert copies(world) == Counter()

    peer.fault = None
    healed = fed.run("flaky")
    assert (healed.status, healed.pulled, healed.error) == (RunStatus.OK, 4, None)
    status = fed.status("flaky")
    assert status.last_error is None and status.peer.consecutive_failures == 0
    assert healed.finished_us is not None
    assert status.peer.next_due_us == healed.finished_us + INTERVAL * SECOND_US
    assert copies(world) == Counter(o["id"] for o in peer.objects)


@pytest.mark.parametrize("fault", ["500", "garbage"])
def test_a_peer_that_fails_after_three_pages_keeps_the_checkpoint_at_page_three_and_the_next_run_resumes(
    world: World, fed: Federation, peer: FaultyPeer, fault: str
) -> None:
    peer.add(10)  # five pages of two
    peer.fault, peer.good = fault, 3
    add(fed, peer, "pull")

    failed = fed.run("flaky")
    assert failed.status is RunStatus.FAILED and failed.pulled == 6, failed
    assert fed.cursors("flaky") == {(world.collection.id, COLLECTION, "pull-objects"): stamp(5)}
    assert copies(world) == Counter(o["id"] for o in peer.objects[:6])

    peer.fault = None
    before = len(peer.calls("GET"))
    resumed = fed.run("flaky")
    assert resumed.status is RunStatus.OK and resumed.pulled == 4 and resumed.already == 0, resumed
    # The healed run asked for what follows page three, not for everything again.
    assert peer.calls("GET")[before].params.get("added_after") == stamp(5)
    assert fed.cursors("flaky") == {(world.collection.id, COLLECTION, "pull-objects"): stamp(9)}
    assert copies(world) == Counter(o["id"] for o in peer.objects)


@pytest.mark.parametrize("fault", ["500", "garbage", "timeout"])
def test_a_peer_that_stops_accepting_a_push_keeps_the_push_checkpoint_and_gets_everything_once_when_healed(
    world: World, fed: Federation, peer: FaultyPeer, waits: list[float], fault: str
) -> None:
    mine = [green_indicator(100 + i) for i in range(5)]  # three pages of two
    status = world.hub.intel.ingest(world.principal("alice@a.example"), "shared", {"objects": mine})
    assert status.failure_count == 0, status.failures
    peer.fault, peer.fault_on, peer.good = fault, "POST", 1
    add(fed, peer, "push")

    failed = fed.run("flaky")
    assert failed.status is RunStatus.FAILED and failed.pushed == 2, failed
    assert failed.error is not None and f"{peer.api_root}collections/{COLLECTION}/objects/" in failed.error
    assert len(peer.calls("POST")) == 1 + RETRIES + 1
    assert waits == backoff(RETRIES + 1)
    # The checkpoint is the first page's, which the peer acknowledged.
    stream = (world.collection.id, COLLECTION, "push-objects")
    first_page = world.hub.intel.objects(
        world.principal("alice@a.example"), "shared", ObjectFilter(versions=("all",)), limit=2
    )
    assert fed.cursors("flaky") == {stream: str(first_page.position_us)}

    peer.fault = None
    healed = fed.run("flaky")
    assert healed.status is RunStatus.OK and healed.pushed == 3, healed
    assert Counter(o["id"] for o in peer.received) == Counter(o["id"] for o in mine)


@pytest.mark.parametrize(("retry_after", "wait"), [(7, 7.0), (7200, 60.0)])
def test_a_busy_peer_is_retried_after_the_time_it_asks_for_within_a_limit(
    world: World, fed: Federation, peer: FaultyPeer, waits: list[float], retry_after: int, wait: float
) -> None:
    peer.add(2)
    peer.fault, peer.retry_after = "429", retry_after
    add(fed, peer, "pull")
    run = fed.run("flaky")
    assert run.status is RunStatus.FAILED and run.error is not None and "HTTP 429" in run.error, run
    assert len(peer.calls("GET")) == RETRIES + 1
    assert waits == [wait] * RETRIES
