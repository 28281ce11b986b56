"""Splitting a CSV on record boundaries (quoted newlines stay inside their chunk) and the row-local predicate:
a row-local program converts each chunk apart, and the chunks' outputs put end to end are the whole output."""
from __future__ import annotations

import codecs
import csv
import io
import mmap
import random
import subprocess
import sys
from pathlib import Path

import pytest
from recast_engine.chunking import Unsplittable, count_records, plan_chunks, record_end
from recast_engine.dsl import OutputColumn, Program, Step, call, col
from recast_engine.dsl.locality import row_locality
from recast_engine.render.script import render_script


def csv_text(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def messy_rows(count: int, seed: int = 7) -> list[list[str]]:
    """Cells with quoted newlines, doubled quotes and delimiters, so that a naive split on newlines is wrong."""
    rng = random.Random(seed)
    pieces = ["plain", "two\nlines", 'say "hi"', "a,b", "\n", '"', "x\r\ny", "", "é ü"]
    return [[str(i), rng.choice(pieces) + str(i), rng.choice(pieces), str(rng.randint(-99, 99))]
            for i in range(count)]


def chunk_files(data: bytes, plan) -> list[bytes]:
    prefix = data[: plan.prefix_end]
    return [data[c.start:c.end] if c.index == 0 else prefix + data[c.start:c.end] for c in plan.chunks]


def test_chunks_end_on_record_boundaries_and_cover_the_file() -> None:
    data = csv_text([["id", "text", "other", "n"], *messy_rows(400)])
    plan = plan_chunks(data, chunk_bytes=500, first_record=True)
    assert len(plan.chunks) >= 8
    assert plan.chunks[0].start == 0 and plan.chunks[-1].end == len(data)
    assert all(a.end == b.start for a, b in zip(plan.chunks, plan.chunks[1:]))
    assert data[: plan.prefix_end] == b"id,text,other,n\n"
    whole = list(csv.reader(io.StringIO(data.decode())))
    parts = [row for chunk in chunk_files(data, plan) for row in list(csv.reader(io.StringIO(chunk.decode())))[1:]]
    assert [whole[0], *parts] == whole  # no record is cut: each chunk parses into whole records
    assert count_records(data) == len(whole)


def test_a_split_works_on_an_mmap_as_on_bytes(tmp_path: Path) -> None:
    data = csv_text(messy_rows(300, seed=3))
    path = tmp_path / "in.csv"
    path.write_bytes(data)
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        assert plan_chunks(mapped, 700, first_record=False) == plan_chunks(data, 700, first_record=False)
        assert count_records(mapped) == count_records(data) == 300


def test_a_quoted_newline_is_not_a_record_end() -> None:
    data = b'a,"x\ny"\nb,c\n'
    assert record_end(data, 0) == 8
    assert record_end(data, 4, in_quotes=True) == 8
    assert count_records(data) == 2 and count_records(b"a\nb") == 2


def test_a_byte_order_mark_goes_with_every_chunk_and_without_a_header_only_it() -> None:
    data = codecs.BOM_UTF8 + csv_text(messy_rows(200))
    plan = plan_chunks(data, 400, first_record=False)
    assert plan.encoding == "utf-8-sig" and plan.prefix_end == 3
    assert all(chunk.startswith(codecs.BOM_UTF8) for chunk in chunk_files(data, plan))


def test_files_whose_chunks_would_read_differently_are_not_split() -> None:
    with pytest.raises(Unsplittable, match="quotes"):
        plan_chunks(b'a,b\n1,x"y\n2,3\n' * 51, 40, first_record=False)
    with pytest.raises(Unsplittable, match="utf-16"):
        plan_chunks(codecs.BOM_UTF16_LE + "a,b\n1,2\n".encode("utf-16-le") * 50, 40, first_record=False)
    # semicolons in the first rows, commas further down: the chunks past them would sniff another delimiter
    mixed = b"a;b\n" + b"1;2\n" * 60 + b"x,y,z\n" * 60
    with pytest.raises(Unsplittable, match="would be read as"):
        plan_chunks(mixed, 200, first_record=False)


UPPER_SECOND = OutputColumn(header=call("upper", col(1)), value=call("upper", col(1)))


def test_row_local_programs_are_told_apart_from_table_level_ones() -> None:
    local = Program(header_rows=1, steps=[Step(op="keep_rows_matching", args={"column": 0, "pattern": "[0-9]+",
                                                                            "header": True})],
                    columns=[OutputColumn(value=col(0)), UPPER_SECOND])
    assert row_locality(local).row_local and row_locality(local).first_record
    headless = Program(columns=[OutputColumn(value=call("lower", col(1)))])
    assert row_locality(headless).row_local and not row_locality(headless).first_record
    sorted_ = Program(steps=[Step(op="sort_rows", args={"column": 0})], columns=[OutputColumn(value=col(0))])
    assert not row_locality(sorted_).row_local and "sort_rows" in row_locality(sorted_).reason
    filled = Program(steps=[Step(op="fill_down", args={"columns": [1]})])
    assert not row_locality(filled).row_local
    # with a header row, a filter that does not pass the header could drop it in one chunk and not another
    drops_header = local.model_copy(update={"steps": [Step(op="keep_rows_matching",
                                                           args={"column": 0, "pattern": "[0-9]+"})]})
    assert not row_locality(drops_header).row_local
    unknown = Program(columns=[OutputColumn(value=call("no_such_operator", col(0)))])
    assert not row_locality(unknown).row_local


@pytest.mark.parametrize("header", [True, False])
def test_chunk_outputs_put_end_to_end_equal_the_whole_output(header: bool, tmp_path: Path) -> None:
    program = Program(
        header_rows=1 if header else 0,
        steps=[Step(op="drop_empty_rows", args={"column": 1, "header": header})],
        columns=[OutputColumn(value=col(0)), UPPER_SECOND, OutputColumn(value=call("trim", col(3)))],
    )
    locality = row_locality(program)
    assert locality.row_local and locality.first_record == header
    script = tmp_path / "convert.py"
    script.write_text(render_script(program, backend="cell"))  # the splitter is under test: the fast start
    data = csv_text(([["id", "text", "other", "n"]] if header else []) + messy_rows(500, seed=11))
    plan = plan_chunks(data, len(data) // 5, first_record=locality.first_record)
    assert 4 <= len(plan.chunks) <= 6

    def convert(source: bytes, name: str) -> bytes:
        (tmp_path / name).write_bytes(source)
        subprocess.run([sys.executable, str(script), str(tmp_path / name), str(tmp_path / f"{name}.out")],
                       check=True)
        return (tmp_path / f"{name}.out").read_bytes()

    whole = convert(data, "whole.csv")
    outputs = [convert(chunk, f"chunk{i}.csv") for i, chunk in enumerate(chunk_files(data, plan))]
    if locality.first_record:
        outputs[1:] = [out[record_end(out, 0):] for out in outputs[1:]]
    assert b"".join(outputs) == whole
    assert count_records(whole) == sum(count_records(out) for out in outputs)
