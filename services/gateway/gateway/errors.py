"""A backing service being down is a 503 with a clear detail, not a bare 500."""

from __future__ import annotations

import logging

from botocore.exceptions import BotoCoreError, ClientError
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from recast_common.errors import is_transient
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)


def _unavailable(what: str):
    async def handler(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s: %s unavailable: %s", request.method, request.url.path, what, exc)
        return JSONResponse(
            {"detail": f"{what} is unavailable; retry later"}, status_code=503, headers={"Retry-After": "5"}
        )

    return handler


async def _database_error(request: Request, exc: DBAPIError) -> JSONResponse:
    # Every way of the database being away (down, starting up, restarting, out of connections) is a 503.
    if is_transient(exc):
        return await _unavailable("the database")(request, exc)
    if _is_bad_value(exc):
        # a value Postgres cannot hold (a NUL in text, a number or date out of its range): the request's fault
        log.info("%s %s: value refused by the database: %s", request.method, request.url.path, exc.orig)
        return JSONResponse({"detail": "a value in the request is out of range or holds a character that is not "
                                       "allowed (e.g. NUL)"}, status_code=422)
    log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "internal error"}, status_code=500)


def _is_bad_value(exc: DBAPIError) -> bool:
    """SQLSTATE class 22 (data exception), or the driver refusing to encode an argument (asyncpg DataError)."""
    for error in (exc.orig, getattr(exc.orig, "__cause__", None)):
        code = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if isinstance(code, str) and code.startswith("22"):
            return True
        if error is not None and type(error).__name__ == "DataError":
            return True
    return False


async def _any_error(request: Request, exc: Exception) -> JSONResponse:
    """Last resort: a backing service's error in a form no handler above names (e.g. raw asyncpg)."""
    if is_transient(exc):
        return await _unavailable("a backing service")(request, exc)
    log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "internal error"}, status_code=500)


async def _storage_error(request: Request, exc: ClientError) -> JSONResponse:
    if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
        return JSONResponse({"detail": "a stored file of this job is missing"}, status_code=404)
    return await _unavailable("object storage")(request, exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(BotoCoreError, _unavailable("object storage"))
    app.add_exception_handler(ClientError, _storage_error)
    app.add_exception_handler(ConnectionError, _unavailable("a backing service"))
    app.add_exception_handler(OSError, _unavailable("a backing service"))
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(Exception, _any_error)
