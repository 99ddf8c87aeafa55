"""Administration pages: organisations, users, keys, trust circles, collections."""

from __future__ import annotations

import re
from typing import Any

from support import World

TLP_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"


def test_admin_manages_orgs_users_keys_circles_and_collections(world: World, browser: Any) -> None:
    b = browser("admin@hub.example")
    assert (
        b.post(
            "/admin/organisations", {"name": "CERT D", "short_name": "cert-d", "country": "TN", "kind": "national-cert"}
        ).status_code
        == 303
    )
    assert "cert-d" in b.get("/admin/organisations").text
    assert (
        b.post("/admin/organisations", {"name": "CERT D", "short_name": "cert-d", "country": "TN"}).status_code == 400
    )
    assert b.post("/admin/organisations", {"name": "Bad", "short_name": "bad", "country": "XX"}).status_code == 400
    org_d = world.hub.accounts.get_org("cert-d")
    response = b.post("/admin/users", {"email": "dina@d.example", "org": org_d.id, "role": "reader"})
    assert response.status_code == 303
    dina = world.hub.accounts.get_user("dina@d.example")
    response = b.post(f"/admin/users/{dina.id}/keys", {"name": "dina key"})
    assert re.search(r"rbt_[0-9a-f]{8}_", response.text)
    key = world.hub.accounts.list_keys(dina.id)[0]
    assert b.post(f"/admin/keys/{key.id}/revoke").status_code == 303
    assert world.hub.accounts.list_keys(dina.id)[0].revoked_us is not None
    assert b.post(f"/admin/users/{dina.id}/active", {"active": "0"}).status_code == 303
    assert not world.hub.accounts.get_user(dina.id).is_active
    b.post(f"/admin/users/{world.admin.id}/active", {"active": "0"})
    assert world.hub.accounts.get_user(world.admin.id).is_active
    assert b.post("/admin/circles", {"name": "maghreb", "description": "North Africa"}).status_code == 303
    circle = world.hub.accounts.get_circle("maghreb")
    b.post(f"/admin/circles/{circle.id}/members", {"org": org_d.id})
    assert org_d.id in world.hub.accounts.get_circle("maghreb").member_org_ids
    b.post(f"/admin/circles/{circle.id}/members/{org_d.id}/remove")
    assert not world.hub.accounts.get_circle("maghreb").member_org_ids
    response = b.post(
        "/admin/collections",
        {
            "title": "Maghreb",
            "alias": "maghreb",
            "default_tlp": "green",
            "grant": f"circle:{circle.id}",
            "access": "write",
        },
    )
    assert response.status_code == 303
    collection = world.hub.intel.collection(world.principal("admin@hub.example"), "maghreb")
    assert collection.grants[0].principal_kind == "circle" and collection.grants[0].can_write
    b.post(f"/admin/collections/{collection.id}/grants", {"grant": f"org:{org_d.id}", "access": "read"})
    b.post(f"/admin/collections/{collection.id}/grants/remove", {"kind": "circle", "principal_id": circle.id})
    collection = world.hub.intel.collection(world.principal("admin@hub.example"), "maghreb")
    assert [(g.principal_kind, g.can_write) for g in collection.grants] == [("org", False)]
    assert "Maghreb" in b.get("/admin/collections").text
