"""Which failures are the infrastructure's (wait and retry) rather than the message's (retry a few times, then
dead-letter). A consumer that dead-letters during a two-second database restart fails every job in flight.

An outage looks different depending on the path and the moment: a refused TCP connection; a Unix socket file
that is not there while the embedded Postgres restarts (FileNotFoundError, raised while connecting);
"the database system is starting up" (SQLSTATE 57P03) wrapped in SQLAlchemy's DBAPIError; a connection the
server terminated (57P01); a broker or S3 endpoint that does not answer. All of them are transient, however
deeply they are wrapped; a missing file of the message, a constraint violation or a bad value are not.
"""
from __future__ import annotations

import asyncio
from types import TracebackType

_FILE_ERRORS = (FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError, PermissionError)

# SQLSTATE classes and codes that say "the server is not available (now)", not "this statement is wrong".
_TRANSIENT_SQLSTATE_CLASSES = ("08",)  # connection exception
_TRANSIENT_SQLSTATES = {
    "57P01",  # admin_shutdown: terminating connection due to administrator command
    "57P02",  # crash_shutdown
    "57P03",  # cannot_connect_now: the database system is starting up / shutting down / in recovery
    "57P05",  # idle_session_timeout
    "53300",  # too_many_connections
    "53400",  # configuration_limit_exceeded
    "40001",  # serialization_failure: retrying is the documented answer
    "40P01",  # deadlock_detected: likewise
    "25006",  # read_only_sql_transaction: a standby being promoted
}
_TRANSIENT_MESSAGES = (
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "the database system is not yet accepting connections",
    "terminating connection due to administrator command",
    "server closed the connection unexpectedly",
    "connection is closed",
    "connection was closed in the middle of operation",
    "cannot perform operation: another operation is in progress",
)
_ASYNCPG_CONNECTION_ERRORS = (
    "InterfaceError", "ConnectionDoesNotExistError", "CannotConnectNowError", "TooManyConnectionsError",
    "ConnectionFailureError", "ClientCannotConnectError", "InternalClientError",
)
_BOTO_ERRORS = (
    "EndpointConnectionError", "ConnectionClosedError", "ConnectTimeoutError", "ReadTimeoutError",
    "ConnectionError", "HTTPClientError", "ProxyConnectionError",
)
_S3_UNAVAILABLE_CODES = ("503", "500", "502", "504", "SlowDown", "ServiceUnavailable", "InternalError",
                         "RequestTimeout")
_KAFKA_ERRORS = (
    "KafkaConnectionError", "KafkaTimeoutError", "NodeNotReadyError", "RequestTimedOutError",
    "NotLeaderForPartitionError", "LeaderNotAvailableError", "NotCoordinatorForGroupError",
    "CoordinatorNotAvailableError", "GroupCoordinatorNotAvailableError", "CoordinatorLoadInProgressError",
    "KafkaUnavailableError", "NoBrokersAvailable",
)
# Code that only runs while connecting: a FileNotFoundError raised there is a socket that is not there yet.
_CONNECT_FRAMES = ("connect_utils.py", "sock_connect", "create_unix_connection", "create_connection",
                   "_connect_addr", "_create_ssl_connection")


def is_transient(exc: BaseException, _depth: int = 0) -> bool:
    """Connection-level failures of Postgres, Kafka or S3 (and timeouts talking to them), however wrapped."""
    if _depth > 8:
        return False
    if isinstance(exc, _FILE_ERRORS):
        return _raised_while_connecting(exc.__traceback__)
    if isinstance(exc, (ConnectionError, TimeoutError, asyncio.TimeoutError, OSError)):
        return True
    name = type(exc).__name__
    module = type(exc).__module__ or ""
    if module.startswith(("asyncpg", "sqlalchemy", "psycopg")) and (
        _sqlstate_is_transient(exc) or _message_is_transient(exc)
    ):
        return True
    if module.startswith("asyncpg") and (name in _ASYNCPG_CONNECTION_ERRORS or "Connection" in name):
        return True
    if module.startswith("sqlalchemy"):
        if getattr(exc, "connection_invalidated", False):
            return True
        if name in ("OperationalError", "InterfaceError", "DisconnectionError", "TimeoutError"):
            return True
    if module.startswith(("botocore", "aiobotocore", "urllib3", "aiohttp")):
        if name in _BOTO_ERRORS or "Connect" in name or "Timeout" in name:
            return True
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", "")) if name == "ClientError" else ""
        if code in _S3_UNAVAILABLE_CODES:
            return True
    if module.startswith(("aiokafka", "kafka")) and (name in _KAFKA_ERRORS or getattr(exc, "retriable", False)):
        return True
    # drivers wrap the error they got: SQLAlchemy's DBAPIError keeps it in .orig, `raise ... from` in __cause__
    for inner in (getattr(exc, "orig", None), exc.__cause__):
        if isinstance(inner, BaseException) and inner is not exc and is_transient(inner, _depth + 1):
            return True
    return False


def _sqlstate_is_transient(exc: BaseException) -> bool:
    code = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    if not isinstance(code, str) or len(code) != 5:
        return False
    return code in _TRANSIENT_SQLSTATES or code.startswith(_TRANSIENT_SQLSTATE_CLASSES)


def _message_is_transient(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(message in text for message in _TRANSIENT_MESSAGES)


def _raised_while_connecting(tb: TracebackType | None) -> bool:
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename.endswith(_CONNECT_FRAMES) or code.co_name in _CONNECT_FRAMES:
            return True
        tb = tb.tb_next
    return False
