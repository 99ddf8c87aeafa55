"""/api/v1 endpoints: feeds and their runs.

An admin sees and manages every feed; any other member sees the feeds of their own
organisation, and writers (not readers) may define, change, run and remove them. A feed
of another organisation is "not found". Credentials given for a source are never
answered back (``credentials`` says only ``api-key``, ``basic`` or null).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse, Response

from ribat.accounts import Principal
from ribat.clock import format_us
from ribat.feeds import Credentials, Feed, FeedRun, Feeds
from ribat.hub import Hub
from ribat.web.auth import authenticate

__all__ = ["feed_resource", "router", "run_resource"]

router = APIRouter()

Caller = Annotated[Principal, Depends(authenticate)]


def _feeds(request: Request) -> Feeds:
    """The application's Feeds (made on first use; its HTTP client is reused)."""
    feeds: Feeds | None = getattr(request.app.state, "feeds", None)
    if feeds is None:
        hub: Hub = request.app.state.hub
        feeds = Feeds.for_hub(hub)
        request.app.state.feeds = feeds
    return feeds


def _time(us: int | None) -> str | None:
    return None if us is None else format_us(us)


def run_resource(run: FeedRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "feed_id": run.feed_id,
        "trigger": run.trigger.value,
        "status": run.status.value,
        "started": format_us(run.started_us),
        "finished": _time(run.finished_us),
        "duration_ms": run.duration_ms,
        "fetched": run.fetched,
        "stored": run.stored,
        "merged": run.merged,
        "failed": run.failed,
        "lost": run.lost,
        "error": run.error,
        "problems": list(run.problems),
    }


def feed_resource(feed: Feed) -> dict[str, Any]:
    return {
        "id": feed.id,
        "name": feed.name,
        "kind": feed.kind.value,
        "source": feed.source,
        "collection_id": feed.collection_id,
        "owner_org_id": feed.owner_org_id,
        "owner_user_id": feed.owner_user_id,
        "every_minutes": feed.interval_minutes,
        "tlp": None if feed.tlp is None else feed.tlp.label,
        "tags": list(feed.tags),
        "mapping": feed.mapping,
        "credentials": None if feed.credentials is None else feed.credentials.kind,
        "enabled": feed.enabled,
        "next_due": format_us(feed.next_due_us),
        "consecutive_failures": feed.consecutive_failures,
        "created": format_us(feed.created_us),
        "cursor": feed.cursor,
        "last_run": None if feed.last_run is None else run_resource(feed.last_run),
    }


class _Credentials(BaseModel):
    api_key: str | None = None
    username: str | None = None
    password: str | None = None

    def credentials(self) -> Credentials | None:
        if self.api_key is None and self.username is None and self.password is None:
            return None
        return Credentials(api_key=self.api_key, username=self.username, password=self.password)


class NewFeed(_Credentials):
    """A feed to define. ``user`` (email or id) is whom objects are imported for; the
    caller by default."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: str
    source: str
    collection: str
    user: str | None = None
    every: int = Field(default=60, description="Minutes between runs (at least 1).")
    tlp: str | None = None
    tags: list[str] = Field(default_factory=list)
    mapping: dict[str, str] = Field(default_factory=dict)
    enabled: bool = True


class FeedChange(_Credentials):
    """What to change; absent fields stay. ``tlp: null`` clears the feed's TLP; giving any
    credential field replaces the credentials (all three null clears them)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    source: str | None = None
    collection: str | None = None
    user: str | None = None
    every: int | None = None
    tlp: str | None = None
    tags: list[str] | None = None
    mapping: dict[str, str] | None = None
    enabled: bool | None = None


@router.get("/feeds")
def list_feeds(request: Request, principal: Caller) -> JSONResponse:
    """Feeds the caller may see, by name, each with its last run."""
    return JSONResponse({"feeds": [feed_resource(f) for f in _feeds(request).list(by=principal)]})


@router.post("/feeds", status_code=201)
def add_feed(request: Request, body: NewFeed, principal: Caller) -> JSONResponse:
    """Define a feed; it is due at once when enabled."""
    feed = _feeds(request).add(
        body.name,
        kind=body.kind,
        source=body.source,
        collection=body.collection,
        user=body.user or principal.user.id,
        every=body.every,
        tlp=body.tlp,
        tags=body.tags,
        mapping=body.mapping,
        credentials=body.credentials(),
        enabled=body.enabled,
        by=principal,
    )
    return JSONResponse(feed_resource(feed), status_code=201)


@router.get("/feeds/{feed_id}")
def get_feed(request: Request, feed_id: str, principal: Caller) -> JSONResponse:
    return JSONResponse(feed_resource(_feeds(request).get(feed_id, by=principal)))


@router.patch("/feeds/{feed_id}")
def change_feed(request: Request, feed_id: str, body: FeedChange, principal: Caller) -> JSONResponse:
    given = body.model_fields_set
    options: dict[str, Any] = {
        name: getattr(body, name)
        for name in ("name", "source", "collection", "user", "every", "tags", "mapping", "enabled")
        if name in given and getattr(body, name) is not None
    }
    if "tlp" in given:
        options["tlp"] = body.tlp
    if given & {"api_key", "username", "password"}:
        options["credentials"] = body.credentials()
    return JSONResponse(feed_resource(_feeds(request).update(feed_id, by=principal, **options)))


@router.delete("/feeds/{feed_id}", status_code=204)
def remove_feed(request: Request, feed_id: str, principal: Caller) -> Response:
    """Remove a feed and its run records; the objects it imported stay."""
    _feeds(request).remove(feed_id, by=principal)
    return Response(status_code=204)


@router.post("/feeds/{feed_id}/run")
def run_feed(request: Request, feed_id: str, principal: Caller) -> JSONResponse:
    """Run the feed now and answer its run record (409 when it is already running)."""
    return JSONResponse(run_resource(_feeds(request).run(feed_id, by=principal)))


@router.get("/feeds/{feed_id}/runs")
def feed_runs(
    request: Request,
    feed_id: str,
    principal: Caller,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JSONResponse:
    """The feed's runs, newest first."""
    runs = _feeds(request).runs(feed_id, limit, offset, by=principal)
    return JSONResponse({"runs": [run_resource(r) for r in runs]})
