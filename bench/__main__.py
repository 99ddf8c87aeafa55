"""``python -m bench``: run the benchmark, print the results, optionally update RESULTS.md.

Progress goes to stderr; the Markdown section goes to stdout (and into ``--out``).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any

from bench.report import render, update_results
from bench.runner import FULL_SIZES, QUICK_SIZES, Options, run

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _sizes(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: {text!r}") from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Ribat vs medallion 3.0 (memory backend): TAXII ingest rate, GET page latency, peak RSS.",
    )
    p.add_argument(
        "--sizes",
        type=_sizes,
        default=None,
        help=f"collection sizes, multiples of 1000 (default {','.join(map(str, FULL_SIZES))})",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: sizes {','.join(map(str, QUICK_SIZES))}, 2 POSTs and 3 GETs per size",
    )
    p.add_argument("--posts", type=int, default=None, help="timed POST envelopes per size (default 5)")
    p.add_argument("--gets", type=int, default=None, help="timed GET requests per size, at most (default 20)")
    p.add_argument(
        "--get-budget", type=float, default=60.0, help="seconds of GETs per size after which to stop (min 3 timed)"
    )
    p.add_argument(
        "--get-give-up",
        type=float,
        default=5.0,
        help="a server whose GET p50 passes this many seconds is not asked for pages at larger sizes",
    )
    p.add_argument("--fill-budget", type=float, default=3600.0, help="seconds per fill step for Ribat")
    p.add_argument("--peer-fill-budget", type=float, default=300.0, help="seconds per fill step for medallion")
    p.add_argument("--request-timeout", type=float, default=300.0, help="seconds before a request is given up")
    p.add_argument(
        "--postgres",
        nargs="?",
        const=DEFAULT_POSTGRES,
        default=None,
        metavar="ADMIN_URL",
        help=f"also run Ribat on PostgreSQL, in a fresh database created through ADMIN_URL "
        f"(default {DEFAULT_POSTGRES})",
    )
    p.add_argument("--no-peer", action="store_true", help="do not run medallion")
    p.add_argument("--seed", type=int, default=None, help="seed of the generated indicators")
    p.add_argument("--out", type=Path, default=None, help="update the results section of this Markdown file")
    p.add_argument(
        "--section",
        default=None,
        help="name of the generated section of --out to replace (default: the unnamed one)",
    )
    p.add_argument("--json", type=Path, default=None, help='also write the raw results here: {"runs": [...]}')
    p.add_argument("--runs", type=int, default=1, help="run the whole benchmark this many times (default 1)")
    p.add_argument(
        "--from-json",
        type=Path,
        nargs="+",
        default=None,
        metavar="FILE",
        help="render saved --json files (their runs together) instead of running",
    )
    return p


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    # SystemExit unwinds the run, so its servers are stopped and its database dropped.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    runs: list[dict[str, Any]] = []
    if args.from_json is not None:
        for path in args.from_json:
            data = json.loads(path.read_text(encoding="utf-8"))
            runs += data.get("runs", [data])
    else:
        quick = args.quick
        options = Options(
            sizes=args.sizes or (QUICK_SIZES if quick else FULL_SIZES),
            posts=args.posts or (2 if quick else 5),
            gets=args.gets or (3 if quick else 20),
            get_budget=args.get_budget,
            get_give_up=args.get_give_up,
            fill_budget=args.fill_budget,
            peer_fill_budget=args.peer_fill_budget,
            request_timeout=args.request_timeout,
            postgres=args.postgres,
            peer=not args.no_peer,
            **({"seed": args.seed} if args.seed is not None else {}),
        )
        for k in range(args.runs):
            if args.runs > 1:
                print(f"=== run {k + 1} of {args.runs} ===", file=sys.stderr, flush=True)
            runs.append(run(options))
            if args.json is not None:  # after every run, so a long series keeps what it has done
                args.json.parent.mkdir(parents=True, exist_ok=True)
                args.json.write_text(json.dumps({"runs": runs}, indent=1), encoding="utf-8")
    section = render(runs)
    sys.stdout.write(section + "\n")
    if args.out is not None:
        update_results(args.out, section, args.section)
        print(f"updated {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
