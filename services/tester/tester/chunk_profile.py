"""A chunk's partial profile (recast_engine.profiling.partial), made in a process of its own beside the chunk's
script run.

The process has PYTHONHASHSEED pinned: the partial profiles of one input come from several replicas, and their
hashed sketches (distinct values, duplicate rows) merge only when every replica hashed alike. Run as
`python -m tester.chunk_profile SOURCE START END FIRST LAYOUT_JSON OUT`; it writes the packed partial to OUT.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from pathlib import Path

log = logging.getLogger("tester.chunk_profile")

HASH_SEED = "0"


async def profile_chunk(source: Path, start: int, end: int, first: bool, layout: dict, timeout: float
                        ) -> bytes | None:
    """The packed partial profile of bytes [start, end) of `source` (None, logged, when it cannot be made)."""
    from recast_engine.profiling.partial import TableLayout

    out = source.with_name(f"{source.name}.{start}-{end}.profile")
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tester.chunk_profile", str(source), str(start), str(end), "1" if first else "0",
            TableLayout.model_validate(layout).model_dump_json(), str(out),
            env={**os.environ, "PYTHONHASHSEED": HASH_SEED}, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE)
    except (OSError, ValueError) as exc:  # no process, or a layout not understood
        log.warning("profiling %s [%d, %d) could not start: %s", source, start, end, exc)
        return None
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        log.warning("profiling %s [%d, %d) took over %.0f s", source, start, end, timeout)
        return None
    finally:  # also when cancelled (the chunk's script failed: its profile is not wanted)
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            out.unlink(missing_ok=True)
    if process.returncode != 0 or not out.exists():
        log.warning("profiling %s [%d, %d) failed: %s", source, start, end, stderr.decode(errors="replace")[-2000:])
        return None
    try:
        return out.read_bytes()
    finally:
        out.unlink()


def main(argv: list[str]) -> None:
    from recast_engine.profiling.partial import TableLayout, pack, profile_range

    source, start, end, first, layout, out = argv
    part = profile_range(Path(source), int(start), int(end), TableLayout.model_validate_json(layout),
                         first=first == "1")
    Path(out).write_bytes(pack(part))


if __name__ == "__main__":
    main(sys.argv[1:])
