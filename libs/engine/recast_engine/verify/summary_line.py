"""The warnings summary line of a script's stderr, caught whole while the stream goes by (standard library only:
the sandbox imports it, and the sandbox runs where only the standard library is)."""
from __future__ import annotations

from recast_engine.runtime.guards import SUMMARY_KEY


class SummaryCatcher:
    """Keeps, whole, the last summary line a script printed on stderr while its stream goes by, however long the
    line (a runner keeps only a tail of stderr, which a summary of many columns outgrows)."""

    MARKER = b'{"' + SUMMARY_KEY.encode() + b'"'

    def __init__(self, cap_bytes: int = 4 << 20) -> None:
        self.cap_bytes = cap_bytes
        self.line = b""  # from the last marker on (empty: none seen, or longer than the cap)
        self.carry = b""  # the stream's last bytes, for a marker split between two reads
        self.capturing = False

    def feed(self, data: bytes) -> None:
        window = self.carry + data
        at = window.rfind(self.MARKER)
        if at >= 0:
            self.line, self.capturing = window[at:], True
        elif self.capturing:
            self.line += data
        if self.capturing and b"\n" in self.line:  # the line is complete: what follows is not kept
            self.line, self.capturing = self.line.split(b"\n", 1)[0], False
        if len(self.line) > self.cap_bytes:
            self.line, self.capturing = b"", False
        self.carry = window[-(len(self.MARKER) - 1):]

    def text(self) -> str:
        return self.line.decode("utf-8", "replace")
