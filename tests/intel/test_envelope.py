"""read_envelope unwraps every shape STIX arrives in, and one bad object costs only itself."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from ribat.errors import EnvelopeError
from ribat.intel.envelope import Problem, read_envelope

Obj = dict[str, Any]
T0 = "2024-01-01T00:00:00.000Z"

# The shared CTI data: ``<repo>/../shared/data/cti``. The ``data_dir`` fixture (tests/conftest.py)
# skips a test when the directory is missing, and fails it when CI is set.
CTI = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "cti"


def cti_files(pattern: str) -> list[str]:
    """The shared CTI files matching ``pattern``, relative to ``CTI`` (a placeholder if none)."""
    found = sorted(str(p.relative_to(CTI)) for p in CTI.glob(pattern)) if CTI.is_dir() else []
    return found or [f"missing:{pattern}"]


def load_cti(data_dir: Path, relative: str) -> Any:
    return json.loads((data_dir / "cti" / relative).read_text(encoding="utf-8"))


def indicator(n: int, **extra: Any) -> Obj:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.UUID(int=n, version=4)}",
        "created": T0,
        "modified": T0,
        "pattern": f"[ipv4-addr:value = '10.0.0.{n}']",
        "pattern_type": "stix",
        "valid_from": T0,
        **extra,
    }


@pytest.mark.parametrize("relative", cti_files("stix21/**/*.json"))
def test_shared_stix21_files_read_without_problems(data_dir: Path, relative: str) -> None:
    data = load_cti(data_dir, relative)
    envelope = read_envelope(data)
    assert envelope.problems == []
    assert envelope.objects
    if isinstance(data, list):
        assert envelope.kind == "list"
    else:
        assert envelope.kind == ("bundle" if data["type"] == "bundle" else "object")


@pytest.mark.parametrize("relative", cti_files("stix20/**/*.json"))
def test_shared_stix20_bundles_come_out_as_2_1(data_dir: Path, relative: str) -> None:
    data = load_cti(data_dir, relative)
    envelope = read_envelope(data)
    assert envelope.problems == []
    assert envelope.kind == "bundle" and envelope.spec_version == "2.0"
    assert envelope.indexes == list(range(len(data["objects"])))
    assert all(obj["spec_version"] == "2.1" for obj in envelope.objects)


@pytest.mark.parametrize("relative", cti_files("taxii21/medallion-default_data.json"))
def test_medallion_collections_read_as_taxii_envelopes(data_dir: Path, relative: str) -> None:
    data = load_cti(data_dir, relative)
    collections = [c for root in data.values() if isinstance(root, dict) for c in root.get("collections", [])]
    assert any(c["objects"] for c in collections)
    for collection in collections:
        envelope = read_envelope({"objects": collection["objects"], "more": False})
        assert envelope.problems == []
        assert len(envelope.objects) == len(collection["objects"])


def test_a_taxii_envelope_with_paging() -> None:
    envelope = read_envelope({"objects": [indicator(1)], "more": True, "next": "abc"})
    assert envelope.kind == "envelope" and envelope.more is True and envelope.next == "abc"
    assert envelope.objects == [indicator(1)]


@pytest.mark.parametrize("empty", [{}, {"more": False}, {"objects": []}])
def test_an_empty_envelope_is_fine(empty: Obj) -> None:
    envelope = read_envelope(empty)
    assert envelope.kind == "envelope" and envelope.objects == [] and envelope.problems == []


def test_a_single_object_and_a_bare_array() -> None:
    single = read_envelope(indicator(1))
    assert single.kind == "object" and single.entries() == [(0, indicator(1))]
    listed = read_envelope([indicator(1), indicator(2)])
    assert listed.kind == "list" and listed.entries() == [(0, indicator(1)), (1, indicator(2))]


def test_a_bundle_without_objects_is_empty() -> None:
    envelope = read_envelope({"type": "bundle", "id": f"bundle--{uuid.uuid4()}"})
    assert envelope.kind == "bundle" and envelope.objects == []


def test_one_bad_object_does_not_cost_the_others() -> None:
    bad = indicator(3, pattern="[ipv4-addr:value = ")
    no_type = {"id": f"indicator--{uuid.UUID(int=9, version=4)}", "modified": T0}
    nested_bundle = {"type": "bundle", "id": f"bundle--{uuid.UUID(int=8, version=4)}", "objects": []}
    envelope = read_envelope({"objects": [indicator(1), "text", bad, 42, no_type, nested_bundle, indicator(2)]})
    assert envelope.objects == [indicator(1), indicator(2)]
    assert envelope.indexes == [0, 6]
    assert [p.index for p in envelope.problems] == [1, 2, 3, 4, 5]
    assert envelope.problems[0] == Problem(1, None, None, "not a JSON object but a string")
    assert envelope.problems[2] == Problem(3, None, None, "not a JSON object but a number")
    pattern_problem = envelope.problems[1]
    assert pattern_problem.object_id == bad["id"] and pattern_problem.version == T0
    assert pattern_problem.reason.startswith("pattern: ")
    assert envelope.problems[3] == Problem(4, no_type["id"], T0, "object: missing required property 'type'")
    assert "envelope, not a STIX object" in envelope.problems[4].reason


def test_2_0_content_is_upgraded_and_the_input_kept() -> None:
    old = {
        "type": "indicator",
        "id": f"indicator--{uuid.UUID(int=5, version=4)}",
        "created": T0,
        "modified": T0,
        "pattern": "[file:name = 'a.exe']",
        "valid_from": T0,
        "labels": ["malicious-activity"],
    }
    bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "spec_version": "2.0", "objects": [old]}
    before = copy.deepcopy(bundle)
    envelope = read_envelope(bundle)
    assert envelope.problems == []
    assert envelope.objects[0]["spec_version"] == "2.1"
    assert envelope.objects[0]["pattern_version"] == "2.0"
    assert bundle == before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (42, "not a number"),
        ("[]", "not a string"),
        (None, "not null"),
        ({"foo": 1}, "must be a TAXII envelope"),
        ({"objects": [], "type2": "bundle"}, "must be a TAXII envelope"),
        ({"objects": {"a": 1}}, "'objects' must be a JSON array, not an object"),
        ({"type": "bundle", "objects": "x"}, "the bundle's 'objects' must be a JSON array"),
        ({"type": "bundle", "spec_version": 2.0, "objects": []}, "spec_version must be a string"),
        ({"objects": [], "more": "yes"}, "'more' must be true or false"),
        ({"objects": [], "next": 5}, "'next' must be a string"),
    ],
)
def test_what_is_not_an_envelope(data: Any, message: str) -> None:
    with pytest.raises(EnvelopeError, match=message):
        read_envelope(data)
