"""A large inference run with a row-local program is split in chunks that two tester-inference replicas convert
in parallel, each chunk's output one part of a multipart upload: the output is byte for byte the one a single
run of the script writes, and a chunk whose replica is killed mid-run is converted again without a row twice. The
chunks profile the input in parts, merged into the profile an unsplit run makes."""
from __future__ import annotations

import asyncio
import csv
import io
import json
import subprocess
import sys
import time
from pathlib import Path

from recast_common.db import session_factory
from recast_common.db.models import InferenceChunk
from recast_common.events import InferenceRequested, Topics
from recast_engine.chunking import count_records
from recast_engine.dsl import OutputColumn, Program, Step, call, col, const
from recast_engine.render.script import render_script
from recast_engine.verify.warnings import ConversionWarnings, read_summary
from sqlalchemy import select
from test_pipeline_kit import EventLog, get_object, new_id, publish, put_objects
from test_replicas import wait_for_members

PROGRAM = Program(
    header_rows=1,
    steps=[Step(op="keep_rows_matching", args={"column": 0, "pattern": "[0-9]+", "header": True})],
    columns=[
        OutputColumn(header=call("upper", col(1)), value=call("upper", col(1))),
        OutputColumn(header=call("upper", col(0)), value=col(0)),
        OutputColumn(header=call("upper", col(2)), value=call("trim", col(2))),
        OutputColumn(header=call("lower", col(1)), value=call("lower", col(1))),
        OutputColumn(header=const("again"), value=col(2)),
    ],
)
# S3 (SeaweedFS too) refuses parts under 5 MiB but the last: chunks of 3.5 MiB whose output is 1.5 times that
REPLICA_ENV = {"RECAST_INFERENCE_CHUNK_THRESHOLD_BYTES": str(2**20), "RECAST_INFERENCE_CHUNK_BYTES": str(7 * 2**19)}
ROWS = 330_000  # about 13 MB: 4 chunks


def sample_input(rows: int) -> bytes:
    """Cells with quoted newlines and quotes, and rows the program's filter drops."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "name", "note"])
    for i in range(rows):
        writer.writerow([str(i) if i % 7 else f"x{i}", f"name {i}", f' line one\nline "two" {i} ' if i % 3 else ""])
    return out.getvalue().encode()


def single_run(script: str, data: bytes, folder: Path) -> tuple[bytes, ConversionWarnings | None]:
    """The output of the script run once on the whole input, and the warnings it printed."""
    (folder / "script.py").write_text(script)
    (folder / "input.csv").write_bytes(data)
    done = subprocess.run([sys.executable, str(folder / "script.py"), str(folder / "input.csv"),
                           str(folder / "out.csv")], check=True, timeout=120, capture_output=True, text=True)
    return (folder / "out.csv").read_bytes(), read_summary(done.stderr)


async def request(settings, script: str, data: bytes) -> InferenceRequested:
    client, job, run = new_id("c"), new_id("j"), new_id("r")
    folder = f"{client}/{job}/train-s/attempt-1"
    keys = {"script_key": f"{folder}/script.py", "input_key": f"{client}/{job}/runs/{run}/input.csv",
            "output_key": f"{client}/{job}/runs/{run}/output.csv"}
    await put_objects(settings, {keys["script_key"]: script.encode(), f"{folder}/program.json":
                                 PROGRAM.model_dump_json().encode(), keys["input_key"]: data})
    return InferenceRequested(job_id=job, client_id=client, run_id=run, **keys)


async def chunks_of(settings, run_id: str) -> list[InferenceChunk]:
    async with session_factory(settings)() as session:
        query = select(InferenceChunk).where(InferenceChunk.run_id == run_id).order_by(InferenceChunk.chunk_index)
        return list((await session.execute(query)).scalars())


async def first_running(settings, run_id: str, timeout: float = 120.0) -> InferenceChunk:
    """The first chunk of the run seen converting."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for chunk in await chunks_of(settings, run_id):
            if chunk.state == "running":
                return chunk
        await asyncio.sleep(0.1)
    raise AssertionError(f"no chunk of run {run_id} started")


def of_run(run: InferenceRequested):
    return lambda e: e.type in (Topics.INFERENCE_COMPLETED, Topics.INFERENCE_FAILED) and e.run_id == run.run_id


async def test_chunks_on_two_replicas_give_the_single_run_output_even_when_a_replica_dies(stack, spawn, tmp_path):
    settings = stack.settings
    replicas = {name: spawn("tester", extra_env={**REPLICA_ENV, "RECAST_REPLICA_ID": name},
                            args=["--role", "inference"])
                for name in ("replica-a", "replica-b")}
    await wait_for_members(settings, "tester-inference", 2)
    script = render_script(PROGRAM)
    data = sample_input(ROWS)
    expected, warnings = single_run(script, data, tmp_path)

    async with EventLog(settings, [Topics.INFERENCE_COMPLETED, Topics.INFERENCE_FAILED]) as log:
        first = await request(settings, script, data)
        await publish(settings, first)
        done = await log.wait_for(of_run(first), timeout=180, what="the chunked run")
        assert done.type == Topics.INFERENCE_COMPLETED, done
        assert done.metrics["chunks"] >= 4, done.metrics
        assert await get_object(settings, first.output_key) == expected
        assert done.metrics["output_rows"] == count_records(expected) and done.output_size == len(expected)
        assert done.input_size == len(data) and done.input_profile is not None
        assert done.warnings == warnings

        # the input profiled chunk by chunk and merged is the profile of the same input converted unsplit
        unsplit = (await request(settings, script, data)).model_copy(update={"whole": True})
        await publish(settings, unsplit)
        whole = await log.wait_for(of_run(unsplit), timeout=180, what="the unsplit run")
        assert whole.type == Topics.INFERENCE_COMPLETED and "chunks" not in whole.metrics, whole
        assert done.input_profile == whole.input_profile
        merged, single = [json.loads(await get_object(settings, e.profile_key))["profile"] for e in (done, whole)]
        assert merged["data_rows"] == single["data_rows"] == ROWS
        assert merged["null_cells"] == single["null_cells"] > 0
        assert [c["nulls"] for c in merged["column_profiles"]] == [c["nulls"] for c in single["column_profiles"]]
        assert merged["column_profiles"][2]["nulls"] == ROWS // 3  # the notes left empty (i % 3 == 0)

        # a script slow enough to be killed in the middle of a chunk
        main = 'if __name__ == "__main__":\n'
        slow = script.replace(main, main + '    __import__("time").sleep(3)\n')
        second = await request(settings, slow, data)
        await publish(settings, second)
        victim = await first_running(settings, second.run_id)
        replicas[victim.replica].kill()
        (survivor,) = set(replicas) - {victim.replica}
        done = await log.wait_for(of_run(second), timeout=180, what="the run after a replica died")
        assert done.type == Topics.INFERENCE_COMPLETED, done
        assert await get_object(settings, second.output_key) == expected  # no row twice, none missing
        assert done.metrics["output_rows"] == count_records(expected)
        redone = (await chunks_of(settings, second.run_id))[victim.chunk_index]
        assert (redone.tries, redone.replica, redone.state) == (2, survivor, "done")
