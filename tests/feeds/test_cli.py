"""``ribat feed``: add, list, run (with a real HTTP server on 127.0.0.1), runs, enable/disable, remove."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from ribat.cli import feeds as cli_feeds
from ribat.cli.feeds import register
from ribat.config import Settings
from ribat.hub import Hub
from support import World, indicator


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command("version")  # a second command, so that "feed" stays a sub-command
    def version() -> None:
        pass

    return app


@pytest.fixture
def run(app: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RIBAT_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("RIBAT_SECRET_KEY", "cli-test-secret-key")
    monkeypatch.setattr(cli_feeds, "_out", Console(width=300, soft_wrap=True, highlight=False))  # no cut columns
    hub = Hub.open(Settings(), migrate=True)
    World(hub)
    hub.close()
    runner = CliRunner()

    def invoke(*args: str, code: int = 0, stdin: str | None = None) -> str:
        result = runner.invoke(app, list(args), input=stdin)
        assert result.exit_code == code, result.output
        return result.output

    return invoke


@pytest.fixture
def web_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real HTTP server on 127.0.0.1 serving a directory."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def test_a_feed_is_added_listed_run_and_removed(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "x.json").write_text(json.dumps([indicator(1), indicator(2), {"type": "indicator", "id": "bad"}]))
    out = run(
        "feed", "add", "drop", "--kind", "directory", "--source", str(drop), "--collection", "shared",
        "--user", "alice@a.example", "--every", "15", "--tlp", "green", "--tag", "local", "--tag", "drop",
    )  # fmt: skip
    feed_id = out.strip().splitlines()[-1]
    assert len(feed_id) == 36 and "every 15 min, TLP TLP:GREEN" in out

    listed = run("feed", "list")
    assert "drop" in listed and "directory" in listed and "never" in listed

    out = run("feed", "run", "drop", code=1)
    assert "drop: partial: fetched 3, stored 2, merged 0, failed 1" in out
    assert "bad" in out
    assert "partial" in run("feed", "list")

    again = run("feed", "run", feed_id)
    assert "drop: ok: fetched 0, stored 0" in again
    runs = run("feed", "runs", "drop")
    assert runs.count("manual") == 2 and "partial" in runs and "ok" in runs

    assert "disabled" in run("feed", "disable", "drop")
    assert "no feed is due" in run("feed", "run", "--due")
    assert "enabled" in run("feed", "enable", "drop")
    assert "removed feed 'drop'" in run("feed", "remove", "drop")
    assert "drop" not in run("feed", "list")


def test_a_text_feed_is_pulled_from_a_real_http_server(run, web_root: tuple[str, Path]) -> None:  # type: ignore[no-untyped-def]
    base, root = web_root
    (root / "c2.txt").write_text("# C2 servers\n198.51.100.10;90\n198.51.100.11;75\nexample.org\n")
    run(
        "feed", "add", "c2", "--kind", "text", "--source", f"{base}/c2.txt", "--collection", "shared",
        "--user", "bob@b.example",
    )  # fmt: skip
    assert "c2: ok: fetched 3, stored 3" in run("feed", "run", "c2")
    assert "c2: ok: fetched 0, stored 0" in run("feed", "run", "c2"), "If-Modified-Since: not modified"


def test_bad_input_is_an_error_naming_what_is_wrong(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = run(
        "feed", "add", "x", "--kind", "taxii", "--source", "ftp://example.org/", "--collection", "shared",
        "--user", "alice@a.example", code=1,
    )  # fmt: skip
    assert "source: must be an http:// or https:// URL" in out
    out = run(
        "feed", "add", "x", "--kind", "csv", "--source", "https://example.org/a.csv", "--collection", "shared",
        "--user", "alice@a.example", "--map", "value", code=2,
    )  # fmt: skip
    assert "use FIELD=COLUMN" in out
    assert "feed 'nope' not found" in run("feed", "run", "nope", code=1)
    assert "give a feed name or id, or --due" in run("feed", "run", code=2)


def test_basic_credentials_are_read_from_stdin(run) -> None:  # type: ignore[no-untyped-def]
    out = run(
        "feed", "add", "private", "--kind", "taxii", "--source", "https://taxii.example/c/", "--collection", "shared",
        "--user", "alice@a.example", "--username", "feeder", "--password-stdin", stdin="s3cret\n",
    )  # fmt: skip
    hub = Hub.open(Settings())
    try:
        from ribat.feeds import Feeds

        feed = Feeds.for_hub(hub).get(out.strip().splitlines()[-1])
        assert feed.credentials is not None and (feed.credentials.username, feed.credentials.password) == (
            "feeder",
            "s3cret",
        )
    finally:
        hub.close()
    assert "s3cret" not in run("feed", "list")
