"""The hub's TAXII 2.1 API as the OASIS client library (``taxii2client.v21``) sees it."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

from e2e.live import TAXII, Coalition, CollectionSpec, LiveHub, Org, User

pytestmark = pytest.mark.e2e

ANA = "ana@alpha.example"  # analyst, Alpha CERT
RITA = "rita@alpha.example"  # reader, Alpha CERT
BEN = "ben@beta.example"  # analyst, Beta CERT
STIX21 = "application/stix+json;version=2.1"


@pytest.fixture(scope="module")
def coalition() -> Coalition:
    return Coalition(
        orgs=(Org("alpha", "Alpha CERT", "MY"), Org("beta", "Beta CERT", "OM")),
        users=(User(ANA, "alpha"), User(RITA, "alpha", role="reader"), User(BEN, "beta")),
        collections=(
            CollectionSpec("shared", "Shared intel", "green", write=("community",)),
            CollectionSpec("alpha-desk", "Alpha desk", "green", owner="alpha", read=("org:beta",)),
            CollectionSpec("alpha-private", "Alpha private", "amber", owner="alpha"),
            CollectionSpec("paging", "Paging", "green", write=("community",)),
            CollectionSpec("busy", "Busy", "green", owner="beta"),
        ),
    )


class BearerAuth(requests.auth.AuthBase):
    """``Authorization: Bearer <API key>`` for requests (and so for taxii2-client)."""

    def __init__(self, key: str) -> None:
        self.key = key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.key}"
        return request


def bearer(hub: LiveHub, email: str) -> BearerAuth:
    return BearerAuth(hub.members[email].key)


@contextmanager
def collection(hub: LiveHub, alias: str, email: str) -> Iterator[Collection]:
    with Collection(hub.collection_url(alias), auth=bearer(hub, email)) as c:
        yield c


def stamp(n: int) -> str:
    return f"2024-03-{n:02d}T10:00:00.000Z"


def indicator(name: str, *, object_id: str | None = None, modified: str = stamp(1)) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": object_id or f"indicator--{uuid.uuid4()}",
        "created": stamp(1),
        "modified": modified,
        "name": name,
        "pattern": "[ipv4-addr:value = '198.51.100.7']",
        "pattern_type": "stix",
        "valid_from": stamp(1),
    }


def identity(name: str, n: int = 1) -> dict[str, Any]:
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": f"identity--{uuid.uuid4()}",
        "created": stamp(n),
        "modified": stamp(n),
        "name": name,
        "identity_class": "organization",
    }


def ids_of(envelope: dict[str, Any]) -> list[str]:
    return [o["id"] for o in envelope.get("objects", [])]


def http_status(exc_info: pytest.ExceptionInfo[requests.HTTPError]) -> int:
    response = exc_info.value.response
    assert response is not None
    return response.status_code


# -- discovery, API root, collections ----------------------------------------------------------------


def test_discovery_names_the_one_api_root(live_hub: LiveHub) -> None:
    with Server(live_hub.discovery_url, auth=bearer(live_hub, ANA)) as server:
        roots = server.api_roots
        try:
            assert server.title == "Ribat hub"
            assert [r.url for r in roots] == [live_hub.api_root_url]
            assert server.default is roots[0]
        finally:
            for root in roots:
                root.close()


def test_api_root_information(live_hub: LiveHub) -> None:
    with ApiRoot(live_hub.api_root_url, auth=bearer(live_hub, ANA)) as root:
        assert root.title
        assert root.versions == [TAXII]
        assert root.max_content_length >= 1024


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        (
            ANA,
            {
                "Shared intel": (True, True),
                "Alpha desk": (True, True),
                "Alpha private": (True, True),
                "Paging": (True, True),
            },
        ),
        (
            RITA,
            {
                "Shared intel": (True, False),
                "Alpha desk": (True, False),
                "Alpha private": (True, False),
                "Paging": (True, False),
            },
        ),
        (
            BEN,
            {"Shared intel": (True, True), "Alpha desk": (True, False), "Paging": (True, True), "Busy": (True, True)},
        ),
    ],
)
def test_collections_show_what_each_user_may_read_and_write(
    live_hub: LiveHub, email: str, expected: dict[str, tuple[bool, bool]]
) -> None:
    with ApiRoot(live_hub.api_root_url, auth=bearer(live_hub, email)) as root:
        found = {c.title: (c.can_read, c.can_write) for c in root.collections}
        assert found == expected
        by_alias = {c.alias: c.id for c in root.collections}
        assert by_alias == {a: i for a, i in live_hub.collections.items() if a in by_alias}
        assert all(c.media_types == [STIX21] for c in root.collections)


def test_a_collection_the_user_may_not_see_is_not_found(live_hub: LiveHub) -> None:
    with collection(live_hub, "alpha-private", BEN) as c, pytest.raises(requests.HTTPError) as exc_info:
        c.refresh()
    assert http_status(exc_info) == 404


# -- authentication ------------------------------------------------------------------------------------


def collection_titles(root: ApiRoot) -> set[str]:
    return {c.title for c in root.collections}


def test_basic_auth_with_email_and_password(live_hub: LiveHub) -> None:
    ben = live_hub.members[BEN]
    with ApiRoot(live_hub.api_root_url, user=ben.email, password=ben.password) as root:
        assert collection_titles(root) == {"Shared intel", "Alpha desk", "Paging", "Busy"}


def test_basic_auth_with_key_prefix_and_key(live_hub: LiveHub) -> None:
    ben = live_hub.members[BEN]
    with ApiRoot(live_hub.api_root_url, user=ben.key_prefix, password=ben.key) as root:
        assert collection_titles(root) == {"Shared intel", "Alpha desk", "Paging", "Busy"}


def test_bearer_api_key(live_hub: LiveHub) -> None:
    with ApiRoot(live_hub.api_root_url, auth=bearer(live_hub, BEN)) as root:
        assert collection_titles(root) == {"Shared intel", "Alpha desk", "Paging", "Busy"}


@pytest.mark.parametrize("credentials", ["wrong password", "prefix of another key"])
def test_wrong_credentials_are_refused(live_hub: LiveHub, credentials: str) -> None:
    ben, ana = live_hub.members[BEN], live_hub.members[ANA]
    if credentials == "wrong password":
        user, password = ben.email, ben.password + "x"
    else:
        user, password = ana.key_prefix, ben.key
    with (
        ApiRoot(live_hub.api_root_url, user=user, password=password) as root,
        pytest.raises(requests.HTTPError) as exc_info,
    ):
        root.refresh_collections()
    assert http_status(exc_info) == 401


# -- adding objects, status ---------------------------------------------------------------------------------


def test_add_objects_reports_every_object_and_the_status_can_be_polled(live_hub: LiveHub) -> None:
    good = [indicator("Status check"), identity("Status check org")]
    bad = indicator("No pattern")
    del bad["pattern"]
    with collection(live_hub, "shared", ANA) as c:
        status = c.add_objects({"objects": [*good, bad]}, wait_for_completion=False)
        status.wait_until_final(poll_interval=0.2, timeout=30)
        status.refresh()
        assert status.status == "complete"
        assert (status.total_count, status.success_count, status.failure_count, status.pending_count) == (3, 2, 1, 0)
        assert {s["id"] for s in status.successes} == {o["id"] for o in good}
        assert {s["version"] for s in status.successes} == {stamp(1)}
        [failure] = status.failures
        assert failure["id"] == bad["id"]
        assert failure["message"]

        assert sorted(ids_of(c.get_objects(id=[o["id"] for o in [*good, bad]]))) == sorted(o["id"] for o in good)

    with ApiRoot(live_hub.api_root_url, auth=bearer(live_hub, ANA)) as root:
        again = root.get_status(status.id)
        assert (again.id, again.status, again.success_count, again.failure_count) == (status.id, "complete", 2, 1)
    with (
        ApiRoot(live_hub.api_root_url, auth=bearer(live_hub, BEN)) as root,
        pytest.raises(requests.HTTPError) as exc_info,
    ):
        root.get_status(status.id)
    assert http_status(exc_info) == 404


def test_adding_the_same_version_twice_stores_it_once(live_hub: LiveHub) -> None:
    obj = indicator("Twice")
    with collection(live_hub, "shared", ANA) as c:
        first = c.add_objects({"objects": [obj]})
        second = c.add_objects({"objects": [obj]})
        assert (first.success_count, second.success_count, second.failure_count) == (1, 1, 0)
        assert c.object_versions(obj["id"])["versions"] == [obj["modified"]]
        assert c.get_objects(id=obj["id"], version="all")["objects"] == [obj]


def test_a_reader_may_not_add_objects(live_hub: LiveHub) -> None:
    obj = indicator("From a reader")
    with collection(live_hub, "shared", RITA) as c:
        assert (c.can_read, c.can_write) == (True, False)
        # taxii2-client refuses before sending; the server refuses too when asked directly.
        with requests.Session() as session:
            response = session.post(
                c.objects_url,
                json={"objects": [obj]},
                headers={"Accept": TAXII, "Content-Type": TAXII},
                auth=bearer(live_hub, RITA),
            )
        assert response.status_code == 403, response.text
        assert c.get_objects(id=obj["id"]) == {"more": False}


# -- paging ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def paged_ids(live_hub: LiveHub) -> list[str]:
    """50 objects in the ``paging`` collection, in the order they were added."""
    objects = [identity(f"Paging org {n}", n % 28 + 1) for n in range(50)]
    with collection(live_hub, "paging", BEN) as c:
        for start in range(0, 50, 25):
            status = c.add_objects({"objects": objects[start : start + 25]})
            assert status.success_count == 25
    return [o["id"] for o in objects]


def test_as_pages_walks_objects_without_skips_or_repeats(live_hub: LiveHub, paged_ids: list[str]) -> None:
    with collection(live_hub, "paging", ANA) as c:
        pages = list(as_pages(c.get_objects, per_request=10))
    assert [len(p["objects"]) for p in pages] == [10, 10, 10, 10, 10]
    assert [p["more"] for p in pages] == [True, True, True, True, False]
    assert [i for p in pages for i in ids_of(p)] == paged_ids


def test_as_pages_walks_the_manifest_without_skips_or_repeats(live_hub: LiveHub, paged_ids: list[str]) -> None:
    with collection(live_hub, "paging", ANA) as c:
        pages = list(as_pages(c.get_manifest, per_request=7))
    entries = [e for p in pages for e in p["objects"]]
    assert [e["id"] for e in entries] == paged_ids
    assert all(len(p["objects"]) <= 7 for p in pages)
    added = [e["date_added"] for e in entries]
    assert added == sorted(added) and len(set(added)) == len(added)


def test_added_after_returns_only_later_objects(live_hub: LiveHub, paged_ids: list[str]) -> None:
    with collection(live_hub, "paging", ANA) as c:
        manifest = [e for p in as_pages(c.get_manifest, per_request=50) for e in p["objects"]]
        cut = manifest[19]["date_added"]
        later = [i for p in as_pages(c.get_objects, per_request=10, added_after=cut) for i in ids_of(p)]
        assert later == paged_ids[20:]
        none_after = c.get_objects(added_after=manifest[-1]["date_added"])
        assert none_after["more"] is False
        assert "objects" not in none_after


# -- filters, versions, manifest ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def desk(live_hub: LiveHub) -> dict[str, Any]:
    """A known set in ``alpha-desk``: an indicator in three versions (added out of order), a
    malware, an identity and a relationship."""
    ind_id = f"indicator--{uuid.uuid4()}"
    versions = {n: indicator(f"Desk indicator v{n}", object_id=ind_id, modified=stamp(n)) for n in (1, 2, 3)}
    malware = {
        "type": "malware",
        "spec_version": "2.1",
        "id": f"malware--{uuid.uuid4()}",
        "created": stamp(4),
        "modified": stamp(4),
        "name": "Desk malware",
        "is_family": True,
    }
    org = identity("Desk org", 5)
    rel = {
        "type": "relationship",
        "spec_version": "2.1",
        "id": f"relationship--{uuid.uuid4()}",
        "created": stamp(6),
        "modified": stamp(6),
        "relationship_type": "indicates",
        "source_ref": ind_id,
        "target_ref": malware["id"],
    }
    with collection(live_hub, "alpha-desk", ANA) as c:
        status = c.add_objects({"objects": [versions[2], versions[1], malware, org, rel, versions[3]]})
        assert (status.success_count, status.failure_count) == (6, 0)
    return {"indicator": versions, "malware": malware, "identity": org, "relationship": rel}


def test_match_id_and_type(live_hub: LiveHub, desk: dict[str, Any]) -> None:
    malware, org, rel = desk["malware"], desk["identity"], desk["relationship"]
    with collection(live_hub, "alpha-desk", BEN) as c:
        assert c.get_objects(id=malware["id"])["objects"] == [malware]
        assert sorted(ids_of(c.get_objects(id=[malware["id"], org["id"]]))) == sorted([malware["id"], org["id"]])
        assert c.get_objects(type="relationship")["objects"] == [rel]
        by_type = c.get_objects(type=["malware", "identity"])["objects"]
        assert sorted(o["id"] for o in by_type) == sorted([malware["id"], org["id"]])
        assert c.get_objects(type="campaign") == {"more": False}
        assert c.get_objects(id=f"malware--{uuid.uuid4()}") == {"more": False}


def test_match_version_first_last_all_and_timestamp(live_hub: LiveHub, desk: dict[str, Any]) -> None:
    versions = desk["indicator"]
    ind_id = versions[1]["id"]
    with collection(live_hub, "alpha-desk", BEN) as c:
        assert c.get_objects(id=ind_id)["objects"] == [versions[3]]
        assert c.get_objects(id=ind_id, version="last")["objects"] == [versions[3]]
        assert c.get_objects(id=ind_id, version="first")["objects"] == [versions[1]]
        assert c.get_objects(id=ind_id, version=stamp(2))["objects"] == [versions[2]]
        both = c.get_objects(id=ind_id, version=["first", "last"])["objects"]
        assert sorted(o["modified"] for o in both) == [stamp(1), stamp(3)]
        every = c.get_objects(id=ind_id, version="all")["objects"]
        assert sorted(every, key=lambda o: o["modified"]) == [versions[1], versions[2], versions[3]]
        assert len(c.get_objects(version="all")["objects"]) == 6
        assert len(c.get_objects()["objects"]) == 4


def test_match_spec_version(live_hub: LiveHub, desk: dict[str, Any]) -> None:
    with collection(live_hub, "alpha-desk", BEN) as c:
        assert len(c.get_objects(spec_version="2.1")["objects"]) == 4
        assert c.get_objects(spec_version="2.0") == {"more": False}
        with pytest.raises(requests.HTTPError) as exc_info:
            c.get_objects(spec_version="3.0")
        assert http_status(exc_info) == 400


def test_get_object_serves_the_latest_version_unless_asked(live_hub: LiveHub, desk: dict[str, Any]) -> None:
    versions = desk["indicator"]
    ind_id = versions[1]["id"]
    with collection(live_hub, "alpha-desk", BEN) as c:
        assert c.get_object(ind_id)["objects"] == [versions[3]]
        assert c.get_object(ind_id, version="first")["objects"] == [versions[1]]
        assert len(c.get_object(ind_id, version="all")["objects"]) == 3
        with pytest.raises(requests.HTTPError) as exc_info:
            c.get_object(f"indicator--{uuid.uuid4()}")
        assert http_status(exc_info) == 404


def test_versions_endpoint_lists_every_version(live_hub: LiveHub, desk: dict[str, Any]) -> None:
    ind_id = desk["indicator"][1]["id"]
    with collection(live_hub, "alpha-desk", BEN) as c:
        found = c.object_versions(ind_id)
        assert found["more"] is False
        assert sorted(found["versions"]) == [stamp(1), stamp(2), stamp(3)]
        assert c.object_versions(desk["malware"]["id"])["versions"] == [stamp(4)]


def test_manifest_describes_each_version(live_hub: LiveHub, desk: dict[str, Any]) -> None:
    ind_id = desk["indicator"][1]["id"]
    with collection(live_hub, "alpha-desk", BEN) as c:
        latest = c.get_manifest()["objects"]
        every = c.get_manifest(version="all")["objects"]
        of_indicator = c.get_manifest(id=ind_id, version="all")["objects"]
    assert len(latest) == 4 and len(every) == 6
    assert {e["id"]: e["version"] for e in latest} == {
        ind_id: stamp(3),
        desk["malware"]["id"]: stamp(4),
        desk["identity"]["id"]: stamp(5),
        desk["relationship"]["id"]: stamp(6),
    }
    assert sorted(e["version"] for e in of_indicator) == [stamp(1), stamp(2), stamp(3)]
    assert all(e["media_type"] == STIX21 for e in every)
    assert all(e["date_added"].endswith("Z") for e in every)
    # Added in the order v2, v1, v3: date_added follows arrival, not the version.
    assert [e["version"] for e in of_indicator] == [stamp(2), stamp(1), stamp(3)]


# -- deleting --------------------------------------------------------------------------------------------------------


def test_the_author_org_deletes_an_object_and_it_is_gone(live_hub: LiveHub) -> None:
    obj = indicator("To be deleted")
    with collection(live_hub, "shared", ANA) as ana, collection(live_hub, "shared", BEN) as ben:
        assert ana.add_objects({"objects": [obj]}).success_count == 1

        with pytest.raises(requests.HTTPError) as exc_info:
            ben.delete_object(obj["id"])
        assert http_status(exc_info) == 403
        assert ben.get_object(obj["id"])["objects"] == [obj]

        ana.delete_object(obj["id"])
        for reader in (ana, ben):
            with pytest.raises(requests.HTTPError) as exc_info:
                reader.get_object(obj["id"])
            assert http_status(exc_info) == 404
            assert reader.get_objects(id=obj["id"], version="all") == {"more": False}
            assert reader.get_manifest(id=obj["id"]) == {"more": False}
            with pytest.raises(requests.HTTPError) as exc_info:
                reader.object_versions(obj["id"])
            assert http_status(exc_info) == 404


def test_deleting_one_version_keeps_the_others(live_hub: LiveHub) -> None:
    object_id = f"indicator--{uuid.uuid4()}"
    v1 = indicator("Two versions", object_id=object_id, modified=stamp(1))
    v2 = indicator("Two versions, updated", object_id=object_id, modified=stamp(2))
    with collection(live_hub, "shared", ANA) as c:
        assert c.add_objects({"objects": [v1, v2]}).success_count == 2
        c.delete_object(object_id, version="first")
        assert c.object_versions(object_id)["versions"] == [stamp(2)]
        assert c.get_object(object_id, version="all")["objects"] == [v2]


def test_concurrent_adds_lose_nothing_and_readers_never_see_a_repeat(live_hub: LiveHub) -> None:
    """Four writers add 20 batches between them while a reader pages the manifest over and over."""
    batches = [[identity(f"Busy org {w}.{b}.{i}") for i in range(4)] for w in range(4) for b in range(5)]
    errors: list[BaseException] = []
    walks: list[list[dict[str, Any]]] = []
    done = threading.Event()

    def write(mine: list[list[dict[str, Any]]]) -> None:
        try:
            with collection(live_hub, "busy", BEN) as c:
                for batch in mine:
                    assert c.add_objects({"objects": batch}).success_count == len(batch)
        except BaseException as exc:
            errors.append(exc)

    def read() -> None:
        try:
            with collection(live_hub, "busy", BEN) as c:
                while not done.is_set():
                    walks.append([e for p in as_pages(c.get_manifest, per_request=6) for e in p.get("objects", [])])
        except BaseException as exc:
            errors.append(exc)

    writers = [threading.Thread(target=write, args=(batches[w::4],)) for w in range(4)]
    reader = threading.Thread(target=read)
    reader.start()
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    reader.join()
    assert errors == []

    for walk in walks:
        ids = [e["id"] for e in walk]
        assert len(ids) == len(set(ids))
        added = [e["date_added"] for e in walk]
        assert added == sorted(added)
    with collection(live_hub, "busy", BEN) as c:
        final = [e["id"] for p in as_pages(c.get_manifest, per_request=9) for e in p["objects"]]
    assert sorted(final) == sorted(o["id"] for batch in batches for o in batch)
