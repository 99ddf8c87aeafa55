"""Fixtures of the web-interface tests: the app over the ``world`` coalition, and browsers
(in-process HTTP clients) signed in as one of its users."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ribat.web import create_app
from support import AsgiClient, World

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """An in-process client that keeps cookies, reads CSRF tokens from pages and posts forms."""

    def __init__(self, app: Any, give_password: Any) -> None:
        self.client = AsgiClient(app)
        self.csrf = ""
        self.give_password = give_password

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        response = self.client.get(url, **kwargs)
        found = CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def post(self, url: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kwargs: Any) -> httpx.Response:
        if not self.csrf:
            self.get("/login")
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf_token", self.csrf)
        response = self.client.post(url, data=form, **kwargs)
        found = CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def login(self, email: str, password: str = PASSWORD) -> httpx.Response:
        self.give_password(email)
        self.get("/login")
        response = self.post("/login", {"email": email, "password": password, "next": "/"})
        if response.status_code == 303:
            self.get("/account")
        return response

    def close(self) -> None:
        self.client.close()


@pytest.fixture
def app(world: World) -> Any:
    return create_app(hub=world.hub)


@pytest.fixture
def passwords(world: World) -> Any:
    """``passwords(email)`` gives the user the test password (argon2 is slow: only when needed)."""
    done: set[str] = set()

    def give(email: str) -> None:
        if email not in done:
            world.hub.accounts.set_password(email, PASSWORD)
            done.add(email)

    return give


@pytest.fixture
def browser(app: Any, passwords: Any) -> Iterator[Any]:
    """A factory of browsers; each call is a new, signed-out one (``as_user`` signs in)."""
    opened: list[Browser] = []

    def make(as_user: str | None = None) -> Browser:
        b = Browser(app, passwords)
        opened.append(b)
        if as_user is not None:
            response = b.login(as_user)
            assert response.status_code == 303, response.text
        return b

    yield make
    for b in opened:
        b.close()
