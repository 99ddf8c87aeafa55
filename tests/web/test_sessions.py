"""Sessions: sign-in, its rate limit, CSRF, cookies, sign-out, password, own API keys, language."""

from __future__ import annotations

import re
from typing import Any

import pytest

from support import World

TLP_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"


def test_wrong_password_is_refused_and_rate_limited(world: World, browser: Any) -> None:
    b = browser()
    limit = world.hub.settings.login_rate_limit
    for _ in range(limit):
        response = b.post("/login", {"email": "alice@a.example", "password": "wrong password"})
        assert response.status_code == 401
        assert "Wrong email or password" in response.text
    response = b.post("/login", {"email": "alice@a.example", "password": "correct horse battery"})
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0


def test_posts_without_the_csrf_token_are_refused(browser: Any) -> None:
    b = browser("alice@a.example")
    assert b.post("/logout", csrf=False).status_code == 403
    assert b.post("/logout", {"csrf_token": "forged"}).status_code == 403
    assert b.get("/account").status_code == 200  # still signed in
    anonymous = browser()
    response = anonymous.post("/login", {"email": "alice@a.example", "password": "x"}, csrf=False)
    assert response.status_code == 403


def test_session_cookie_flags(browser: Any) -> None:
    b = browser()
    response = b.get("/login")
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie


def test_secure_cookie_in_production(world: World) -> None:
    from ribat.web.ui.session import Session, SessionCodec

    codec = SessionCodec("k" * 32, max_age_s=60, secure=True)
    from starlette.responses import Response

    response = Response()
    codec.save(Session(changed=True), response)
    assert "secure" in response.headers["set-cookie"].lower()


def test_a_forged_cookie_is_a_fresh_session(browser: Any) -> None:
    b = browser()
    b.client._client.cookies.set("ribat_session", "forged.value.here")
    assert b.get("/").status_code == 303


def test_sign_out_ends_the_session(browser: Any) -> None:
    b = browser("alice@a.example")
    response = b.post("/logout")
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert b.get("/").status_code == 303


def test_next_only_goes_to_local_paths(browser: Any, passwords: Any) -> None:
    passwords("alice@a.example")
    b = browser()
    b.get("/login")
    response = b.post(
        "/login", {"email": "alice@a.example", "password": "correct horse battery", "next": "//evil.example/"}
    )
    assert response.headers["location"] == "/"


def test_password_change_needs_the_current_password(world: World, browser: Any) -> None:
    b = browser("alice@a.example")
    response = b.post(
        "/account/password", {"current": "nope", "new": "another password", "confirm": "another password"}
    )
    assert response.status_code == 400 and "current password is wrong" in response.text
    response = b.post("/account/password", {"current": "correct horse battery", "new": "short", "confirm": "short"})
    assert response.status_code == 400
    response = b.post(
        "/account/password",
        {"current": "correct horse battery", "new": "a different one", "confirm": "a different two"},
    )
    assert response.status_code == 400 and "differ" in response.text
    response = b.post(
        "/account/password",
        {"current": "correct horse battery", "new": "another password", "confirm": "another password"},
    )
    assert response.status_code == 303
    world.hub.accounts.authenticate_password("alice@a.example", "another password")
    assert browser().login("alice@a.example").status_code == 401


def test_own_api_keys_are_shown_once_and_can_be_revoked(world: World, browser: Any) -> None:
    b = browser("alice@a.example")
    response = b.post("/account/keys", {"name": "my script"})
    assert response.status_code == 200
    secret = re.search(r"rbt_[0-9a-f]{8}_[A-Za-z0-9_-]+", response.text)
    assert secret is not None
    assert response.headers["cache-control"] == "no-store"
    world.hub.accounts.authenticate_key(secret.group(0))
    page = b.get("/account").text
    assert secret.group(0) not in page and "my script" in page
    key = next(k for k in world.hub.accounts.list_keys(world.alice.id) if k.name == "my script")
    assert b.post(f"/account/keys/{key.id}/revoke").status_code == 303
    with pytest.raises(Exception, match="revoked"):
        world.hub.accounts.authenticate_key(secret.group(0))
    bobs = world.hub.accounts.list_keys(world.bob.id)[0]
    assert b.post(f"/account/keys/{bobs.id}/revoke").status_code == 404
    assert world.hub.accounts.list_keys(world.bob.id)[0].revoked_us is None


def test_language_from_accept_language_then_the_switcher_then_the_user_setting(world: World, browser: Any) -> None:
    b = browser()
    assert '<html lang="fr" dir="ltr">' in b.get("/login", headers={"accept-language": "fr-FR,fr;q=0.9"}).text
    assert '<html lang="ar" dir="rtl">' in b.get("/login", headers={"accept-language": "ar-OM"}).text
    assert '<html lang="en" dir="ltr">' in b.get("/login", headers={"accept-language": "de, ja;q=0.5"}).text
    b.post("/language", {"lang": "ar", "next": "/login"})
    page = b.get("/login", headers={"accept-language": "fr"}).text
    assert '<html lang="ar" dir="rtl">' in page and "تسجيل الدخول" in page
    b.login("alice@a.example")
    b.post("/language", {"lang": "fr", "next": "/"})
    assert world.hub.accounts.get_user(world.alice.id).locale == "fr"
    other = browser("alice@a.example")  # a new session: the user's setting wins
    page = other.get("/", headers={"accept-language": "ar"}).text
    assert '<html lang="fr" dir="ltr">' in page and "Tableau de bord" in page
    assert b.post("/language", {"lang": "de"}).status_code == 400


def test_a_disabled_user_is_signed_out(world: World, browser: Any) -> None:
    b = browser("bob@b.example")
    world.hub.accounts.set_active(world.bob.id, False)
    assert b.get("/").status_code == 303


def test_htmx_request_without_session_gets_hx_redirect(browser: Any) -> None:
    response = browser().get("/contribute/check?kind=url&value=x", headers={"HX-Request": "true"})
    assert response.status_code == 401 and response.headers["hx-redirect"] == "/login"
