"""The FastAPI application: `create_app(settings)`; resources live on app.state for the app's lifetime."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from recast_common.db.session import make_engine
from recast_common.settings import Settings
from recast_common.storage import Storage
from sqlalchemy.ext.asyncio import async_sessionmaker

from gateway.api.main import api_router
from gateway.api.routes import health, probes
from gateway.api.routes.inference import STREAM_ROUTE
from gateway.checks import BackingChecks
from gateway.errors import install_error_handlers
from gateway.key_cache import KEYS_CHANNEL, KeyCache
from gateway.limits import BodySizeLimit
from gateway.metrics import install_metrics, worker_started, worker_stopped
from gateway.notify import INFERENCE_CHANNEL, Notifications
from gateway.openapi import ConventionHeaders, install_openapi, operation_id
from gateway.pipeline_metrics import run_sampler
from gateway.request_context import RequestContext
from gateway.script_cache import ScriptCache
from gateway.startup import check_admin_key

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
# Multipart framing and form fields on top of two files of max_upload_bytes each.
FORM_OVERHEAD_BYTES = 1024 * 1024
# A pooled connection idle this long is pinged before use; busier ones are not (recast_common.db.session).
PING_AFTER_IDLE_SECONDS = 1.0


def create_app(settings: Settings | None = None, on_exit: Callable[[], None] | None = None) -> FastAPI:
    """The application; `on_exit` runs last in its shutdown (a worker process flushing its traces)."""
    settings = settings or Settings()
    check_admin_key(settings.admin_api_key, settings.dev_mode)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        worker_started()
        engine = make_engine(settings.database_url, ping_after_idle=PING_AFTER_IDLE_SECONDS)
        app.state.engine = engine
        app.state.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        keys = app.state.keys
        notifications = Notifications(settings.database_url, INFERENCE_CHANNEL,
                                      also={KEYS_CHANNEL: lambda _key_id: keys.clear()})
        await notifications.start()
        app.state.notifications = notifications
        async with Storage(settings) as storage:
            app.state.storage = storage
            app.state.checks = BackingChecks(settings, app.state.sessionmaker, storage)
            app.state.scripts = ScriptCache()
            stop_sampling = asyncio.Event()  # gauges of active jobs, outbox backlog, DLQ depth
            sampler = asyncio.create_task(run_sampler(settings, app.state.sessionmaker, stop_sampling))
            # The ~200k objects of the modules and resources loaded by now live as long as the process: out of the
            # collector's sight, a full collection no longer walks them (it stopped every request for 50-150 ms).
            gc.collect()
            gc.freeze()
            try:
                yield
            finally:
                gc.unfreeze()
                stop_sampling.set()
                app.state.checks.close()
                sampler.cancel()  # a sample in flight (a slow broker) must not hold up the shutdown
                with suppress(asyncio.CancelledError):
                    await sampler
                await notifications.stop()
                await engine.dispose()
                worker_stopped()
                if on_exit is not None:
                    on_exit()

    app = FastAPI(
        title="Recast",
        description="Learn a CSV-to-CSV conversion from one example pair, then run it on new files.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served by install_openapi from the package, not a CDN
        redoc_url=None,
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    app.state.keys = KeyCache(settings.api_key_cache_seconds)  # verified API keys (gateway.key_cache)
    install_error_handlers(app)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=2 * settings.max_upload_bytes + FORM_OVERHEAD_BYTES,
        exempt_paths=(f"{API_PREFIX}{STREAM_ROUTE}",),
    )
    app.include_router(api_router, prefix=API_PREFIX)
    app.include_router(health.router)
    app.include_router(probes.router)
    install_metrics(app)  # its middleware counts every request, 413s included
    install_openapi(app)
    app.add_middleware(ConventionHeaders)  # Location on 202, Retry-After on 429
    # outermost: every request, 413s included, gets its X-Request-ID, its log ids and its span
    app.add_middleware(RequestContext, routes_of=app)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/docs")

    return app
