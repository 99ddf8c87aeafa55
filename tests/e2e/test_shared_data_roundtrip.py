"""Real public STIX content in, the same content out: ``ribat import`` / TAXII POST, then TAXII GET.

Every STIX file of ``<repo>/../shared/data/cti`` goes in: the STIX 2.1 files (OASIS
examples, cti-stix-common-objects one-object bundles, the bare-array SCO examples, MITRE
ATT&CK for ICS with its ``x-mitre-*`` types) and the STIX 2.0 Unit 42 playbooks by
``ribat import``; the objects of medallion's default data by TAXII POST. Each is served
back by TAXII GET (``match[version]=all``, paged) exactly as it went in; 2.0 objects
differ only by what the 2.0 → 2.1 upgrade adds (``ribat.intel.upgrade``). ``ribat
export`` writes bundles that ``stix2`` parses.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import stix2

from e2e.live import Coalition, CollectionSpec, LiveHub, Org, User, get_all, post_objects

pytestmark = pytest.mark.e2e

ANA = "ana@alpha.example"
# What the 2.0 → 2.1 upgrade may add (ribat.intel.upgrade), with the values it adds; the
# ``*_types`` properties are copies of ``labels``. It changes and removes nothing else.
UPGRADE_ADDS: dict[str, Any] = {
    "spec_version": "2.1",
    "pattern_type": "stix",
    "pattern_version": "2.0",
    "is_family": True,
}
TYPES_FROM_LABELS = {"indicator_types", "malware_types", "tool_types", "threat_actor_types", "report_types"}
MARKING_WITH_MODIFIED = "marking-definition--62fd3f9b-15f3-4ebc-802c-91fce9536bcf"


@pytest.fixture(scope="module")
def coalition() -> Coalition:
    return Coalition(
        orgs=(Org("alpha", "Alpha CERT", "MY"),),
        users=(User(ANA, "alpha"),),
        collections=(
            CollectionSpec("stix21", "STIX 2.1 content", "clear", owner="alpha"),
            CollectionSpec("stix20", "STIX 2.0 content", "clear", owner="alpha"),
            CollectionSpec("medallion", "medallion default data", "clear", owner="alpha"),
        ),
    )


# -- the shared data ---------------------------------------------------------------------------------


def objects_in(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, list):
        return data
    if data.get("type") == "bundle":
        objects: list[dict[str, Any]] = data["objects"]
        return objects
    return [data]


@pytest.fixture(scope="module")
def cti(data_dir: Path) -> Path:
    return data_dir / "cti"


@pytest.fixture(scope="module")
def stix21_files(cti: Path) -> list[Path]:
    files = sorted((cti / "stix21").rglob("*.json"))
    names = {f.name for f in files}
    # The shapes this test is about: one-object bundles, a bare array, a single object, ATT&CK.
    assert {"sco-examples-bundle.json", "interop-objectmarking-test.json", "ics-attack-18.1.json"} <= names
    assert any("common-objects" in f.parts for f in files)
    return files


@pytest.fixture(scope="module")
def stix20_files(cti: Path) -> list[Path]:
    files = sorted((cti / "stix20").rglob("*.json"))
    assert files
    return files


@pytest.fixture(scope="module")
def medallion_collections(cti: Path) -> list[dict[str, Any]]:
    data = json.loads((cti / "taxii21" / "medallion-default_data.json").read_text(encoding="utf-8"))
    found = [
        c for root in data.values() if isinstance(root, dict) for c in root.get("collections", []) if c.get("objects")
    ]
    assert found
    return found


def canonical(obj: Any) -> str:
    """JSON text of a parsed value, member order included: the hub stores objects as sent."""
    return json.dumps(obj, ensure_ascii=False)


def version_key(obj: dict[str, Any]) -> tuple[str, str | None]:
    return obj["id"], obj.get("modified", obj.get("created"))


def upgrade_differences(original: dict[str, Any], served: dict[str, Any]) -> list[str]:
    """How ``served`` differs from ``original`` beyond the documented 2.0 → 2.1 upgrade."""
    problems = [
        f"{k}: {original[k]!r} became {served.get(k, '<absent>')!r}" for k in original if served.get(k) != original[k]
    ]
    for k in served.keys() - original.keys():
        if k in UPGRADE_ADDS:
            if served[k] != UPGRADE_ADDS[k]:
                problems.append(f"{k}: added as {served[k]!r}")
        elif k in TYPES_FROM_LABELS:
            if served[k] != original.get("labels"):
                problems.append(f"{k}: {served[k]!r} is not a copy of labels")
        else:
            problems.append(f"{k}: added")
    if served.get("spec_version") != "2.1":
        problems.append("spec_version is not 2.1")
    return problems


# -- putting it in -------------------------------------------------------------------------------------


def cli_import(hub: LiveHub, files: list[Path], alias: str) -> tuple[int, int, int]:
    """``ribat import``; the (stored, already present, failed) counts it reports."""
    proc = hub.cli("import", *map(str, files), "--collection", alias, "--as", ANA, check=False)
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    found = re.fullmatch(r"stored (\d+), already present (\d+), failed (\d+)", summary)
    assert found, f"unexpected output (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    counts = (int(found[1]), int(found[2]), int(found[3]))
    assert proc.returncode == (1 if counts[2] else 0), proc.stderr
    assert counts[2] == 0, f"objects refused:\n{proc.stderr}"
    return counts


@pytest.fixture(scope="module")
def client(live_hub: LiveHub) -> Iterator[httpx.Client]:
    with live_hub.http(ANA) as c:
        yield c


@pytest.fixture(scope="module")
def imported(live_hub: LiveHub, stix21_files: list[Path], stix20_files: list[Path]) -> dict[str, tuple[int, int, int]]:
    return {
        "stix21": cli_import(live_hub, stix21_files, "stix21"),
        "stix20": cli_import(live_hub, stix20_files, "stix20"),
    }


def served(hub: LiveHub, client: httpx.Client, alias: str, *, limit: int = 250) -> list[dict[str, Any]]:
    return get_all(client, f"{hub.collection_url(alias)}objects/", {"match[version]": "all"}, limit=limit)


# -- what comes out ----------------------------------------------------------------------------------------


def test_import_reports_every_object(
    imported: dict[str, tuple[int, int, int]], stix21_files: list[Path], stix20_files: list[Path]
) -> None:
    for alias, files in (("stix21", stix21_files), ("stix20", stix20_files)):
        everything = [o for f in files for o in objects_in(f)]
        distinct = {canonical(o) for o in everything}
        stored, present, failed = imported[alias]
        assert (stored, present, failed) == (len(distinct), len(everything) - len(distinct), 0), alias


def test_stix21_objects_are_served_exactly_as_imported(
    live_hub: LiveHub,
    client: httpx.Client,
    imported: dict[str, tuple[int, int, int]],
    stix21_files: list[Path],
) -> None:
    sent = {canonical(o) for f in stix21_files for o in objects_in(f)}
    got = Counter(canonical(o) for o in served(live_hub, client, "stix21"))
    assert set(got) == sent
    assert set(got.values()) == {1}


def test_custom_types_and_properties_survive(
    live_hub: LiveHub, client: httpx.Client, imported: dict[str, tuple[int, int, int]], stix21_files: list[Path]
) -> None:
    [attack] = [f for f in stix21_files if f.name == "ics-attack-18.1.json"]
    custom = [o for o in objects_in(attack) if o["type"].startswith("x-mitre-")]
    assert len(custom) > 100
    url = f"{live_hub.collection_url('stix21')}objects/"
    by_type = get_all(client, url, {"match[type]": "x-mitre-tactic,x-mitre-matrix", "match[version]": "all"})
    expected = [o for o in custom if o["type"] in ("x-mitre-tactic", "x-mitre-matrix")]
    assert sorted(map(canonical, by_type)) == sorted(map(canonical, expected))
    with_props = [o for o in objects_in(attack) if any(k.startswith("x_mitre_") for k in o)]
    sample = with_props[:: max(1, len(with_props) // 20)]
    for obj in sample:
        response = client.get(f"{url}{obj['id']}/")
        assert response.status_code == 200, response.text
        assert canonical(response.json()["objects"]) == canonical([obj])


def test_marking_definition_with_modified_is_kept_as_sent(
    live_hub: LiveHub, client: httpx.Client, imported: dict[str, tuple[int, int, int]], stix21_files: list[Path]
) -> None:
    """STIX 2.1 §7.2.1 gives marking definitions no ``modified``; the cti-stix-common-objects
    statement marking has one. The hub takes it as a custom property (§11.1 naming, as
    ``stix2.parse(..., allow_custom=True)`` does), stores the object unchanged and uses the
    ``modified`` value as its TAXII version."""
    [original] = [o for f in stix21_files for o in objects_in(f) if o["id"] == MARKING_WITH_MODIFIED]
    assert "modified" in original
    url = f"{live_hub.collection_url('stix21')}objects/{MARKING_WITH_MODIFIED}/"
    assert canonical(client.get(url).json()["objects"]) == canonical([original])
    assert client.get(f"{url}versions/").json()["versions"] == [original["modified"]]


def test_stix20_objects_are_served_as_their_21_upgrade(
    live_hub: LiveHub,
    client: httpx.Client,
    imported: dict[str, tuple[int, int, int]],
    stix20_files: list[Path],
) -> None:
    originals = {version_key(o): o for f in stix20_files for o in objects_in(f)}
    assert all("spec_version" not in o for o in originals.values())
    got = served(live_hub, client, "stix20")
    assert len(got) == len(originals)
    by_key = {version_key(o): o for o in got}
    assert set(by_key) == set(originals)
    problems = {f"{k[0]}@{k[1]}": upgrade_differences(originals[k], by_key[k]) for k in originals}
    assert {k: v for k, v in problems.items() if v} == {}
    added = Counter(p for k in originals for p in by_key[k].keys() - originals[k].keys())
    # Every object gained spec_version; every indicator a pattern_version (2.0 grammar).
    assert added["spec_version"] == len(originals)
    assert added["pattern_version"] == sum(o["type"] == "indicator" for o in originals.values())


def test_spec_version_filter_sees_upgraded_objects_as_21(
    live_hub: LiveHub, client: httpx.Client, imported: dict[str, tuple[int, int, int]]
) -> None:
    url = f"{live_hub.collection_url('stix20')}manifest/"
    assert client.get(url, params={"match[spec_version]": "2.0"}).json() == {"more": False}
    assert len(get_all(client, url, {"match[spec_version]": "2.1", "match[version]": "all"})) == imported["stix20"][0]


def test_medallion_objects_posted_over_taxii_round_trip(
    live_hub: LiveHub, client: httpx.Client, medallion_collections: list[dict[str, Any]]
) -> None:
    url = live_hub.collection_url("medallion")
    sent: list[dict[str, Any]] = []
    for source in medallion_collections:
        status = post_objects(client, url, source["objects"])
        assert (status["success_count"], status["failure_count"]) == (len(source["objects"]), 0), status
        sent.extend(source["objects"])
    got = {version_key(o): o for o in served(live_hub, client, "medallion", limit=3)}
    assert set(got) == {version_key(o) for o in sent}
    for original in sent:
        back = got[version_key(original)]
        if "spec_version" in original:
            assert canonical(back) == canonical(original)
        else:  # a non-SCO object without spec_version is STIX 2.0
            assert upgrade_differences(original, back) == []
    manifest = get_all(client, f"{url}manifest/", {"match[version]": "all"}, limit=3)
    expected_manifest = {(e["id"], e["version"]) for c in medallion_collections for e in c["manifest"]}
    assert {(e["id"], e["version"]) for e in manifest} == expected_manifest


@pytest.mark.parametrize(("alias", "all_versions"), [("stix21", True), ("stix20", False)])
def test_export_is_a_bundle_stix2_parses(
    live_hub: LiveHub,
    client: httpx.Client,
    imported: dict[str, tuple[int, int, int]],
    alias: str,
    all_versions: bool,
) -> None:
    out = live_hub.workdir / f"export-{alias}.json"
    live_hub.cli(
        "export", "--collection", alias, "--out", str(out), "--as", ANA, *(["--all-versions"] if all_versions else [])
    )
    text = out.read_text(encoding="utf-8")
    bundle = stix2.parse(text, allow_custom=True)
    assert bundle.type == "bundle"
    exported = json.loads(text)["objects"]
    assert len(bundle.objects) == len(exported)
    params = {"match[version]": "all"} if all_versions else {}
    expected = get_all(client, f"{live_hub.collection_url(alias)}objects/", params, limit=500)
    assert sorted(map(canonical, exported)) == sorted(map(canonical, expected))
