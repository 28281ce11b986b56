"""Opaque keyset cursors for listing jobs newest first: base64 of (created_at, id)."""

from __future__ import annotations

import base64
import json
from datetime import datetime


class BadCursor(ValueError):
    pass


def encode_cursor(created_at: datetime, job_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), job_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, job_id = json.loads(raw)
        return datetime.fromisoformat(created), str(job_id)
    except Exception:
        raise BadCursor("invalid cursor") from None
