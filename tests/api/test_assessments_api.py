"""/api/v1/assessments and /api/v1/capacity: campaigns through the API, who sees what, evidence, results,
benchmarks, reports and the error shapes, in process on both engines."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from ribat.accounts import OrgKind, Role
from ribat.capacity import Answer, Assessments, Model, score
from ribat.clock import format_us, now_us
from ribat.web import create_app
from support import AsgiClient, World, indicator

CMM = "coalition-cmm@2026.1"
DOCUMENT_LIMIT = 64 * 1024


@dataclass
class Api:
    """The coalition of ``World`` plus CERT D (Tunisia, with Dave, who takes part in nothing), and a client."""

    world: World
    app: FastAPI
    client: AsgiClient
    assessments: Assessments
    model: Model

    @property
    def ids(self) -> list[str]:
        return [i.id for i in self.model.indicators()]

    def call(self, email: str | None, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        headers = self.world.auth(email) if email else {}
        response = self.client.request(method, f"/api/v1{path}", headers=headers, **kwargs)
        assert response.status_code == status, (method, path, email, response.text)
        return response.json() if response.headers.get("content-type", "").startswith("application/json") else None

    def raw(self, email: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.request(method, f"/api/v1{path}", headers=self.world.auth(email), **kwargs)

    def final(self, org: str, lead: str, answers: dict[str, Answer]) -> str:
        """A final campaign of ``org`` led by ``lead`` on the stages model, made through the service."""
        service, accounts = self.assessments, self.world.hub.accounts
        admin, chief = accounts.principal_for("admin@hub.example"), accounts.principal_for(lead)
        found = service.create(admin, org_ref=org, model_key=CMM, title=f"{org} review", lead_ref=lead)
        given = {key: answers.get(key, Answer.NOT_MET) for key in self.ids}
        assert service.answer(chief, found.id, {k: (v, "") for k, v in given.items()}).problems == ()
        service.transition(chief, found.id, "review")
        assert service.settle_agreed(chief, found.id).saved == len(self.ids)
        service.transition(chief, found.id, "final")
        return found.id


@pytest.fixture
def api(world: World) -> Iterator[Api]:
    acc = world.hub.accounts
    org_d = acc.create_org("CERT D", "cert-d", "TN", OrgKind.NATIONAL_CERT)
    dave = acc.create_user("dave@d.example", org_d.id, Role.ANALYST)
    world.keys[dave.email] = acc.create_key(dave.id).secret
    app = create_app(hub=world.hub)
    service = Assessments.for_hub(world.hub, max_document_bytes=DOCUMENT_LIMIT)
    app.state.assessments = service
    client = AsgiClient(app)
    try:
        yield Api(world, app, client, service, service.model(CMM))
    finally:
        client.close()


def _numbers(value: Any) -> list[float]:
    """Every JSON number anywhere in ``value`` (booleans are not numbers)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return []
    if isinstance(value, int | float):
        return [value]
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    return [n for v in value for n in _numbers(v)]


def _factor_of(model: Model, indicator_id: str) -> str:
    return model.indicator(indicator_id).factor


# -- models ------------------------------------------------------------------------------------------------


def test_models_are_listed_with_counts_and_served_whole_in_three_languages(api: Api) -> None:
    listed = api.call("dave@d.example", "GET", "/capacity/models")["models"]
    by_key = {m["key"]: m for m in listed}
    cmm = by_key[CMM]
    assert (cmm["id"], cmm["kind"]) == ("coalition-cmm", "stages")
    assert (cmm["counts"]["dimensions"], cmm["counts"]["factors"], cmm["counts"]["indicators"]) == (5, 15, 75)
    assert set(cmm["title"]) >= {"en", "ar", "fr"} and cmm["title"]["ar"]
    assert any(m["kind"] == "weighted" for m in listed)

    tree = api.call("dave@d.example", "GET", "/capacity/models/coalition-cmm")  # an id alone: the newest version
    assert tree["key"] == CMM
    assert [s["id"] for s in tree["stages"]] == ["start-up", "formative", "established", "strategic", "dynamic"]
    indicators = [i for d in tree["dimensions"] for f in d["factors"] for i in f["indicators"]]
    assert [i["id"] for i in indicators] == api.ids
    assert all(i["text"]["en"] and i["text"]["ar"] and i["text"]["fr"] for i in indicators)
    assert indicators[0]["stage"] == "start-up"


# -- a whole campaign --------------------------------------------------------------------------------------


def test_a_campaign_runs_from_draft_to_final_through_the_api(api: Api) -> None:
    ids = api.ids
    created = api.call(
        "admin@hub.example",
        "POST",
        "/assessments",
        201,
        json={"org": "cert-a", "model": "coalition-cmm", "title": "Malaysia 2026", "lead": "alice@a.example"},
    )
    aid = created["id"]
    assert (created["state"], created["country"], created["model"]) == ("draft", "MY", CMM)
    assert created["role"] == "observer" and created["access"]["code"] == "participant"
    assert created["lead_user_id"] == api.world.alice.id

    api.call("alice@a.example", "POST", f"/assessments/{aid}/participants", json={"user": "bob@b.example"})
    shown = api.call(
        "alice@a.example",
        "POST",
        f"/assessments/{aid}/participants",
        json={"user": "carol@c.example", "role": "contributor"},
    )
    roles = {p["email"]: p["role"] for p in shown["participants"]}
    assert roles == {
        "alice@a.example": "lead",
        "admin@hub.example": "observer",
        "bob@b.example": "contributor",
        "carol@c.example": "contributor",
    }

    # Bob and Carol answer; they disagree on three indicators.
    bob = {key: "met" if n < 40 else "not_met" for n, key in enumerate(ids)}
    carol = dict(bob)
    disputed = [ids[0], ids[5], ids[50]]
    carol[ids[0]], carol[ids[5]], carol[ids[50]] = "not_met", "partly_met", "met"
    for email, answers in (("bob@b.example", bob), ("carol@c.example", carol)):
        body = {"answers": [{"indicator_id": k, "answer": v, "comment": ""} for k, v in answers.items()]}
        assert api.call(email, "PUT", f"/assessments/{aid}/answers", json=body) == {"saved": 75, "problems": []}

    # Dave's organisation takes no part: the campaign does not exist for him.
    for method, path in (
        ("GET", f"/assessments/{aid}"),
        ("GET", f"/assessments/{aid}/contributions"),
        ("GET", f"/assessments/{aid}/evidence"),
        ("GET", f"/assessments/{aid}/review"),
        ("GET", f"/assessments/{aid}/result"),
        ("GET", f"/assessments/{aid}/events"),
    ):
        error = api.call("dave@d.example", method, path, 404)
        assert error["error"]["code"] == 404
    api.call("dave@d.example", "PUT", f"/assessments/{aid}/answers", 404, json={"answers": []})
    assert api.call("dave@d.example", "GET", "/assessments") == {
        "items": [],
        "total": 0,
        "limit": 50,
        "offset": 0,
        "next": None,
    }
    # Anna is of the assessed organisation: she sees the campaign without taking part.
    anna = api.call("anna@a.example", "GET", "/assessments")
    assert [(x["id"], x["access"]["code"], x["role"]) for x in anna["items"]] == [(aid, "assessed", None)]

    # The observer cannot answer, a contributor cannot move the campaign.
    one = {"answers": [{"indicator_id": ids[1], "answer": "met"}]}
    api.call("admin@hub.example", "PUT", f"/assessments/{aid}/answers", 403, json=one)
    api.call("bob@b.example", "POST", f"/assessments/{aid}/state", 403, json={"state": "review"})

    assert api.call("alice@a.example", "POST", f"/assessments/{aid}/state", json={"state": "review"})["state"] == (
        "review"
    )
    conflict = api.call("bob@b.example", "PUT", f"/assessments/{aid}/answers", 409, json=one)
    assert conflict["error"]["state"] == "review"

    settled = api.call("alice@a.example", "POST", f"/assessments/{aid}/consensus/agreed")
    assert settled == {"saved": 72, "problems": []}
    early = api.call("alice@a.example", "POST", f"/assessments/{aid}/state", 400, json={"state": "final"})
    assert early["error"]["field"] == "state" and "3 indicator(s)" in early["error"]["detail"]

    decided = {ids[0]: "not_met", ids[5]: "met", ids[50]: "met"}
    body = {
        "answers": [{"indicator_id": k, "answer": v, "comment": "agreed in the review"} for k, v in decided.items()]
    }
    assert api.call("alice@a.example", "PUT", f"/assessments/{aid}/consensus", json=body) == {
        "saved": 3,
        "problems": [],
    }

    review = api.call("bob@b.example", "GET", f"/assessments/{aid}/review")
    assert (review["indicators"], review["settled"], review["disputed"], review["unsettled"]) == (75, 75, 3, 0)
    items = {i["indicator_id"]: i for i in review["items"]}
    assert [key for key, item in items.items() if item["disputed"]] == disputed
    first = items[ids[0]]
    assert first["disputed"] is True and first["agreed"] is None
    assert first["consensus"]["answer"] == "not_met"
    assert {(d["user_id"], d["answer"]) for d in first["consensus"]["disagreement"]} == {
        (api.world.bob.id, "met"),
        (api.world.carol.id, "not_met"),
    }
    assert items[ids[1]]["consensus"]["disagreement"] == [] and items[ids[1]]["agreed"] == "met"

    final = api.call("alice@a.example", "POST", f"/assessments/{aid}/state", json={"state": "final"})
    assert final["state"] == "final" and final["finalised"] is not None and final["final_digest"]

    # A final campaign changes no more.
    link = {"indicator_id": ids[0], "url": "https://example.org/strategy.pdf"}
    for email, method, path, json_body in (
        ("bob@b.example", "PUT", "/answers", one),
        ("alice@a.example", "PUT", "/consensus", one),
        ("alice@a.example", "POST", "/consensus/agreed", None),
        ("alice@a.example", "POST", "/evidence", link),
        ("alice@a.example", "POST", "/participants", {"user": "dave@d.example"}),
        ("alice@a.example", "DELETE", f"/participants/{api.world.bob.id}", None),
        ("alice@a.example", "PUT", "/target", {"stage": "strategic"}),
    ):
        error = api.call(email, method, f"/assessments/{aid}{path}", 409, json=json_body)
        assert error["error"]["state"] == "final", path
    upload = api.raw(
        "bob@b.example",
        "POST",
        f"/assessments/{aid}/evidence/documents",
        params={"indicator_id": ids[0], "filename": "plan.txt"},
        content=b"the plan",
    )
    assert upload.status_code == 409, upload.text

    # The result scores the consensus.
    result = api.call("bob@b.example", "GET", f"/assessments/{aid}/result")
    assert result["provisional"] is False and result["model"] == CMM and result["weighted"] is None
    consensus = {**{k: v for k, v in bob.items() if k not in decided}, **decided}
    assert result["answers"] == dict(sorted(consensus.items()))
    expected = score(api.model, {k: Answer(v) for k, v in consensus.items()})
    stages = {f["id"]: f["stage"] for d in result["stages"]["dimensions"] for f in d["factors"]}
    assert stages == {f.factor_id: f.stage for d in expected.dimensions for f in d.factors}  # type: ignore[union-attr]
    assert stages[_factor_of(api.model, ids[0])] == 0  # its start-up indicator settled as not met
    assert stages[_factor_of(api.model, ids[5])] == 5  # every indicator met
    assert stages[_factor_of(api.model, ids[50])] == 1  # start-up met, nothing above
    gap_ids = {g["id"] for g in result["roadmap"]["gaps"]}
    assert f"gap:{CMM}:{_factor_of(api.model, ids[0])}:start-up" in gap_ids
    assert result["comparison"] is None

    events = [e["action"] for e in api.call("alice@a.example", "GET", f"/assessments/{aid}/events")["events"]]
    assert events[0] == "created" and events.count("state") == 2 and "settled" in events


def test_participants_are_managed_by_the_lead_only(api: Api) -> None:
    aid = api.call(
        "alice@a.example", "POST", "/assessments", 201, json={"org": "cert-a", "model": CMM, "title": "Self review"}
    )["id"]
    api.call("alice@a.example", "POST", f"/assessments/{aid}/participants", json={"user": "bob@b.example"})
    api.call("bob@b.example", "POST", f"/assessments/{aid}/participants", 403, json={"user": "carol@c.example"})
    bad = api.call(
        "alice@a.example",
        "POST",
        f"/assessments/{aid}/participants",
        400,
        json={"user": "carol@c.example", "role": "x"},
    )
    assert bad["error"]["field"] == "role"
    api.call("alice@a.example", "POST", f"/assessments/{aid}/participants", 404, json={"user": "nobody@x.example"})
    left = api.call("alice@a.example", "DELETE", f"/assessments/{aid}/participants/bob@b.example")
    assert [p["email"] for p in left["participants"]] == ["alice@a.example"]
    api.call("bob@b.example", "GET", f"/assessments/{aid}", 404)
    # Carol's organisation is not the assessed one: she may not open a campaign for it.
    api.call("carol@c.example", "POST", "/assessments", 403, json={"org": "cert-a", "model": CMM, "title": "No"})


# -- visibility --------------------------------------------------------------------------------------------


def test_shared_results_reach_exactly_the_organisations_chosen(api: Api) -> None:
    aid = api.final("cert-a", "alice@a.example", {key: Answer.MET for key in api.ids[:20]})
    results = (f"/assessments/{aid}", f"/assessments/{aid}/result", f"/assessments/{aid}/report")
    record = (
        f"/assessments/{aid}/contributions",
        f"/assessments/{aid}/evidence",
        f"/assessments/{aid}/events",
        f"/assessments/{aid}/review",
    )
    for path in results + record:
        api.call("dave@d.example", "GET", path, 404)

    # Only the lead or the assessed organisation's analysts decide; an unknown organisation is named.
    api.call("bob@b.example", "PUT", f"/assessments/{aid}/visibility", 404, json={"scope": "coalition"})
    unknown = api.call(
        "alice@a.example",
        "PUT",
        f"/assessments/{aid}/visibility",
        400,
        json={"scope": "organisations", "organisations": ["cert-d", "cert-zz"]},
    )
    assert unknown["error"]["field"] == "organisations" and "cert-zz" in unknown["error"]["detail"]
    shared = api.call(
        "alice@a.example",
        "PUT",
        f"/assessments/{aid}/visibility",
        json={"scope": "organisations", "organisations": ["cert-d"]},
    )
    assert shared["visibility"] == {"scope": "organisations", "circles": [], "organisations": [api_org(api, "cert-d")]}

    seen = api.call("dave@d.example", "GET", f"/assessments/{aid}")
    assert seen["access"] == {
        "level": "results",
        "code": "organisation",
        "reason": "the assessed country shared these results with your organisation",
    }
    assert seen["participants"] is None and seen["lead_user_id"] is None and seen["visibility"] is None
    assert api.call("dave@d.example", "GET", f"/assessments/{aid}/result")["provisional"] is False
    report = api.raw("dave@d.example", "GET", f"/assessments/{aid}/report")
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    for path in record:
        assert api.call("dave@d.example", "GET", path, 403)["error"]["code"] == 403
    assert [x["id"] for x in api.call("dave@d.example", "GET", "/assessments")["items"]] == [aid]
    api.call("carol@c.example", "GET", f"/assessments/{aid}", 404)
    assert api.call("carol@c.example", "GET", "/assessments")["total"] == 0

    # A trust circle: Bob's organisation is in "wg", Carol's is not.
    api.call("alice@a.example", "PUT", f"/assessments/{aid}/visibility", json={"scope": "circles", "circles": ["wg"]})
    assert api.call("bob@b.example", "GET", f"/assessments/{aid}")["access"]["code"] == "circle"
    api.call("carol@c.example", "GET", f"/assessments/{aid}", 404)
    api.call("dave@d.example", "GET", f"/assessments/{aid}", 404)

    api.call("alice@a.example", "PUT", f"/assessments/{aid}/visibility", json={"scope": "coalition"})
    for email in ("bob@b.example", "carol@c.example", "dave@d.example"):
        assert api.call(email, "GET", f"/assessments/{aid}")["access"]["code"] == "coalition"
        api.call(email, "GET", f"/assessments/{aid}/result")
        api.call(email, "GET", f"/assessments/{aid}/contributions", 403)


def api_org(api: Api, short_name: str) -> str:
    return api.world.hub.accounts.get_org(short_name).id


def test_a_draft_campaign_is_never_shared_whatever_its_visibility(api: Api) -> None:
    aid = api.call(
        "alice@a.example", "POST", "/assessments", 201, json={"org": "cert-a", "model": CMM, "title": "Draft"}
    )["id"]
    api.call("alice@a.example", "PUT", f"/assessments/{aid}/visibility", json={"scope": "coalition"})
    api.call("dave@d.example", "GET", f"/assessments/{aid}", 404)
    listed = api.call("dave@d.example", "GET", "/assessments", params={"state": "draft"})
    assert listed["total"] == 0


# -- evidence ----------------------------------------------------------------------------------------------


def test_evidence_links_and_documents_round_trip_safely(api: Api) -> None:
    ids = api.ids
    aid = api.call(
        "alice@a.example", "POST", "/assessments", 201, json={"org": "cert-a", "model": CMM, "title": "Evidence"}
    )["id"]
    api.call("alice@a.example", "POST", f"/assessments/{aid}/participants", json={"user": "bob@b.example"})
    base = f"/assessments/{aid}/evidence"

    link = api.call(
        "bob@b.example",
        "POST",
        base,
        201,
        json={"indicator_id": ids[2], "url": "https://example.org/strategy", "title": "National strategy"},
    )
    assert (link["kind"], link["status"], link["url"], link["content"]) == (
        "link",
        "accepted",
        "https://example.org/strategy",
        None,
    )
    bad = api.call("bob@b.example", "POST", base, 400, json={"indicator_id": ids[2], "url": "javascript:alert(1)"})
    assert bad["error"]["field"] == "url"

    content = b"%PDF-1.7\n\x00\xff\xfe binary body\n%%EOF\n"
    doc = api.call(
        "bob@b.example",
        "POST",
        f"{base}/documents",
        201,
        params={"indicator_id": ids[2], "filename": "../../etc/passwd.pdf", "title": "Plan"},
        content=content,
    )
    assert (doc["kind"], doc["filename"], doc["media_type"], doc["size"]) == (
        "document",
        "passwd.pdf",
        "application/pdf",
        len(content),
    )
    assert doc["sha256"] == hashlib.sha256(content).hexdigest()
    download = api.raw("bob@b.example", "GET", doc["content"].removeprefix("/api/v1"))
    assert download.status_code == 200 and download.content == content
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-disposition"] == (
        "attachment; filename=\"passwd.pdf\"; filename*=UTF-8''passwd.pdf"
    )

    arabic = api.call(
        "bob@b.example",
        "POST",
        f"{base}/documents",
        201,
        params={"indicator_id": ids[3], "filename": 'خطة "وطنية".txt'},
        content="نص الخطة".encode(),
    )
    disposition = api.raw("bob@b.example", "GET", arabic["content"].removeprefix("/api/v1")).headers[
        "content-disposition"
    ]
    assert disposition.startswith('attachment; filename="')
    assert disposition.endswith("filename*=UTF-8''%D8%AE%D8%B7%D8%A9%20_%D9%88%D8%B7%D9%86%D9%8A%D8%A9_.txt")
    assert disposition.isascii() and disposition.count('"') == 2

    exe = api.call(
        "bob@b.example",
        "POST",
        f"{base}/documents",
        400,
        params={"indicator_id": ids[2], "filename": "tool.exe"},
        content=b"MZ\x90\x00",
    )
    assert exe["error"]["field"] == "document" and ".exe" in exe["error"]["detail"]
    fake = api.call(
        "bob@b.example",
        "POST",
        f"{base}/documents",
        400,
        params={"indicator_id": ids[2], "filename": "a.pdf"},
        content=b"<html>",
    )
    assert "not a PDF" in fake["error"]["detail"]
    big = api.raw(
        "bob@b.example",
        "POST",
        f"{base}/documents",
        params={"indicator_id": ids[2], "filename": "big.txt"},
        content=b"x" * (DOCUMENT_LIMIT + 1),
    )
    assert big.status_code == 413 and big.json()["error"]["limit"] == DOCUMENT_LIMIT
    # Anna sees the campaign (her organisation is assessed) but takes no part: no upload for her.
    api.call("anna@a.example", "POST", f"{base}/documents", 403, params={"indicator_id": ids[2], "filename": "a.txt"})
    for path in (base, doc["content"].removeprefix("/api/v1")):
        api.call("dave@d.example", "GET", path, 404)

    # The lead (not a contributor) accepts or rejects; whoever added an item may remove it.
    api.call("bob@b.example", "POST", f"{base}/{link['id']}/decision", 403, json={"accept": False})
    rejected = api.call("alice@a.example", "POST", f"{base}/{link['id']}/decision", json={"accept": False})
    assert rejected["status"] == "rejected" and rejected["decided_by"] == api.world.alice.id
    api.call("bob@b.example", "DELETE", f"{base}/{doc['id']}", 204)
    listed = api.call("alice@a.example", "GET", base)["evidence"]
    assert sorted(e["id"] for e in listed) == sorted([link["id"], arabic["id"]])
    api.call("bob@b.example", "GET", doc["content"].removeprefix("/api/v1"), 404)


def test_platform_figures_are_proposed_once_and_decided_by_the_lead(api: Api) -> None:
    alice = api.world.principal("alice@a.example")
    status = api.world.hub.intel.ingest(alice, "shared", {"objects": [indicator(n) for n in range(1, 4)]})
    assert status.failure_count == 0
    moment = now_us()
    # A still clock: the window of the second proposal is the window of the first.
    api.app.state.assessments = Assessments.for_hub(api.world.hub, now=lambda: moment)
    aid = api.call(
        "admin@hub.example",
        "POST",
        "/assessments",
        201,
        json={"org": "cert-a", "model": CMM, "title": "Platform", "lead": "alice@a.example"},
    )["id"]
    api.call("alice@a.example", "POST", f"/assessments/{aid}/participants", json={"user": "bob@b.example"})
    path = f"/assessments/{aid}/evidence/platform"

    proposed = api.call("bob@b.example", "POST", path, json={"days": 30})
    wanted = {(i.id, metric) for i in api.model.indicators() for metric in i.evidence}
    assert wanted and proposed["proposed"] == len(wanted)
    items = proposed["evidence"]
    assert {(e["indicator_id"], e["metric"]) for e in items} == wanted
    assert {(e["kind"], e["status"]) for e in items} == {("platform", "proposed")}
    assert all(e["value"] and "CERT A" in e["query"] for e in items)
    assert {(e["window_start"], e["window_end"]) for e in items} == {
        (format_us(moment - 30 * 86_400_000_000), format_us(moment))
    }
    again = api.call("bob@b.example", "POST", path, json={"days": 30})
    assert again == {"proposed": 0, "evidence": []}  # the same window: nothing new
    year = api.call("bob@b.example", "POST", path)["evidence"]  # a year by default: a new window
    assert len(year) == len(wanted) and year[0]["window_start"] == format_us(moment - 365 * 86_400_000_000)
    tree = api.call("bob@b.example", "GET", f"/capacity/models/{CMM}")
    listed = {i["id"]: i["evidence"] for d in tree["dimensions"] for f in d["factors"] for i in f["indicators"]}
    assert {(key, metric) for key, metrics in listed.items() for metric in metrics} == wanted

    api.call("admin@hub.example", "POST", path, 403)  # an observer adds no evidence
    api.call("dave@d.example", "POST", path, 404)
    api.call("bob@b.example", "POST", path, 400, json={"days": 0})
    first = items[0]["id"]
    api.call("bob@b.example", "POST", f"/assessments/{aid}/evidence/{first}/decision", 403, json={"accept": True})
    accepted = api.call(
        "alice@a.example", "POST", f"/assessments/{aid}/evidence/{first}/decision", json={"accept": True}
    )
    assert accepted["status"] == "accepted"


# -- benchmarks, reports, progress ---------------------------------------------------------------------------


def test_benchmark_shows_no_number_until_three_countries_have_a_final(api: Api) -> None:
    ids = api.ids
    api.final("cert-a", "alice@a.example", {key: Answer.MET for key in ids[:30]})
    api.final("cert-b", "bob@b.example", {key: Answer.MET for key in ids[:10]})

    two = api.call("dave@d.example", "GET", f"/capacity/benchmarks/{CMM}")
    assert two["available"] is True and two["countries"] is None and two["own"] is None
    aggregates = [two["overall"], *two["dimensions"], *two["factors"]]
    assert len(aggregates) == 1 + 5 + 15
    for subject in aggregates:
        assert subject["level"] == {"suppressed": True, "reason": "fewer than 3"}
        assert subject["completion"] == {"suppressed": True, "reason": "fewer than 3"}
    assert _numbers(two) == []
    # Alice's country has a final she may read: her own values stand beside aggregates that still say nothing.
    mine = api.call("alice@a.example", "GET", f"/capacity/benchmarks/{CMM}")
    assert mine["own"]["country"] == "MY"
    overall = next(p for p in mine["own"]["positions"] if p["scope"] == "overall")
    assert overall["level"]["value"] is not None and overall["level"]["below_q1"] is None
    assert _numbers([mine["overall"], mine["dimensions"], mine["factors"], mine["countries"]]) == []

    api.final("cert-c", "carol@c.example", {key: Answer.MET for key in ids[:50]})
    three = api.call("dave@d.example", "GET", f"/capacity/benchmarks/{CMM}")
    assert three["countries"] == 3
    level = three["overall"]["level"]
    assert level["suppressed"] is False and level["count"] == 3
    assert level["q1"] <= level["median"] <= level["q3"]
    assert _numbers(three)


def test_report_comes_as_pdf_and_as_right_to_left_html(api: Api) -> None:
    aid = api.final("cert-a", "alice@a.example", {key: Answer.MET for key in api.ids[:25]})
    pdf = api.raw("alice@a.example", "GET", f"/assessments/{aid}/report", params={"format": "pdf", "lang": "fr"})
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-disposition"].startswith("attachment;")
    html = api.raw("anna@a.example", "GET", f"/assessments/{aid}/report", params={"lang": "ar"})
    assert html.status_code == 200 and html.headers["content-type"] == "text/html; charset=utf-8"
    assert 'dir="rtl"' in html.text and html.headers["x-content-type-options"] == "nosniff"
    bad = api.call("alice@a.example", "GET", f"/assessments/{aid}/report", 400, params={"lang": "de"})
    assert bad["error"]["field"] == "language"


def test_a_second_campaign_is_compared_with_the_previous_final(api: Api) -> None:
    ids = api.ids
    before = api.final("cert-a", "alice@a.example", {key: Answer.MET for key in ids[:10]})
    after = api.final("cert-a", "alice@a.example", {key: Answer.MET for key in ids[:20]})
    assert api.call("alice@a.example", "GET", f"/assessments/{after}")["previous_id"] == before
    result = api.call("alice@a.example", "GET", f"/assessments/{after}/result")
    assert result["comparison"]["previous_id"] == before and result["comparison"]["improved"] > 0
    compared = api.call("alice@a.example", "GET", f"/assessments/{after}/compare/{before}")
    assert (compared["before_id"], compared["after_id"]) == (before, after)
    changes = {(c["scope"], c["subject_id"]): c for c in compared["changes"]}
    factor = _factor_of(api.model, ids[12])  # met only in the later campaign
    assert changes[("factor", factor)]["before"] == 0 and changes[("factor", factor)]["after"] == 5
    api.call("dave@d.example", "GET", f"/assessments/{after}/compare/{before}", 404)


def test_answers_export_as_csv_and_json(api: Api) -> None:
    aid = api.final("cert-a", "alice@a.example", {key: Answer.MET for key in api.ids[:5]})
    csv = api.raw("alice@a.example", "GET", f"/assessments/{aid}/export", params={"format": "csv"})
    assert csv.status_code == 200 and csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv.headers["content-disposition"].startswith(f'attachment; filename="assessment-{aid}.csv"')
    assert csv.text.splitlines()[0].startswith("assessment_id,")
    data = api.call("alice@a.example", "GET", f"/assessments/{aid}/export", params={"format": "json", "lang": "fr"})
    assert data["assessment"]["id"] == aid and len(data["answers"]) == 75
    assert data["answers"][0]["consensus"]["answer"] == "met"
    api.call("dave@d.example", "GET", f"/assessments/{aid}/export", 404)
    api.call("alice@a.example", "GET", f"/assessments/{aid}/export", 400, params={"format": "xlsx"})


# -- error shapes ------------------------------------------------------------------------------------------


def test_bad_answers_are_reported_and_the_rest_saved(api: Api) -> None:
    ids = api.ids
    aid = api.call(
        "alice@a.example", "POST", "/assessments", 201, json={"org": "cert-a", "model": CMM, "title": "Answers"}
    )["id"]
    path = f"/assessments/{aid}/answers"

    only_bad = api.call(
        "alice@a.example", "PUT", path, 400, json={"answers": [{"indicator_id": ids[0], "answer": "maybe"}]}
    )
    error = only_bad["error"]
    assert (error["code"], error["title"], error["field"]) == (400, "Bad request", "answers")
    assert f"{ids[0]}: answer: 'maybe' is not one of met, partly_met, not_met, unknown" in error["detail"]

    mixed = api.call(
        "alice@a.example",
        "PUT",
        path,
        json={
            "answers": [
                {"indicator_id": ids[0], "answer": "partly met", "comment": "a draft exists"},
                {"indicator_id": "cmm.d9.f9.i9", "answer": "met"},
                {"indicator_id": ids[1], "answer": "sometimes"},
                {"indicator_id": ids[0], "answer": "met"},
            ]
        },
    )
    assert mixed["saved"] == 1
    assert mixed["problems"] == [
        f"{ids[0]}: given more than once; the first answer was kept",
        f"cmm.d9.f9.i9: not an indicator of {CMM}",
        f"{ids[1]}: answer: 'sometimes' is not one of met, partly_met, not_met, unknown",
    ]
    mine = api.call("alice@a.example", "GET", f"/assessments/{aid}/contributions")["contributions"]
    assert [(c["indicator_id"], c["answer"], c["comment"]) for c in mine] == [(ids[0], "partly_met", "a draft exists")]

    shape = api.call("alice@a.example", "PUT", path, 400, json={"answers": [{"indicator_id": ids[0]}]})
    assert "answer" in shape["error"]["detail"]
    assert api.call("alice@a.example", "PUT", path, json={"answers": []}) == {"saved": 0, "problems": []}


def test_unknown_things_are_404_and_bad_parameters_400(api: Api) -> None:
    missing = api.call("alice@a.example", "GET", "/capacity/models/no-such-model", 404)["error"]
    assert (missing["kind"], missing["key"]) == ("model", "no-such-model")
    api.call("alice@a.example", "GET", "/capacity/models/coalition-cmm@0.0", 404)
    api.call("alice@a.example", "GET", "/capacity/benchmarks/no-such-model", 404)
    created = api.call(
        "alice@a.example", "POST", "/assessments", 404, json={"org": "cert-a", "model": "nope@1", "title": "x"}
    )
    assert created["error"]["kind"] == "model"
    api.call("alice@a.example", "GET", "/assessments/no-such-id", 404)
    assert api.call("alice@a.example", "GET", "/assessments", 400, params={"state": "done"})["error"]["field"] == (
        "state"
    )
    api.call("alice@a.example", "GET", "/assessments", 400, params={"limit": 0})
    untitled = api.call(
        "alice@a.example", "POST", "/assessments", 400, json={"org": "cert-a", "model": CMM, "title": "  "}
    )
    assert untitled["error"]["field"] == "title"
    assert api.call(None, "GET", "/assessments", 401)["error"]["code"] == 401


def test_list_pages_and_filters(api: Api) -> None:
    made = [
        api.call(
            "admin@hub.example", "POST", "/assessments", 201, json={"org": org, "model": CMM, "title": f"{org} {n}"}
        )["id"]
        for n, org in enumerate(("cert-a", "cert-b", "cert-a"))
    ]
    page = api.call("admin@hub.example", "GET", "/assessments", params={"limit": 2})
    assert (page["total"], len(page["items"]), page["next"]) == (3, 2, 2)
    rest = api.call("admin@hub.example", "GET", "/assessments", params={"limit": 2, "offset": page["next"]})
    assert (len(rest["items"]), rest["next"]) == (1, None)
    assert {x["id"] for x in page["items"] + rest["items"]} == set(made)
    mine = api.call("admin@hub.example", "GET", "/assessments", params={"country": "my", "model": "coalition-cmm"})
    assert sorted(x["id"] for x in mine["items"]) == sorted([made[0], made[2]])
    assert api.call("admin@hub.example", "GET", "/assessments", params={"state": "final"})["total"] == 0


def test_answers_import_from_a_file_keeps_good_rows_and_reports_bad_ones_by_line(api: Api) -> None:
    made = api.call(
        "admin@hub.example",
        "POST",
        "/assessments",
        201,
        json={"org": "cert-a", "model": CMM, "title": "t", "lead": "alice@a.example"},
    )
    aid = made["id"]
    api.call(
        "alice@a.example",
        "POST",
        f"/assessments/{aid}/participants",
        json={"user": "bob@b.example", "role": "contributor"},
    )
    first, second, third = api.ids[:3]
    body = f"indicator_id,answer,comment\n{first},met,ok\n{second},perhaps,\n{third},not_met,\n".encode()
    url = f"/assessments/{aid}/answers/import"
    params = {"filename": "answers.csv"}
    api.call("dave@d.example", "POST", url, 404, content=body, params=params)
    api.call("admin@hub.example", "POST", url, 403, content=body, params=params)  # an observer does not answer
    done = api.call("bob@b.example", "POST", url, content=body, params=params)
    assert done["saved"] == 2 and len(done["problems"]) == 1 and "line 3" in done["problems"][0]
    mine = api.call("bob@b.example", "GET", f"/assessments/{aid}/contributions")
    assert sorted(c["indicator_id"] for c in mine["contributions"]) == [first, third]
    bad = api.call("bob@b.example", "POST", url, 400, content="indicator_id,answer\nx,\xe9".encode("latin-1"))
    assert bad["error"]["field"] == "encoding"
    api.call("alice@a.example", "POST", f"/assessments/{aid}/state", json={"state": "review"})
    api.call("bob@b.example", "POST", url, 403, content=body, params={**params, "consensus": "true"})
    settled = api.call("alice@a.example", "POST", url, content=body, params={**params, "consensus": "true"})
    assert settled["saved"] == 2
    review = {r["indicator_id"]: r for r in api.call("alice@a.example", "GET", f"/assessments/{aid}/review")["items"]}
    assert review[first]["consensus"]["answer"] == "met"
