"""Hunting with the hub's indicators: TLP on the way in, sightings shared with the author on the way out, and
hunts run as background jobs, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from ribat.errors import NotFoundError, PermissionDeniedError, TooLargeError, ValidationError
from ribat.hunt.service import Hunts
from ribat.hunt.types import JobStatus
from ribat.intel import ObjectFilter, Tlp
from ribat.intel.tlp import TLP_MARKING_IDS
from support import World, indicator

SIMDA = "cti/logs/stratosphere-005-simda"
RED = next(k for k, v in TLP_MARKING_IDS.items() if v is Tlp.RED)
GREEN = next(k for k, v in TLP_MARKING_IDS.items() if v is Tlp.GREEN)


def dns_indicator(n: int, domain: str, **extra: Any) -> dict[str, object]:
    # The capture's clock starts at the epoch: the indicators must be valid from then.
    return indicator(n, pattern=f"[domain-name:value = '{domain}']", valid_from="1970-01-01T00:00:00Z", **extra)


@pytest.fixture
def hunts(world: World, tmp_path: Path) -> Any:
    service = Hunts.for_hub(world.hub, directory=tmp_path / "hunts", max_upload_bytes=2_000_000)
    yield service
    service.close()


@pytest.fixture
def shared(world: World) -> World:
    """Bob (cert-b) shares a GREEN indicator for a Simda domain; carol (cert-c) a RED one alice may not read."""
    world.hub.intel.ingest(
        world.principal("bob@b.example"),
        "shared",
        {"objects": [dns_indicator(1, "volykyc.com", object_marking_refs=[GREEN])]},
    )
    world.hub.intel.ingest(
        world.principal("carol@c.example"),
        "shared",
        {"objects": [dns_indicator(2, "pufymoq.com", object_marking_refs=[RED])]},
    )
    return world


def test_a_hunt_uses_only_the_indicators_the_hunter_may_read_and_shares_sightings_with_the_author(
    hunts: Hunts, shared: World, data_dir: Path
) -> None:
    alice = shared.principal("alice@a.example")
    chosen = hunts.indicators(alice, ["shared"])
    assert [o["id"] for o in chosen.objects] == [dns_indicator(1, "x")["id"]]
    assert chosen.authors == {dns_indicator(1, "x")["id"]: "cert-b"}
    result = hunts.run([data_dir / SIMDA / "dns.log"], chosen.objects)
    (hit,) = result.hits.values()
    assert hit.count == 7  # volykyc.com is asked 7 times in the capture's dns.log
    outcome = hunts.share(alice, result.hits.values(), "shared", authors=chosen.authors)
    assert outcome.sightings == 1 and outcome.statuses[0]["failure_count"] == 0
    assert outcome.statuses[0]["share_with"] == ["org:cert-b"]
    sightings = shared.hub.intel.objects(
        shared.principal("bob@b.example"), "shared", ObjectFilter(types=("sighting",))
    ).bodies
    assert len(sightings) == 1 and orjson.loads(sightings[0])["count"] == 7
    # AMBER, shared with cert-b: carol's organisation does not see the sighting.
    assert (
        shared.hub.intel.objects(
            shared.principal("carol@c.example"), "shared", ObjectFilter(types=("sighting",))
        ).bodies
        == []
    )


def test_a_hunt_job_runs_in_the_background_over_uploaded_logs(hunts: Hunts, shared: World, data_dir: Path) -> None:
    alice = shared.principal("alice@a.example")
    dns = (data_dir / SIMDA / "dns.log").read_bytes()
    lines = dns.split(b"\n")
    broken = b"\n".join([*lines[:12], b"garbage line", *lines[12:]])
    job = hunts.start(
        alice, [("../../etc/dns.log", [broken[:1000], broken[1000:]])], collections=["shared"], share_to="shared"
    )
    assert job.status is JobStatus.QUEUED and job.params["logs"] == ["dns.log"]
    done = hunts.wait(alice, job.id)
    assert done.status is JobStatus.DONE, done.error
    assert done.records == 992 and done.matches == 7 and done.indicators == 1
    assert done.problem_count == 1 and done.problems[0].startswith("dns.log:13:")
    assert done.result is not None and done.result["hits"][0]["count"] == 7
    assert done.shared is not None and done.shared["sightings"] == 1
    assert not (hunts.directory / job.id).exists()  # the uploaded logs are gone once the hunt ends
    with pytest.raises(NotFoundError):
        hunts.job(shared.principal("bob@b.example"), job.id)
    assert hunts.jobs(shared.principal("anna@a.example"))[1] == 1  # the same organisation sees it


def test_uploads_are_capped_and_readers_cannot_start_hunts(hunts: Hunts, shared: World) -> None:
    alice = shared.principal("alice@a.example")
    with pytest.raises(TooLargeError):
        hunts.start(alice, [("big.log", [b"x" * 1_500_000, b"x" * 1_500_000])], collections=["shared"])
    assert not any(hunts.directory.iterdir())
    with pytest.raises(PermissionDeniedError):
        hunts.start(shared.principal("anna@a.example"), [("a.log", [b"x"])], collections=["shared"])
    with pytest.raises(ValidationError, match="kind"):
        hunts.start(alice, [("a.log", [b"x"])], collections=["shared"], kind="pcap")
    with pytest.raises(ValidationError, match="at least one"):
        hunts.start(alice, [], collections=["shared"])


def test_sightings_are_shared_only_to_a_collection_the_hunter_may_write(hunts: Hunts, shared: World) -> None:
    from ribat.intel import Grant

    shared.hub.intel.create_collection(
        "read only", alias="ro", default_tlp=Tlp.GREEN, grants=[Grant("community", "", True, False)]
    )
    alice = shared.principal("alice@a.example")
    with pytest.raises(PermissionDeniedError, match="share sightings"):
        hunts.start(alice, [("a.log", [b"x"])], collections=["shared"], share_to="ro")
    assert not hunts.directory.exists() or not any(hunts.directory.iterdir())


def test_closing_the_service_records_unfinished_hunts_as_interrupted(
    shared: World, tmp_path: Path, data_dir: Path
) -> None:
    service = Hunts.for_hub(shared.hub, directory=tmp_path / "h", workers=1)
    alice = shared.principal("alice@a.example")
    log = (data_dir / SIMDA / "dns.log").read_bytes()
    first = service.start(alice, [("dns.log", [log])], collections=["shared"])
    queued = [service.start(alice, [("dns.log", [log])], collections=["shared"]) for _ in range(3)]
    service.close()
    statuses = {service.store.get(j.id).status for j in queued}  # type: ignore[union-attr]
    assert statuses <= {JobStatus.DONE, JobStatus.FAILED}
    assert service.store.get(first.id).status in (JobStatus.DONE, JobStatus.FAILED)  # type: ignore[union-attr]
    assert service.store.runners() == []
    assert not any((tmp_path / "h").iterdir())
