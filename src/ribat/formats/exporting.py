"""The export use case: read what a principal may read from the hub, select, render, write.

Reads go through ``Intel.objects`` only (paging with ``next``, latest versions), so TLP and
collection permissions are enforced by the intel context exactly as for TAXII: an object the
principal may not read never reaches the selection. The selection rules and the file shapes
are ``ribat.formats.exports``; docs/formats-export.md describes both.
"""

from __future__ import annotations

import re
import tempfile
import uuid
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from ribat.accounts import Principal
from ribat.clock import Clock, NewId, format_us, new_uuid, now_us
from ribat.errors import PermissionDeniedError, ValidationError
from ribat.formats.exports import (
    BLOCKLIST_KINDS,
    FORMATS,
    ExportFilter,
    ExportFormat,
    ExportTally,
    Selected,
    Selector,
    SuricataOptions,
    ZeekOptions,
    render_blocklist,
    render_csv,
    render_stix,
    render_suricata,
    render_zeek,
    warninglist_flags,
)
from ribat.intel import Collection, Intel, ObjectFilter
from ribat.intel.warninglists import WarninglistIndex

__all__ = ["ExportReport", "ExportTarget", "Exports", "hub_orgc"]

_FILE_LABEL = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class ExportTarget:
    """What an export will produce: the format, the collections it reads and the file name."""

    format: ExportFormat
    collections: tuple[Collection, ...]
    filename: str
    kind: str | None = None

    @property
    def media_type(self) -> str:
        return self.format.media_type

    @property
    def source(self) -> str:
        return ", ".join(c.alias or c.title for c in self.collections)


@dataclass
class ExportReport:
    """What one export wrote (``tally.values`` lines, rows, rules or objects) and what it left
    out, by reason."""

    format: str
    collection_ids: list[str]
    filename: str
    media_type: str
    generated: str
    kind: str | None = None
    tally: ExportTally = field(default_factory=ExportTally)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "kind": self.kind,
            "collections": list(self.collection_ids),
            "filename": self.filename,
            "media_type": self.media_type,
            "generated": self.generated,
            **self.tally.as_dict(self.format),
        }


def hub_orgc(title: str) -> dict[str, str]:
    """The MISP creator organisation (``Orgc``) a hub's feed names for events that carry none:
    the hub's title, with a UUID derived from it (stable across exports)."""
    return {"name": title, "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"ribat-hub:{title}"))}


class Exports:
    """Exports of collections in the formats of ``ribat.formats.exports.FORMATS``."""

    def __init__(
        self,
        intel: Intel,
        *,
        warninglists: WarninglistIndex | None = None,
        suricata: SuricataOptions | None = None,
        feed_orgc: Mapping[str, str] | None = None,
        now: Clock = now_us,
        new_id: NewId = new_uuid,
        page_size: int = 1000,
    ) -> None:
        self.intel = intel
        self.feed_orgc = dict(feed_orgc) if feed_orgc is not None else hub_orgc("Ribat hub")
        self.warninglists = warninglists
        self.suricata = suricata or SuricataOptions()
        self.now = now
        self.new_id = new_id
        self.page_size = page_size

    def target(
        self,
        principal: Principal | None,
        collections: str | Sequence[str],
        fmt: str,
        *,
        kind: str | None = None,
    ) -> ExportTarget:
        """Check the format (and blocklist kind) and that the principal may read every
        collection; raise before anything is written."""
        export_format = FORMATS.get(fmt)
        if export_format is None:
            raise ValidationError("format", f"{fmt!r} is not an export format (use {', '.join(FORMATS)})")
        if fmt == "blocklist":
            if not kind:
                raise ValidationError("kind", f"a blocklist needs a kind ({', '.join(BLOCKLIST_KINDS)})")
            if kind not in BLOCKLIST_KINDS:
                raise ValidationError("kind", f"{kind!r} is not a blocklist kind (use {', '.join(BLOCKLIST_KINDS)})")
        elif kind:
            raise ValidationError("kind", "only the blocklist format takes a kind")
        refs = [collections] if isinstance(collections, str) else list(collections)
        if not refs:
            raise ValidationError("collection", "name at least one collection")
        found: list[Collection] = []
        for ref in dict.fromkeys(refs):
            collection = self.intel.collection(principal, ref)  # NotFoundError when not visible
            if not collection.can_read:
                raise PermissionDeniedError("read from", f"collection {collection.id}")
            found.append(collection)
        label = found[0].alias or found[0].id if len(found) == 1 else "collections"
        label = _FILE_LABEL.sub("_", label).strip("_") or "export"
        stem = f"ribat-{label}-{kind}" if kind else f"ribat-{label}-{fmt}"
        return ExportTarget(export_format, tuple(found), f"{stem}.{export_format.extension}", kind)

    # -- reading ------------------------------------------------------------------------------

    def _selected(
        self, principal: Principal | None, target: ExportTarget, flt: ExportFilter, tally: ExportTally
    ) -> Iterator[Selected]:
        detection = target.format.detection
        selector = Selector(
            flt,
            now_us=self.now(),
            detection=detection,
            flags_of=warninglist_flags(self.warninglists) if self.warninglists is not None else None,
            tally=tally,
        )
        types = flt.types
        if detection:
            if types and "indicator" not in types:
                tally.notes.append(f"{target.format.name} lists indicator values: no indicator type was asked for")
                return
            types = ("indicator",)
        query = ObjectFilter(types=types, versions=("last",))
        for collection in target.collections:
            token: str | None = None
            while True:
                page = self.intel.objects(principal, collection.id, query, limit=self.page_size, next_token=token)
                for body, meta in zip(page.bodies, page.metas, strict=True):
                    found = selector.consider(orjson.loads(body), meta.tlp, body)
                    if found is not None:
                        yield found
                if not page.more or page.next is None:
                    break
                token = page.next

    # -- writing ------------------------------------------------------------------------------

    def export(
        self,
        principal: Principal | None,
        collections: str | Sequence[str] | ExportTarget,
        fmt: str,
        flt: ExportFilter,
        out: IO[bytes] | Path,
        *,
        kind: str | None = None,
        suricata: SuricataOptions | None = None,
        object_url: str | None = None,
    ) -> ExportReport:
        """Export what the principal may read of ``collections`` as ``fmt`` into ``out``: a
        binary stream, or a path (written through a ``.part`` file and renamed when complete;
        for ``misp-feed`` a path is the feed directory, a stream receives a zip of it).

        ``object_url`` is the prefix of the hub's object pages, for Zeek's ``meta.url``."""
        if isinstance(collections, ExportTarget):
            target = collections
            if fmt != target.format.name:
                raise ValidationError("format", f"{fmt!r} is not the format of the target ({target.format.name!r})")
        else:
            target = self.target(principal, collections, fmt, kind=kind)
        generated = format_us(self.now())
        report = ExportReport(
            format=target.format.name,
            collection_ids=[c.id for c in target.collections],
            filename=target.filename,
            media_type=target.media_type,
            generated=generated,
            kind=target.kind,
        )
        tally = report.tally
        items = self._selected(principal, target, flt, tally)
        name = target.format.name
        if name == "misp-feed":
            self._write_feed(items, tally, out)
            return report
        chunks = self._render(name, target, items, tally, generated, suricata or self.suricata, object_url)
        if isinstance(out, Path):
            part = out.with_name(out.name + ".part")
            try:
                with part.open("wb") as fh:
                    _write(fh, chunks)
                part.replace(out)
            finally:
                part.unlink(missing_ok=True)
        else:
            _write(out, chunks)
        return report

    def _render(
        self,
        name: str,
        target: ExportTarget,
        items: Iterator[Selected],
        tally: ExportTally,
        generated: str,
        suricata: SuricataOptions,
        object_url: str | None,
    ) -> Iterator[str]:
        source = f"ribat: {target.source}"
        if name == "stix":
            return render_stix(items, tally, bundle_id=f"bundle--{self.new_id()}")
        if name == "csv":
            return render_csv(items, tally)
        if name == "blocklist":
            assert target.kind is not None
            return render_blocklist(items, tally, target.kind, generated=generated, source=source)
        if name == "suricata":
            return render_suricata(items, tally, suricata, generated=generated, source=source)
        if name == "zeek":
            return render_zeek(items, tally, ZeekOptions(source=source, object_url=object_url))
        if name == "misp":
            return _render_misp(items, tally)
        raise ValidationError("format", f"{name!r} is not an export format")

    def _write_feed(self, items: Iterator[Selected], tally: ExportTally, out: IO[bytes] | Path) -> None:
        """A MISP feed of the selected objects' events; events without a creator organisation
        are written as created by ``feed_orgc`` (the hub), events the feed writer refuses are
        counted as ``refused_by_misp_feed``."""
        events = _misp_events(items, tally)
        if isinstance(out, Path):
            self._feed_into(events, out, tally)
            return
        with tempfile.TemporaryDirectory(prefix="ribat-feed-") as tmp:
            directory = Path(tmp)
            self._feed_into(events, directory, tally)
            with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for path in sorted(directory.iterdir()):
                    if path.is_file():
                        archive.write(path, path.name)

    def _feed_into(self, events: list[dict[str, Any]], directory: Path, tally: ExportTally) -> None:
        from ribat.formats.misp_feed import write_feed

        written = write_feed(events, directory, orgc=self.feed_orgc)
        for loss in written.refused:
            tally.skip("refused_by_misp_feed", f"{loss.where} {loss.value}".strip())
        tally.values = len(written.uuids)


def _write(fh: IO[bytes], chunks: Iterator[str]) -> None:
    for chunk in chunks:
        fh.write(chunk.encode("utf-8"))


def _misp_events(items: Iterator[Selected], tally: ExportTally) -> list[dict[str, Any]]:
    """MISP event documents for the selected objects (misp-stix's mapping, see
    ``ribat.formats.misp``); what misp-stix could not carry is counted, by where it was.
    (Imported here: misp-stix loads much, which the other formats do not need.)"""
    from ribat.formats.misp import stix_to_misp

    result = stix_to_misp(item.obj for item in items)
    for loss in result.losses:
        tally.skip("not_carried_into_misp", f"{loss.where} {loss.field}".strip())
    tally.values += len(result.events)
    return result.events


def _render_misp(items: Iterator[Selected], tally: ExportTally) -> Iterator[str]:
    events = _misp_events(items, tally)
    body = events[0] if len(events) == 1 else {"response": events}
    yield orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() + "\n"
