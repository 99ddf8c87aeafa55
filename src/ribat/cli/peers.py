"""``ribat peer`` (peer hubs and their sharing policy) and ``ribat sync`` (sync now), docs/federation.md.

``register(app)`` adds both to the ``ribat`` application.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ribat.clock import format_us
from ribat.config import Settings
from ribat.errors import RibatError
from ribat.federation import Direction, Federation, Peer, PeerRun, PeerStatus, RunStatus, parse_pairs
from ribat.hub import Hub

__all__ = ["peer_app", "register"]

peer_app = typer.Typer(help="Peer hubs: who this hub shares with over TAXII 2.1, and under which policy.")

_out = Console(soft_wrap=True, highlight=False)
_err = Console(stderr=True, soft_wrap=True, highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``ribat peer …`` and ``ribat sync`` to the ``ribat`` application."""
    app.add_typer(peer_app, name="peer")
    app.command("sync")(sync)


@contextmanager
def _federation() -> Iterator[Federation]:
    hub = Hub.open(Settings())
    try:
        yield Federation.for_hub(hub)
    except RibatError as exc:
        _err.print(f"[red]error:[/red] {exc.message}", markup=True)
        raise typer.Exit(1) from None
    finally:
        hub.close()


def _names(spec: str | None) -> list[str]:
    return [n.strip() for n in (spec or "").split(",") if n.strip()]


def _when(us: int | None) -> str:
    return "-" if us is None else format_us(us)[:19].replace("T", " ")


def _describe(peer: Peer) -> None:
    _out.print(f"peer {peer.name} ({peer.id})")
    _out.print(f"  url:          {peer.url}")
    _out.print(f"  direction:    {peer.direction.value}")
    _out.print(f"  collections:  {', '.join(f'{p.local_id}={p.remote_id}' for p in peer.pairs)}")
    _out.print(f"  max TLP:      {peer.max_tlp.label}")
    if peer.include_types:
        _out.print(f"  only types:   {', '.join(peer.include_types)}")
    if peer.exclude_types:
        _out.print(f"  not types:    {', '.join(peer.exclude_types)}")
    _out.print(f"  every:        {peer.interval_seconds} s{'' if peer.enabled else ' (disabled)'}")
    _out.print(f"  peer hub id:  {peer.remote_hub_id or 'not known yet'}")


@peer_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="A name for the peer (lower case, digits, '.', '_', '-').")],
    url: Annotated[str, typer.Option(help="The peer's TAXII 2.1 API root, e.g. https://hub.example/taxii2/root/.")],
    collections: Annotated[
        str,
        typer.Option(help="LOCAL=REMOTE collection pairs, comma-separated (LOCAL alone: only served to the peer)."),
    ],
    org: Annotated[str, typer.Option(help="The local organisation that stands for the peer's operator.")],
    direction: Annotated[str, typer.Option(help="What this hub starts: pull, push, both, or serve (nothing).")],
    key: Annotated[
        str | None, typer.Option(help="The API key the peer gave this hub (needed unless --direction serve).")
    ] = None,
    circles: Annotated[str | None, typer.Option(help="Trust circles to put the peer's organisation in.")] = None,
    max_tlp: Annotated[str, typer.Option(help="The highest TLP that may cross: clear, green or amber.")] = "green",
    include_types: Annotated[str | None, typer.Option(help="Only these STIX types cross (comma-separated).")] = None,
    exclude_types: Annotated[str | None, typer.Option(help="These STIX types never cross (comma-separated).")] = None,
    every: Annotated[int, typer.Option(help="Seconds between scheduled syncs.")] = 300,
) -> None:
    """Add a peer hub, its sync account and its sharing policy; prints the sync account's key once."""
    with _federation() as fed:
        peer, secret = fed.add(
            name,
            url,
            direction=direction,
            pairs=parse_pairs([collections]),
            org=org,
            key=key,
            circles=_names(circles),
            max_tlp=max_tlp,
            include_types=_names(include_types),
            exclude_types=_names(exclude_types),
            interval_seconds=every,
        )
        _describe(peer)
        _out.print("\nThe peer's sync key (give it to the peer's operator; it is not shown again):")
        _out.print(secret.secret)


@peer_app.command("set")
def change(
    name: Annotated[str, typer.Argument(help="The peer's name or id.")],
    url: Annotated[str | None, typer.Option(help="A new TAXII 2.1 API root.")] = None,
    key: Annotated[str | None, typer.Option(help="A new key for the peer.")] = None,
    direction: Annotated[str | None, typer.Option(help="pull, push, both or serve.")] = None,
    collections: Annotated[str | None, typer.Option(help="New LOCAL=REMOTE pairs (replace the old ones).")] = None,
    max_tlp: Annotated[str | None, typer.Option(help="clear, green or amber.")] = None,
    include_types: Annotated[str | None, typer.Option(help="Only these types ('' for every type).")] = None,
    exclude_types: Annotated[str | None, typer.Option(help="Never these types ('' for none).")] = None,
    every: Annotated[int | None, typer.Option(help="Seconds between scheduled syncs.")] = None,
    enabled: Annotated[bool | None, typer.Option("--enabled/--disabled", help="Scheduled syncs on or off.")] = None,
) -> None:
    """Change a peer's record or policy."""
    with _federation() as fed:
        peer = fed.update(
            name,
            url=url,
            key=key,
            direction=direction,
            pairs=None if collections is None else parse_pairs([collections]),
            max_tlp=max_tlp,
            include_types=None if include_types is None else _names(include_types),
            exclude_types=None if exclude_types is None else _names(exclude_types),
            interval_seconds=every,
            enabled=enabled,
        )
        _describe(peer)


@peer_app.command("list")
def list_peers() -> None:
    """Every peer with its last run, lag and last error."""
    with _federation() as fed:
        statuses = fed.statuses()
    if not statuses:
        _out.print("no peers")
        return
    table = Table("name", "direction", "max TLP", "last run", "status", "lag", "last error")
    for s in statuses:
        table.add_row(
            s.peer.name,
            s.peer.direction.value,
            s.peer.max_tlp.label,
            _when(s.last_run.started_us if s.last_run else None),
            "running" if s.running else (s.last_run.status.value if s.last_run else "never"),
            "-" if s.lag_seconds is None else f"{s.lag_seconds:.0f} s",
            (s.last_error or "")[:80],
        )
    _out.print(table)


def _status(s: PeerStatus) -> None:
    _describe(s.peer)
    _out.print(f"  last success: {_when(s.last_success_us)}")
    _out.print(f"  lag:          {'-' if s.lag_seconds is None else f'{s.lag_seconds:.0f} s'}")
    if s.last_run is not None:
        _report(s.last_run, s.peer.name)


@peer_app.command("show")
def show(name: Annotated[str, typer.Argument(help="The peer's name or id.")]) -> None:
    """A peer, its status and its checkpoints."""
    with _federation() as fed:
        _status(fed.status(name))
        for (local, remote, stream), cursor in sorted(fed.cursors(name).items()):
            _out.print(f"  checkpoint {local}={remote} {stream}: {cursor}")


@peer_app.command("remove")
def remove(name: Annotated[str, typer.Argument(help="The peer's name or id.")]) -> None:
    """Forget a peer and switch its sync account off (what it synced stays)."""
    with _federation() as fed:
        peer = fed.remove(name)
    _out.print(f"removed peer {peer.name}; its sync account is switched off")


def _report(run: PeerRun, name: str) -> None:
    colour = {"ok": "green", "partial": "yellow"}.get(run.status.value, "red")
    _out.print(
        f"{name}: [{colour}]{run.status.value}[/{colour}] — pulled {run.pulled}, pushed {run.pushed}, "
        f"already held {run.already}, echoes {run.echoes}, rejected {run.rejected}, deleted {run.deleted}",
        markup=True,
    )
    for problem in run.problems[:20]:
        _out.print(f"  {problem}")
    if len(run.problems) > 20:
        _out.print(f"  … and {len(run.problems) - 20} more")
    if run.error:
        _out.print(f"  error: {run.error}")


def sync(
    peer: Annotated[
        str | None, typer.Argument(help="The peer to sync (default: every enabled peer this hub syncs with).")
    ] = None,
) -> None:
    """Sync with a peer hub now (or with each one); exits 1 when a run failed."""
    with _federation() as fed:
        if peer is not None:
            targets = [fed.get(peer)]
        else:
            targets = [p for p in fed.list() if p.direction is not Direction.SERVE and p.enabled]
            if not targets:
                _out.print("no peers to sync with")
                return
        failed = False
        for target in targets:
            with _out.status(f"syncing with {target.name}…"):
                run = fed.run(target.id)
            _report(run, target.name)
            failed = failed or run.status is RunStatus.FAILED
    if failed:
        raise typer.Exit(1)
