"""Fails when a log field, an object path or a mapping property is missing from docs/hunt-logs.md."""

from __future__ import annotations

from pathlib import Path

from ribat.hunt.readers import mapping, stix, suricata, zeek

DOC = (Path(__file__).resolve().parents[3] / "docs" / "hunt-logs.md").read_text()


def test_every_zeek_and_suricata_field_and_path_is_documented() -> None:
    layouts = [*zeek.LAYOUTS.values(), suricata.EVE]
    missing = [
        (layout.log_type, name)
        for layout in layouts
        for name in [*layout.fields, *layout.paths, *(c for cols in layout.paths.values() for c in cols)]
        if f"`{name}" not in DOC
    ]
    assert not missing, f"undocumented in docs/hunt-logs.md: {missing}"
    for log_type in (layout.log_type for layout in zeek.LAYOUTS.values()):
        assert f"(`{log_type}`)" in DOC


def test_every_mapping_property_and_stix_column_is_documented() -> None:
    table = DOC.split("Supported object paths", 1)[1].split("\n\n", 2)[1]
    for object_type, properties in mapping.SUPPORTED.items():
        row = next((line for line in table.splitlines() if f"`{object_type}`" in line.split("|")[1]), "")
        for prop in properties:
            assert f"`{prop}`" in row, (object_type, prop)
    for algorithm in mapping.HASH_ALGORITHMS:
        assert algorithm in DOC
    for path, *_ in stix.EXTRACTED:
        assert f"`{path}`" in DOC, path
