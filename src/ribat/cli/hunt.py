"""``ribat hunt``: match STIX indicators against log files, show the sightings, write and share them.

The indicators come from hub collections the acting user (``--as``, default: the first admin) may read, TLP
applying as for TAXII (:meth:`ribat.hunt.service.Hunts.indicators`), or from a STIX file: a bundle, a JSON array
or one object, STIX 2.0 upgraded as on ingest (:func:`ribat.intel.envelope.read_envelope`). The logs are hunted
here or on a Dask cluster (:meth:`~ribat.hunt.service.Hunts.run`).

Standard output carries only the hits (a table, CSV or JSON); the progress bar, the summary, the lines that could
not be read and what writing and sharing did go to standard error. A hunt with ``--indicators FILE`` and neither
``--out`` nor ``--share`` does not open the database. Exit codes: 0 when the hunt ran (matches or not; malformed
log lines are reported, never fatal), 1 on a domain error (``error: …`` naming what is wrong, or sightings the hub
did not store), 2 on a usage error.
"""

from __future__ import annotations

import re
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import orjson
import typer
from rich.console import Console
from rich.progress import Progress, ProgressColumn, SpinnerColumn, TextColumn, TimeElapsedColumn

from ribat.accounts import Principal
from ribat.clock import new_uuid, now_us, parse_timestamp_us
from ribat.errors import PermissionDeniedError, RibatError
from ribat.hub import Hub
from ribat.hunt.compile import Window
from ribat.hunt.distributed import hunt_distributed, hunt_local
from ribat.hunt.engine import HuntResult, HuntStats
from ribat.hunt.readers import KINDS, Problems, parse_mapping
from ribat.hunt.service import Hunts, IndicatorSet
from ribat.hunt.sightings import render_table, to_csv, to_json, to_stix
from ribat.intel import Tlp
from ribat.intel.envelope import read_envelope

__all__ = ["HuntRun", "Meter", "hunt", "parse_moment", "register", "summary"]

SHOWN_PROBLEMS = 10
"""Lines that could not be read shown on standard error (all are counted)."""
SCHEDULER_TIMEOUT = "10s"
"""How long to try to reach a Dask scheduler."""
_DAY_US = 86_400_000_000
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_RECIPIENT = re.compile(r"(org|circle|user):(\S.*)")
_SCHEDULER = re.compile(r"[a-z][a-z0-9+.-]*://\S+")


class Format(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


def register(app: typer.Typer) -> None:
    """Add ``ribat hunt`` to the ``ribat`` application."""
    app.command("hunt")(hunt)


# -- plumbing ------------------------------------------------------------------------------------


def _err() -> Console:
    from ribat.cli.main import err

    return err


def _say(text: str) -> None:
    _err().print(text, markup=False, highlight=False)


def _fail(message: str, code: int = 1) -> NoReturn:
    _say(f"error: {message}")
    raise typer.Exit(code)


def _usage(message: str) -> NoReturn:
    _fail(message, 2)


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else plural or word + 's'}"


def parse_moment(text: str, *, end: bool = False) -> int:
    """A time given on the command line, in µs since the epoch: a STIX timestamp (``…Z``), any ISO 8601 date and
    time (with an offset, or UTC without one) or a plain date ``YYYY-MM-DD``: its first microsecond, or with
    ``end`` the first microsecond of the next day (an ``--until`` date includes the whole day). ``ValueError``
    when it is none of these."""
    value = text.strip()
    if _DATE.fullmatch(value):
        try:
            day = datetime.fromisoformat(value).replace(tzinfo=UTC)
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a date ({exc})") from None
        start = int((day - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()) * 1_000_000
        return start + _DAY_US if end else start
    try:
        return parse_timestamp_us(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD) or an ISO 8601 / STIX timestamp") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _window(since: str | None, until: str | None) -> Window:
    try:
        since_us = parse_moment(since) if since else None
        until_us = parse_moment(until, end=True) if until else None
    except ValueError as exc:
        _usage(f"--since/--until: {exc}")
    if since_us is not None and until_us is not None and until_us <= since_us:
        _usage("--until must be later than --since")
    return Window(since_us, until_us)


def _mapping(text: str | None) -> dict[str, Any] | None:
    """``--mapping``: inline JSON (starting with ``{``) or the path of a JSON file."""
    if text is None:
        return None
    if text.lstrip().startswith("{"):
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            _usage(f"--mapping: not valid JSON ({exc})")
        where = "--mapping"
    else:
        try:
            raw = Path(text).read_bytes()
        except OSError as exc:
            _fail(f"--mapping {text}: cannot read ({exc.strerror})")
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            _fail(f"--mapping {text}: not valid JSON ({exc})")
        where = f"--mapping {text}"
    if not isinstance(data, dict):
        _fail(f'{where}: expected a JSON object of STIX object path → field, e.g. {{"domain-name:value": "query"}}')
    parse_mapping(data)  # a bad key is a ValidationError naming it
    return data


@dataclass
class _FileIndicators:
    objects: list[dict[str, Any]]
    invalid: int
    """Indicators of the file that are not valid STIX (left out)."""


def _file_indicators(path: Path) -> _FileIndicators:
    """The indicators of a STIX file: a bundle, an array or one object (STIX 2.0 upgraded as on ingest)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        _fail(f"--indicators {path}: cannot read ({exc.strerror})")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        _fail(f"--indicators {path}: not valid JSON ({exc})")
    try:
        envelope = read_envelope(data)
    except RibatError as exc:
        _fail(f"--indicators {path}: {exc.message}")
    objects = [o for o in envelope.objects if o.get("type") == "indicator"]
    invalid = [p for p in envelope.problems if (p.object_id or "").startswith("indicator--")]
    if envelope.problems:
        _say(f"{path}: {_plural(len(envelope.problems), 'object')} not valid STIX, left out:")
        for p in envelope.problems[:SHOWN_PROBLEMS]:
            _say(f"  objects[{p.index}] {p.object_id or ''}: {p.reason}")
        if len(envelope.problems) > SHOWN_PROBLEMS:
            _say(f"  … and {len(envelope.problems) - SHOWN_PROBLEMS:,} more")
    if not objects:
        _fail(f"--indicators {path}: no valid STIX indicator in the file")
    return _FileIndicators(objects, len(invalid))


def _authors_of(hub: Hub, objects: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Indicator id → short name of the organisation whose identity is its ``created_by_ref``, for the
    organisations of this hub."""
    by_identity = {o.identity_id: o.short_name for o in hub.accounts.list_orgs()}
    found: dict[str, str] = {}
    for obj in objects:
        short = by_identity.get(str(obj.get("created_by_ref", "")))
        if short and isinstance(obj.get("id"), str):
            found[obj["id"]] = short
    return found


class Meter:
    """The progress bar of a hunt on ``console``: records read and records per second (a hunt on a cluster
    reports only at its end, so it shows the time spent). Drawn only when ``enabled``; call it with the
    running :class:`HuntStats`."""

    def __init__(self, console: Console, *, enabled: bool, label: str, counts: bool = True) -> None:
        columns: list[ProgressColumn | str] = [SpinnerColumn(), TextColumn("{task.description}")]
        if counts:
            columns += [
                TextColumn("{task.completed:>12,.0f} records"),
                TextColumn("{task.fields[rate]:>12,.0f} records/s"),
            ]
        columns.append(TimeElapsedColumn())
        self.progress = Progress(*columns, console=console, transient=True, disable=not enabled)
        self.task = self.progress.add_task(label, total=None, rate=0.0)

    def __call__(self, stats: HuntStats) -> None:
        self.progress.update(self.task, completed=stats.records, rate=stats.rate)

    def __enter__(self) -> Meter:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


@contextmanager
def _scheduler(address: str | None) -> Iterator[Any]:
    """A ``distributed.Client`` connected to ``address`` (None: no cluster)."""
    if address is None:
        yield None
        return
    import distributed

    client_class: Any = distributed.Client  # distributed is untyped
    try:
        client: Any = client_class(address, timeout=SCHEDULER_TIMEOUT)
    except (OSError, ValueError) as exc:
        _fail(f"--scheduler {address}: cannot reach the Dask scheduler ({exc})")
    try:
        yield client
    finally:
        client.close()


@dataclass
class HuntRun:
    """What a hunt did: its result, the lines that could not be read, how long it took (seconds, wall clock),
    how many indicators it was given and how many were set aside before it, by reason."""

    result: HuntResult
    problems: Problems
    seconds: float
    indicators: int
    set_aside: Mapping[str, int] = field(default_factory=dict)


def _run(
    hunts: Hunts | None,
    logs: Sequence[Path],
    objects: Sequence[Mapping[str, Any]],
    *,
    window: Window,
    kind: str | None,
    mapping: Mapping[str, Any] | None,
    scheduler: str | None,
    quiet: bool,
    set_aside: Mapping[str, int],
) -> HuntRun:
    """The hunt, through the hub's :class:`Hunts` or, without a hub, the same engines it runs."""
    problems = Problems()
    # Absolute for remote workers, with symlinks kept, so that samples name the files as a local run does.
    paths = [str(p.absolute()) if scheduler else str(p) for p in logs]
    enabled = not quiet and _err().is_terminal
    label = f"hunting on {scheduler}" if scheduler else "hunting"
    started = time.perf_counter()
    with _scheduler(scheduler) as client, Meter(_err(), enabled=enabled, label=label, counts=client is None) as meter:
        if hunts is not None:
            result = hunts.run(
                paths,
                objects,
                window=window,
                kind=kind,
                mapping=mapping,
                scheduler=client,
                problems=problems,
                progress=meter,
            )
        elif client is not None:
            result = hunt_distributed(
                paths, objects, scheduler=client, window=window, kind=kind, mapping=mapping, problems=problems
            )
        else:
            result = hunt_local(
                paths, objects, window=window, kind=kind, mapping=mapping, problems=problems, progress=meter
            )
    seconds = time.perf_counter() - started
    given = sum(1 for o in objects if o.get("type") == "indicator")
    return HuntRun(result, problems, seconds, given, {k: n for k, n in set_aside.items() if n})


# -- output --------------------------------------------------------------------------------------


def _print_hits(run: HuntRun, fmt: Format) -> None:
    hits = list(run.result.hits.values())
    if fmt is Format.JSON:
        text = orjson.dumps(to_json(hits), option=orjson.OPT_INDENT_2).decode() + "\n"
    elif fmt is Format.CSV:
        text = to_csv(hits)
    else:
        text = render_table(hits)
    sys.stdout.write(text)
    sys.stdout.flush()


def summary(run: HuntRun) -> str:
    """One line: records read and their rate, indicators used and skipped by reason (set aside before the hunt
    or by it), matches, problems."""
    stats = run.result.stats
    rate = stats.records / run.seconds if run.seconds > 0 else float(stats.records)
    skipped = Counter(run.result.skipped)
    used = run.indicators - sum(skipped.values())
    skipped.update(run.set_aside)
    parts = [
        f"{_plural(stats.records, 'record')} read in {run.seconds:.2f} s ({rate:,.0f} records/s)",
        f"{_plural(used, 'indicator')} used",
    ]
    if skipped:
        reasons = ", ".join(f"{n:,} {reason}" for reason, n in sorted(skipped.items(), key=lambda i: (-i[1], i[0])))
        parts[-1] += f", {sum(skipped.values()):,} skipped ({reasons})"
    parts.append(_plural(stats.matches, "match", "matches"))
    parts.append(_plural(run.problems.count, "problem"))
    return "; ".join(parts)


def _print_report(run: HuntRun) -> None:
    _say(summary(run))
    problems = run.problems
    if problems.count:
        _say(f"{_plural(problems.count, 'line')} could not be read as logged:")
        for problem in problems.items[:SHOWN_PROBLEMS]:
            _say(f"  {problem}")
        if problems.count > SHOWN_PROBLEMS:
            _say(f"  … and {problems.count - SHOWN_PROBLEMS:,} more")


def _write_bundle(path: Path, bundle: Mapping[str, Any]) -> None:
    objects = bundle.get("objects", [])
    kinds = Counter(o.get("type") for o in objects)
    tmp = path.with_name(path.name + ".part")
    try:
        tmp.write_bytes(orjson.dumps(bundle))
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        _fail(f"--out {path}: cannot write ({exc.strerror})")
    _say(
        f"wrote {_plural(kinds['sighting'], 'sighting')} and {kinds['observed-data']:,} observed-data "
        f"({_plural(len(objects), 'object')}) to {path}"
    )


def _share(
    hunts: Hunts,
    principal: Principal,
    run: HuntRun,
    collection: str,
    *,
    authors: Mapping[str, str],
    tlp: Tlp,
    also: Sequence[str],
) -> bool:
    """Post the sightings; print each post's status. True when every object was stored."""
    hits = list(run.result.hits.values())
    if not hits:
        _say("nothing to share: no matches")
        return True
    outcome = hunts.share(principal, hits, collection, authors=authors, tlp=tlp, also=also)
    ok = True
    for status in outcome.statuses:
        recipients = ", ".join(status["share_with"]) or "no one named"
        _say(
            f"shared with {recipients} in {collection} ({tlp.label}): "
            f"{status['success_count']:,} stored, {status['failure_count']:,} failed (status {status['id']})"
        )
        for failure in status["failures"]:
            _say(f"  failed {failure['id']}: {failure['message']}")
        ok = ok and status["failure_count"] == 0
    _say(f"{_plural(outcome.sightings, 'sighting')} shared")
    return ok


def _check_recipients(hub: Hub, names: Sequence[str]) -> None:
    for name in names:
        match = _RECIPIENT.fullmatch(name)
        assert match is not None  # checked as usage
        kind, ref = match.groups()
        if kind == "org":
            hub.accounts.get_org(ref)
        elif kind == "circle":
            hub.accounts.get_circle(ref)
        else:
            hub.accounts.get_user(ref)


# -- the command ---------------------------------------------------------------------------------


def hunt(
    logs: Annotated[
        list[Path], typer.Argument(help="Log files: Zeek, Suricata EVE, STIX, JSON lines or CSV (gzip, bzip2, zstd).")
    ],
    collection: Annotated[
        list[str], typer.Option("--collection", help="Hunt with the indicators of this collection (repeatable).")
    ] = [],  # noqa: B006
    indicators: Annotated[
        Path | None,
        typer.Option("--indicators", help="Hunt with the indicators of this STIX file (bundle, array or object)."),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Only records at or after this time (YYYY-MM-DD, ISO 8601 or STIX).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Only records before this time (a plain date includes the whole day).")
    ] = None,
    kind: Annotated[str | None, typer.Option(help=f"Force the log format: {', '.join(KINDS)}.")] = None,
    mapping: Annotated[
        str | None,
        typer.Option(help="JSON lines / CSV: a JSON object (or file) of STIX object path → field."),
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Hunt on this Dask scheduler (tcp://HOST:PORT); workers must see the logs.")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", help="How to print the hits.")] = Format.TABLE,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the sightings as a STIX 2.1 bundle to this file.")
    ] = None,
    share: Annotated[bool, typer.Option("--share", help="Post the sightings to the hub.")] = False,
    share_to: Annotated[
        str | None, typer.Option("--share-to", help="Collection to post to (default: the first --collection).")
    ] = None,
    share_with: Annotated[
        list[str],
        typer.Option("--share-with", help="Also share with org:SHORT, circle:NAME or user:EMAIL (repeatable)."),
    ] = [],  # noqa: B006
    tlp: Annotated[
        str, typer.Option(help="TLP of the sightings written or shared: clear, green, amber, amber+strict, red.")
    ] = "amber",
    as_user: Annotated[
        str | None, typer.Option("--as", help="Act as this user (email or id; default: the first admin).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Hunt log files with STIX indicators from hub collections or a file; print the hits, optionally write
    the sightings as STIX (--out) and share them (--share)."""
    if bool(collection) == (indicators is not None):
        _usage("name the indicators: --collection ID (repeatable) or --indicators FILE, not both")
    try:
        level = Tlp.parse(tlp)
    except ValueError as exc:
        _usage(f"--tlp: {exc}")
    window = _window(since, until)
    if kind is not None and kind not in KINDS:
        _usage(f"--kind must be one of {', '.join(KINDS)}")
    if scheduler is not None and not _SCHEDULER.fullmatch(scheduler.strip()):
        _usage(f"--scheduler {scheduler!r}: give the scheduler's address, e.g. tcp://10.0.0.5:8786")
    target = share_to or (collection[0] if collection else None)
    if (share_to is not None or share_with) and not share:
        _usage("--share-to and --share-with go with --share")
    if share and target is None:
        _usage("--share with --indicators FILE needs --share-to COLLECTION")
    for name in share_with:
        if not _RECIPIENT.fullmatch(name):
            _usage(f"--share-with {name!r}: use org:SHORT_NAME, circle:NAME or user:EMAIL")
    try:
        if out_file is not None and not out_file.parent.is_dir():
            _fail(f"--out {out_file}: no directory {out_file.parent}")
        fields = _mapping(mapping)
        from_file = _file_indicators(indicators) if indicators is not None else None
        options: dict[str, Any] = {
            "window": window,
            "kind": kind,
            "mapping": fields,
            "scheduler": scheduler.strip() if scheduler else None,
            "quiet": quiet,
        }
        if not collection and out_file is None and not share:
            assert from_file is not None
            run = _run(None, logs, from_file.objects, **options, set_aside={"invalid": from_file.invalid})
            _print_hits(run, fmt)
            _print_report(run)
            return
        ok = _with_hub(
            logs,
            collection,
            from_file,
            options,
            fmt=fmt,
            out_file=out_file,
            share_to=target if share else None,
            share_with=share_with,
            tlp=level,
            as_user=as_user,
        )
    except RibatError as exc:
        _fail(exc.message)
    if not ok:
        raise typer.Exit(1)


def _with_hub(
    logs: Sequence[Path],
    collections: Sequence[str],
    from_file: _FileIndicators | None,
    options: dict[str, Any],
    *,
    fmt: Format,
    out_file: Path | None,
    share_to: str | None,
    share_with: Sequence[str],
    tlp: Tlp,
    as_user: str | None,
) -> bool:
    """The hunt as a hub user: indicators from collections (or the file), sightings written and shared."""
    from ribat.cli.main import _hub, _principal

    with _hub() as hub:
        principal = _principal(hub, as_user)
        hunts = Hunts.for_hub(hub)
        try:
            if from_file is None:
                chosen = hunts.indicators(principal, collections)
                if not chosen.objects:
                    shown = ", ".join(collections)
                    _fail(f"no indicator that {principal.user.email} may read in {shown}")
            else:
                chosen = IndicatorSet(from_file.objects, _authors_of(hub, from_file.objects))
            if share_to is not None:
                target = hub.intel.collection(principal, share_to)
                if not target.can_write:
                    raise PermissionDeniedError("write to", f"collection {share_to}")
                _check_recipients(hub, share_with)
            identity = hub.accounts.identity_object(principal.org.id) if out_file is not None else None
            invalid = from_file.invalid if from_file is not None else 0
            # Copies of one indicator (two collections, several versions) are left to the compiler: it keeps
            # the newest and counts the others as skipped "duplicate".
            run = _run(hunts, logs, chosen.objects, **options, set_aside={"invalid": invalid})
            _print_hits(run, fmt)
            _print_report(run)
            if out_file is not None and identity is not None:
                bundle = to_stix(
                    run.result.hits.values(), hunter_identity=identity, tlp=tlp, now_us=now_us(), new_id=new_uuid
                )
                _write_bundle(out_file, bundle)
            if share_to is not None:
                return _share(hunts, principal, run, share_to, authors=chosen.authors, tlp=tlp, also=share_with)
            return True
        except RibatError as exc:  # printed here, as every other error of the command
            _fail(exc.message)
        finally:
            hunts.close()
