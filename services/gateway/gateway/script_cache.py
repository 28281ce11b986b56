"""Learned scripts the gateway has read from S3, kept in memory (least recently used first out) so that a job's
status read does not download its script every time.

A script's S3 key names its submission and attempt (recast_common.stage_files) and the coder announces its sha256
(the artifacts row): the pair names one content, so a cached entry never goes stale. A key without a known
digest is cached under the key alone: the file of an attempt is written once, before the job can succeed.

An entry is kept as a JSON string, ready for the answer (a script is most of a job read's body: escaping it on
every read cost more than the rest of the serialization).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable

MAX_BYTES = 64 * 1024 * 1024


class ScriptCache:
    def __init__(self, max_bytes: int = MAX_BYTES):
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[str, str | None], bytes] = OrderedDict()
        self._bytes = 0

    async def get(self, key: str, sha256: str | None, load: Callable[[str], Awaitable[bytes]]) -> str:
        """The script at `key`, from memory or through `load(key)` (then kept, unless larger than the cache)."""
        return json.loads(await self.get_json(key, sha256, load))

    async def get_json(self, key: str, sha256: str | None, load: Callable[[str], Awaitable[bytes]]) -> bytes:
        """The script at `key` as a JSON string (UTF-8), from memory or through `load(key)`."""
        name = (key, sha256)
        if name in self._entries:
            self._entries.move_to_end(name)
            return self._entries[name]
        text = (await load(key)).decode("utf-8", errors="replace")
        encoded = json.dumps(text, ensure_ascii=False).encode("utf-8")
        size = len(encoded)
        if size <= self.max_bytes:
            self._entries[name] = encoded
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped)
        return encoded

    def __len__(self) -> int:
        return len(self._entries)
