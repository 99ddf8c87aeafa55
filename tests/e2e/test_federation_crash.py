"""A hub killed (SIGKILL) in the middle of a multi-page sync, then restarted, ends with exactly the sender's visible
versions: none lost, none twice.

A holds a few thousand GREEN versions (which any peer may take) among AMBER ones that name no peer; pages are small,
so that a sync spans many. B pulls from A with ``ribat sync a``, killed once its checkpoint has moved and run again.
A pushes to C from the background sync of a ``ribat serve``, killed mid-push and started again: the lease the dead
process left must not hold the restarted one back, and at most one page is sent twice (stored once).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from e2e.federation import Node, link, mesh, query, spawn, stored, sync, version_counts, wait_until
from e2e.live import TLP_AMBER, TLP_GREEN

pytestmark = pytest.mark.e2e

ENGINES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
PAGE = 50
GREEN = 2000
HIDDEN = 20
ENVELOPE = 500


def indicator(n: int, marking: str) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": f"bad host {n}",
        "pattern": f"[ipv4-addr:value = '10.{n // 65536}.{n // 256 % 256}.{n % 256}']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
        "object_marking_refs": [marking],
    }


@pytest.fixture(scope="module", params=ENGINES)
def trio(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Node]]:
    workdir = tmp_path_factory.mktemp(f"fed-crash-{request.param}")
    with mesh(request.param, ["a", "b", "c"], workdir, settings={"RIBAT_FEDERATION_PAGE_SIZE": str(PAGE)}) as nodes:
        yield nodes


@pytest.fixture(scope="module")
def sent(trio: dict[str, Node]) -> set[tuple[str, str]]:
    """A's versions that its peers may take (GREEN), posted among AMBER ones that name no peer."""
    every = GREEN // HIDDEN
    objects = [indicator(n, TLP_AMBER if n % every == every - 1 else TLP_GREEN) for n in range(GREEN + HIDDEN)]
    for start in range(0, len(objects), ENVELOPE):
        trio["a"].post(objects[start : start + ENVELOPE])
    green = {(o["id"], o["modified"]) for o in objects if o["object_marking_refs"] == [TLP_GREEN]}
    assert len(green) == GREEN
    return green


def held(node: Node) -> int:
    """How many versions the hub holds in ``shared`` (its database, read while a sync writes)."""
    rows = query(
        node,
        "SELECT count(*) FROM stix_objects WHERE collection_id = :c AND deleted_us IS NULL",
        c=node.shared,
    )
    return int(rows[0][0])


def peer(node: Node, name: str) -> dict[str, Any]:
    """``GET /api/v1/peers/{name}``: the peer's status and checkpoints."""
    with node.admin() as admin:
        response = admin.get(f"/api/v1/peers/{name}")
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found


def checkpoint(node: Node, name: str, stream: str) -> str | None:
    return next((c["cursor"] for c in peer(node, name)["checkpoints"] if c["stream"] == stream), None)


def runs(node: Node, name: str) -> list[dict[str, Any]]:
    """The peer's runs, newest first."""
    with node.admin() as admin:
        response = admin.get(f"/api/v1/peers/{name}/runs")
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()["runs"]
        return found


def lease(node: Node, name: str) -> str | None:
    """Who holds the peer's lease (``host:pid``), if anyone."""
    rows = query(node, "SELECT lease_runner FROM peers WHERE name = :name", name=name)
    return rows[0][0] if rows else None


def kill_midway(proc: subprocess.Popen[bytes], sender: Node, receiver: Node, name: str, stream: str) -> int:
    """SIGKILL ``proc`` once ``sender``'s checkpoint of ``stream`` with peer ``name`` has moved and the receiver
    holds a quarter of the versions; returns how many it holds then."""

    def progressed() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"the sync ended (exit {proc.returncode}) before it could be killed")
        return checkpoint(sender, name, stream) is not None and held(receiver) >= GREEN // 4

    try:
        wait_until(progressed, f"the {stream} checkpoint with {name} to move")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    at_kill = held(receiver)
    assert 0 < at_kill < GREEN, f"the sync was not killed midway: {at_kill} of {GREEN} held"
    return at_kill


def assert_exactly(receiver: Node, sent: set[tuple[str, str]]) -> None:
    seen = version_counts(receiver)
    assert set(seen) == sent
    assert max(seen.values()) == 1
    # Nothing held twice, nor anything the reader cannot see (the AMBER versions never crossed).
    assert len(stored(receiver)) == GREEN


def test_receiver_killed_while_pulling_resumes_without_loss_or_duplicates(
    trio: dict[str, Node], sent: set[tuple[str, str]]
) -> None:
    a, b = trio["a"], trio["b"]
    link(b, a, "pull")
    proc = spawn(b, "sync", "a")
    at_kill = kill_midway(proc, b, b, "a", "pull-objects")
    left = checkpoint(b, "a", "pull-objects")
    # The dead process still holds the peer's lease (the status knows it is not running); running again breaks it.
    assert lease(b, "a") == f"{socket.gethostname()}:{proc.pid}"
    assert peer(b, "a")["running"] is False

    again = b.hub.cli("sync", "a")
    assert "a: ok" in again.stdout, again.stdout
    assert checkpoint(b, "a", "pull-objects") != left
    rerun, killed = runs(b, "a")[:2]
    assert killed["status"] == "interrupted", killed
    assert rerun["status"] == "ok" and rerun["echoes"] == 0 and rerun["rejected"] == 0, rerun
    # The run resumed at its checkpoint: what the killed run had stored is not taken again, save the one page it
    # may have stored without moving the checkpoint (held once all the same).
    assert rerun["pulled"] == GREEN - at_kill, rerun
    assert rerun["already"] <= PAGE, rerun
    assert_exactly(b, sent)

    quiet = sync(b, "a")
    assert (quiet["status"], quiet["pulled"], quiet["already"]) == ("ok", 0, 0), quiet


def test_sender_killed_while_pushing_in_the_background_resumes_after_restart(
    trio: dict[str, Node], sent: set[tuple[str, str]]
) -> None:
    a, c = trio["a"], trio["c"]
    link(a, c, "push", every=3600)
    background = {"RIBAT_FEDERATION_SCHEDULER": "true", "RIBAT_FEDERATION_POLL_SECONDS": "0.2"}
    serve = ("serve", "--host", "127.0.0.1", "--port", "0", "--log-level", "warning")
    proc = spawn(a, *serve, settings=background)
    at_kill = kill_midway(proc, a, c, "c", "push-objects")
    assert lease(a, "c") == f"{socket.gethostname()}:{proc.pid}"

    # A restarted: its background sync takes the peer up again, at once.
    restarted = spawn(a, *serve, settings=background)
    try:
        wait_until(lambda: runs(a, "c")[0]["status"] not in ("running", "interrupted"), "the restarted push to end")
    finally:
        restarted.terminate()
        restarted.wait(timeout=60)
    resumed, killed = runs(a, "c")[:2]
    assert killed["status"] == "interrupted", killed
    assert resumed["status"] == "ok" and resumed["trigger"] == "schedule", resumed
    assert resumed["echoes"] == 0 and resumed["rejected"] == 0, resumed
    # C may have stored the page in flight when A died after the count above: that page is sent again, once.
    late = GREEN - at_kill - resumed["pushed"]
    assert 0 <= late <= PAGE and resumed["already"] <= PAGE, resumed
    assert_exactly(c, sent)
    assert "Traceback" not in (a.hub.workdir / "spawned-serve.log").read_text()
