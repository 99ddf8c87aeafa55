"""Property: over random coalitions, markings and recipients, every reader gets exactly what
TLP 2.0 allows it — never more, and nothing it may read is unreachable — on every TAXII
read endpoint, on SQLite and PostgreSQL.

The coalitions and the oracle are in tests/tlp_world.py.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from ribat.web import create_app
from support import TAXII, AsgiClient
from tlp_world import Coalition, build, coalitions, fresh_hub, object_id, oracle, stix

__all__ = ["fresh_hub"]  # a fixture, used by name


def pages(client: AsgiClient, url: str, headers: dict[str, str], key: str) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    params: dict[str, str] = {"limit": "3", "match[version]": "all"}
    while True:
        r = client.get(url, params=params, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        items += body.get(key, [])
        if not body["more"]:
            return items
        params = {**params, "next": body["next"]}


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(c=coalitions())
def test_readers_get_exactly_what_tlp_allows_on_every_endpoint(fresh_hub, c: Coalition) -> None:  # type: ignore[no-untyped-def]
    hub = fresh_hub()
    keys = build(hub, c)
    client = AsgiClient(create_app(hub=hub))
    base = "/taxii2/root/collections/c"
    try:
        for reader in range(len(c.users)):
            headers = {"Accept": TAXII, "Authorization": f"Bearer {keys[reader]}"}
            visible = {o.n: [v for v in range(o.versions) if oracle(c, reader, o, v)] for o in c.objects}
            allowed = {object_id(n) for n, vs in visible.items() if vs}
            expected_versions = sum(len(vs) for vs in visible.values())

            objects = pages(client, f"{base}/objects/", headers, "objects")
            assert {str(o["id"]) for o in objects} == allowed
            assert len(objects) == expected_versions

            manifest = pages(client, f"{base}/manifest/", headers, "objects")
            assert {str(m["id"]) for m in manifest} == allowed
            assert len(manifest) == expected_versions

            for obj in c.objects:
                oid = object_id(obj.n)
                one = client.get(f"{base}/objects/{oid}/", headers=headers)
                versions = client.get(f"{base}/objects/{oid}/versions/", headers=headers)
                if oid in allowed:
                    # the default, match[version]=last: the newest version this reader may see
                    assert one.status_code == 200
                    [latest] = one.json()["objects"]
                    assert latest["modified"] == stix(c, obj, visible[obj.n][-1])["modified"]
                    assert len(versions.json()["versions"]) == len(visible[obj.n])
                else:
                    assert one.status_code == 404, one.text
                    assert versions.status_code == 404, versions.text
    finally:
        client.close()
