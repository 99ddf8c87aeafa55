"""``ribat ingest``, ``ribat extract`` and ``ribat review``: imports with their reports, and report
extraction held for review, from the shell (see docs/cli.md and docs/formats-import.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from ribat.errors import RibatError
from ribat.formats.imports import KINDS, Extraction, ImportRun, Imports, summary
from ribat.hub import Hub
from ribat.intel import Tlp

__all__ = ["register"]


def _imports(hub: Hub) -> Imports:
    return Imports(hub.intel, hub.db, max_upload_bytes=hub.settings.max_upload_bytes)


def _print_run(label: str, run: ImportRun) -> None:
    from ribat.cli.main import err, out

    out.print(f"{label}: {summary(run)} (run {run.id})", markup=False, highlight=False)
    report = run.report or {}
    for loss in report.get("losses", []):
        shown = f" {loss['value']!r}" if loss["value"] else ""
        err.print(f"  lost {loss['where']}: {loss['field']}{shown}: {loss['reason']}", markup=False, highlight=False)
    for failure in report.get("failures", []):
        err.print(f"  failed {failure['id']}: {failure['reason']}", markup=False, highlight=False)
    if "truncated" in report:
        err.print(f"  ({report['truncated']})", markup=False, highlight=False)


def _print_extraction(extraction: Extraction) -> None:
    from ribat.cli.main import out

    for c in extraction.candidates:
        where = f", page {c.page}" if c.page is not None else ""
        out.print(
            f"{c.id}  {c.status:<8}  {c.kind:<6}  {c.value}  (seen {c.count}{where})", markup=False, highlight=False
        )
        out.print(f"    “{c.sentence}”", markup=False, highlight=False)


def ingest(
    files: Annotated[list[Path], typer.Argument(help="Files to import, each recorded as its own run.")],
    collection: Annotated[str, typer.Option(help="Target collection id or alias.")],
    kind: Annotated[str, typer.Option(help=f"What the files are: {', '.join(KINDS)}.")],
    mapping: Annotated[
        str | None, typer.Option("--map", help="CSV columns: value=COL,type=COL,name=COL,… (COL: header or number).")
    ] = None,
    value_type: Annotated[
        str | None, typer.Option("--type", help="Type of every value (CSV, IOC list): domain, ipv4, sha256, filename…")
    ] = None,
    delimiter: Annotated[str | None, typer.Option(help="CSV delimiter (sniffed when not given).")] = None,
    header: Annotated[
        bool | None, typer.Option("--header/--no-header", help="Whether the CSV's first row names the columns.")
    ] = None,
    tlp: Annotated[str | None, typer.Option(help="TLP of the indicators a CSV, IOC list or OpenIOC makes.")] = None,
    user: Annotated[
        str | None, typer.Option("--user", "--as", help="Import as this user (default: the first admin).")
    ] = None,
) -> None:
    """Import STIX, MISP, CSV, IOC-list or OpenIOC files; prints what each run stored, merged,
    failed and lost, with every reason (exit 1 when anything failed or was lost)."""
    from ribat.cli.main import _hub, _principal, err, out

    if kind not in KINDS:
        err.print(f"[red]error:[/red] --kind must be one of {', '.join(KINDS)}")
        raise typer.Exit(2)
    options = {
        key: value
        for key, value in {
            "map": mapping,
            "type": value_type,
            "delimiter": delimiter,
            "header": None if header is None else str(header).lower(),
            "tlp": tlp,
        }.items()
        if value is not None
    }
    incomplete = False
    totals = {"stored": 0, "merged": 0, "failed": 0, "lost": 0}
    with _hub() as hub:
        principal = _principal(hub, user)
        imports = _imports(hub)
        imports.writable(principal, collection)
        progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err)
        runs: list[tuple[str, ImportRun]] = []
        with progress:
            task = progress.add_task("importing", total=len(files))
            for path in files:
                try:
                    payload = path.read_bytes()
                    runs.append(
                        (str(path), imports.run(principal, collection, kind, payload, name=path.name, options=options))
                    )
                except OSError as exc:
                    err.print(f"{path}: {exc.strerror}", markup=False, highlight=False)
                    incomplete = True
                except RibatError as exc:
                    err.print(f"{path}: {exc.message}", markup=False, highlight=False)
                    incomplete = True
                progress.advance(task)
        for label, run in runs:
            _print_run(label, run)
            for key in totals:
                totals[key] += getattr(run, key)
        if len(runs) > 1:
            out.print(
                f"total: stored {totals['stored']}, merged {totals['merged']}, "
                f"failed {totals['failed']}, lost {totals['lost']}"
            )
    if incomplete or totals["failed"] or totals["lost"]:
        raise typer.Exit(1)


def extract(
    file: Annotated[Path, typer.Argument(help="A threat report: PDF, HTML or text.")],
    collection: Annotated[str, typer.Option(help="Collection the candidates would be published to.")],
    user: Annotated[str | None, typer.Option("--user", "--as", help="As this user (default: the first admin).")] = None,
) -> None:
    """Find candidate indicators in a report and hold them for review (nothing is published);
    prints them, then the extraction id alone on the last line."""
    from ribat.cli.main import _hub, _principal, err, out

    try:
        payload = file.read_bytes()
    except OSError as exc:
        err.print(f"[red]error:[/red] {file}: {exc.strerror}")
        raise typer.Exit(1) from None
    with _hub() as hub:
        principal = _principal(hub, user)
        extraction = _imports(hub).extract(principal, collection, file.name, payload)
        _print_extraction(extraction)
        title = f" ({extraction.title})" if extraction.title else ""
        out.print(
            f"{len(extraction.candidates)} candidate(s) in {extraction.name}{title}, held for review",
            markup=False,
            highlight=False,
        )
        print(extraction.id)


def review(
    extraction_id: Annotated[str, typer.Argument(help="The extraction's id (printed by ribat extract).")],
    accept: Annotated[list[str], typer.Option(help="Candidate id to publish (repeatable).")] = [],  # noqa: B006
    reject: Annotated[list[str], typer.Option(help="Candidate id to reject (repeatable).")] = [],  # noqa: B006
    accept_all: Annotated[bool, typer.Option("--accept-all", help="Publish every pending candidate.")] = False,
    tlp: Annotated[
        str | None, typer.Option(help="TLP of the published indicators (default: the collection's).")
    ] = None,
    user: Annotated[str | None, typer.Option("--user", "--as", help="As this user (default: the first admin).")] = None,
) -> None:
    """Publish accepted candidates of an extraction as indicators and record rejected ones."""
    from ribat.cli.main import _hub, _principal, err

    level = None
    if tlp is not None:
        try:
            level = Tlp.parse(tlp)
        except ValueError as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
    with _hub() as hub:
        principal = _principal(hub, user)
        imports = _imports(hub)
        chosen = list(accept)
        if accept_all:
            pending = [c.id for c in imports.extraction(principal, extraction_id).candidates if c.status == "pending"]
            chosen += [i for i in pending if i not in reject]
        result = imports.review(principal, extraction_id, chosen, reject, tlp=level)
        _print_extraction(result.extraction)
        if result.run is not None:
            _print_run("published", result.run)


def register(app: typer.Typer) -> None:
    """Add ``ingest``, ``extract`` and ``review`` to the ``ribat`` command."""
    app.command("ingest")(ingest)
    app.command("extract")(extract)
    app.command("review")(review)
