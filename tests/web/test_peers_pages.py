"""The peer hub pages: the list with each peer's status, adding a peer (its sync key shown once), a peer with its
checkpoints and runs, syncing now against a real peer hub, disabling and removing, for administrators only, in
three languages. The peer is a second hub with its own database, served in process behind an httpx transport."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ribat.accounts import OrgKind, Role
from ribat.config import Settings
from ribat.federation import Federation, RunStatus
from ribat.hub import Hub
from ribat.intel import Grant, ObjectFilter, Tlp
from ribat.web import create_app
from support import World, indicator

TLP_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
PEER_ROOT = "http://peer.test/taxii2/root/"
KEY = re.compile(r'class="secret">(rbt_[0-9a-f]{8}_[^<]+)<')


class AppTransport(httpx.BaseTransport):
    """A hub's ASGI application behind a synchronous transport: each request runs in its own event loop (the sync
    engine calls from a worker thread)."""

    def __init__(self, app: Any) -> None:
        self.asgi = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()

        async def call() -> httpx.Response:
            response = await self.asgi.handle_async_request(request)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content)

        return asyncio.run(call())


class PeerHub:
    """The other hub: its operator's organisation, an analyst who shared two GREEN indicators, and the ``serve``
    record for this hub whose sync key this hub's administrator is given."""

    def __init__(self, hub: Hub, this_hub_org_identity: str) -> None:
        acc = hub.accounts
        self.hub = hub
        self.org = acc.create_org("Peer CERT", "peer-cert", "TN", OrgKind.NATIONAL_CERT)
        analyst = acc.create_user("analyst@peer.example", self.org.id, Role.ANALYST)
        # The organisation that stands for this hub's operator there, known by the same STIX identity.
        ours = acc.create_org("CERT C", "cert-c", "NG", OrgKind.SECTOR_CERT, identity_id=this_hub_org_identity)
        self.collection = hub.intel.create_collection(
            "Peer shared", alias="shared", default_tlp=Tlp.GREEN, grants=[Grant("org", self.org.id, True, True)]
        )
        self.shared = [indicator(900 + n, tlp_ref=TLP_GREEN) for n in range(2)]
        hub.intel.ingest(acc.principal_for(analyst.id), "shared", {"objects": self.shared})
        _, key = Federation.for_hub(hub).add(
            "hub", "http://hub.test/taxii2/root/", direction="serve", pairs=[("shared", "")], org=ours.id
        )
        self.key = key.secret
        self.app = create_app(hub=hub)


@pytest.fixture
def peer(world: World, sqlite_template: Path, tmp_path: Path) -> Iterator[PeerHub]:
    path = tmp_path / "peer.db"
    shutil.copyfile(sqlite_template, path)
    hub = Hub.open(Settings(database_url=f"sqlite:///{path}", secret_key="peer-secret-key-not-for-production"))
    try:
        yield PeerHub(hub, world.org_c.identity_id)
    finally:
        hub.close()


def _use(app: Any, world: World, transport: httpx.BaseTransport, **options: Any) -> Federation:
    """The application's Federation (shared by the pages and the API), talking through ``transport``."""
    fed = Federation.for_hub(world.hub, transport=transport, sleep=lambda _s: None, **options)
    app.state.federation = fed
    return fed


def _add(b: Any, **fields: Any) -> Any:
    form = {
        "name": "partner",
        "url": PEER_ROOT,
        "direction": "both",
        "key": "rbt_00000000_not-a-real-key",
        "collections": "shared=remote-shared",
        "org": "cert-b",
        "max_tlp": "green",
        "every": "600",
    }
    form.update(fields)
    return b.post("/peers", form)


def test_peer_pages_are_for_administrators_only(world: World, browser: Any) -> None:
    visitor = browser()
    for path in ["/peers", "/peers/partner"]:
        response = visitor.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next="), path
    Federation.for_hub(world.hub).add("partner", PEER_ROOT, direction="serve", pairs=[("shared", "")], org="cert-b")
    alice = browser("alice@a.example")
    assert 'href="/peers"' not in alice.get("/").text
    for path in ["/peers", "/peers/partner"]:
        assert alice.get(path).status_code == 403, path
    for path in ["/peers", "/peers/partner/sync", "/peers/partner/enabled", "/peers/partner/remove"]:
        assert alice.post(path, {"enabled": "0", **_add_fields()}).status_code == 403, path
    fed = Federation.for_hub(world.hub)
    assert [p.name for p in fed.list()] == ["partner"] and fed.get("partner").enabled
    assert fed.runs("partner") == []
    admin = browser("admin@hub.example")
    assert 'href="/peers"' in admin.get("/admin/organisations").text


def _add_fields() -> dict[str, str]:
    return {"name": "intruder", "url": PEER_ROOT, "direction": "serve", "collections": "shared", "org": "cert-b"}


def test_adding_a_peer_shows_its_sync_key_once(world: World, browser: Any) -> None:
    admin = browser("admin@hub.example")
    circle = world.hub.accounts.create_circle("coalition")
    response = _add(admin, direction="serve", key="", collections="shared", circles=[circle.id], max_tlp="amber")
    assert response.status_code == 200, response.text[:2000]
    assert response.headers["cache-control"] == "no-store"
    found = KEY.search(response.text)
    assert found is not None
    fed = Federation.for_hub(world.hub)
    peer = fed.get("partner")
    assert peer.direction == "serve" and peer.max_tlp is Tlp.AMBER and peer.org_id == world.org_b.id
    assert world.org_b.id in world.hub.accounts.get_circle("coalition").member_org_ids
    # The key is the sync account's: it authenticates as the peer, with role sync.
    principal = world.hub.accounts.authenticate_key(found.group(1))
    assert principal.user.id == peer.sync_user_id and principal.user.role is Role.SYNC
    listing = admin.get("/peers")
    assert found.group(1) not in listing.text and "no-store" not in listing.headers.get("cache-control", "")
    assert 'data-peer="partner"' in listing.text and "not synced yet" in listing.text
    assert "the peer starts syncs" in listing.text and 'action="/peers/partner/sync"' not in listing.text
    page = admin.get("/peers/partner")
    assert page.status_code == 200
    assert "Serve only (the peer pulls and pushes)" in page.text and "TLP:AMBER" in page.text
    assert "partner@peers.ribat.invalid" in page.text and "coalition" in page.text
    assert "No checkpoint yet" in page.text and "No run yet." in page.text


def test_form_errors_are_shown_at_their_field(world: World, browser: Any) -> None:
    admin = browser("admin@hub.example")
    assert _add(admin, csrf_token="forged").status_code == 403
    for fields, field in [
        ({"url": "ftp://peer.test/"}, "url"),
        ({"key": ""}, "key"),
        ({"collections": "nowhere=remote"}, "collections"),
        ({"collections": "shared"}, "collections"),  # a peer this hub pulls from needs the peer's collection
        ({"org": ""}, "org"),
        ({"org": "cert-z"}, "org"),
        ({"circles": ["no-such-circle"]}, "circles"),
        ({"max_tlp": "red"}, "max_tlp"),
        ({"direction": "sideways"}, "direction"),
        ({"include_types": "Not A Type"}, "include_types"),
        ({"every": "often"}, "every"),
        ({"every": "5"}, "every"),
        ({"name": "Bad Name!"}, "name"),
    ]:
        response = _add(admin, **fields)
        assert response.status_code == 400, (fields, response.text[:500])
        assert f'id="error-{field}"' in response.text, fields
        assert "rbt_00000000_not-a-real-key" not in response.text  # the key is never sent back
    response = _add(admin, url="ftp://peer.test/")
    assert 'value="shared=remote-shared"' in response.text  # the form keeps what was typed
    assert Federation.for_hub(world.hub).list() == []
    # A refused peer left no sync account behind: the name is still free.
    assert _add(admin).status_code == 200
    response = _add(admin)
    assert response.status_code == 400 and 'id="error-name"' in response.text and "already" in response.text
    assert [p.name for p in Federation.for_hub(world.hub).list()] == ["partner"]


def test_sync_now_with_a_real_peer_hub(world: World, app: Any, browser: Any, peer: PeerHub) -> None:
    ours = indicator(1, tlp_ref=TLP_GREEN)
    world.hub.intel.ingest(world.principal("alice@a.example"), "shared", {"objects": [ours]})
    fed = _use(app, world, AppTransport(peer.app))
    admin = browser("admin@hub.example")
    response = _add(admin, key=peer.key, collections=f"shared={peer.collection.id}")
    assert response.status_code == 200 and KEY.search(response.text)
    assert 'action="/peers/partner/sync"' in response.text

    response = admin.post("/peers/partner/sync", {"back": "list"})
    assert response.status_code == 303 and response.headers["location"] == "/peers"
    listing = admin.get("/peers").text
    assert (
        "Sync with partner finished (succeeded): 2 pulled, 1 pushed, 0 already held, 0 echoes left out, "
        "0 refused, 0 deleted." in listing
    )
    assert "2 pulled, 1 pushed, 0 deleted" in listing and "not synced yet" not in listing
    [status] = fed.statuses()
    assert status.last_run is not None and status.last_run.status is RunStatus.OK and status.lag_seconds is not None

    # Both hubs now hold both sides' indicators.
    here = world.hub.intel.objects(world.principal("alice@a.example"), "shared", ObjectFilter(), limit=100)
    assert {o["id"] for o in peer.shared} <= {m.object_id for m in here.metas}
    analyst = peer.hub.accounts.principal_for("analyst@peer.example")
    there = peer.hub.intel.objects(analyst, "shared", ObjectFilter(), limit=100)
    assert ours["id"] in {m.object_id for m in there.metas}

    page = admin.get("/peers/partner").text
    assert "by hand" in page and "succeeded" in page
    assert "objects pulled" in page and "objects pushed" in page  # the two checkpoints that moved
    assert peer.hub.intel.hub_id in page  # learnt from the peer's hello

    # A second run from the peer page moves nothing: the checkpoints hold, nothing echoes back.
    response = admin.post("/peers/partner/sync")
    assert response.headers["location"] == "/peers/partner"
    assert "(succeeded): 0 pulled, 0 pushed, 0 already held, 0 echoes left out" in admin.get("/peers/partner").text
    assert len(fed.runs("partner")) == 2


def test_a_failed_sync_is_reported_with_its_error(world: World, app: Any, browser: Any) -> None:
    down = httpx.MockTransport(lambda request: httpx.Response(503, text="down for maintenance"))
    _use(app, world, down, retries=1)
    admin = browser("admin@hub.example")
    assert _add(admin).status_code == 200
    response = admin.post("/peers/partner/sync")
    assert response.status_code == 303
    page = admin.get("/peers/partner").text
    assert "finished (failed)" in page
    assert "HTTP 503: down for maintenance (gave up after 2 attempts)" in page
    assert "Failed runs in a row" in page
    listing = admin.get("/peers").text
    assert "down for maintenance" in listing and "failed" in listing


def test_disable_enable_and_remove(world: World, browser: Any) -> None:
    admin = browser("admin@hub.example")
    assert _add(admin).status_code == 200
    fed = Federation.for_hub(world.hub)
    assert admin.post("/peers/partner/enabled", {"enabled": "0"}).status_code == 303
    assert not fed.get("partner").enabled
    assert "Scheduled syncs with partner are off." in admin.get("/peers/partner").text
    assert admin.post("/peers/partner/enabled", {"enabled": "1"}).status_code == 303
    assert fed.get("partner").enabled
    assert admin.post("/peers/partner/enabled", {"enabled": "maybe"}).status_code == 400
    sync_user = fed.get("partner").sync_user_id
    assert sync_user is not None
    assert admin.post("/peers/partner/remove", csrf=False).status_code == 403
    response = admin.post("/peers/partner/remove")
    assert response.status_code == 303 and response.headers["location"] == "/peers"
    assert "Peer partner removed" in admin.get("/peers").text
    assert fed.list() == [] and not world.hub.accounts.get_user(sync_user).is_active
    assert admin.get("/peers/partner").status_code == 404
    assert admin.post("/peers/partner/sync").status_code == 404


def test_peer_pages_in_arabic_and_french(world: World, browser: Any) -> None:
    admin = browser("admin@hub.example")
    assert _add(admin).status_code == 200
    for lang, direction, words in (
        ("ar", "rtl", ("المنصات النظيرة", "إضافة منصة نظيرة", "زامن الآن", "نقاط الاستئناف")),
        (
            "fr",
            "ltr",
            ("Plateformes pairs", "Ajouter une plateforme pair", "Synchroniser maintenant", "Points de reprise"),
        ),
    ):
        admin.post("/language", {"lang": lang, "next": "/"})
        listing, page = admin.get("/peers"), admin.get("/peers/partner")
        assert listing.status_code == 200 and page.status_code == 200
        for response in (listing, page):
            assert f'<html lang="{lang}" dir="{direction}">' in response.text
        assert words[0] in listing.text and words[1] in listing.text and words[2] in listing.text
        assert words[2] in page.text and words[3] in page.text
