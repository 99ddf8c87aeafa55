"""The background scheduler: it runs due feeds and records the runs, survives failures,
stops cleanly between batches, and shares feeds with other processes without running one twice."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from feeds._support import FileServer, RemoteHub, feeds_for
from ribat.feeds import Credentials, FeedRun, FeedScheduler, RunStatus, RunTrigger, background_feeds
from ribat.hub import Hub
from support import World, indicator


def _drop(tmp_path: Path, name: str = "drop", first: int = 0, count: int = 2) -> Path:
    directory = tmp_path / name
    directory.mkdir()
    (directory / "objects.json").write_text(json.dumps([indicator(n) for n in range(first, first + count)]))
    return directory


def _wait_for(condition: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_the_scheduler_runs_a_due_feed_in_the_background_and_records_the_run(world: World, tmp_path: Path) -> None:
    feeds = feeds_for(world.hub)
    feed = feeds.add("bg", kind="directory", source=str(_drop(tmp_path)), collection="shared", user="alice@a.example")
    scheduler = FeedScheduler(feeds, poll_seconds=0.05)
    scheduler.start()
    try:
        assert scheduler.running
        _wait_for(lambda: (run := feeds.get(feed.id).last_run) is not None and run.finished_us is not None)
    finally:
        scheduler.stop(timeout=20)
    assert not scheduler.running
    run = feeds.get(feed.id).last_run
    assert run is not None
    assert (run.trigger, run.status, run.stored) == (RunTrigger.SCHEDULE, RunStatus.OK, 2)
    assert run.duration_ms is not None and run.duration_ms >= 0
    assert feeds.get(feed.id).next_due_us > run.finished_us, "due again one interval later, not at once"
    assert len(feeds.runs(feed.id)) == 1


def test_a_failing_round_does_not_end_the_scheduler() -> None:
    class Flaky:
        def __init__(self) -> None:
            self.calls = 0

        def run_due(self, *, stop: threading.Event | None = None) -> list[FeedRun]:
            self.calls += 1
            if self.calls == 1:
                raise RuntimeError("database went away")
            return []

        def close(self) -> None:
            pass

    flaky = Flaky()
    scheduler = FeedScheduler(flaky, poll_seconds=0.01)  # type: ignore[arg-type]
    scheduler.start()
    try:
        _wait_for(lambda: flaky.calls >= 3)
        assert scheduler.running
    finally:
        scheduler.stop()


def test_a_feed_whose_source_fails_is_recorded_and_the_next_feed_still_runs(world: World, tmp_path: Path) -> None:
    feeds = feeds_for(world.hub, http=httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(500))))
    broken = feeds.add(
        "a-broken", kind="text", source="https://down.example/l.txt", collection="shared", user="alice@a.example"
    )
    fine = feeds.add(
        "b-fine", kind="directory", source=str(_drop(tmp_path)), collection="shared", user="alice@a.example"
    )
    runs = FeedScheduler(feeds).run_once()
    assert {r.feed_id: r.status for r in runs} == {broken.id: RunStatus.ERROR, fine.id: RunStatus.OK}


def test_stopping_ends_the_run_between_batches_and_the_next_run_resumes(world: World, remote: RemoteHub) -> None:
    remote.publish(indicator(n) for n in range(25))
    stop = threading.Event()

    def stop_during_page_2(request: httpx.Request) -> int | None:
        if len(remote.objects_requests()) == 2:
            stop.set()
        return None

    remote.fail = stop_during_page_2
    feeds = feeds_for(world.hub, http=remote.client(), taxii_page_size=10)
    feed = feeds.add(
        "remote",
        kind="taxii",
        source=remote.collection_url,
        collection="shared",
        user="alice@a.example",
        credentials=Credentials(api_key=remote.key("alice@a.example")),
    )
    (stopped,) = feeds.run_due(stop=stop)
    assert stopped.status is RunStatus.ERROR and "shutting down" in (stopped.error or "")
    assert stopped.stored == 20, "page 2, fetched before the stop, is committed"
    remote.fail = lambda request: None
    resumed = feeds.run(feed.id)
    assert (resumed.stored, resumed.merged) == (5, 0)


def test_two_processes_never_run_the_same_feed_twice(world: World, tmp_path: Path, settings: Any) -> None:
    other = Hub.open(settings)
    try:
        here, there = feeds_for(world.hub), feeds_for(other)
        made = [
            here.add(
                f"feed {n}",
                kind="directory",
                source=str(_drop(tmp_path, f"d{n}", n * 10)),
                collection="shared",
                user="alice@a.example",
            )
            for n in range(4)
        ]
        results: list[list[FeedRun]] = []
        start = threading.Barrier(2)

        def round_of(feeds: Any) -> None:
            start.wait()
            results.append(feeds.run_due())

        threads = [threading.Thread(target=round_of, args=(f,)) for f in (here, there)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        runs = [r for rs in results for r in rs]
        assert sorted(r.feed_id for r in runs) == sorted(f.id for f in made)
        assert all(len(here.runs(f.id)) == 1 for f in made)
        assert world.hub.intel.count("shared") == 8
    finally:
        other.close()


def test_background_feeds_runs_the_scheduler_for_the_life_of_a_block_when_the_setting_is_on(
    world: World, tmp_path: Path, settings: Any
) -> None:
    feed = feeds_for(world.hub).add(
        "bg", kind="directory", source=str(_drop(tmp_path)), collection="shared", user="alice@a.example"
    )
    with background_feeds(world.hub, poll_seconds=0.05) as scheduler:
        assert scheduler is not None and scheduler.running
        _wait_for(
            lambda: (run := feeds_for(world.hub).get(feed.id).last_run) is not None and run.finished_us is not None
        )
    assert not scheduler.running
    off = Hub.open(settings.model_copy(update={"feed_scheduler": False}))
    try:
        with background_feeds(off) as nothing:
            assert nothing is None
    finally:
        off.close()


def test_stopping_does_not_wait_out_a_retry_backoff(world: World, files: FileServer) -> None:
    files.extra_headers = {"Retry-After": "300"}
    files.broken = lambda request: 503
    scheduler = FeedScheduler.for_hub(world.hub, http=files.client(), poll_seconds=60)
    scheduler.feeds.add("busy", kind="text", source=files.url("l.txt"), collection="shared", user="alice@a.example")
    scheduler.start()
    _wait_for(lambda: len(files.requests) >= 1)
    started = time.monotonic()
    scheduler.stop(timeout=30)
    assert not scheduler.running and time.monotonic() - started < 10
    (run,) = scheduler.feeds.runs("busy")
    assert run.status is RunStatus.ERROR
