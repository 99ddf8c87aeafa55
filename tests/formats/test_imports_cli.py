"""``ribat ingest``, ``ribat extract`` and ``ribat review`` in process, on a fresh SQLite hub."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from ribat.cli import app as ribat_app
from ribat.cli.imports import register


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RIBAT_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.delenv("RIBAT_SECRET_KEY", raising=False)
    ours = typer.Typer()
    register(ours)
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> str:
        commands = {c.name for c in ours.registered_commands}
        result = runner.invoke(ours if args[0] in commands else ribat_app, list(args))
        assert result.exit_code == code, result.output
        return result.output

    invoke("init")
    invoke("org", "create", "CERT A", "--short", "cert-a", "--country", "MY")
    invoke("user", "create", "ana@a.example", "--org", "cert-a")
    invoke("collection", "create", "Shared", "--alias", "shared", "--write", "community")
    return invoke


def test_ingest_prints_each_run_with_its_losses_and_merges_on_reimport(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ioc_list = tmp_path / "op.txt"
    ioc_list.write_text("# Operation Example\nevil.example\n198.51.100.7;65\nnot a value\n")
    csv = tmp_path / "hosts.csv"
    csv.write_text("host,score\nhost1.example,10\nhost2.example,x\n")
    out = cli(
        "ingest", str(ioc_list), "--collection", "shared", "--kind", "ioc-list", "--user", "ana@a.example", code=1
    )
    assert "stored 2, merged 0, failed 0, lost 1" in out
    assert "lost line 4: value 'not a value'" in out
    out = cli("ingest", str(ioc_list), "--collection", "shared", "--kind", "ioc-list", "--as", "ana@a.example", code=1)
    assert "stored 0, merged 2, failed 0, lost 1" in out
    out = cli(
        "ingest", str(csv), "--collection", "shared", "--kind", "csv", "--map", "value=host,confidence=score",
        code=1,
    )  # fmt: skip
    assert "stored 2, merged 0, failed 0, lost 1" in out
    assert "lost line 3: confidence 'x'" in out


def test_ingest_refusals(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "good.txt"
    good.write_text("evil.example\n")
    assert "--kind must be one of" in cli("ingest", str(good), "--collection", "shared", "--kind", "yaml", code=2)
    out = cli(
        "ingest", str(tmp_path / "missing.txt"), str(good), "--collection", "shared", "--kind", "ioc-list", code=1
    )
    assert "missing.txt" in out and "good.txt: stored 1" in out
    assert "not found" in cli("ingest", str(good), "--collection", "nope", "--kind", "ioc-list", code=1)


def test_ingest_stix20_bundle(cli, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    bundle = data_dir / "cti" / "stix20" / "unit42-playbooks" / "2024-02-08-Pikabot.json"
    out = cli("ingest", str(bundle), "--collection", "shared", "--kind", "stix")
    assert "failed 0, lost 0" in out


def test_extract_then_review(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    report = tmp_path / "report.txt"
    report.write_text("The implant beacons to 1.2.3[.]4 hourly. Its loader came from hxxp://evil[.]example/a today.\n")
    out = cli("extract", str(report), "--collection", "shared", "--user", "ana@a.example")
    extraction_id = out.strip().splitlines()[-1]
    assert "2 candidate(s) in report.txt, held for review" in out
    assert "1.2.3.4" in out and "pending" in out
    out = cli("review", extraction_id, "--accept-all", "--tlp", "green", "--user", "ana@a.example")
    assert "published: stored 2, merged 0, failed 0, lost 0" in out
    assert "accepted" in out and "pending" not in out
    assert "not a TLP level" in cli("review", extraction_id, "--accept-all", "--tlp", "purple", code=2)
