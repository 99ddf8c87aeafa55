"""``PeerClient`` against ``httpx.MockTransport`` peers: what is retried (unreachable, timed out, 5xx, 429 with its
``Retry-After``, a 2xx body that is not what TAXII says), what is final at once (401, 403, 404, except a hello
answered 404: not a Ribat hub), status polling after a POST, and where the federation routes are beside the API root.
No test waits: the client's ``sleep`` records the waits it asks for."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from ribat.federation import PeerClient, PeerError

ROOT = "http://peer.test/taxii2/root/"
OBJECTS = f"{ROOT}collections/remote/objects/"
HELLO = "http://peer.test/api/v1/federation/hello"
ENVELOPE = {"objects": [{"type": "indicator", "id": "indicator--00000000-0000-4000-8000-000000000001"}]}

Answer = httpx.Response | Exception


class Script:
    """A peer that gives the scripted answers in turn (the last one again once they run out)."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def ok(data: Any, **headers: str) -> httpx.Response:
    return httpx.Response(200, json=data, headers=headers)


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def client(waits: list[float]) -> Iterator[Callable[..., tuple[PeerClient, Script]]]:
    made: list[PeerClient] = []

    def make(*answers: Answer, url: str = ROOT, key: str | None = "rbt_peer_key", **options: Any) -> Any:
        script = Script(*answers)
        options.setdefault("retries", 3)
        c = PeerClient(
            url, key, hub_id="hub-here", sleep=waits.append, transport=httpx.MockTransport(script), **options
        )
        made.append(c)
        return c, script

    yield make
    for c in made:
        c.close()


def _boom(kind: type[Exception]) -> Exception:
    return kind("boom", request=httpx.Request("GET", OBJECTS))


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(_boom(httpx.ConnectError), id="connect-error"),
        pytest.param(_boom(httpx.RemoteProtocolError), id="protocol-error"),
        pytest.param(_boom(httpx.ReadTimeout), id="read-timeout"),
        pytest.param(_boom(httpx.ConnectTimeout), id="connect-timeout"),
        pytest.param(httpx.Response(500, text="internal"), id="500"),
        pytest.param(httpx.Response(502, text="bad gateway"), id="502"),
        pytest.param(httpx.Response(503, text="unavailable"), id="503"),
        pytest.param(httpx.Response(504, text="gateway timeout"), id="504"),
        pytest.param(httpx.Response(429, text="slow down"), id="429"),
        pytest.param(httpx.Response(200, text="<html>proxy error</html>"), id="2xx-not-json"),
        pytest.param(httpx.Response(200, json=[1, 2]), id="2xx-not-an-envelope"),
        pytest.param(httpx.Response(200, json={"objects": "none"}), id="2xx-objects-not-a-list"),
        pytest.param(httpx.Response(200, json={"objects": [1]}), id="2xx-objects-not-objects"),
        pytest.param(httpx.Response(200, json={"objects": [], "more": "yes"}), id="2xx-more-not-a-boolean"),
    ],
)
def test_transient_failures_are_retried_with_exponential_backoff(
    client: Any, waits: list[float], failure: Answer
) -> None:
    c, script = client(failure, failure, ok(ENVELOPE, **{"X-TAXII-Date-Added-Last": "2024-01-01T00:00:00.000001Z"}))
    page = c.objects("remote", added_after=None, limit=10)
    assert page.objects == ENVELOPE["objects"] and page.last_added == "2024-01-01T00:00:00.000001Z"
    assert len(script.requests) == 3
    assert waits == [1.0, 2.0]


def test_the_last_failure_names_the_url_the_problem_and_the_attempts(client: Any, waits: list[float]) -> None:
    c, script = client(httpx.Response(503, text="down for maintenance"), retries=2, backoff=0.5)
    with pytest.raises(PeerError) as caught:
        c.objects("remote", added_after=None, limit=10)
    assert caught.value.url == OBJECTS
    assert str(caught.value) == f"{OBJECTS}: HTTP 503: down for maintenance (gave up after 3 attempts)"
    assert len(script.requests) == 3 and waits == [0.5, 1.0]


def test_garbage_after_the_last_attempt_says_the_body_is_not_taxii(client: Any) -> None:
    c, _ = client(httpx.Response(200, text="<html>"), retries=0)
    with pytest.raises(PeerError) as caught:
        c.objects("remote", added_after=None, limit=10)
    assert "HTTP 200 with a body that is not a TAXII answer" in caught.value.reason
    assert caught.value.reason.endswith("<html> (gave up after 1 attempt)")


def test_retry_after_is_honoured_within_the_limit(client: Any, waits: list[float]) -> None:
    slow = httpx.Response(429, headers={"Retry-After": "7"})
    too_slow = httpx.Response(503, headers={"Retry-After": "3600"})
    dated = httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    c, script = client(slow, too_slow, dated, ok(ENVELOPE), max_wait=60.0)
    c.objects("remote", added_after=None, limit=10)
    # seconds are waited as asked (up to max_wait); a date is not understood, so the backoff applies.
    assert waits == [7.0, 60.0, 4.0]
    assert len(script.requests) == 4


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 422])
def test_other_client_errors_are_final_at_once(client: Any, waits: list[float], status: int) -> None:
    c, script = client(httpx.Response(status, json={"title": "no"}))
    with pytest.raises(PeerError) as caught:
        c.objects("remote", added_after=None, limit=10)
    assert caught.value.status == status
    assert str(caught.value).startswith(f"{OBJECTS}: HTTP {status}")
    assert len(script.requests) == 1 and waits == []


@pytest.mark.parametrize("status", [404, 405])
def test_hello_to_a_hub_that_has_no_federation_routes_is_none(client: Any, waits: list[float], status: int) -> None:
    c, script = client(httpx.Response(status))
    assert c.hello() is None
    assert len(script.requests) == 1 and waits == []


def test_hello_sends_this_hub_id_and_learns_the_peers(client: Any) -> None:
    c, script = client(ok({"hub_id": "hub-there"}))
    assert c.hello() == "hub-there"
    (request,) = script.requests
    assert (request.method, str(request.url)) == ("POST", HELLO)
    assert json.loads(request.content) == {"hub_id": "hub-here"}
    assert request.headers["Authorization"] == "Bearer rbt_peer_key"


@pytest.mark.parametrize("answer", [{}, {"hub_id": ""}, {"hub_id": "a,b"}, {"hub_id": 3}, {"hub_id": "h" * 65}])
def test_hello_without_a_hub_id_is_garbage_and_retried(client: Any, waits: list[float], answer: Any) -> None:
    c, script = client(ok(answer), retries=1)
    with pytest.raises(PeerError) as caught:
        c.hello()
    assert caught.value.url == HELLO and "the answer has no hub_id" in caught.value.reason
    assert len(script.requests) == 2 and waits == [1.0]


@pytest.mark.parametrize("status", [401, 403])
def test_hello_refused_is_final(client: Any, status: int) -> None:
    c, script = client(httpx.Response(status))
    with pytest.raises(PeerError) as caught:
        c.hello()
    assert caught.value.status == status and len(script.requests) == 1


def test_a_client_without_a_key_sends_no_authorization(client: Any) -> None:
    c, script = client(ok({"hub_id": "hub-there"}), key=None)
    c.hello()
    assert "Authorization" not in script.requests[0].headers


def test_objects_asks_for_every_version_after_the_checkpoint(client: Any) -> None:
    c, script = client(ok({"objects": [], "more": True, "next": "n1"}, **{"X-TAXII-Date-Added-Last": "x"}))
    page = c.objects("remote", added_after="2024-01-01T00:00:00Z", limit=50)
    assert (page.objects, page.more, page.next, page.last_added) == ([], True, "n1", "x")
    params = script.requests[0].url.params
    assert dict(params) == {"limit": "50", "match[version]": "all", "added_after": "2024-01-01T00:00:00Z"}
    c.objects("remote", added_after=None, limit=5)
    assert "added_after" not in script.requests[1].url.params


def _status(state: str, **counts: Any) -> httpx.Response:
    return ok({"id": "status-1", "status": state, **counts})


def test_add_objects_polls_a_pending_status_until_it_is_complete(client: Any, waits: list[float]) -> None:
    done = _status("complete", success_count=2, successes=[{"id": "a"}, {"id": "b"}])
    c, script = client(_status("pending"), _status("pending"), done)
    final = c.add_objects("remote", ['{"id":"a"}', '{"id":"b"}'])
    assert final["status"] == "complete" and final["success_count"] == 2
    post, *polls = script.requests
    assert post.method == "POST" and str(post.url) == OBJECTS
    assert json.loads(post.content) == {"objects": [{"id": "a"}, {"id": "b"}]}
    assert post.headers["Content-Type"] == "application/taxii+json;version=2.1"
    assert [(r.method, str(r.url)) for r in polls] == [("GET", f"{ROOT}status/status-1/")] * 2
    assert waits == [1.0, 2.0]


def test_add_objects_gives_up_on_a_status_that_stays_pending(client: Any, waits: list[float]) -> None:
    c, script = client(_status("pending"))
    with pytest.raises(PeerError) as caught:
        c.add_objects("remote", ['{"id":"a"}'], poll=3)
    assert str(caught.value) == f"{OBJECTS}: status status-1 still pending after 3 polls"
    assert len(script.requests) == 4 and len(waits) == 3


def test_add_objects_retries_an_answer_that_is_not_a_status(client: Any, waits: list[float]) -> None:
    c, script = client(ok({"objects": []}), _status("complete"))
    assert c.add_objects("remote", ['{"id":"a"}'])["status"] == "complete"
    assert len(script.requests) == 2 and waits == [1.0]


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("https://hub.example/taxii2/ribat/", "https://hub.example"),
        ("https://hub.example/taxii2/ribat", "https://hub.example"),
        ("https://hub.example/cti/hub/taxii2/ribat/", "https://hub.example/cti/hub"),
        ("http://10.0.0.5:8080/prefix/taxii2/root/", "http://10.0.0.5:8080/prefix"),
        ("https://other.example/api/v21/", "https://other.example"),
    ],
)
def test_the_federation_routes_are_found_beside_the_api_root(client: Any, url: str, base: str) -> None:
    answer = {"tombstones": [], "more": False, "next": None, "hub_id": "hub-there", "deleted": 0}
    c, script = client(ok(answer), url=url)
    assert c.api_root == (url if url.endswith("/") else url + "/")
    assert c.base == base
    c.hello()
    c.tombstones("remote", after="12:3", limit=7)
    c.send_tombstones("remote", [{"id": "x"}])
    c.objects("remote", added_after=None, limit=1)
    hello, listed, sent, objects = script.requests
    assert str(hello.url) == f"{base}/api/v1/federation/hello"
    assert listed.url.copy_with(query=None) == httpx.URL(f"{base}/api/v1/federation/collections/remote/tombstones")
    assert dict(listed.url.params) == {"limit": "7", "after": "12:3"}
    assert (sent.method, str(sent.url)) == ("POST", f"{base}/api/v1/federation/collections/remote/tombstones")
    assert json.loads(sent.content) == {"tombstones": [{"id": "x"}]}
    assert objects.url.copy_with(query=None) == httpx.URL(f"{c.api_root}collections/remote/objects/")


@pytest.mark.parametrize(
    "answer",
    [{"more": False}, {"tombstones": {}, "more": False}, {"tombstones": [], "more": "no"}, [1]],
)
def test_a_tombstones_answer_without_its_list_and_flag_is_garbage(client: Any, answer: Any) -> None:
    c, script = client(ok(answer), retries=1)
    with pytest.raises(PeerError, match="the answer has no tombstones list and 'more' flag"):
        c.tombstones("remote", after=None, limit=10)
    assert len(script.requests) == 2


def test_sent_tombstones_must_be_answered_with_a_count(client: Any) -> None:
    c, script = client(ok({"problems": []}), ok({"deleted": 2, "problems": ["x"]}))
    assert c.send_tombstones("remote", [{"id": "x"}]) == {"deleted": 2, "problems": ["x"]}
    assert len(script.requests) == 2


def test_envelopes_stay_within_the_limit_in_order_and_set_aside_what_cannot_fit() -> None:
    from ribat.federation.client import envelope, envelopes

    texts = [json.dumps({"id": f"x--{n}", "pad": "p" * (n * 10)}) for n in range(12)]
    assert envelopes(texts, None) == ([texts], [])
    assert envelopes([], 100) == ([], [])
    limit = 120
    groups, too_large = envelopes(texts, limit)
    assert all(len(envelope(g)) <= limit for g in groups)
    assert [t for g in groups for t in g] + too_large == texts
    assert too_large == [t for t in texts if len(envelope([t])) > limit]
    # Each envelope is as full as the order allows: the next object would not have fitted.
    kept = [t for t in texts if t not in too_large]
    flat = [t for g in groups for t in g]
    assert flat == kept
    assert len(groups) > 2 and too_large
    for first, second in itertools.pairwise(groups):
        assert len(envelope([*first, second[0]])) > limit
