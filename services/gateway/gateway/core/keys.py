"""API keys: shown once, stored as sha256; a short prefix finds the row without scanning."""

from __future__ import annotations

import hashlib
import hmac
import secrets

KEY_PREFIX_LEN = 12


def generate_key() -> str:
    return "rk_" + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_prefix(key: str) -> str:
    return key[:KEY_PREFIX_LEN]


def same_secret(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
