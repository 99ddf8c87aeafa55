"""Running syncs: which peers ``run_due`` runs, the lease that keeps a peer to one process (held by a live process:
refused; left by a dead process of this host: broken), and what a failed run leaves (its error, a longer wait before
the next one, the checkpoints as they were). The peer is a ``FakePeer`` behind ``httpx.MockTransport``; retries wait
for nothing; the clock is set by the test. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ribat.errors import ConflictError, ValidationError
from ribat.federation import Federation, RunStatus
from ribat.intel import ObjectFilter
from support import World, indicator

from ._support import PEER_ROOT, SECOND_US, TLP, Clock, FakePeer, add_peer, federation

OBJECTS_URL = f"{PEER_ROOT}collections/remote/objects/"
HELLO_URL = "http://peer.test/api/v1/federation/hello"
LEASE_US = 300 * SECOND_US


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def peer_hub() -> FakePeer:
    return FakePeer()


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def fed(world: World, clock: Clock, peer_hub: FakePeer, waits: list[float]) -> Federation:
    return federation(world.hub, peer=peer_hub, waits=waits, now=clock, retries=2, max_backoff_seconds=3600)


def _puller(world: World, fed: Federation, name: str = "partner", **options: Any) -> str:
    options.setdefault("url", PEER_ROOT)
    options.setdefault("interval_seconds", 60)
    peer, _, _ = add_peer(world, name, fed=fed, direction="pull", pairs=[("shared", "remote")], **options)
    return peer.id


def _green(n: int) -> dict[str, object]:
    return indicator(n, tlp_ref=TLP["green"])


# -- what runs --------------------------------------------------------------------------------------


def test_run_due_runs_the_due_peers_only_and_never_a_served_one(
    world: World, fed: Federation, clock: Clock, peer_hub: FakePeer
) -> None:
    due = _puller(world, fed, "due", url="http://due.test/taxii2/root/")
    later = _puller(world, fed, "later", url="http://later.test/taxii2/root/")
    fed.store.release(later, clock() + 100 * SECOND_US, 0)
    off = _puller(world, fed, "off", url="http://off.test/taxii2/root/")
    fed.update("off", enabled=False)
    served, _, _ = add_peer(world, "served", fed=fed, url="http://served.test/taxii2/root/")

    runs = fed.run_due()
    assert [(r.peer_id, r.trigger, r.status) for r in runs] == [(due, "schedule", RunStatus.OK)]
    assert {r.url.host for r in peer_hub.requests} == {"due.test"}
    assert fed.get(due).next_due_us == clock() + 60 * SECOND_US
    assert fed.run_due() == []  # nothing is due any more

    clock.advance(100)
    assert [r.peer_id for r in fed.run_due()] == [due, later]  # the longest overdue first
    assert {r.url.host for r in peer_hub.requests} == {"due.test", "later.test"}
    assert fed.runs(off) == [] and fed.runs(served.id) == []


def test_run_refuses_a_served_peer(world: World, fed: Federation, peer_hub: FakePeer) -> None:
    add_peer(world, "served", fed=fed)
    with pytest.raises(ValidationError) as caught:
        fed.run("served")
    assert caught.value.field == "direction"
    assert peer_hub.requests == [] and fed.runs("served") == []


def test_a_good_run_pulls_the_pages_and_moves_the_checkpoint(world: World, fed: Federation, peer_hub: FakePeer) -> None:
    peer_id = _puller(world, fed)
    peer_hub.pages = [([_green(1), _green(2)], "2025-01-01T00:00:00.000001Z"), ([_green(3)], "2025-01-01T00:00:00.2Z")]
    run = fed.run("partner")
    assert (run.status, run.pulled, run.already, run.error) == (RunStatus.OK, 3, 0, None)
    # The peer listed no deletions: only the objects' checkpoint has moved.
    assert fed.cursors(peer_id) == {(world.collection.id, "remote", "pull-objects"): "2025-01-01T00:00:00.2Z"}
    assert fed.get(peer_id).remote_hub_id == "hub-peer"
    assert world.hub.intel.count("shared") == 3
    again = fed.run("partner")
    assert (again.status, again.pulled) == (RunStatus.OK, 0)
    assert peer_hub.calls("/objects/")[-1].url.params["added_after"] == "2025-01-01T00:00:00.2Z"


# -- the lease ----------------------------------------------------------------------------------------


@pytest.fixture
def live_process() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def _here(pid: int) -> str:
    return f"{socket.gethostname()}:{pid}"


@pytest.mark.parametrize("holder", ["this-process", "live-child", "another-host"])
def test_a_peer_leased_by_a_live_process_is_not_run_twice(
    world: World,
    fed: Federation,
    clock: Clock,
    peer_hub: FakePeer,
    live_process: subprocess.Popen[bytes],
    holder: str,
) -> None:
    peer_id = _puller(world, fed)
    runner = {
        "this-process": _here(os.getpid()),
        "live-child": _here(live_process.pid),
        "another-host": "elsewhere.example:1",  # its liveness is unknown here: only expiry frees it
    }[holder]
    assert fed.store.claim(peer_id, clock(), clock() + LEASE_US, runner, due_only=False)
    with pytest.raises(ConflictError) as caught:
        fed.run("partner")
    assert runner in caught.value.message and "already being synced" in caught.value.message
    assert fed.run_due() == []
    assert fed.store.lease_holder(peer_id) == (runner, clock() + LEASE_US)
    assert fed.runs(peer_id) == [] and peer_hub.requests == []
    assert fed.status("partner").running
    # Once the lease has expired the peer is free again.
    clock.advance(301)
    assert fed.run("partner").status is RunStatus.OK
    assert fed.store.lease_holder(peer_id) == (None, None)


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.mark.parametrize("how", ["run", "run_due"])
def test_a_lease_left_by_a_dead_process_of_this_host_is_broken(
    world: World, fed: Federation, clock: Clock, how: str
) -> None:
    peer_id = _puller(world, fed)
    dead = _here(_dead_pid())
    assert fed.store.claim(peer_id, clock(), clock() + LEASE_US, dead, due_only=False)
    assert not fed.status("partner").running
    runs = [fed.run("partner")] if how == "run" else fed.run_due()
    assert [(r.peer_id, r.status, r.runner) for r in runs] == [(peer_id, RunStatus.OK, fed.runner)]
    assert fed.store.lease_holder(peer_id) == (None, None)


def test_a_lease_left_by_a_process_that_exited_but_was_not_reaped_is_broken(
    world: World, fed: Federation, clock: Clock
) -> None:
    peer_id = _puller(world, fed)
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        for _ in range(500):  # until it has exited: a zombie until it is waited for
            with open(f"/proc/{process.pid}/stat", encoding="ascii") as stat:
                if stat.read().rsplit(")", 1)[-1].split()[0] == "Z":
                    break
            time.sleep(0.01)
        else:
            pytest.fail("the child process did not exit")
        assert fed.store.claim(peer_id, clock(), clock() + LEASE_US, _here(process.pid), due_only=False)
        assert fed.run("partner").status is RunStatus.OK
    finally:
        process.wait()


# -- failures ---------------------------------------------------------------------------------------


def test_failed_runs_back_off_and_a_good_run_resets_the_wait(
    world: World, fed: Federation, clock: Clock, peer_hub: FakePeer, waits: list[float]
) -> None:
    peer_id = _puller(world, fed)
    peer_hub.fail = lambda request: 500
    interval = 60 * SECOND_US
    for failures in (1, 2, 3):
        run = fed.run("partner")
        assert run.status is RunStatus.FAILED
        assert run.error == f"{HELLO_URL}: HTTP 500: failure 500 (gave up after 3 attempts)"
        peer = fed.get(peer_id)
        assert peer.consecutive_failures == failures
        assert peer.next_due_us == clock() + interval * 2**failures == clock() + fed._delay_us(peer, failures)
    assert waits == [1.0, 2.0] * 3  # each request retried twice, without waiting for real
    # The wait is capped (at an hour here).
    fed.store.release(peer_id, clock(), 9)
    fed.run("partner")
    assert fed.get(peer_id).consecutive_failures == 10
    assert fed.get(peer_id).next_due_us == clock() + 3600 * SECOND_US
    status = fed.status("partner")
    assert status.last_error == run.error and status.last_success_us is None and status.lag_seconds is None
    # A good run resets the count and the interval.
    peer_hub.fail = lambda request: None
    clock.advance(3600)
    assert fed.run("partner").status is RunStatus.OK
    peer = fed.get(peer_id)
    assert (peer.consecutive_failures, peer.next_due_us) == (0, clock() + interval)
    status = fed.status("partner")
    assert status.last_success_us == clock() and status.lag_seconds == 0.0 and status.last_error is None


def test_an_interval_longer_than_the_backoff_cap_is_kept_after_a_failure(
    world: World, fed: Federation, clock: Clock, peer_hub: FakePeer
) -> None:
    peer_id = _puller(world, fed, interval_seconds=7200)
    peer_hub.fail = lambda request: 503
    fed.run("partner")
    assert fed.get(peer_id).next_due_us == clock() + 7200 * SECOND_US


def test_a_peer_that_always_fails_ends_the_run_failed_and_leaves_the_checkpoint(
    world: World, fed: Federation, clock: Clock, peer_hub: FakePeer
) -> None:
    peer_id = _puller(world, fed)
    first = ([_green(1)], "2025-01-01T00:00:00.000001Z")
    peer_hub.pages = [first]
    assert fed.run("partner").status is RunStatus.OK
    before = fed.cursors(peer_id)
    assert "2025-01-01T00:00:00.000001Z" in before.values()
    peer_hub.pages = [first, ([_green(2)], "2025-01-01T00:00:00.000002Z")]
    peer_hub.fail = lambda request: 500 if request.url.path.endswith("/objects/") else None
    clock.advance(60)
    run = fed.run("partner")
    assert run.status is RunStatus.FAILED
    assert run.error == f"{OBJECTS_URL}: HTTP 500: failure 500 (gave up after 3 attempts)"
    assert fed.cursors(peer_id) == before
    assert fed.runs(peer_id)[0] == run
    assert world.hub.intel.count("shared") == 1


def test_a_run_that_fails_midway_keeps_what_was_committed_and_the_next_resumes_there(
    world: World, fed: Federation, peer_hub: FakePeer
) -> None:
    peer_id = _puller(world, fed)
    peer_hub.pages = [
        ([_green(1), _green(2)], "2025-01-01T00:00:00.000001Z"),
        ([_green(3)], "2025-01-01T00:00:00.000002Z"),
    ]

    def second_page_fails(request: httpx.Request) -> int | None:
        url = request.url
        return 502 if url.path.endswith("/objects/") and url.params.get("added_after") else None

    peer_hub.fail = second_page_fails
    run = fed.run("partner")
    assert run.status is RunStatus.FAILED and run.pulled == 2
    assert "2025-01-01T00:00:00.000001Z" in fed.cursors(peer_id).values()
    peer_hub.fail = lambda request: None
    peer_hub.requests.clear()
    resumed = fed.run("partner")
    assert (resumed.status, resumed.pulled) == (RunStatus.OK, 1)
    assert peer_hub.calls("/objects/")[0].url.params["added_after"] == "2025-01-01T00:00:00.000001Z"
    stored = world.hub.intel.objects(world.principal("alice@a.example"), "shared", ObjectFilter(versions=("all",)))
    assert len(stored.bodies) == 3
