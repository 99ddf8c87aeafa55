"""Run several ``ribat`` commands in one process, through the command's own Typer application.

Reads ``[{"args": [...], "stdin": "..."}, ...]`` as JSON on stdin; writes
``[{"args", "code", "stdout", "stderr"}, ...]`` as JSON on stdout. Stops at the first
command that fails. Used by the end-to-end fixtures: a ``ribat`` process spends about
two seconds importing, and a hub needs a few dozen set-up commands.
"""

from __future__ import annotations

import io
import json
import sys
from contextlib import redirect_stderr, redirect_stdout

import click
import typer.main

from ribat.cli.main import app


def main() -> int:
    commands = json.load(sys.stdin)
    command = typer.main.get_command(app)
    results = []
    for spec in commands:
        out, err = io.StringIO(), io.StringIO()
        sys.stdin = io.StringIO(spec.get("stdin") or "")
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = command.main(args=spec["args"], prog_name="ribat", standalone_mode=False)
                code = code if isinstance(code, int) else 0
            except click.ClickException as exc:
                exc.show()
                code = exc.exit_code
            except click.exceptions.Abort:
                code = 1
        results.append({"args": spec["args"], "code": code, "stdout": out.getvalue(), "stderr": err.getvalue()})
        if code:
            break
    sys.__stdout__.write(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
