"""Identifiers that end up in S3 keys and URLs: a strict alphabet, so no path tricks are possible."""

from __future__ import annotations

import re
import uuid

ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def is_valid_id(value: str | None) -> bool:
    return value is not None and ID_PATTERN.fullmatch(value) is not None


def new_id() -> str:
    return uuid.uuid4().hex


def job_prefix(client_id: str, job_id: str) -> str:
    return f"{client_id}/{job_id}/"


def client_prefix(client_id: str) -> str:
    return f"{client_id}/"
