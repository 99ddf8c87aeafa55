"""A hunt on a Dask LocalCluster with two worker processes equals the same hunt run locally, by file and by
block of a big file."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ribat.hunt.distributed import Part, hunt_distributed, hunt_local, parts_of
from ribat.hunt.hits import Hit
from ribat.hunt.readers import Problems

SIMDA = "cti/logs/stratosphere-005-simda"
PATTERNS = [
    "[domain-name:value = 'volykyc.com']",
    "[domain-name:value IN ('pufymoq.com', 'purylev.com', 'galykes.com')]",
    "[ipv4-addr:value ISSUBSET '8.8.8.0/24']",
    "[domain-name:value LIKE 'vony%.com']",
    "[network-traffic:dst_port > 8000]",
    "[domain-name:value = 'volykyc.com'] FOLLOWEDBY [domain-name:value = 'pufymoq.com']",
    "[ipv4-addr:value = '8.8.8.8'] FOLLOWEDBY [domain-name:value = 'galykes.com'] WITHIN 30 SECONDS",
    "[ipv4-addr:value = '8.8.8.8'] REPEATS 5 TIMES WITHIN 30 SECONDS",
]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    from distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as lc,
        Client(lc) as client,
    ):
        yield client


def _shape(hits: dict[str, Hit]) -> dict[str, Any]:
    return {
        key: (h.count, h.first_seen_us, h.last_seen_us, [(s.file, s.line, s.time_us, s.matched) for s in h.samples])
        for key, h in hits.items()
    }


def test_dask_and_local_runs_give_identical_hits(cluster: Any, data_dir: Path, tmp_path: Path) -> None:
    folder = data_dir / SIMDA
    # Four parts: the three Simda logs and a copy of dns.log with a malformed line, under another name.
    broken = tmp_path / "dns-copy.log"
    lines = (folder / "dns.log").read_text(encoding="utf-8").splitlines(keepends=True)
    broken.write_text("".join([*lines[:20], "this line is not zeek\n", *lines[20:]]), encoding="utf-8")
    paths = [str(folder / n) for n in ("dns.log", "conn.log", "http.log")] + [str(broken)]
    indicators = [
        {
            "type": "indicator",
            "id": f"indicator--{n:08d}-0000-4000-8000-000000000000",
            "pattern": p,
            "pattern_type": "stix",
        }
        for n, p in enumerate(PATTERNS)
    ]
    local_problems, remote_problems = Problems(), Problems()
    local = hunt_local(paths, indicators, problems=local_problems)
    remote = hunt_distributed(paths, indicators, scheduler=cluster, problems=remote_problems)
    assert _shape(remote.hits) == _shape(local.hits)
    assert len(local.hits) >= 5
    assert remote.stats.records == local.stats.records
    assert remote_problems.count == local_problems.count >= 1
    assert [(p.file, p.line) for p in remote_problems.items] == [(p.file, p.line) for p in local_problems.items]


def _indicators() -> list[dict[str, Any]]:
    return [
        {
            "type": "indicator",
            "id": f"indicator--{n:08d}-0000-4000-8000-000000000000",
            "pattern": p,
            "pattern_type": "stix",
        }
        for n, p in enumerate(PATTERNS)
    ]


def _with_bad_lines(source: Path, target: Path) -> Path:
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    bad = ["this line is not zeek\n"]
    target.write_text("".join([*lines[:20], *bad, *lines[20:900], *bad, *lines[900:]]), encoding="utf-8")
    return target


def test_one_file_in_blocks_on_two_workers_gives_the_hits_of_a_local_run(
    cluster: Any, data_dir: Path, tmp_path: Path
) -> None:
    big = _with_bad_lines(data_dir / SIMDA / "dns.log", tmp_path / "dns.log")
    block = 24 << 10
    parts = parts_of([big], block)
    assert len(parts) >= 4 and all(p.block is not None for p in parts)
    assert parts[0].block is not None and parts[0].block.start == 0
    local_problems, remote_problems = Problems(), Problems()
    named = f"{big.parent}/./{big.name}"  # every part names the file as open_logs does
    local = hunt_local([named], _indicators(), problems=local_problems)
    remote = hunt_distributed([named], _indicators(), scheduler=cluster, problems=remote_problems, block_bytes=block)
    assert _shape(remote.hits) == _shape(local.hits)
    assert {s.file for h in remote.hits.values() for s in h.samples} == {str(big)}
    assert len(local.hits) >= 5
    assert any(" FOLLOWEDBY " in h.pattern or " REPEATS " in h.pattern for h in local.hits.values())
    assert remote.stats.records == local.stats.records
    assert remote.stats.batches >= len(parts)
    assert [(p.file, p.line, p.reason) for p in remote_problems] == [(p.file, p.line, p.reason) for p in local_problems]
    assert [p.line for p in local_problems] == [21, 902]


def test_a_gzipped_file_stays_one_part_and_gives_the_hits_of_a_local_run(
    cluster: Any, data_dir: Path, tmp_path: Path
) -> None:
    plain = _with_bad_lines(data_dir / SIMDA / "dns.log", tmp_path / "dns.log")
    packed = tmp_path / "dns.log.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert parts_of([packed], 1024) == [Part(str(packed))]
    local_problems, remote_problems = Problems(), Problems()
    local = hunt_local([packed], _indicators(), problems=local_problems)
    remote = hunt_distributed([packed], _indicators(), scheduler=cluster, problems=remote_problems, block_bytes=1024)
    assert _shape(remote.hits) == _shape(local.hits) and len(local.hits) >= 5
    assert remote.stats.records == local.stats.records
    assert [(p.file, p.line) for p in remote_problems] == [(p.file, p.line) for p in local_problems] != []


def _forget() -> int:
    """Run on a worker: drop its compiled sets (as a worker that joined the cluster late holds none)."""
    from ribat.hunt import distributed

    held = len(distributed._COMPILED)
    distributed._COMPILED.clear()
    return held


def test_a_warm_cluster_is_sent_the_digest_alone_and_a_worker_without_the_set_is_sent_it_again(
    cluster: Any, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = data_dir / SIMDA
    paths = [str(folder / n) for n in ("dns.log", "conn.log", "http.log")]
    local = hunt_local(paths, _indicators())
    hunt_distributed(paths, _indicators(), scheduler=cluster)  # every worker compiles the set (or has it)

    shipped: list[int] = []
    scatter = cluster.scatter

    def counting(data: Any, *args: Any, **kwargs: Any) -> Any:
        shipped.append(len(data))
        return scatter(data, *args, **kwargs)

    monkeypatch.setattr(cluster, "scatter", counting)
    warm = hunt_distributed(paths, _indicators(), scheduler=cluster)
    assert shipped == []
    assert _shape(warm.hits) == _shape(local.hits) and len(local.hits) >= 5
    assert set(warm.phases) == {"prepare", "parts", "finish"} and min(warm.phases.values()) >= 0

    # The workers lose the set after the cluster was asked who holds it (as a worker that joins late holds none):
    # their parts fail as not compiled and go again, with the indicators, sent once.
    run = cluster.run

    def stale(function: Any, *args: Any, **kwargs: Any) -> Any:
        answers = run(function, *args, **kwargs)
        if function.__name__ == "_holds":
            assert all(answers.values())
            assert all(held >= 1 for held in run(_forget).values())
        return answers

    monkeypatch.setattr(cluster, "run", stale)
    again = hunt_distributed(paths, _indicators(), scheduler=cluster)
    assert len(shipped) == 1 and shipped[0] > 0
    assert _shape(again.hits) == _shape(local.hits)
    assert again.stats.records == local.stats.records


def test_an_error_in_a_part_reaches_the_caller_as_a_local_run_raises_it(cluster: Any, tmp_path: Path) -> None:
    from ribat.errors import ValidationError

    table = tmp_path / "flows.csv"
    table.write_text("time,src\n2024-05-01T10:00:00Z,10.0.0.1\n", encoding="utf-8")
    with pytest.raises(ValidationError) as local:
        hunt_local([table], _indicators(), kind="csv")
    with pytest.raises(ValidationError) as remote:
        hunt_distributed([table], _indicators(), scheduler=cluster, kind="csv")
    assert str(remote.value) == str(local.value)


_RAN: list[str] = []
_RUN_PART = None


def _recording_run_part(part: Part, *args: Any, **options: Any) -> Any:
    """``_run_part`` that notes each part it runs (a module-level function: Dask ships it by reference, so an
    in-process worker appends to this module's list)."""
    _RAN.append(part.path)
    assert _RUN_PART is not None
    return _RUN_PART(part, *args, **options)


def test_the_biggest_parts_are_run_first(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """So that the last parts to run are small ones and no worker idles long at the end of a hunt."""
    from distributed import Client, LocalCluster

    from ribat.hunt import distributed as module

    lines = (data_dir / SIMDA / "dns.log").read_text(encoding="utf-8").splitlines(keepends=True)
    header = [line for line in lines if line.startswith("#")]
    rows = [line for line in lines if not line.startswith("#")]
    paths = []
    for n, count in enumerate([10, 40, 20, 30]):
        path = tmp_path / f"dns-{n}.log"
        path.write_text("".join(header[:-1] + rows[:count] + header[-1:]), encoding="utf-8")
        paths.append(str(path))
    monkeypatch.setattr(f"{__name__}._RUN_PART", module._run_part)
    monkeypatch.setattr(module, "_run_part", _recording_run_part)  # the worker is a thread of this process
    _RAN.clear()
    indicators = [{"type": "indicator", "id": "indicator--00000001-0000-4000-8000-000000000000"}]
    indicators[0]["pattern"] = PATTERNS[0]
    with (
        LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as lc,
        Client(lc) as client,
    ):
        result = hunt_distributed(paths, indicators, scheduler=client)
    ran = list(_RAN)
    assert ran == [paths[1], paths[3], paths[2], paths[0]]
    assert result.stats.records == 100
