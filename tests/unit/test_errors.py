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
