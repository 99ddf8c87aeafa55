"""The results as Markdown: tables with the servers side by side, where the peer stopped, targets.

Works on the JSON-ready data ``bench.runner.run`` returns, so a saved run
(``--json``) can be rendered again (``--from-json``). ``update_results`` replaces the
generated section of ``bench/RESULTS.md`` between its two marker comments and leaves
the hand-written method above it alone.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

__all__ = ["END", "START", "render", "update_results"]

START = "<!-- bench:results:start -->"
END = "<!-- bench:results:end -->"

INGEST_TARGET = 20_000
PEER_RATIO_TARGET = 20.0
SLOWDOWN_TARGET = 1.5
GET_P50_TARGET_MS = 50.0
ISSUE_SIZES = (10_000, 100_000, 1_000_000)

Result = dict[str, Any]


def _n(x: float) -> str:
    return f"{x:,.0f}"


def _size(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return f"{n:,}"


def _mib(b: int | None) -> str:
    return "–" if not b else f"{b / 2**20:,.0f} MiB"


def _ms(x: float) -> str:
    return f"{x:,.1f}" if x < 100 else f"{x:,.0f}"


def _ratio(x: float) -> str:
    return f"{x:.1f}×" if x < 10 else f"{x:,.0f}×"


def _by_size(server: Result) -> dict[int, Result]:
    return {r["size"]: r for r in server["results"]}


def _post_cell(r: Result | None) -> str:
    if r is None or not r.get("post"):
        return "–"
    rates = [1000 / s for s in r["post"]["seconds"]]
    return f"**{_n(r['post']['median_rate'])}** ({_n(min(rates))}–{_n(max(rates))})"


def _get_cell(r: Result | None) -> str:
    if r is None:
        return "–"
    if not r.get("get"):
        return r.get("get_note") or "–"
    g = r["get"]
    return f"**{_ms(g['p50_ms'])}** / {_ms(g['p95_ms'])} (n={len(g['seconds'])})"


def _missing(server: Result, size: int) -> str:
    return "stopped" if server["stopped"] and size > max((r["size"] for r in server["results"]), default=0) else "–"


def _rate(server: Result, size: int) -> float | None:
    r = _by_size(server).get(size)
    return r["post"]["median_rate"] if r and r.get("post") else None


def _p50(server: Result, size: int) -> float | None:
    r = _by_size(server).get(size)
    return r["get"]["p50_ms"] if r and r.get("get") else None


def _run_details(data: Result, title: str) -> list[str]:
    servers: list[Result] = data["servers"]
    ours = [s for s in servers if not s["is_peer"]]
    peers = [s for s in servers if s["is_peer"]]
    peer = peers[0] if peers else None
    sizes: list[int] = data["options"]["sizes"]
    m = data["machine"]
    o = data["options"]
    out: list[str] = []
    add = out.append

    add(f"## {title}: {data['started']} ({data['minutes']} min)")
    add("")
    add(
        f"Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs, {m['memory_gib']} GiB RAM, {m['os']}; "
        f"Python {m['python']}, SQLite {m['sqlite']}; ribat {m['ribat']} at commit {m['ribat_commit']}, "
        f"medallion {m['medallion']}, httpx {m['httpx']}. Load average (1/5/15 min) before "
        f"{'/'.join(map(str, data['load_average_before']))}, after "
        f"{'/'.join(map(str, data['load_average_after']))}."
    )
    add("")
    add(
        f"Per size and server: {o['gets']} timed GETs at most (after one warm-up; fewer once they "
        f"have used {o['get_budget']:g} s, never fewer than 3), then {o['posts']} timed POSTs. "
        f"Fill budget per step: {o['fill_budget']:g} s for Ribat, {o['peer_fill_budget']:g} s for the "
        f"peer; request timeout {o['request_timeout']:g} s; seed {o['seed']}."
    )
    add("")

    # Ingest.
    add(f"### Ingest: POST of an envelope of 1,000 new indicators (objects/s, median of {o['posts']}; min–max)")
    add("")
    head = ["objects already held", *(s["name"] for s in servers)]
    if peer is not None:
        head += [f"{s['name']} ÷ {peer['name']}" for s in ours]
    add("| " + " | ".join(head) + " |")
    add("|" + "---:|" * len(head))
    for size in sizes:
        row = [_size(size)]
        for s in servers:
            r = _by_size(s).get(size)
            row.append(_post_cell(r) if r else _missing(s, size))
        if peer is not None:
            for s in ours:
                a, b = _rate(s, size), _rate(peer, size)
                row.append(f"**{_ratio(a / b)}**" if a and b else "–")
        add("| " + " | ".join(row) + " |")
    add("")

    # GET.
    add(
        "### GET page: `limit=1000&match[type]=indicator&added_after=<middle>` "
        "(milliseconds, p50 / p95; the page holds 1,000 objects, or all after the middle when fewer)"
    )
    add("")
    head = ["objects held", *(s["name"] for s in servers)]
    if peer is not None:
        head += [f"{peer['name']} ÷ {s['name']} (p50)" for s in ours]
    add("| " + " | ".join(head) + " |")
    add("|" + "---:|" * len(head))
    for size in sizes:
        row = [_size(size)]
        for s in servers:
            r = _by_size(s).get(size)
            row.append(_get_cell(r) if r else _missing(s, size))
        if peer is not None:
            for s in ours:
                a, b = _p50(s, size), _p50(peer, size)
                row.append(f"**{_ratio(b / a)}**" if a and b else "–")
        add("| " + " | ".join(row) + " |")
    add("")

    # Server CPU.
    add(
        "### Server CPU time per request (ms, mean over the timed requests: user + system of the server "
        "process, which other load on the machine does not inflate much)"
    )
    add("")
    head = ["objects held"]
    for s in servers:
        head += [f"{s['name']} POST", f"{s['name']} GET"]
    add("| " + " | ".join(head) + " |")
    add("|" + "---:|" * len(head))
    for size in sizes:
        row = [_size(size)]
        for s in servers:
            r = _by_size(s).get(size)
            for kind in ("post", "get"):
                cpu = _cpu_ms(r, kind)
                row.append(_ms(cpu) if cpu is not None else "–")
        add("| " + " | ".join(row) + " |")
    add("")

    # Memory and storage.
    add("### Peak RSS of each server process (VmHWM, after the size's measurements) and database size")
    add("")
    head = ["objects held"]
    for s in servers:
        head.append(f"{s['name']} peak RSS")
        if not s["is_peer"]:
            head.append(f"{s['name']} database")
    add("| " + " | ".join(head) + " |")
    add("|" + "---:|" * len(head))
    for size in sizes:
        row = [_size(size)]
        for s in servers:
            r = _by_size(s).get(size)
            row.append(_mib(r["peak_rss"]) if r else _missing(s, size))
            if not s["is_peer"]:
                row.append(_mib(r["storage_bytes"]) if r else _missing(s, size))
        add("| " + " | ".join(row) + " |")
    add("")
    overall = [f"{s['name']} {_mib(s['peak_rss'])} (held {s['held_at_end']:,} objects at the end)" for s in servers]
    add("Peak RSS over the whole run: " + "; ".join(overall) + ".")
    add("")

    # Stops and notes.
    add("### Where servers stopped")
    add("")
    any_note = False
    for s in servers:
        lines = []
        if s["stopped"]:
            rate = (
                f" Its fill rate in that step was {_n(s['fill_rate_at_stop'])} objects/s."
                if s.get("fill_rate_at_stop")
                else ""
            )
            lines.append(f"{s['stopped']}.{rate}")
        lines.extend(f"{n}." for n in s["notes"])
        for line in lines:
            any_note = True
            add(f"- **{s['name']}**: {line}")
    if not any_note:
        add("- Every server completed every size.")
    add("")
    return out


Lookup = dict[int, float]


def _targets(main: str, rates: Lookup, p50s: Lookup, peer: str | None, peer_rates: Lookup) -> list[str]:
    """The issue's four targets, judged at the issue's sizes from the given figures."""
    out: list[str] = []
    add = out.append
    add(f"## Targets (from the issue), for {main}, at the issue's sizes (10k, 100k, 1M)")
    add("")
    add("| target | reached | met |")
    add("|---|---|---|")
    rates = {k: v for k, v in rates.items() if k in ISSUE_SIZES}
    if rates:
        cells = ", ".join(f"{_size(k)}: {_n(v)}" for k, v in sorted(rates.items()))
        met = "yes" if min(rates.values()) >= INGEST_TARGET else "no"
        add(f"| ingest ≥ {_n(INGEST_TARGET)} objects/s on SQLite | {cells} objects/s | {met} |")
    else:
        add(f"| ingest ≥ {_n(INGEST_TARGET)} objects/s on SQLite | not measured | – |")
    if peer is not None:
        ratios = {k: v / peer_rates[k] for k, v in sorted(rates.items()) if peer_rates.get(k)}
        unmeasured = [_size(k) for k in ISSUE_SIZES if k not in ratios]
        gap = f"; {', '.join(unmeasured)}: {peer} did not get there" if unmeasured else ""
        if ratios:
            cells = ", ".join(f"{_size(k)}: {_ratio(v)}" for k, v in ratios.items()) + gap
            met = "yes" if min(ratios.values()) >= PEER_RATIO_TARGET else "no"
            met += " (where measured)" if unmeasured else ""
            add(f"| ≥ {PEER_RATIO_TARGET:g}× {peer} | {cells} | {met} |")
        else:
            add(f"| ≥ {PEER_RATIO_TARGET:g}× {peer} | no issue size measured on both{gap} | – |")
    if rates.get(10_000) and rates.get(1_000_000):
        slow = rates[10_000] / rates[1_000_000]
        add(
            f"| at 1M no more than {SLOWDOWN_TARGET:g}× slower than at 10k | rate at 10k ÷ rate at 1M = "
            f"{slow:.2f} | {'yes' if slow <= SLOWDOWN_TARGET else 'no'} |"
        )
    else:
        add(f"| at 1M no more than {SLOWDOWN_TARGET:g}× slower than at 10k | not measured | – |")
    p50 = p50s.get(1_000_000)
    if p50 is not None:
        met = "yes" if p50 <= GET_P50_TARGET_MS else "no"
        add(f"| GET page p50 ≤ {GET_P50_TARGET_MS:g} ms at 1M | {_ms(p50)} ms | {met} |")
    else:
        add(f"| GET page p50 ≤ {GET_P50_TARGET_MS:g} ms at 1M | not measured | – |")
    add("")
    return out


def _figures(server: Result, sizes: list[int]) -> tuple[Lookup, Lookup]:
    rates = {k: v for k in sizes if (v := _rate(server, k)) is not None}
    p50s = {k: v for k in sizes if (v := _p50(server, k)) is not None}
    return rates, p50s


def _median_of(values: list[float]) -> float:
    return statistics.median(values)


def _summary(runs: list[Result]) -> list[str]:
    """Each server's figure per run and the median across runs, per size."""
    names = [s["name"] for s in runs[0]["servers"]]
    sizes: list[int] = runs[0]["options"]["sizes"]
    out: list[str] = []
    add = out.append
    add(f"## Summary of {len(runs)} runs (median across runs of each run's median)")
    add("")
    for label, pick, fmt in (
        ("POST ingest, objects/s", _rate, _n),
        ("GET page p50, ms", _p50, _ms),
        ("Server CPU per POST envelope, ms", _cpu_post, _ms),
        ("Server CPU per GET page, ms", _cpu_get, _ms),
    ):
        add(f"### {label}")
        add("")
        head = ["objects held"]
        for name in names:
            head += [*(f"{name} run {k + 1}" for k in range(len(runs))), f"**{name} median**"]
        add("| " + " | ".join(head) + " |")
        add("|" + "---:|" * len(head))
        for size in sizes:
            row = [_size(size)]
            for name in names:
                values = []
                for run in runs:
                    server = next(s for s in run["servers"] if s["name"] == name)
                    v = pick(server, size)
                    if v is not None:
                        row.append(fmt(v))
                    else:
                        row.append("not asked" if size in _by_size(server) else _missing(server, size))
                    if v is not None:
                        values.append(v)
                row.append(f"**{fmt(_median_of(values))}**" if values else "–")
            add("| " + " | ".join(row) + " |")
        add("")
    return out


def _cpu_post(server: Result, size: int) -> float | None:
    return _cpu_ms(_by_size(server).get(size), "post")


def _cpu_get(server: Result, size: int) -> float | None:
    return _cpu_ms(_by_size(server).get(size), "get")


def _cpu_ms(r: Result | None, kind: str) -> float | None:
    timing = r.get(kind) if r else None
    cpu = timing.get("server_cpu_seconds") if timing else None
    return None if timing is None or cpu is None else cpu / len(timing["seconds"]) * 1000


def render(runs: list[Result]) -> str:
    """Markdown for one run, or for several: a summary with medians across runs, then each run."""
    if not runs:
        raise ValueError("no runs to render")
    first = runs[0]["servers"]
    main = next(s["name"] for s in first if not s["is_peer"])
    peer = next((s["name"] for s in first if s["is_peer"]), None)
    sizes: list[int] = runs[0]["options"]["sizes"]

    def figures(name: str | None) -> tuple[Lookup, Lookup]:
        if name is None:
            return {}, {}
        per_run = [_figures(next(s for s in r["servers"] if s["name"] == name), sizes) for r in runs]
        rates = {k: _median_of(v) for k in sizes if (v := [f[0][k] for f in per_run if k in f[0]])}
        p50s = {k: _median_of(v) for k in sizes if (v := [f[1][k] for f in per_run if k in f[1]])}
        return rates, p50s

    rates, p50s = figures(main)
    peer_rates, _ = figures(peer)
    out: list[str] = []
    if len(runs) > 1:
        out += _summary(runs)
    out += _targets(main, rates, p50s, peer, peer_rates)
    for k, run in enumerate(runs):
        out += _run_details(run, f"Run {k + 1} of {len(runs)}" if len(runs) > 1 else "Run")
    # One level below the "## Results" heading of RESULTS.md.
    return "\n".join("#" + line if line.startswith("#") else line for line in out)


def update_results(path: Path, section: str, name: str | None = None) -> None:
    """Put ``section`` between the markers of ``path`` (appending them when absent).

    ``name`` selects one of several generated sections (``<!-- bench:results:start:NAME -->``).
    """
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n\n"
    start, end = (
        (START, END) if name is None else (START.replace(" -->", f":{name} -->"), END.replace(" -->", f":{name} -->"))
    )
    block = f"{start}\n{section.rstrip()}\n{end}"
    if start in text and end in text:
        head, _, rest = text.partition(start)
        _, _, tail = rest.partition(end)
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")
