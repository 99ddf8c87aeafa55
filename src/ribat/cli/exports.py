"""``ribat exports FORMAT``: export collections as detection or sharing files
(docs/formats-export.md). ``register(app)`` adds the command to the ``ribat`` application."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ribat.config import Settings
from ribat.errors import RibatError
from ribat.formats.exporting import Exports, hub_orgc
from ribat.formats.exports import BLOCKLIST_KINDS, FORMATS, SuricataOptions, parse_filter, reason_text
from ribat.hub import Hub
from ribat.intel.warninglists import load_directory

__all__ = ["register"]

_out = Console(soft_wrap=True, highlight=False)
_err = Console(stderr=True, soft_wrap=True, highlight=False)


def exports(
    fmt: Annotated[str, typer.Argument(metavar="FORMAT", help=f"One of: {', '.join(FORMATS)}.")],
    collection: Annotated[list[str], typer.Option("--collection", "-c", help="Collection id or alias (repeatable).")],
    out_path: Annotated[
        Path, typer.Option("--out", help="File to write (for misp-feed: the feed directory).", dir_okay=True)
    ],
    user: Annotated[
        str | None,
        typer.Option("--user", "--as", help="Export what this user may read under TLP (default: the first admin)."),
    ] = None,
    type_: Annotated[
        list[str] | None, typer.Option("--type", help="Only these STIX types (repeatable or comma-separated).")
    ] = None,
    max_tlp: Annotated[
        str | None, typer.Option(help="Highest TLP exported: clear, green, amber, amber+strict, red.")
    ] = None,
    since: Annotated[str | None, typer.Option(help="Only objects modified at or after (YYYY-MM-DD or UTC).")] = None,
    until: Annotated[str | None, typer.Option(help="Only objects modified at or before (YYYY-MM-DD or UTC).")] = None,
    min_confidence: Annotated[int | None, typer.Option(help="Only objects with at least this confidence.")] = None,
    include_flagged: Annotated[
        bool, typer.Option("--include-flagged", help="Keep indicators that hit a warninglist (marked).")
    ] = False,
    kind: Annotated[str | None, typer.Option(help=f"Blocklist kind: {', '.join(BLOCKLIST_KINDS)}.")] = None,
    sid_base: Annotated[int | None, typer.Option(help="First Suricata sid (default: RIBAT_SURICATA_SID_BASE).")] = None,
    lists: Annotated[
        Path | None, typer.Option("--lists", help="MISP warninglists directory (default: RIBAT_WARNINGLISTS_DIR).")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="The hub's address, for links to objects in the Zeek file's meta.url.")
    ] = None,
) -> None:
    """Export collections as STIX, MISP, a MISP feed, CSV, a blocklist, Suricata rules or a Zeek Intel file."""
    settings = Settings()
    if lists is not None and not lists.is_dir():
        _err.print(f"error: warninglists directory {lists} does not exist")
        raise typer.Exit(2)
    hub = Hub.open(settings)
    try:
        flt = parse_filter(
            types=type_ or (),
            max_tlp=max_tlp,
            since=since,
            until=until,
            min_confidence=None if min_confidence is None else str(min_confidence),
            include_flagged=include_flagged,
        )
        index = hub.intel.warninglists  # RIBAT_WARNINGLISTS_DIR, loaded by the hub
        if lists is not None:
            loaded = load_directory(lists)
            for problem in loaded.problems:
                _err.print(f"warning: {problem}")
            index = loaded.index
        engine = Exports(
            hub.intel,
            warninglists=index,
            suricata=SuricataOptions(sid_base=sid_base if sid_base is not None else settings.suricata_sid_base),
            feed_orgc=hub_orgc(settings.hub_title),
            page_size=settings.page_size_cap,
        )
        from ribat.cli.main import _principal

        principal = _principal(hub, user)
        object_url = base_url.rstrip("/") + "/objects/" if base_url else None
        report = engine.export(principal, collection, fmt, flt, out_path, kind=kind, object_url=object_url)
    except RibatError as exc:
        _err.print(f"error: {exc.message}")
        raise typer.Exit(1) from None
    finally:
        hub.close()
    tally = report.tally
    unit = {"stix": "objects", "misp": "events", "misp-feed": "events", "suricata": "rules"}.get(
        report.format, "values"
    )
    _out.print(f"wrote {tally.values} {unit} from {tally.objects} selected objects to {out_path}")
    for reason, count in sorted(tally.skipped.items()):
        sample = ", ".join(tally.samples.get(reason, [])[:3])
        _out.print(f"  skipped {count}: {reason_text(reason, report.format)} (e.g. {sample})")
    for note in tally.notes:
        _out.print(f"  note: {note}")


def register(app: typer.Typer) -> None:
    """Add ``ribat exports`` to ``app``."""
    app.command("exports")(exports)
