"""Opaque keyset cursors for listing jobs newest first: base64 of (created_at, id)."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone

from gateway.core.ids import is_valid_id


class BadCursor(ValueError):
    pass


def encode_cursor(created_at: datetime, job_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), job_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """(created_at in UTC, job id); BadCursor for anything encode_cursor could not have made: a date without a
    zone or out of range once in UTC, an id outside the id alphabet (a NUL would reach Postgres)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, job_id = json.loads(raw)
        when = datetime.fromisoformat(created)
        when = (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    except Exception:
        raise BadCursor("invalid cursor") from None
    if not isinstance(job_id, str) or not is_valid_id(job_id):
        raise BadCursor("invalid cursor")
    return when, job_id
