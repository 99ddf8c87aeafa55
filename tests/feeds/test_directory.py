"""The ``directory`` source: STIX 2.x files, re-read when their mtime or size changes."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from feeds._support import feeds_for, stored_bodies
from ribat.feeds import RunStatus
from support import World, indicator


def _bundle(*objects: dict[str, object]) -> str:
    return json.dumps(
        {"type": "bundle", "id": "bundle--6a2c4c1e-0b7f-4d84-9a3e-2f5c1d7e9b10", "objects": list(objects)}
    )


def test_files_are_read_once_and_again_only_when_changed(world: World, tmp_path: Path, data_dir: Path) -> None:
    source = tmp_path / "drop"
    (source / "unit42").mkdir(parents=True)
    playbook = data_dir / "cti" / "stix20" / "unit42-playbooks" / "2024-02-08-Pikabot.json"
    shutil.copy(playbook, source / "unit42" / playbook.name)
    (source / "array.json").write_text(json.dumps([indicator(1), indicator(2)]))
    (source / "single.json").write_text(json.dumps(indicator(3)))
    (source / "notes.txt").write_text("not read")
    pikabot = len(json.loads(playbook.read_text())["objects"])

    feeds = feeds_for(world.hub)
    feed = feeds.add("drop", kind="directory", source=str(source), collection="shared", user="alice@a.example")
    first = feeds.run(feed.id)
    assert (first.status, first.fetched, first.stored, first.failed) == (RunStatus.OK, pikabot + 3, pikabot + 3, 0)
    bodies = stored_bodies(world.hub, world.principal("alice@a.example"), "shared")
    assert {b["spec_version"] for b in bodies} == {"2.1"}, "the STIX 2.0 bundle was upgraded"

    again = feeds.run(feed.id)
    assert (again.fetched, again.stored) == (0, 0)

    (source / "array.json").write_text(json.dumps([indicator(1), indicator(2), indicator(4)]))
    changed = feeds.run(feed.id)
    assert (changed.fetched, changed.stored, changed.merged) == (3, 1, 2), "only the changed file is read again"

    (source / "single.json").unlink()
    assert feeds.run(feed.id).fetched == 0
    assert set(feeds.store.items(feed.id)) == {"array.json", "unit42/2024-02-08-Pikabot.json"}


def test_a_malformed_file_fails_alone_and_is_read_again_once_fixed(world: World, tmp_path: Path) -> None:
    source = tmp_path / "drop"
    source.mkdir()
    (source / "a.json").write_text(_bundle(indicator(1)))
    (source / "b.json").write_text('{"type": "bundle", "objects": [')
    (source / "c.json").write_text(_bundle(indicator(3), {"type": "indicator", "id": "indicator--bad"}))
    (source / "d.json").write_text('"just a string"')

    feeds = feeds_for(world.hub)
    feed = feeds.add("drop", kind="directory", source=str(source), collection="shared", user="alice@a.example")
    run = feeds.run(feed.id)
    assert (run.status, run.stored, run.failed) == (RunStatus.PARTIAL, 2, 3)
    problems = "\n".join(run.problems)
    assert "file b.json: b.json is not valid JSON" in problems
    assert "indicator--bad" in problems
    assert "file d.json: not a STIX bundle" in problems
    assert set(feeds.store.items(feed.id)) == {"a.json", "c.json"}, "the unreadable files are not marked done"

    (source / "b.json").write_text(_bundle(indicator(2)))
    later = feeds.run(feed.id)
    assert (later.stored, later.failed) == (1, 1), "b.json is read now; d.json is still bad"


def test_a_file_over_the_size_limit_is_refused(world: World, tmp_path: Path) -> None:
    source = tmp_path / "drop"
    source.mkdir()
    (source / "big.json").write_text(_bundle(*(indicator(n) for n in range(50))))
    feeds = feeds_for(world.hub, max_bytes=2048)
    feed = feeds.add("drop", kind="directory", source=str(source), collection="shared", user="alice@a.example")
    run = feeds.run(feed.id)
    assert run.failed == 1 and "exceeds the limit of 2048 bytes" in run.problems[0]


def test_a_directory_that_disappeared_is_an_error(world: World, tmp_path: Path) -> None:
    source = tmp_path / "drop"
    source.mkdir()
    feeds = feeds_for(world.hub)
    feed = feeds.add("drop", kind="directory", source=str(source), collection="shared", user="alice@a.example")
    os.rmdir(source)
    run = feeds.run(feed.id)
    assert run.status is RunStatus.ERROR and "not a directory" in (run.error or "")
