"""A chunk's partial profile is made in a process of its own; the partials of processes launched apart (as on
two replicas) merge into the profile of the whole file, duplicate rows across chunks included."""
from __future__ import annotations

import asyncio

import pytest
from recast_engine.chunking import plan_chunks
from recast_engine.profiling import profile_file
from recast_engine.profiling.partial import merge_profiles, table_layout, unpack
from test_profiling_stats import write_messy
from tester.chunk_profile import merge_chunk_profiles, profile_chunk


async def test_partials_from_separate_processes_merge_into_the_whole_files_profile(tmp_path):
    path = tmp_path / "messy.csv"
    write_messy(path, 6000)
    data = path.read_bytes()
    path.write_bytes(data + data[data.index(b"\n") + 1:])  # every row again, in another chunk
    plan = plan_chunks(path.read_bytes(), 60_000, first_record=False)
    assert len(plan.chunks) >= 3
    layout = table_layout(path).model_dump()
    packed = await asyncio.gather(*(profile_chunk(path, c.start, c.end, c.index == 0, layout, 60)
                                    for c in plan.chunks))
    merged, whole = await merge_chunk_profiles(packed, 60), profile_file(path)
    assert merged["duplicate_rows"] == whole["duplicate_rows"] > 6000 and merged["duplicate_rows_exact"]
    assert {k: v for k, v in merged.items() if k not in ("seconds", "mb_per_second")} == \
        {k: v for k, v in whole.items() if k not in ("seconds", "mb_per_second")}


async def test_a_chunk_that_cannot_be_profiled_has_no_partial_and_a_timeout_kills_it(tmp_path):
    layout = {"header": True, "width_hint": 2}
    assert await profile_chunk(tmp_path / "gone.csv", 0, 100, True, layout, 60) is None
    assert await profile_chunk(tmp_path / "gone.csv", 0, 100, True, {"header": "maybe"}, 60) is None
    big = tmp_path / "big.csv"
    big.write_text("a,b\n" + "1,2\n" * 2_000_000)
    assert await profile_chunk(big, 0, big.stat().st_size, True, layout, 0.2) is None
    assert [p.name for p in tmp_path.iterdir()] == ["big.csv"]  # no profile file left behind


async def test_partials_are_merged_only_in_a_process_hashing_as_theirs_did(tmp_path):
    # a column counted exactly in one chunk and sketched in another is hashed again when merged: this process's
    # own seed would count values the chunks share twice
    path = tmp_path / "codes.csv"
    path.write_text("code\n" + "".join(f"c{i % 3000}\n" for i in range(9000)))
    plan = plan_chunks(path.read_bytes(), 20_000, first_record=False)
    layout = table_layout(path).model_dump()
    packed = [await profile_chunk(path, c.start, c.end, c.index == 0, layout, 60) for c in plan.chunks]
    with pytest.raises(ValueError, match="PYTHONHASHSEED"):
        merge_profiles(unpack(p) for p in packed)
    merged = await merge_chunk_profiles(packed, 60)
    whole = profile_file(path)
    assert merged["rows"] == whole["rows"] >= 9000
    assert merged["column_profiles"][0]["distinct"] == whole["column_profiles"][0]["distinct"] >= 3000
