"""Which failures are the infrastructure's (wait and retry) rather than the message's (retry a few times, then
dead-letter). A consumer that dead-letters during a two-second database restart fails every job in flight."""
from __future__ import annotations

import asyncio

_FILE_ERRORS = (FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError, PermissionError)


def is_transient(exc: BaseException, _depth: int = 0) -> bool:
    """Connection-level failures of Postgres, Kafka or S3 (and timeouts talking to them)."""
    if isinstance(exc, _FILE_ERRORS):
        return False
    if isinstance(exc, (ConnectionError, TimeoutError, asyncio.TimeoutError, OSError)):
        return True
    name = type(exc).__name__
    module = type(exc).__module__ or ""
    if module.startswith("asyncpg") and (
        name in ("InterfaceError", "ConnectionDoesNotExistError", "CannotConnectNowError", "TooManyConnectionsError")
        or "Connection" in name
    ):
        return True
    if module.startswith("sqlalchemy") and name in ("OperationalError", "InterfaceError", "DBAPIError"):
        return bool(getattr(exc, "connection_invalidated", False)) or name != "DBAPIError"
    if module.startswith(("botocore", "aiobotocore")) and name in (
        "EndpointConnectionError", "ConnectionClosedError", "ConnectTimeoutError", "ReadTimeoutError",
    ):
        return True
    if module.startswith("aiokafka") and name in (
        "KafkaConnectionError", "KafkaTimeoutError", "NodeNotReadyError", "RequestTimedOutError",
    ):
        return True
    # drivers wrap the connection error they got (raise ... from ...)
    return exc.__cause__ is not None and _depth < 5 and is_transient(exc.__cause__, _depth + 1)
