"""The ASGI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from ribat import __version__
from ribat.config import Settings
from ribat.federation import background_sync
from ribat.feeds import background_feeds
from ribat.hub import Hub
from ribat.hunt.service import Hunts
from ribat.web import errors
from ribat.web.ratelimit import FailureLimiter
from ribat.web.ui import mount_ui

__all__ = ["create_app"]


def create_app(settings: Settings | None = None, *, hub: Hub | None = None) -> FastAPI:
    """Build the hub's web application. ``hub`` lets tests share one already opened."""
    from ribat.taxii import router as taxii_router
    from ribat.web.api import router as api_router

    if hub is None:
        hub = Hub.open(settings or Settings())
    opened = hub

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Hunts run in background threads of the process that took the upload; jobs a
        # stopped process left queued or running are marked failed at start.
        hunts = Hunts.for_hub(opened)
        app.state.hunts = hunts
        await run_in_threadpool(hunts.recover)
        try:
            # Each worker process runs due feeds in the background (feeds claim a lease, so
            # two workers never run the same feed); `RIBAT_FEED_SCHEDULER=false` turns it off.
            # Likewise each peer hub due for a sync (a lease per peer); `RIBAT_FEDERATION_SCHEDULER=false` off.
            with background_feeds(opened), background_sync(opened):
                yield
            feeds = getattr(app.state, "feeds", None)
            if feeds is not None:
                feeds.close()
        finally:
            await run_in_threadpool(hunts.close)

    app = FastAPI(
        lifespan=lifespan,
        title="Ribat",
        version=__version__,
        docs_url="/api/docs",
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.hub = hub
    app.state.auth_limiter = FailureLimiter(hub.settings.login_rate_limit)
    errors.install(app)
    app.include_router(taxii_router)
    app.include_router(api_router)
    mount_ui(app, hub)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok", "version": __version__})

    return app
