"""How long does importing a 100,000-attribute MISP feed take, against misp-stix's own conversion?

Run from the repository root::

    python -m bench.bench_misp                        # 100,000 attributes, SQLite, 3 runs
    python -m bench.bench_misp --attributes 5000 --runs 2
    python -m bench.bench_misp --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

Writes a generated MISP feed to a temporary directory with ``write_feed`` (PyMISP's feed
output: ``manifest.json``, ``hashes.csv``, one ``<uuid>.json`` per event), outside the
timing. The feed depends only on ``--seed`` and ``--attributes``: events of about 1,000
attributes (object attributes included) with a realistic mix of types (``ip-dst``,
``ip-src``, ``domain``, ``hostname``, ``url``, ``md5``, ``sha1``, ``sha256``, ``filename``,
``email-src``, a few ``domain|ip`` and ``filename|sha256``), their categories, ``to_ids`` on
about two in three, a comment on about one in four, every value distinct; per event a TLP tag
(``tlp:white``, ``tlp:green`` or ``tlp:amber``), a PAP tag, two taxonomy tags, four ``file``
objects (filename, md5, sha256, size) and three ``domain-ip`` objects (domain, ip, port), and
one threat-actor galaxy cluster.

Then, in the same run, interleaved (the order alternates from one round to the next), the
median of ``--runs`` rounds of:

- **misp-stix alone** (the floor of the mapping): for each event file, read it, parse its
  JSON, ``MISPtoSTIX21Parser().parse_misp_event(…)``, take ``parser.bundle`` and serialise it
  with stix2's ``STIXJSONEncoder``, as misp-stix's own ``misp_to_stix2`` does (less its
  indentation and the write to a file). No Ribat code.
- **Ribat**: the whole import into a fresh hub (a new SQLite file each round; with
  ``--database-url``, which must hold no STIX objects, its tables are emptied before each
  round): ``read_feed_directory``, ``misp_to_stix`` per event
  (misp-stix, then the TLP carried to every object, comments kept and the loss report), and
  ``Intel.ingest`` in envelopes of 1,000 objects, each envelope committed (the store refreshes
  the planner's statistics itself as it grows, as in any import). The time is split into
  conversion (reading and ``misp_to_stix``) and storing (``Intel.ingest``).

Reports seconds, attributes per second, the ratio Ribat / misp-stix, STIX objects written and
stored, and the losses the conversion reported. Target (issue 4): Ribat within 2x of misp-stix.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import statistics
import tempfile
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_SEED = 20240917
EVENT_SIZE = 1000  # attributes per event, object attributes included
BATCH = 1000  # objects per Intel.ingest envelope, as imports and feeds use
FILE_OBJECTS = 4  # per event: filename, md5, sha256, size-in-bytes
DOMAIN_IP_OBJECTS = 3  # per event: domain, ip, port
_FILE_TEMPLATE = ("688c46fb-5edb-40a3-8273-1af7923e2215", "25")
_DOMAIN_IP_TEMPLATE = ("43b3b146-77eb-4931-b4cc-b66c60f28734", "11")
_ORGC = {"name": "Generated CERT", "uuid": "8d2b6f0e-3c51-4a8e-9d3e-6f4b1c2a7e90"}
_BASE_TIME = 1_704_067_200  # 2024-01-01T00:00:00Z

# (MISP type, weight out of 100, categories to pick from, share with to_ids)
_TYPES: tuple[tuple[str, int, tuple[str, ...], float], ...] = (
    ("ip-dst", 18, ("Network activity",), 0.8),
    ("ip-src", 6, ("Network activity",), 0.7),
    ("domain", 16, ("Network activity",), 0.8),
    ("hostname", 8, ("Network activity",), 0.7),
    ("url", 13, ("Network activity", "Payload delivery", "External analysis"), 0.6),
    ("md5", 8, ("Payload delivery", "Artifacts dropped", "Payload installation"), 0.8),
    ("sha1", 6, ("Payload delivery", "Artifacts dropped", "Payload installation"), 0.8),
    ("sha256", 12, ("Payload delivery", "Artifacts dropped", "Payload installation"), 0.8),
    ("filename", 5, ("Payload delivery", "Artifacts dropped"), 0.1),
    ("email-src", 5, ("Payload delivery", "Social network"), 0.5),
    ("domain|ip", 2, ("Network activity",), 0.7),
    ("filename|sha256", 1, ("Payload delivery", "Artifacts dropped"), 0.8),
)
_WORDS = (
    "update", "secure", "login", "cdn", "mail", "portal", "cloud", "auth", "files", "static",
    "verify", "account", "support", "docs", "api", "sync", "office", "drive", "billing", "invoice",
)  # fmt: skip
_TLDS = ("com", "net", "org", "info", "biz", "xyz", "top", "online", "site", "ru", "cn", "io")
_EXTS = ("exe", "dll", "doc", "docm", "xls", "js", "vbs", "ps1", "zip", "rar", "lnk", "hta")
_COMMENTS = (
    "C2 server",
    "Seen in the phishing wave",
    "Dropper downloaded from this location",
    "Reported by a partner CERT",
    "Sinkholed since",
    "Second-stage payload",
    "Exfiltration endpoint",
    "From sandbox detonation",
)
_TLP_TAGS = ("tlp:white", "tlp:green", "tlp:amber")
_PAP_TAGS = ("PAP:WHITE", "PAP:GREEN", "PAP:AMBER")
_TAXONOMY_TAGS = (
    'osint:source-type="blog-post"',
    'admiralty-scale:source-reliability="b"',
    'estimative-language:likelihood-probability="likely"',
    "kill-chain:Command and Control",
    'malware_classification:malware-category="Trojan"',
    'circl:incident-classification="malware"',
)
_ACTOR_DESCRIPTION = (
    "An intrusion set active against government and telecommunication networks, "
    "known for spear-phishing and commodity loaders."
)


# --------------------------------------------------------------------------------------------
# The generated feed


class _Gen:
    """Values, uuids and picks for one event; values are distinct across the whole feed
    because each one takes a fresh index from a counter shared by all events."""

    def __init__(self, seed: int, event_index: int, first_value: int) -> None:
        self.rng = random.Random(seed * 1_000_003 + event_index)
        self.seed = seed
        self.next = first_value

    def index(self) -> int:
        self.next += 1
        return self.next

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def ip(self) -> str:
        # 45.0.0.0 + a bijection of the index over 2^24 addresses.
        n = (self.index() * 2_654_435_761) % (1 << 24)
        return f"{45 + (n >> 22)}.{(n >> 14) % 256}.{(n >> 6) % 256}.{1 + n % 64 * 3}"

    def domain(self) -> str:
        i = self.index()
        word, other = self.rng.choice(_WORDS), self.rng.choice(_WORDS)
        return f"{word}-{other}-{i:x}.{self.rng.choice(_TLDS)}"

    def hostname(self) -> str:
        return f"{self.rng.choice(_WORDS)}.{self.domain()}"

    def url(self) -> str:
        scheme = self.rng.choice(("http", "https"))
        return f"{scheme}://{self.domain()}/{self.rng.choice(_WORDS)}/{self.rng.choice(_WORDS)}.php?id={self.index()}"

    def digest(self, kind: str) -> str:
        return hashlib.new(kind, f"{self.seed}:{self.index()}".encode()).hexdigest()

    def filename(self) -> str:
        return f"{self.rng.choice(_WORDS)}_{self.index()}.{self.rng.choice(_EXTS)}"

    def email(self) -> str:
        return f"{self.rng.choice(_WORDS)}.{self.index()}@{self.domain()}"

    def value(self, kind: str) -> str:
        if kind in ("ip-dst", "ip-src"):
            return self.ip()
        if kind in ("md5", "sha1", "sha256"):
            return self.digest(kind)
        if kind == "domain|ip":
            return f"{self.domain()}|{self.ip()}"
        if kind == "filename|sha256":
            return f"{self.filename()}|{self.digest('sha256')}"
        if kind == "email-src":
            return self.email()
        made: str = getattr(self, kind)()
        return made

    def stamp(self, event_time: int) -> str:
        return str(event_time - self.rng.randrange(0, 30 * 86_400))


def _attribute(gen: _Gen, kind: str, category: str, to_ids: bool, event_time: int) -> dict[str, Any]:
    comment = gen.rng.choice(_COMMENTS) if gen.rng.random() < 0.25 else ""
    return {
        "uuid": gen.uuid(),
        "type": kind,
        "category": category,
        "value": gen.value(kind),
        "to_ids": to_ids,
        "comment": comment,
        "timestamp": gen.stamp(event_time),
        "disable_correlation": False,
    }


def _object_attribute(gen: _Gen, relation: str, kind: str, value: str, to_ids: bool, stamp: str) -> dict[str, Any]:
    category = "Network activity" if kind in ("domain", "ip-dst", "port") else "Payload delivery"
    return {
        "uuid": gen.uuid(),
        "object_relation": relation,
        "type": kind,
        "category": category,
        "value": value,
        "to_ids": to_ids,
        "comment": "",
        "timestamp": stamp,
        "disable_correlation": kind == "size-in-bytes",
    }


def _objects(gen: _Gen, event_time: int) -> list[dict[str, Any]]:
    objects = []
    for _ in range(FILE_OBJECTS):
        stamp = gen.stamp(event_time)
        objects.append(
            {
                "uuid": gen.uuid(),
                "name": "file",
                "meta-category": "file",
                "description": "File object describing a file with meta-information",
                "template_uuid": _FILE_TEMPLATE[0],
                "template_version": _FILE_TEMPLATE[1],
                "comment": gen.rng.choice(_COMMENTS),
                "timestamp": stamp,
                "Attribute": [
                    _object_attribute(gen, "filename", "filename", gen.filename(), False, stamp),
                    _object_attribute(gen, "md5", "md5", gen.digest("md5"), True, stamp),
                    _object_attribute(gen, "sha256", "sha256", gen.digest("sha256"), True, stamp),
                    _object_attribute(gen, "size-in-bytes", "size-in-bytes", str(4096 + gen.index()), False, stamp),
                ],
            }
        )
    for _ in range(DOMAIN_IP_OBJECTS):
        stamp = gen.stamp(event_time)
        objects.append(
            {
                "uuid": gen.uuid(),
                "name": "domain-ip",
                "meta-category": "network",
                "description": "A domain/hostname and IP address seen as a tuple in a specific time frame.",
                "template_uuid": _DOMAIN_IP_TEMPLATE[0],
                "template_version": _DOMAIN_IP_TEMPLATE[1],
                "comment": "",
                "timestamp": stamp,
                "Attribute": [
                    _object_attribute(gen, "domain", "domain", gen.domain(), True, stamp),
                    _object_attribute(gen, "ip", "ip-dst", gen.ip(), True, stamp),
                    _object_attribute(gen, "port", "port", str(1024 + gen.index() % 64_000), False, stamp),
                ],
            }
        )
    return objects


def _galaxy(gen: _Gen, event_index: int) -> tuple[dict[str, Any], str]:
    name = f"Generated Actor {event_index:04d}"
    tag = f'misp-galaxy:threat-actor="{name}"'
    cluster = {
        "uuid": gen.uuid(),
        "type": "threat-actor",
        "value": name,
        "tag_name": tag,
        "description": _ACTOR_DESCRIPTION,
        "source": "Ribat benchmark",
        "authors": ["Ribat benchmark"],
        "version": "1",
        "meta": {"synonyms": [f"GA-{event_index:04d}", f"Group {event_index}"], "country": ["ZZ"]},
    }
    galaxy = {
        "uuid": "698774c7-8022-42c4-917f-8d6e4f06ada3",
        "name": "Threat Actor",
        "type": "threat-actor",
        "description": "Threat actors are characteristics of malicious actors.",
        "version": "2",
        "icon": "user-secret",
        "namespace": "misp",
        "GalaxyCluster": [cluster],
    }
    return galaxy, tag


def event(event_index: int, attributes: int, first_value: int, seed: int) -> dict[str, Any]:
    """One generated MISP event (``{"Event": {…}}``) holding ``attributes`` attributes, object
    attributes included; its values use the indexes after ``first_value``."""
    gen = _Gen(seed, event_index, first_value)
    event_time = _BASE_TIME + event_index * 3600
    objects = _objects(gen, event_time) if attributes >= EVENT_SIZE // 2 else []
    plain = attributes - sum(len(o["Attribute"]) for o in objects)
    kinds = [t[0] for t in _TYPES]
    weights = [t[1] for t in _TYPES]
    table = {t[0]: t for t in _TYPES}
    rows = []
    for kind in gen.rng.choices(kinds, weights, k=plain):
        _, _, categories, share = table[kind]
        rows.append(_attribute(gen, kind, gen.rng.choice(categories), gen.rng.random() < share, event_time))
    galaxy, galaxy_tag = _galaxy(gen, event_index)
    tags = [
        _TLP_TAGS[event_index % len(_TLP_TAGS)],
        _PAP_TAGS[event_index % len(_PAP_TAGS)],
        _TAXONOMY_TAGS[event_index % len(_TAXONOMY_TAGS)],
        _TAXONOMY_TAGS[(event_index + 3) % len(_TAXONOMY_TAGS)],
        galaxy_tag,
    ]
    return {
        "Event": {
            "uuid": gen.uuid(),
            "info": f"Generated campaign {event_index:04d}: infrastructure and payloads",
            "date": time.strftime("%Y-%m-%d", time.gmtime(event_time)),
            "timestamp": str(event_time),
            "publish_timestamp": str(event_time),
            "published": event_index % 5 != 4,  # most are published: a report, else a grouping
            "analysis": "2",
            "threat_level_id": str(1 + event_index % 3),
            "Orgc": dict(_ORGC),
            "Tag": [{"name": name, "exportable": True} for name in tags],
            "Attribute": rows,
            "Object": objects,
            "Galaxy": [galaxy],
        }
    }


def events(total: int, seed: int) -> Iterator[dict[str, Any]]:
    """The feed's events: ``total`` attributes in events of ``EVENT_SIZE`` (the last holds the rest)."""
    index = 0
    done = 0
    while done < total:
        size = min(EVENT_SIZE, total - done)
        # Each attribute takes at most two value indexes (composites), objects a few more.
        yield event(index, size, first_value=index * EVENT_SIZE * 4, seed=seed)
        done += size
        index += 1


# --------------------------------------------------------------------------------------------
# The two sides


@dataclass
class Round:
    seconds: float
    converting: float = 0.0
    storing: float = 0.0
    written: int = 0  # STIX objects the conversion wrote
    stored: int = 0
    merged: int = 0
    failed: int = 0
    losses: Counter[str] = field(default_factory=Counter)


def misp_stix_alone(feed: Path, uuids: list[str]) -> Round:
    """Each event file through misp-stix's MISP → STIX 2.1 parser and its JSON serialisation."""
    from misp_stix_converter import MISPtoSTIX21Parser
    from stix2.base import STIXJSONEncoder

    written = 0
    started = time.perf_counter()
    for event_uuid in uuids:
        content = json.loads((feed / f"{event_uuid}.json").read_text(encoding="utf-8"))
        parser = MISPtoSTIX21Parser()
        parser.parse_misp_event(content)
        bundle = parser.bundle
        json.dumps(bundle, cls=STIXJSONEncoder)
        written += len(bundle.objects)
    return Round(time.perf_counter() - started, written=written)


class RibatSide:
    """Fresh hubs for the import: a new SQLite file per round, or the given database emptied."""

    def __init__(self, database_url: str | None, tmp: Path) -> None:
        self.database_url = database_url
        self.tmp = tmp
        self.rounds = 0
        self.engine = "PostgreSQL" if database_url and database_url.startswith("postgresql") else "SQLite"

    def _open(self) -> Any:
        from ribat.config import Settings
        from ribat.hub import Hub

        self.rounds += 1
        url = self.database_url or f"sqlite:///{self.tmp / f'round-{self.rounds}.db'}"
        hub = Hub.open(Settings(database_url=url, secret_key="bench-secret-key-0123456789"), migrate=True)
        if self.database_url is not None:
            self._empty(hub)
        return hub

    def check_empty(self) -> None:
        """Refuse a given database that already holds STIX objects (the rounds empty it)."""
        if self.database_url is None:
            return
        from ribat.config import Settings
        from ribat.hub import Hub

        hub = Hub.open(Settings(database_url=self.database_url, secret_key="bench-secret-key-0123456789"), migrate=True)
        try:
            with hub.db.read() as conn:
                held = conn.exec_driver_sql("SELECT count(*) FROM stix_objects").scalar_one()
        finally:
            hub.close()
        if held:
            raise SystemExit(f"{self.database_url} holds {held:,} STIX objects: give a fresh, empty database")

    @staticmethod
    def _empty(hub: Any) -> None:
        from ribat.db import metadata

        with hub.db.write() as conn:
            if hub.db.is_sqlite:
                for table in reversed(metadata.sorted_tables):
                    conn.exec_driver_sql(f'DELETE FROM "{table.name}"')
            else:
                tables = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
                conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")

    def run(self, feed: Path) -> Round:
        from ribat.accounts import OrgKind, Role
        from ribat.formats.misp import misp_to_stix
        from ribat.formats.misp_feed import read_feed_directory
        from ribat.intel import Grant

        hub = self._open()
        try:
            acc = hub.accounts
            org = acc.create_org("Importing CERT", "importer", "MY", OrgKind.NATIONAL_CERT)
            user = acc.create_user("analyst@importer.example", org.id, Role.ANALYST)
            hub.intel.create_collection("misp", alias="misp", grants=[Grant("community", "", True, True)])
            who = acc.principal_for(user.id)
            result = Round(0.0)
            started = time.perf_counter()
            mark = started
            for item in read_feed_directory(feed):
                if item.event is None:
                    raise AssertionError(f"{item.uuid}: {item.problem}")
                conversion = misp_to_stix(item.event, source=f"{item.uuid}.json")
                now = time.perf_counter()
                result.converting += now - mark
                mark = now
                result.written += len(conversion.objects)
                result.losses.update(loss.field for loss in conversion.losses)
                objects = conversion.objects
                for start in range(0, len(objects), BATCH):
                    status = hub.intel.ingest(who, "misp", {"objects": objects[start : start + BATCH]})
                    for success in status.successes:
                        if success.message:
                            result.merged += 1
                        else:
                            result.stored += 1
                    result.failed += status.failure_count
                now = time.perf_counter()
                result.storing += now - mark
                mark = now
            now = time.perf_counter()
            result.storing += now - mark
            result.seconds = now - started
            with hub.db.read() as conn:
                held = conn.exec_driver_sql("SELECT count(*) FROM stix_objects").scalar_one()
            assert held == result.stored, (held, result.stored)
            return result
        finally:
            hub.close()
            if self.database_url is None:
                for path in self.tmp.glob(f"round-{self.rounds}.db*"):
                    path.unlink()


# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.bench_misp", description=__doc__.split("\n")[0])
    p.add_argument("--attributes", type=int, default=100_000, help="attributes in the feed (object ones included)")
    p.add_argument("--runs", type=int, default=3, help="rounds of each side; medians are reported")
    p.add_argument("--database-url", default=None, help="a fresh, empty database (default: a temporary SQLite)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = p.parse_args(argv)

    with warnings.catch_warnings():
        # misp-stix's dependencies (six's meta-path importer) warn when first imported.
        warnings.simplefilter("ignore", ImportWarning)
        import misp_stix_converter  # noqa: F401

    from ribat.formats.misp_feed import write_feed

    tmp = Path(tempfile.mkdtemp(prefix="ribat-misp-"))
    ribat = RibatSide(args.database_url, tmp)
    try:
        ribat.check_empty()
        feed = tmp / "feed"
        started = time.perf_counter()
        written = write_feed(events(args.attributes, args.seed), feed)
        assert not written.refused, written.refused[:3]
        size = sum(f.stat().st_size for f in feed.iterdir())
        print(
            f"feed: {len(written.uuids)} events, {args.attributes:,} attributes, {written.hashes:,} hashes.csv lines, "
            f"{size / 1e6:.1f} MB, written in {time.perf_counter() - started:.0f} s"
        )

        floor: list[Round] = []
        imports: list[Round] = []
        for n in range(args.runs):
            for side in ("misp-stix", "ribat") if n % 2 == 0 else ("ribat", "misp-stix"):
                if side == "misp-stix":
                    floor.append(misp_stix_alone(feed, written.uuids))
                    print(f"round {n + 1}: misp-stix alone {floor[-1].seconds:.1f} s")
                else:
                    imports.append(ribat.run(feed))
                    r = imports[-1]
                    print(
                        f"round {n + 1}: Ribat {r.seconds:.1f} s (converting {r.converting:.1f} s, "
                        f"storing {r.storing:.1f} s); {r.stored:,} stored, {r.failed:,} failed"
                    )

        def med(rounds: list[Round], attr: str) -> float:
            return float(statistics.median(getattr(r, attr) for r in rounds))

        a = med(floor, "seconds")
        last = imports[-1]
        lost = sum(last.losses.values())
        rows = [
            ("misp-stix alone (parse + bundle + JSON)", a, f"{floor[-1].written:,}", "–", "–"),
            (
                "Ribat import (read + convert + ingest)",
                med(imports, "seconds"),
                f"{last.written:,}",
                f"{last.stored:,}",
                f"{lost:,}",
            ),
            ("– of which converting (read_feed_directory + misp_to_stix)", med(imports, "converting"), "", "", ""),
            ("– of which storing (Intel.ingest, 1,000 objects a call)", med(imports, "storing"), "", "", ""),
        ]
        print()
        print(
            f"| MISP feed, {args.attributes:,} attributes in {len(written.uuids)} events ({ribat.engine}) "
            "| median s | attributes/s | × misp-stix | STIX objects written | stored | losses reported |"
        )
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for name, seconds, out, stored, losses in rows:
            rate = args.attributes / seconds
            print(f"| {name} | {seconds:.1f} | {rate:,.0f} | {seconds / a:.2f} | {out} | {stored} | {losses} |")
        if lost:
            print()
            print("losses by field: " + ", ".join(f"{name} {count:,}" for name, count in last.losses.most_common()))
        if last.merged or last.failed:
            print(f"also: {last.merged:,} already stored (a marking repeated by events), {last.failed:,} failed")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
