"""``ribat peer add|list|show|set|remove`` and ``ribat sync``, in process (typer's runner), against the test
database on SQLite and PostgreSQL; the organisations and collection are ``World``'s."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from typer.testing import CliRunner

from ribat.accounts import Role
from ribat.cli import app
from ribat.config import Settings
from ribat.errors import AuthenticationError
from ribat.federation import Direction, RunStatus
from ribat.intel import Tlp
from support import World

from ._support import PEER_ROOT, federation

Run = Callable[..., str]


@pytest.fixture
def run(world: World, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.setenv("RIBAT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("RIBAT_SECRET_KEY", settings.secret_key or "")
    monkeypatch.setenv("RIBAT_FEDERATION_RETRIES", "0")  # a refused connection fails at once
    monkeypatch.setenv("COLUMNS", "250")  # tables are not squeezed into 80 columns
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        return result.output

    return invoke


def _add(run: Run, *extra: str, url: str = PEER_ROOT, code: int = 0) -> str:
    args = ["peer", "add", "partner", "--url", url, "--collections", "shared=remote-shared", "--org", "cert-b"]
    return run(*args, "--direction", "pull", "--key", "rbt_00000000_the-peers-key", *extra, code=code)


def test_peer_add_describes_the_peer_and_prints_its_sync_key_last(world: World, run: Run) -> None:
    out = _add(run, "--circles", "wg", "--max-tlp", "amber", "--include-types", "indicator,malware", "--every", "600")
    peer = federation(world.hub).get("partner")
    assert f"peer partner ({peer.id})" in out
    for line in (
        f"url:          {PEER_ROOT}",
        "direction:    pull",
        f"collections:  {world.collection.id}=remote-shared",
        "max TLP:      TLP:AMBER",
        "only types:   indicator, malware",
        "every:        600 s",
        "peer hub id:  not known yet",
    ):
        assert line in out
    key = out.strip().splitlines()[-1]
    assert key.startswith("rbt_") and out.count(key) == 1
    principal = world.hub.accounts.authenticate_key(key)
    assert (principal.user.id, principal.user.role, principal.org.id) == (peer.sync_user_id, Role.SYNC, world.org_b.id)
    assert (peer.direction, peer.max_tlp, peer.interval_seconds) == (Direction.PULL, Tlp.AMBER, 600)
    assert world.org_b.id in world.hub.accounts.get_circle("wg").member_org_ids


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(("--max-tlp", "red"), "error: max_tlp: TLP:RED never leaves the hub", id="red"),
        pytest.param(("--max-tlp", "purple"), "error: max_tlp: not a TLP level: 'purple'", id="not-a-level"),
        pytest.param(("--org", "nobody"), "error: organisation 'nobody' not found", id="org"),
        pytest.param(("--every", "1"), "error: interval: must be between 10 seconds and a week", id="interval"),
    ],
)
def test_peer_add_refusals_exit_1_with_the_reason(world: World, run: Run, args: tuple[str, ...], message: str) -> None:
    out = _add(run, *args, code=1)
    assert message in out and "rbt_" not in out
    assert federation(world.hub).list() == []


def test_peer_add_without_a_key_for_a_pulling_peer_is_refused(world: World, run: Run) -> None:
    out = run("peer", "add", "partner", "--url", PEER_ROOT, "--collections", "shared=r", "--org", "cert-b",
              "--direction", "pull", code=1)  # fmt: skip
    assert "error: key: a peer this hub pulls needs the key the peer gave this hub" in out


def test_peer_list_show_and_set(world: World, run: Run) -> None:
    assert "no peers" in run("peer", "list")
    _add(run)
    listed = run("peer", "list")
    row = next(line for line in listed.splitlines() if "partner" in line)
    assert "pull" in row and "TLP:GREEN" in row and "never" in row
    shown = run("peer", "show", "partner")
    assert "peer partner" in shown and "last success: -" in shown and "lag:          -" in shown
    changed = run("peer", "set", "partner", "--max-tlp", "clear", "--exclude-types", "report", "--disabled",
                  "--key", "rbt_11111111_a-new-key")  # fmt: skip
    assert "max TLP:      TLP:CLEAR" in changed and "not types:    report" in changed and "(disabled)" in changed
    fed = federation(world.hub)
    peer = fed.get("partner")
    assert (peer.max_tlp, peer.exclude_types, peer.enabled) == (Tlp.CLEAR, ("report",), False)
    assert fed.store.key(peer.id) == "rbt_11111111_a-new-key"
    assert "error: max_tlp:" in run("peer", "set", "partner", "--max-tlp", "red", code=1)
    assert "error: peer 'nobody' not found" in run("peer", "show", "nobody", code=1)


def _refusing_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_sync_with_a_peer_that_refuses_connections_exits_1_showing_the_error(world: World, run: Run) -> None:
    port = _refusing_port()
    _add(run, url=f"http://127.0.0.1:{port}/taxii2/root/")
    out = run("sync", "partner", code=1)
    assert "partner: failed — pulled 0, pushed 0" in out
    assert f"error: http://127.0.0.1:{port}/api/v1/federation/hello: ConnectError" in out
    assert "(gave up after 1 attempt)" in out
    (last,) = federation(world.hub).runs("partner")
    assert last.status is RunStatus.FAILED and last.error is not None and f":{port}/" in last.error
    assert "failed" in next(line for line in run("peer", "list").splitlines() if "partner" in line)
    shown = run("peer", "show", "partner")
    assert "partner: failed" in shown and f"error: http://127.0.0.1:{port}/" in shown
    # Every peer at once: the same failure, the same exit code.
    assert "partner: failed" in run("sync", code=1)


def test_sync_with_no_peer_to_start_says_so(world: World, run: Run) -> None:
    assert "no peers to sync with" in run("sync")
    run("peer", "add", "served", "--url", PEER_ROOT, "--collections", "shared", "--org", "cert-c",
        "--direction", "serve")  # fmt: skip
    assert "no peers to sync with" in run("sync")
    assert "error: direction: peer 'served' is served only" in run("sync", "served", code=1)


def test_peer_remove_switches_the_sync_account_off(world: World, run: Run) -> None:
    key = _add(run).strip().splitlines()[-1]
    assert "removed peer partner; its sync account is switched off" in run("peer", "remove", "partner")
    assert "no peers" in run("peer", "list")
    with pytest.raises(AuthenticationError):
        world.hub.accounts.authenticate_key(key)
    assert "error: peer 'partner' not found" in run("peer", "remove", "partner", code=1)
