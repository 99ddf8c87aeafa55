"""A real hub (``ribat serve``) syncing with peers that misbehave, and syncing by itself on its schedule.

The peer is ``e2e.faulty_peer``: a TAXII 2.1 server on 127.0.0.1 that answers garbage, 500s or nothing on demand.
The hub retries each request (``RIBAT_FEDERATION_RETRIES``, each attempt bounded by ``RIBAT_FEDERATION_TIMEOUT``),
reports the run as failed with an error naming the URL and the fault (``GET /api/v1/peers/{name}``: the last run,
the last error, the consecutive failures, and a next run pushed further out after each), keeps the checkpoint of
the last committed page, and resumes from it once the peer heals. With ``RIBAT_FEDERATION_SCHEDULER`` on, it syncs a
peer on the peer's interval without being asked.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from e2e.faulty_peer import COLLECTION, FaultyPeer, faulty_peer, stamp
from e2e.live import TAXII, Coalition, CollectionSpec, LiveHub, Org, User, get_all, start_hub
from ribat.clock import parse_timestamp_us

pytestmark = pytest.mark.e2e

RETRIES = 2
INTERVAL = 60
SECOND_US = 1_000_000
ENGINES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
SETTINGS = {
    "RIBAT_FEDERATION_SCHEDULER": "false",
    "RIBAT_FEDERATION_RETRIES": str(RETRIES),
    "RIBAT_FEDERATION_TIMEOUT": "1",
    "RIBAT_FEDERATION_PAGE_SIZE": "2",
}
COALITION = Coalition(
    orgs=(Org("cert-a", "National CERT A", "MA"), Org("cert-p", "Peer CERT", "TN")),
    users=(User("analyst@a.example", "cert-a"),),
    collections=(CollectionSpec("shared", "Shared", default_tlp="green", owner="cert-a"),),
)


@pytest.fixture(scope="module", params=ENGINES)
def hub(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    workdir: Path = tmp_path_factory.mktemp(f"fed-faults-{request.param}")
    with start_hub(request.param, COALITION, workdir, SETTINGS) as live:
        yield live


@pytest.fixture
def peer() -> Iterator[FaultyPeer]:
    with faulty_peer() as p:
        yield p


def admin(hub: LiveHub) -> httpx.Client:
    return httpx.Client(
        base_url=hub.base_url, headers={"Authorization": f"Bearer {hub.admin_key}"}, timeout=httpx.Timeout(120.0)
    )


def add_peer(hub: LiveHub, name: str, peer: FaultyPeer, *, interval: int = INTERVAL) -> None:
    with admin(hub) as client:
        response = client.post(
            "/api/v1/peers",
            json={
                "name": name,
                "url": peer.api_root,
                "key": "rbt_00000000_the-key-the-peer-gave-us",
                "direction": "pull",
                "collections": [f"shared={COLLECTION}"],
                "org": "cert-p",
                "interval_seconds": interval,
            },
        )
    assert response.status_code == 201, response.text


def sync(hub: LiveHub, name: str) -> dict[str, Any]:
    with admin(hub) as client:
        response = client.post(f"/api/v1/peers/{name}/sync")
    assert response.status_code == 200, response.text
    run: dict[str, Any] = response.json()
    return run


def status(hub: LiveHub, name: str) -> dict[str, Any]:
    with admin(hub) as client:
        response = client.get(f"/api/v1/peers/{name}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def runs(hub: LiveHub, name: str) -> list[dict[str, Any]]:
    with admin(hub) as client:
        response = client.get(f"/api/v1/peers/{name}/runs")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["runs"]
    return found


def held(hub: LiveHub, peer: FaultyPeer) -> Counter[str]:
    """How many times the hub's analyst is served each of the peer's objects (every version)."""
    with hub.http("analyst@a.example") as client:
        client.headers["Accept"] = TAXII
        objects = get_all(client, f"{hub.collection_url('shared')}objects/", {"match[version]": "all"}, limit=100)
    ours = {o["id"] for o in peer.objects}
    return Counter(o["id"] for o in objects if o["id"] in ours)


def delay_seconds(found: dict[str, Any]) -> float:
    """How long after its last run ended the peer's next run is due."""
    return (parse_timestamp_us(found["next_due"]) - parse_timestamp_us(found["last_run"]["finished"])) / SECOND_US


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        pytest.param("garbage", "HTTP 200 with a body that is not a TAXII answer", id="garbage"),
        pytest.param("not-envelope", "HTTP 200 with a body that is not a TAXII answer", id="not-envelope"),
        pytest.param("500", "HTTP 500", id="500"),
        pytest.param("timeout", "ReadTimeout", id="timeout"),
    ],
)
def test_a_faulty_peer_fails_the_run_with_a_clear_error_and_is_tried_later_each_time(
    hub: LiveHub, peer: FaultyPeer, fault: str, says: str
) -> None:
    name = f"flaky-{fault}"
    peer.add(4)
    peer.fault = fault
    add_peer(hub, name, peer)
    objects_url = f"{peer.api_root}collections/{COLLECTION}/objects/"

    for failures in (1, 2):
        run = sync(hub, name)
        assert run["status"] == "failed" and run["pulled"] == 0, run
        assert objects_url in run["error"] and says in run["error"], run["error"]
        assert f"gave up after {RETRIES + 1} attempts" in run["error"], run["error"]
        assert len(peer.calls("GET")) == (RETRIES + 1) * failures  # every attempt reached the peer
        found = status(hub, name)
        assert found["last_error"] == run["error"]
        assert found["last_run"]["id"] == run["id"] and found["last_run"]["status"] == "failed"
        assert found["consecutive_failures"] == failures
        assert delay_seconds(found) == INTERVAL * 2**failures  # doubled after each failure in a row
        assert found["checkpoints"] == []
    assert held(hub, peer) == Counter()

    peer.fault = None
    healed = sync(hub, name)
    assert (healed["status"], healed["pulled"], healed["error"]) == ("ok", 4, None), healed
    found = status(hub, name)
    assert found["last_error"] is None and found["consecutive_failures"] == 0
    assert delay_seconds(found) == INTERVAL
    assert held(hub, peer) == Counter(o["id"] for o in peer.objects)


def test_a_peer_failing_after_three_pages_keeps_the_checkpoint_there_and_the_sync_resumes_from_it(
    hub: LiveHub, peer: FaultyPeer
) -> None:
    peer.add(10)  # five pages of two (RIBAT_FEDERATION_PAGE_SIZE)
    peer.fault, peer.good = "500", 3
    add_peer(hub, "fails-late", peer)

    failed = sync(hub, "fails-late")
    assert failed["status"] == "failed" and failed["pulled"] == 6, failed
    found = status(hub, "fails-late")
    assert [(c["stream"], c["cursor"]) for c in found["checkpoints"]] == [("pull-objects", stamp(5))]
    assert held(hub, peer) == Counter(o["id"] for o in peer.objects[:6])

    peer.fault = None
    before = len(peer.calls("GET"))
    resumed = sync(hub, "fails-late")
    assert (resumed["status"], resumed["pulled"], resumed["already"]) == ("ok", 4, 0), resumed
    assert peer.calls("GET")[before].params.get("added_after") == stamp(5)
    found = status(hub, "fails-late")
    assert [(c["stream"], c["cursor"]) for c in found["checkpoints"]] == [("pull-objects", stamp(9))]
    assert held(hub, peer) == Counter(o["id"] for o in peer.objects)


def wait_for_run(hub: LiveHub, name: str, pulled: int, *, deadline_s: float = 90.0) -> list[dict[str, Any]]:
    """Poll the peer's runs until a scheduled run that pulled ``pulled`` versions has ended; every run so far."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        found = runs(hub, name)
        if any(r["trigger"] == "schedule" and r["status"] == "ok" and r["pulled"] == pulled for r in found):
            return found
        time.sleep(0.2)
    pytest.fail(f"no scheduled run of {name} pulled {pulled} versions within {deadline_s} s: {runs(hub, name)}")


@pytest.mark.parametrize("backend", ENGINES)
def test_ribat_serve_syncs_a_peer_by_itself_on_its_interval(backend: str, tmp_path: Path, peer: FaultyPeer) -> None:
    scheduled = {**SETTINGS, "RIBAT_FEDERATION_SCHEDULER": "true", "RIBAT_FEDERATION_POLL_SECONDS": "0.5"}
    with start_hub(backend, COALITION, tmp_path, scheduled) as live:
        peer.add(3)
        add_peer(live, "on-schedule", peer, interval=10)  # due at once, then every 10 s (the shortest interval)
        first = wait_for_run(live, "on-schedule", 3)
        assert all(r["trigger"] == "schedule" for r in first), first
        assert held(live, peer) == Counter(o["id"] for o in peer.objects)

        peer.add(2)
        later = wait_for_run(live, "on-schedule", 2)
        assert all(r["trigger"] == "schedule" and r["status"] == "ok" for r in later), later
        assert held(live, peer) == Counter(o["id"] for o in peer.objects)
        found = status(live, "on-schedule")
        assert found["last_error"] is None and found["last_success"] is not None
