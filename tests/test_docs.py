"""Fails when a setting, a CLI command or an HTTP route is missing from the docs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer.main
from starlette.routing import Route

from ribat.cli import app as cli_app
from ribat.config import Settings, settings_markdown
from ribat.web import create_app

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_settings_reference_is_generated_from_the_code() -> None:
    assert (DOCS / "settings.md").read_text() == settings_markdown(), (
        "run: ribat settings --markdown > docs/settings.md"
    )


def test_every_setting_has_help_text() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description and len(field.description) > 20, name


def _commands(group: typer.Typer) -> list[str]:
    found: list[str] = []

    def walk(cmd: Any, path: str) -> None:
        sub = getattr(cmd, "commands", None)
        if sub:
            for name, child in sub.items():
                walk(child, f"{path} {name}")
        else:
            found.append(path)

    walk(typer.main.get_command(group), "ribat")
    return found


def test_every_cli_command_is_documented() -> None:
    text = (DOCS / "cli.md").read_text()
    commands = _commands(cli_app)
    assert len(commands) > 15
    missing = [c for c in commands if f"`{c}" not in text]
    assert not missing, f"undocumented in docs/cli.md: {missing}"


def _route_paths(routes: list[Any], prefix: str = "") -> set[str]:
    """Every route path, including those of included routers (which recent FastAPI wraps)."""
    paths: set[str] = set()
    for route in routes:
        original = getattr(route, "original_router", None)
        if original is not None:
            paths |= _route_paths(original.routes, prefix + route.include_context.prefix)
        elif isinstance(route, Route):
            paths.add(prefix + route.path)
    return paths


def test_every_http_route_is_documented(settings: Settings) -> None:
    text = (DOCS / "api.md").read_text()
    app = create_app(settings)
    paths = _route_paths(app.routes)
    assert "/taxii2/{api_root}/collections/{collection_id}/objects/" in paths
    assert "/login" in paths and "/api/openapi.json" in paths
    missing = [p for p in sorted(paths) if f"`{p}`" not in text]
    assert not missing, f"undocumented in docs/api.md: {missing}"
