"""``ribat feed``: define scheduled feeds, run them now, read their runs (docs/feeds.md).

``register(app)`` adds the ``feed`` command group to the ``ribat`` application.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ribat.clock import format_us
from ribat.config import Settings
from ribat.errors import RibatError
from ribat.feeds import Credentials, Feed, FeedKind, FeedRun, Feeds, RunStatus
from ribat.hub import Hub

__all__ = ["feed_app", "register"]

feed_app = typer.Typer(help="Scheduled feeds: TAXII, MISP feeds, CSV and IOC lists, directories.", no_args_is_help=True)

_out = Console(soft_wrap=True, highlight=False)
_err = Console(stderr=True, soft_wrap=True, highlight=False)

SHOWN_PROBLEMS = 20


def register(app: typer.Typer) -> None:
    """Add ``ribat feed …`` to the ``ribat`` application."""
    app.add_typer(feed_app, name="feed")


@contextmanager
def _feeds() -> Iterator[Feeds]:
    hub = Hub.open(Settings())
    feeds = Feeds.for_hub(hub)
    try:
        yield feeds
    except RibatError as exc:
        _err.print(f"[red]error:[/red] {exc.message}", markup=True)
        raise typer.Exit(1) from None
    finally:
        feeds.close()
        hub.close()


def _mapping(spec: str | None) -> dict[str, str]:
    """``value=indicator,type=2`` → ``{"value": "indicator", "type": "2"}``."""
    found: dict[str, str] = {}
    for part in (spec or "").split(","):
        if not part.strip():
            continue
        key, sep, column = part.partition("=")
        if not sep or not key.strip() or not column.strip():
            _err.print(f"error: --map {part.strip()!r}: use FIELD=COLUMN[,FIELD=COLUMN…], e.g. value=indicator,type=2")
            raise typer.Exit(2)
        found[key.strip().lower()] = column.strip()
    return found


def _when(us: int | None) -> str:
    return "-" if us is None else format_us(us)[:19].replace("T", " ")


def _last(feed: Feed) -> str:
    run = feed.last_run
    if run is None:
        return "never"
    if run.status is RunStatus.RUNNING:
        return f"running since {_when(run.started_us)}"
    return f"{run.status.value} {_when(run.finished_us)}: stored {run.stored}, merged {run.merged}, failed {run.failed}"


@feed_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="A unique name for the feed.")],
    kind: Annotated[FeedKind, typer.Option("--kind", help="What the source is.")],
    source: Annotated[str, typer.Option("--source", help="URL (http/https), or a local directory.")],
    collection: Annotated[str, typer.Option("--collection", help="Target collection id or alias.")],
    user: Annotated[str, typer.Option("--user", help="Import on behalf of this user (email or id).")],
    every: Annotated[int, typer.Option("--every", help="Minutes between runs.")] = 60,
    tlp: Annotated[
        str | None, typer.Option("--tlp", help="TLP for objects without one: clear, green, amber, amber+strict, red.")
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="Label added to imported objects (repeatable).")
    ] = None,
    map_spec: Annotated[
        str | None, typer.Option("--map", help="CSV columns: FIELD=COLUMN,… (fields: value, type, name, …).")
    ] = None,
    api_key: Annotated[
        str | None, typer.Option("--api-key", envvar="RIBAT_FEED_API_KEY", help="Sent as 'Authorization: Bearer'.")
    ] = None,
    username: Annotated[str | None, typer.Option("--username", help="HTTP Basic user name.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the HTTP Basic password from stdin.")
    ] = False,
    disabled: Annotated[bool, typer.Option("--disabled", help="Define it without scheduling it.")] = False,
) -> None:
    """Define a feed (run by `ribat serve` when due, or by `ribat feed run`); prints its id last."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    credentials = Credentials(api_key=api_key, username=username, password=password)
    with _feeds() as feeds:
        feed = feeds.add(
            name,
            kind=kind,
            source=source,
            collection=collection,
            user=user,
            every=every,
            tlp=tlp,
            tags=tag or (),
            mapping=_mapping(map_spec),
            credentials=credentials,
            enabled=not disabled,
        )
        tlp_text = feed.tlp.label if feed.tlp is not None else "the collection's default"
        _out.print(f"feed {feed.name!r} ({feed.kind.value}) every {feed.interval_minutes} min, TLP {tlp_text}")
        print(feed.id)


@feed_app.command("list")
def list_feeds() -> None:
    """List feeds with their last run and when they are due next."""
    with _feeds() as feeds:
        table = Table("name", "kind", "source", "every", "enabled", "last run", "next due")
        for feed in feeds.list():
            table.add_row(
                feed.name,
                feed.kind.value,
                feed.source,
                f"{feed.interval_minutes} min",
                "yes" if feed.enabled else "no",
                _last(feed),
                _when(feed.next_due_us) if feed.enabled else "-",
            )
        _out.print(table)


def _report(run: FeedRun, name: str) -> None:
    for problem in run.problems[:SHOWN_PROBLEMS]:
        _err.print(problem, markup=False)
    if len(run.problems) > SHOWN_PROBLEMS:
        _err.print(f"… {len(run.problems) - SHOWN_PROBLEMS} more (ribat feed runs {name})", markup=False)
    if run.error:
        _err.print(f"error: {run.error}", markup=False)
    _out.print(
        f"{name}: {run.status.value}: fetched {run.fetched}, stored {run.stored}, merged {run.merged}, "
        f"failed {run.failed}, lost {run.lost} in {(run.duration_ms or 0) / 1000:.1f} s",
        markup=False,
    )


@feed_app.command("run")
def run(
    feed: Annotated[str | None, typer.Argument(help="Feed name or id.")] = None,
    due: Annotated[bool, typer.Option("--due", help="Run every due feed instead (for cron, without serve).")] = False,
) -> None:
    """Run a feed now with a progress bar and print its counts (exit 1 if anything failed)."""
    if (feed is None) == (not due):
        _err.print("error: give a feed name or id, or --due")
        raise typer.Exit(2)
    with _feeds() as feeds:
        if due:
            runs = feeds.run_due()
            names = {f.id: f.name for f in feeds.list()}
            for record in runs:
                _report(record, names.get(record.feed_id, record.feed_id))
            if not runs:
                _out.print("no feed is due")
            if any(r.status is not RunStatus.OK for r in runs):
                raise typer.Exit(1)
            return
        assert feed is not None
        target = feeds.get(feed)
        progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=_err,
            transient=True,
        )
        with progress:
            task = progress.add_task(target.name, total=None)

            def advance(done: int, total: int | None, label: str) -> None:
                progress.update(task, completed=done, total=total, description=f"{target.name}: {label}")

            record = feeds.run(target.id, progress=advance)
        _report(record, target.name)
        if record.status is not RunStatus.OK:
            raise typer.Exit(1)


@feed_app.command("runs")
def runs(
    feed: Annotated[str, typer.Argument(help="Feed name or id.")],
    limit: Annotated[int, typer.Option("--limit", help="How many, newest first.")] = 20,
) -> None:
    """A feed's runs, newest first: status, counts, duration and error."""
    with _feeds() as feeds:
        table = Table(
            "started", "trigger", "status", "fetched", "stored", "merged", "failed", "lost", "seconds", "error"
        )
        for record in feeds.runs(feed, limit):
            table.add_row(
                _when(record.started_us),
                record.trigger.value,
                record.status.value,
                str(record.fetched),
                str(record.stored),
                str(record.merged),
                str(record.failed),
                str(record.lost),
                "-" if record.duration_ms is None else f"{record.duration_ms / 1000:.1f}",
                record.error or "",
            )
        _out.print(table)


@feed_app.command("remove")
def remove(feed: Annotated[str, typer.Argument(help="Feed name or id.")]) -> None:
    """Remove a feed and its run records (the objects it imported stay)."""
    with _feeds() as feeds:
        removed = feeds.remove(feed)
        _out.print(f"removed feed {removed.name!r}")


@feed_app.command("enable")
def enable(feed: Annotated[str, typer.Argument(help="Feed name or id.")]) -> None:
    """Schedule a feed again."""
    with _feeds() as feeds:
        _out.print(f"feed {feeds.enable(feed).name!r} enabled")


@feed_app.command("disable")
def disable(feed: Annotated[str, typer.Argument(help="Feed name or id.")]) -> None:
    """Stop scheduling a feed (it can still be run by hand)."""
    with _feeds() as feeds:
        _out.print(f"feed {feeds.disable(feed).name!r} disabled")
