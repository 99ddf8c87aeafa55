"""A hunt on a Dask LocalCluster with two worker processes equals the same hunt run locally."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ribat.hunt.distributed import hunt_distributed, hunt_local
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
