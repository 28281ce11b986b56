"""A chunk's partial profile (recast_engine.profiling.partial), made in a process of its own beside the chunk's
script run.

The process has PYTHONHASHSEED pinned: the partial profiles of one input come from several replicas, and their
hashed sketches (distinct values, duplicate rows) merge only when every replica hashed alike; so are they merged,
in a process of the same seed (merge_chunk_profiles), since a column counted exactly in one chunk is hashed again
when it joins another's sketch. Run as `python -m tester.chunk_profile SOURCE START END FIRST LAYOUT_JSON OUT`
(writes the packed partial to OUT) or `python -m tester.chunk_profile merge OUT PART...` (writes the merged
profile's JSON to OUT).
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

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


async def merge_chunk_profiles(parts: list[bytes], timeout: float) -> dict[str, Any]:
    """The input's profile merged from its chunks' packed partial profiles, in order (ValueError when they do
    not merge or the merge does not end within `timeout` seconds)."""
    with tempfile.TemporaryDirectory(prefix="recast-merge-") as folder:
        paths = [Path(folder) / f"{i}.part" for i in range(len(parts))]
        for path, part in zip(paths, parts):
            path.write_bytes(part)
        out = Path(folder) / "profile.json"
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tester.chunk_profile", "merge", str(out), *map(str, paths),
            env={**os.environ, "PYTHONHASHSEED": HASH_SEED}, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE)
        try:
            _, stderr = await asyncio.wait_for(process.communicate(), timeout)
        except TimeoutError as exc:
            raise ValueError(f"merging {len(parts)} partial profiles took over {timeout:.0f} s") from exc
        finally:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        if process.returncode != 0 or not out.exists():
            raise ValueError(f"merging {len(parts)} partial profiles failed: {stderr.decode(errors='replace')[-2000:]}")
        merged: dict[str, Any] = json.loads(out.read_bytes())
        return merged


def main(argv: list[str]) -> None:
    from recast_engine.profiling.partial import TableLayout, merge_profiles, pack, profile_range, unpack

    if argv[0] == "merge":
        target, *parts = argv[1:]
        Path(target).write_text(json.dumps(merge_profiles(unpack(Path(p).read_bytes()) for p in parts)))
        return
    source, start, end, first, layout, out = argv
    part = profile_range(Path(source), int(start), int(end), TableLayout.model_validate_json(layout),
                         first=first == "1")
    Path(out).write_bytes(pack(part))


if __name__ == "__main__":
    main(sys.argv[1:])
