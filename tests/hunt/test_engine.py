"""The hunt engine end to end on real Zeek logs, with stix2-matcher as the oracle for every record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hunt.oracle import oracle_match
from ribat.hunt.compile import Window, compile_indicators, fold_record_hashes
from ribat.hunt.engine import hunt
from ribat.hunt.readers import Problems, open_logs

SIMDA = "cti/logs/stratosphere-005-simda"


def ind(n: int, pattern: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "indicator",
        "id": f"indicator--00000000-0000-4000-8000-{n:012d}",
        "pattern": pattern,
        "pattern_type": "stix",
        **extra,
    }


# The Simda capture's DGA domains (the most queried names of its dns.log), an address block, LIKE, a compound
# observation across a ref, a hash-free file name, and patterns no record matches.
SINGLE = [
    ind(1, "[domain-name:value = 'volykyc.com']"),
    ind(2, "[domain-name:value IN ('pufymoq.com', 'purylev.com', 'galykes.com')]"),
    ind(3, "[ipv4-addr:value ISSUBSET '8.8.8.0/24']"),
    ind(4, "[domain-name:value LIKE 'vony%.com']"),
    ind(5, "[network-traffic:dst_port = 53 AND network-traffic:dst_ref.value = '8.8.8.8']"),
    ind(6, "[domain-name:value MATCHES '^vo[a-z]{5}\\\\.com$']"),
    ind(7, "[url:value LIKE '%.php%']"),
    ind(8, "[domain-name:value = 'not-in-the-logs.example']"),
    ind(9, "[network-traffic:dst_port > 8000]"),
]


@pytest.fixture(scope="module")
def logs(data_dir: Path) -> list[str]:
    folder = data_dir / SIMDA
    return [str(folder / name) for name in ("dns.log", "conn.log", "http.log")]


@pytest.fixture(scope="module")
def records(logs: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for batch in open_logs(logs, problems=Problems()):
        out.extend(fold_record_hashes(r) for r in batch.observed_rows(list(range(batch.num_rows))))
    return out


def test_single_observation_hits_equal_the_oracle_record_by_record(
    logs: list[str], records: list[dict[str, Any]]
) -> None:
    problems = Problems()
    result = hunt(open_logs(logs, problems=problems), compile_indicators(SINGLE))
    assert problems.count == 0
    assert result.stats.records == len(records) == 2976
    for indicator in SINGLE:
        expected = sum(1 for r in records if oracle_match(indicator["pattern"], [r]))
        hit = result.hits.get(indicator["id"])
        assert (hit.count if hit else 0) == expected, indicator["pattern"]
    assert result.hits[SINGLE[0]["id"]].count > 0  # the DGA domains are found
    assert SINGLE[7]["id"] not in result.hits


def test_samples_name_the_file_and_line_of_the_record(logs: list[str]) -> None:
    result = hunt(open_logs(logs, problems=Problems()), compile_indicators(SINGLE[:1]))
    sample = result.hits[SINGLE[0]["id"]].samples[0]
    text = Path(sample.file).read_text(encoding="utf-8").splitlines()[sample.line - 1]
    assert "volykyc.com" in text
    assert any(o.get("value") == "volykyc.com" for o in (sample.objects[k] for k in sample.matched))


def test_observation_operators_follow_record_time(logs: list[str], records: list[dict[str, Any]]) -> None:
    patterns = [
        "[domain-name:value = 'volykyc.com'] FOLLOWEDBY [domain-name:value = 'pufymoq.com']",
        "[domain-name:value = 'volykyc.com'] REPEATS 3 TIMES WITHIN 60 SECONDS",
        "[domain-name:value = 'pufymoq.com'] FOLLOWEDBY [domain-name:value = 'dns.msftncsi.com']",
    ]
    result = hunt(open_logs(logs, problems=Problems()), compile_indicators([ind(i, p) for i, p in enumerate(patterns)]))
    for i, pattern in enumerate(patterns):
        expected = oracle_match(pattern, records)
        assert (ind(i, pattern)["id"] in result.hits) == expected, pattern


def test_the_time_window_and_validity_limit_what_is_matched(logs: list[str]) -> None:
    everything = hunt(open_logs(logs, problems=Problems()), compile_indicators(SINGLE[2:3])).hits[SINGLE[2]["id"]]
    assert everything.first_seen_us is not None and everything.last_seen_us is not None
    middle = (everything.first_seen_us + everything.last_seen_us) // 2
    windowed = hunt(
        open_logs(logs, problems=Problems()),
        compile_indicators(SINGLE[2:3]),
        window=Window(since_us=middle),
    ).hits[SINGLE[2]["id"]]
    assert 0 < windowed.count < everything.count and windowed.first_seen_us is not None
    assert windowed.first_seen_us >= middle
    later = ind(3, SINGLE[2]["pattern"], valid_from="1970-01-01T00:02:00Z")  # the logs' clock starts near 0
    limited = hunt(open_logs(logs, problems=Problems()), compile_indicators([later])).hits[later["id"]]
    assert limited.count < everything.count and limited.first_seen_us is not None
    assert limited.first_seen_us >= 120_000_000


def test_malformed_lines_are_reported_and_the_lines_around_them_still_match(logs: list[str], tmp_path: Path) -> None:
    dns = Path(logs[0]).read_text(encoding="utf-8").splitlines(keepends=True)
    targets = [i for i, line in enumerate(dns) if "\tvolykyc.com\t" in line]
    assert len(targets) == 7
    broken: list[str] = []
    for i, line in enumerate(dns):
        if i in targets:
            broken += ["garbage before\n", line, "1.0\tonly two fields\n"]
        else:
            broken.append(line)
    path = tmp_path / "dns-broken.log"
    path.write_text("".join(broken), encoding="utf-8")
    problems = Problems()
    result = hunt(open_logs([str(path)], problems=problems), compile_indicators(SINGLE[:1]))
    assert result.hits[SINGLE[0]["id"]].count == 7
    assert problems.count == 14
    assert all(p.file == str(path) and p.line is not None for p in problems.items)
    bad_lines = sorted(p.line for p in problems.items if p.line is not None)
    assert [broken[n - 1] for n in bad_lines[:2]] == ["garbage before\n", "1.0\tonly two fields\n"]
