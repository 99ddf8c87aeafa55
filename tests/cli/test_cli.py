"""The ``ribat`` command, in process (typer's runner), against a fresh SQLite database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ribat.cli import app


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RIBAT_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.delenv("RIBAT_SECRET_KEY", raising=False)
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True, stdin: str | None = None) -> str:
        result = runner.invoke(app, list(args), input=stdin)
        if ok:
            assert result.exit_code == 0, result.output
        return result.output

    return invoke


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1]


def test_init_prints_a_key_alone_on_the_last_line_and_only_once(run) -> None:  # type: ignore[no-untyped-def]
    key = last_line(run("init"))
    assert key.startswith("rbt_") and " " not in key
    again = run("init")
    assert "already exists" in again and "rbt_" not in again


def test_accounts_commands(run) -> None:  # type: ignore[no-untyped-def]
    run("init")
    org_id = last_line(run("org", "create", "CERT of Oman", "--short", "om-cert", "--country", "OM"))
    assert len(org_id) == 36
    user_id = last_line(
        run(
            "user",
            "create",
            "ana@om.example",
            "--org",
            "om-cert",
            "--password-stdin",
            stdin="a sufficiently long password\n",
        )
    )
    assert len(user_id) == 36
    key = last_line(run("key", "create", "ana@om.example", "--name", "misp sync"))
    assert key.startswith("rbt_")
    assert key.split("_")[1] in run("key", "list", "ana@om.example")
    run("key", "revoke", key.split("_")[1])
    assert "revoked" in run("key", "list", "ana@om.example").lower()
    last_line(run("circle", "create", "gulf-wg"))
    assert "1 member" in run("circle", "add", "gulf-wg", "om-cert")
    assert "om-cert" in run("circle", "list")
    out = run("org", "create", "X", "--short", "x", "--country", "ZZ", ok=False)
    assert "country" in out and "ISO 3166" in out


def test_collection_import_and_export(run, tmp_path: Path, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    run("init")
    cid = last_line(
        run("collection", "create", "Reports", "--alias", "reports", "--default-tlp", "green", "--read", "community")
    )
    src = data_dir / "cti" / "stix21" / "oasis-examples" / "threat-reports" / "apt1.json"
    out = run("import", str(src), "--collection", cid)
    n = len(json.loads(src.read_text())["objects"])
    assert f"stored {n}, already present 0, failed 0" in out
    assert "already present " + str(n) in run("import", str(src), "--collection", "reports")
    target = tmp_path / "out.json"
    assert f"wrote {n} objects" in run("export", "--collection", "reports", "--out", str(target))
    bundle = json.loads(target.read_text())
    assert bundle["type"] == "bundle" and len(bundle["objects"]) == n
    assert str(n) in run("collection", "list")


def test_import_reports_each_failure_and_exits_non_zero(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run("init")
    run("collection", "create", "c", "--alias", "c")
    good = {
        "type": "identity",
        "spec_version": "2.1",
        "id": "identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z",
        "name": "X",
    }
    bad = {**good, "id": "identity--not-a-uuid"}
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps([good, bad]))
    out = run("import", str(path), "--collection", "c", ok=False)
    assert "stored 1" in out and "failed 1" in out and "identity--not-a-uuid" in out


def test_bad_grant_and_bad_tlp_are_explained(run) -> None:  # type: ignore[no-untyped-def]
    run("init")
    assert "org:SHORT_NAME" in run("collection", "create", "c", "--read", "everyone", ok=False)
    assert "not a TLP level" in run("collection", "create", "c", "--default-tlp", "purple", ok=False)


def test_settings_markdown_lists_every_variable(run) -> None:  # type: ignore[no-untyped-def]
    out = run("settings", "--markdown")
    assert "RIBAT_DATABASE_URL" in out and "RIBAT_PAGE_SIZE_CAP" in out


def test_demo_loads_once_and_refuses_production(run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    first = run("demo")
    assert "member indicators" in first and last_line(first).startswith("rbt_")
    assert "capacity assessments: 3 final" in first
    second = run("demo")
    assert "already loaded" in second and last_line(second) != last_line(first)
    monkeypatch.setenv("RIBAT_MODE", "production")
    monkeypatch.setenv("RIBAT_SECRET_KEY", "x" * 40)
    assert "refused in production" in run("demo", ok=False)


def test_related_answers_as_the_given_user(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run("init")
    run("collection", "create", "intel", "--alias", "intel", "--read", "community", "--write", "community")
    bundle = {
        "type": "bundle",
        "id": "bundle--6f1f8c3e-8d33-4a5c-9f7a-1b2c3d4e5f60",
        "objects": [
            {
                "type": "indicator",
                "spec_version": "2.1",
                "id": "indicator--0f1e2d3c-4b5a-4978-8a9b-0c1d2e3f4a5b",
                "created": "2024-01-01T00:00:00.000Z",
                "modified": "2024-01-01T00:00:00.000Z",
                "name": "C2 network",
                "pattern": "[ipv4-addr:value = '203.0.113.0/24']",
                "pattern_type": "stix",
                "valid_from": "2024-01-01T00:00:00Z",
            }
        ],
    }
    path = tmp_path / "b.json"
    path.write_text(json.dumps(bundle))
    run("import", str(path), "--collection", "intel")
    text = run("related", "203.0.113.77")
    assert "within" in text and "C2 network" in text
    answer = json.loads(run("related", "203.0.113.77", "--json"))
    assert [i["id"] for i in answer["related"]] == ["indicator--0f1e2d3c-4b5a-4978-8a9b-0c1d2e3f4a5b"]
    assert "nothing related" in run("related", "198.51.100.1")
    assert "not an IP address" in run("related", "no such thing", ok=False)
