"""File content in JSON bodies: CSV text, or (as the original API accepted) the file's bytes in base64."""

from __future__ import annotations

import base64
import binascii
import re

_BASE64 = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")
MIN_BASE64_CHARS = 8


def csv_text(field: str) -> str:
    """The CSV a field holds. A single line of base64 whose bytes are UTF-8 text of several lines is decoded; any
    other value is the CSV itself (a real one-line CSV of one base64-looking cell has no line break to decode to)."""
    candidate = field.strip()
    if len(candidate) < MIN_BASE64_CHARS or not _BASE64.fullmatch(candidate):
        return field
    altchars = b"-_" if ("-" in candidate or "_" in candidate) else None
    try:
        decoded = base64.b64decode(candidate + "=" * (-len(candidate) % 4), altchars=altchars, validate=True)
        text = decoded.decode("utf-8")
    except (binascii.Error, ValueError):
        return field
    return text if ("\n" in text or "\r" in text) else field
