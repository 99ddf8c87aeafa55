"""``python -m bench.stacks FILE``: summarise a py-spy ``--format raw`` profile by function.

``py-spy record --format raw`` writes collapsed stacks (``frame;frame;frame count``).
This prints, per function (line numbers folded away), the share of samples in which it
is on the stack (inclusive) and at the top of it (self). Profile a running server with::

    py-spy record -p <ribat serve pid> -d 30 -r 200 -f raw -o post.txt --nonblocking
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

__all__ = ["summarise"]

_LINE = re.compile(r":\d+\)")


def summarise(text: str) -> tuple[int, Counter[str], Counter[str]]:
    """(total samples, inclusive samples per function, self samples per function)."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in text.splitlines():
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_LINE.sub(")", f) for f in stack.split(";")]
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    return total, inclusive, own


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.stacks", description=__doc__.splitlines()[0])
    p.add_argument("file", type=Path)
    p.add_argument("--top", type=int, default=30)
    args = p.parse_args(argv)
    total, inclusive, own = summarise(args.file.read_text(encoding="utf-8"))
    print(f"{total} samples")
    for title, counter in (("inclusive", inclusive), ("self", own)):
        print(f"--- {title} ---")
        for frame, n in counter.most_common(args.top):
            print(f"{n / total:6.1%}  {frame}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
