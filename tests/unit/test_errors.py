"""Infrastructure failures wait and retry; failures of the message itself go towards the DLQ."""
from __future__ import annotations

import asyncio

import pytest
from aiokafka.errors import KafkaConnectionError
from botocore.exceptions import ClientError, EndpointConnectionError
from recast_common.errors import is_transient


@pytest.mark.parametrize("exc", [
    ConnectionRefusedError("db down"),
    asyncio.TimeoutError(),
    KafkaConnectionError("broker away"),
    EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
])
def test_infrastructure_failures_are_transient(exc):
    assert is_transient(exc)


def test_a_wrapped_connection_error_is_transient():
    try:
        try:
            raise ConnectionResetError("reset")
        except ConnectionResetError as inner:
            raise RuntimeError("driver failed") from inner
    except RuntimeError as outer:
        assert is_transient(outer)


@pytest.mark.parametrize("exc", [
    ValueError("bad event"),
    FileNotFoundError("missing.csv"),
    ClientError({"Error": {"Code": "NoSuchKey", "Message": "gone"}}, "GetObject"),
    KeyError("type"),
])
def test_failures_of_the_message_are_not_transient(exc):
    assert not is_transient(exc)


def _starting_up() -> Exception:
    import asyncpg

    return asyncpg.exceptions.CannotConnectNowError("the database system is starting up")


def test_a_database_starting_up_wrapped_in_dbapierror_is_transient():
    from sqlalchemy.exc import DBAPIError

    wrapped = DBAPIError("SELECT 1", {}, _starting_up())
    assert not wrapped.connection_invalidated
    assert is_transient(wrapped)


def test_a_database_starting_up_chained_through_a_driver_adapter_is_transient():
    from sqlalchemy.exc import DBAPIError

    try:
        try:
            raise _starting_up()
        except Exception as inner:
            raise RuntimeError("adapter error") from inner
    except RuntimeError as adapter:
        assert is_transient(DBAPIError("SELECT 1", {}, adapter))


async def _connect_to_missing_socket() -> BaseException:
    import asyncpg

    try:
        await asyncpg.connect("postgresql://postgres@/recast?host=/nonexistent-recast-socket-dir", timeout=5)
    except BaseException as exc:  # noqa: BLE001
        return exc
    raise AssertionError("connected to a socket that does not exist")


def test_a_unix_socket_missing_while_postgres_restarts_is_transient():
    exc = asyncio.run(_connect_to_missing_socket())
    assert isinstance(exc, FileNotFoundError)  # what asyncpg raises while the socket file is gone
    assert is_transient(exc)


def test_a_missing_file_of_the_message_is_not_transient(tmp_path):
    try:
        (tmp_path / "missing.csv").read_text()
    except FileNotFoundError as exc:
        assert not is_transient(exc)


def test_a_statement_error_wrapped_in_dbapierror_is_not_transient():
    import asyncpg
    from sqlalchemy.exc import DBAPIError

    assert not is_transient(DBAPIError("SELECT 1/0", {}, asyncpg.exceptions.DivisionByZeroError("division by zero")))


def test_an_s3_service_unavailable_answer_is_transient():
    assert is_transient(ClientError({"Error": {"Code": "503", "Message": "Service Unavailable"}}, "PutObject"))
