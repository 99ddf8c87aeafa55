"""The benchmark harness runs end to end in ``--quick`` mode (real ``ribat serve`` and medallion).

Excluded from ``make test`` (slow); run by ``make bench`` before the benchmark itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_quick_benchmark_measures_both_servers_and_updates_the_results_file(tmp_path: Path) -> None:
    results_md = tmp_path / "RESULTS.md"
    results_md.write_text(
        "# Results\n\nHand-written method.\n\n<!-- bench:results:start -->\nstale section\n<!-- bench:results:end -->\n"
    )
    raw = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(results_md), "--json", str(raw)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    (data,) = json.loads(raw.read_text())["runs"]
    by_name = {s["name"]: s for s in data["servers"]}
    assert set(by_name) == {"Ribat (SQLite)", "medallion"}
    ribat = by_name["Ribat (SQLite)"]
    assert [r["size"] for r in ribat["results"]] == data["options"]["sizes"]
    for r in ribat["results"]:
        assert r["post"]["median_rate"] > 0
        assert len(r["get"]["seconds"]) >= 3
        assert r["get"]["objects_per_page"] > 0
        assert r["peak_rss"] > 0
    medallion = by_name["medallion"]
    assert medallion["results"], "medallion measured at least the smallest size"
    assert medallion["results"][0]["post"]["median_rate"] > 0

    text = results_md.read_text()
    assert text.startswith("# Results\n\nHand-written method.")
    assert "stale section" not in text
    assert "### Ingest" in text and "### GET page" in text and "### Targets" in text
    assert "| 1k |" in done.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("module", "args", "expect"),
    [
        ("bench.bench_correlation", ["--observables", "3000", "--queries", "50", "--runs", "1"], "| SQLite |"),
        ("bench.bench_exports", ["--count", "2000", "--runs", "1"], "| suricata |"),
        ("bench.bench_misp", ["--attributes", "1000", "--runs", "1"], "| Ribat import"),
    ],
)
def test_issue_4_benchmarks_run_at_a_small_size(module: str, args: list[str], expect: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=REPO, capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert expect in done.stdout, done.stdout


@pytest.mark.slow
def test_hunt_benchmark_runs_at_a_small_size_and_agrees_with_the_oracle(tmp_path: Path) -> None:
    raw = tmp_path / "hunt.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.bench_hunt", "--quick", "--cache", str(tmp_path / "data"), "--json", str(raw)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    data = json.loads(raw.read_text())
    oracle = data["A"]
    assert oracle["equal"] and oracle["matching_indicators"] > 0 and oracle["matches"] > 0
    assert {(r["format"], r["mode"]) for r in data["B"]} == {(f, m) for f in ("tsv", "json") for m in ("read", "hunt")}
    assert all(run["records"] > 0 and run["peak_rss"] > 0 for r in data["B"] for run in r["runs"])
    assert [r["workers"] for r in data["C"]["runs"]] == [1, 2]
    assert all(seconds > 0 for r in data["C"]["runs"] for seconds in r["parts_seconds"])
    plain = data["C"]["plain_processes_seconds"]
    assert len(plain["1"]) == len(plain["2"]) == 1 and "| reference: 2 plain process(es)" in done.stdout
    assert "per-indicator counts equal: yes" in done.stdout
    assert "Hits identical to the local run: yes" in done.stdout
    assert "| stix2-matcher 3.0 |" in done.stdout and "| Zeek JSON |" in done.stdout


@pytest.mark.slow
def test_federation_benchmark_runs_at_a_small_size_and_updates_its_section(tmp_path: Path) -> None:
    results_md = tmp_path / "RESULTS.md"
    results_md.write_text("# Results\n\nHand-written method.\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.bench_federation",
            "--objects",
            "2000",
            "--held",
            "5000",
            "--increment",
            "200",
            "--runs",
            "1",
            "--out",
            str(results_md),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    text = results_md.read_text()
    assert text.startswith("# Results\n\nHand-written method.\n")
    assert "<!-- bench:federation:SQLite:start -->" in text and "| B pulls from A |" in text
    assert "pull 2,000 in" in done.stdout and "push 2,000 in" in done.stdout and "increment 1: 200 in" in done.stdout
