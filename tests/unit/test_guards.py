"""Guards at inference: a learned script counts what it could not convert, and both renderings count alike."""
from __future__ import annotations

import contextlib
import csv
import io
import json
from pathlib import Path

import pytest
from recast_engine.dsl import OutputColumn, Program, Step, call, col, const
from recast_engine.dsl.guards import count_warnings, guarded_nodes
from recast_engine.dsl.interpret import run
from recast_engine.runtime.guards import WarningCounter
from recast_engine.synthesis.search import learn
from recast_engine.verify.summary_line import SummaryCatcher
from recast_engine.verify.warnings import (
    ConversionWarning,
    ConversionWarnings,
    WarningExample,
    describe_warnings,
    merge_warnings,
    read_summary,
)
from script_kit import instrumented_script

SIZES = {"S": "small", "M": "medium", "L": "large"}

PROGRAM = Program(
    header_rows=1,
    input_width=4,
    input_header_line="name,size,day,price",
    columns=[
        OutputColumn(header=col(0), value=call("upper", col(0))),
        OutputColumn(header=col(1), value=call("lookup", col(1), table=SIZES, default="other")),
        OutputColumn(header=col(2), value=call("concat", call("date_part", col(2), formats=["%Y-%m-%d"], part="MMM"),
                                                const("!"))),
        OutputColumn(header=const("total"), value=call("format_number", call("arith", col(3), const("3"), operator="*"),
                                                       decimals=2)),
        OutputColumn(header=const("cents"), value=call("format_number", col(3), scale="100", decimals=0)),
    ],
)


def rows(count: int) -> list[list[str]]:
    """Mostly convertible rows, with an unknown size every 7th, a bad date every 5th, a bad price every 11th and
    empty cells every 13th (never counted)."""
    out = [["name", "size", "day", "price"]]
    for i in range(count):
        size = "XL" if i % 7 == 3 else "SML"[i % 3]
        day = "31/02/2020" if i % 5 == 2 else f"2020-{i % 12 + 1:02d}-{i % 28 + 1:02d}"
        price = "n/a" if i % 11 == 4 else f"{i % 50}.{i % 10}5"
        if i % 13 == 6:
            size, day, price = "", "", ""
        out.append([f"item {i}", size, day, price])
    return out


def write_csv(path: Path, grid: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(grid)


def script_summary(program: Program, grid: list[list[str]], tmp_path: Path, backend: str,
                   block_bytes: int | None = None) -> tuple[dict, bytes, bool]:
    """(the summary line the script printed, its output, whether the vectorized script went row by row)."""
    source, target = tmp_path / "in.csv", tmp_path / f"{backend}.csv"
    write_csv(source, grid)
    script, fell_back = instrumented_script(program, backend, block_bytes)
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        assert script["main"]([str(source), str(target)]) == 0
    lines = stderr.getvalue().splitlines()
    assert len(lines) == 1, "the script prints one line on stderr: the summary"
    return json.loads(lines[0])["recast_warnings"], target.read_bytes(), bool(fell_back)


def expected_output(program: Program, grid: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(run(program, grid))
    return buffer.getvalue().encode()


def by_key(summary: dict) -> dict[tuple[str, int | None], dict]:
    return {(w["kind"], w["column"]): w for w in summary["warnings"]}


@pytest.mark.parametrize("block_bytes", [None, 1024])
def test_both_renderings_count_what_the_interpreter_counts_and_write_the_same_bytes(
    tmp_path: Path, block_bytes: int | None
) -> None:
    grid = rows(600)
    reference = count_warnings(PROGRAM, grid)
    cell, cell_output, _ = script_summary(PROGRAM, grid, tmp_path, "cell")
    arrow, arrow_output, by_row = script_summary(PROGRAM, grid, tmp_path, "arrow", block_bytes)
    assert not by_row, "the vectorized path itself counted"
    assert cell == reference == arrow
    assert cell_output == arrow_output == expected_output(PROGRAM, grid)


def test_the_counts_name_each_column_kind_and_first_rows(tmp_path: Path) -> None:
    grid = rows(100)
    found = by_key(count_warnings(PROGRAM, grid))
    unknown = found[("unknown_key", 2)]
    data = grid[1:]
    assert unknown["count"] == sum(r[1] == "XL" for r in data)
    assert unknown["column_name"] == "size"
    assert unknown["examples"][0] == {"row": 5, "value": "XL"}  # the 4th data row, after the header
    dates = found[("unparsed_date", 3)]
    assert dates["count"] == sum(r[2] == "31/02/2020" for r in data)
    assert [e["row"] for e in dates["examples"]] == [4, 9, 14]
    cents = found[("unparsed_number", 5)]
    assert cents["count"] == sum(r[3] == "n/a" for r in data)
    assert cents["examples"][0]["value"] == "n/a"
    assert set(found) == {("unknown_key", 2), ("unparsed_date", 3), ("unparsed_number", 4),
                          ("unparsed_number", 5)}


def test_a_file_like_the_training_input_has_no_warnings(tmp_path: Path) -> None:
    grid = [["name", "size", "day", "price"], ["a", "S", "2020-01-02", "1.5"], ["b", "", "", ""]]
    for backend in ("cell", "arrow"):
        summary, _, _ = script_summary(PROGRAM, grid, tmp_path, backend)
        assert summary == {"version": 1, "warnings": []}


def test_rows_of_another_width_and_another_header_are_counted_by_both_renderings(tmp_path: Path) -> None:
    grid = [["name", "colour", "day", "price"], ["a", "S", "2020-01-02", "1.5"], ["b", "M", "2020-01-03"],
            ["c", "L", "2020-01-04", "2", "extra"], ["d", "S", "2020-01-05", "3"]]
    reference = count_warnings(PROGRAM, grid)
    cell, _, _ = script_summary(PROGRAM, grid, tmp_path, "cell")
    arrow, _, _ = script_summary(PROGRAM, grid, tmp_path, "arrow")
    assert cell == reference == arrow
    found = by_key(reference)
    assert found[("wrong_width", None)]["count"] == 2
    assert [e["row"] for e in found[("wrong_width", None)]["examples"]] == [3, 4]
    assert found[("header_mismatch", None)]["examples"] == [{"row": 1, "value": "name,colour,day,price"}]


def test_a_whole_file_of_another_width_is_counted_row_by_row(tmp_path: Path) -> None:
    grid = [["name", "size", "day"], ["a", "S", "2020-01-02"], ["b", "M", "2020-01-03"]]
    arrow, _, by_row = script_summary(PROGRAM, grid, tmp_path, "arrow")
    assert by_row
    assert by_key(arrow)[("wrong_width", None)]["count"] == 3
    assert arrow == count_warnings(PROGRAM, grid)


def test_rows_after_a_filter_are_numbered_as_the_output_has_them(tmp_path: Path) -> None:
    program = PROGRAM.model_copy(update={"steps": [Step(op="drop_empty_rows", args={"column": 1, "header": True})]})
    grid = rows(200)
    reference = count_warnings(program, grid)
    cell, cell_output, _ = script_summary(program, grid, tmp_path, "cell")
    arrow, arrow_output, by_row = script_summary(program, grid, tmp_path, "arrow", 2048)
    assert not by_row
    assert cell == reference == arrow
    assert cell_output == arrow_output


def test_only_guarded_operators_with_an_input_that_is_not_constant_are_checked() -> None:
    expr = call("concat", call("format_number", const("12")), call("upper", col(0)),
                call("lookup", call("trim", col(1)), table={"a": "b"}))
    assert [(node.op, kind) for node, kind in guarded_nodes(expr)] == [("lookup", "unknown_key")]


def test_learning_records_the_train_inputs_width_and_header() -> None:
    found = learn([["code", "amount"], ["a", "1"], ["b", "2"], ["c", "3"]],
                  [["code", "amount"], ["A", "1"], ["B", "2"], ["C", "3"]], header="yes", timeout=5)
    program = found.programs[0]
    assert (program.input_width, program.input_header_line) == (2, "code,amount")
    assert program.fingerprint() == program.model_copy(update={"input_width": None}).fingerprint()


def test_the_summary_is_read_from_the_last_matching_line_of_stderr() -> None:
    summary = {"version": 1, "warnings": [{"kind": "unknown_key", "column": 2, "column_name": "size", "count": 4,
                                           "examples": [{"row": 3, "value": "XL"}]}]}
    stderr = "a library's warning\n" + json.dumps({"recast_warnings": summary}) + "\n"
    read = read_summary(stderr)
    assert read is not None and read.total == 4
    assert describe_warnings(read) == (
        "column 2 (size): a lookup key not seen in training (the default was written) in 4 rows, e.g. row 3: 'XL'")
    assert read_summary("Traceback (most recent call last):\n") is None


def _warning(kind: str, column: int | None, count: int, rows: list[int]) -> ConversionWarning:
    return ConversionWarning(kind=kind, column=column, count=count,
                             examples=[WarningExample(row=r, value=f"v{r}") for r in rows])


def test_chunk_summaries_merge_into_the_summary_of_the_whole_file() -> None:
    first = ConversionWarnings(warnings=[_warning("unknown_key", 2, 2, [5, 9]),
                                         _warning("header_mismatch", None, 1, [1])])
    second = ConversionWarnings(warnings=[_warning("unknown_key", 2, 3, [2, 3, 4]),
                                          _warning("unparsed_date", 1, 1, [7]),
                                          _warning("header_mismatch", None, 1, [1])])
    merged = {(w.kind, w.column): w for w in merge_warnings([(first, 0, 0), (second, 100, 100)]).warnings}
    assert merged[("unknown_key", 2)].count == 5
    assert [e.row for e in merged[("unknown_key", 2)].examples] == [5, 9, 102]
    assert [e.row for e in merged[("unparsed_date", 1)].examples] == [107]
    assert merged[("header_mismatch", None)].count == 1
    assert [e.row for e in merged[("header_mismatch", None)].examples] == [1]


def test_a_chunked_runs_warnings_are_the_chunks_summed_with_rows_renumbered() -> None:
    from recast_common.db.models import InferenceChunk
    from tester.chunked import run_warnings

    def chunk(index: int, output_rows: int, warnings: ConversionWarnings | None) -> InferenceChunk:
        return InferenceChunk(run_id="r", chunk_index=index, output_rows=output_rows,
                              metrics={"warnings": warnings.model_dump(mode="json") if warnings else None})

    first = ConversionWarnings(warnings=[_warning("unknown_key", 2, 1, [4])])  # a header and 9 rows: rows 1-10
    second = ConversionWarnings(warnings=[_warning("unknown_key", 2, 2, [2, 5])])  # its header repeated, not kept
    merged = run_warnings([chunk(0, 10, first), chunk(1, 8, second)], drop_first_record=True)
    assert merged is not None
    assert merged.warnings[0].count == 3
    assert [e.row for e in merged.warnings[0].examples] == [4, 11, 14]
    assert run_warnings([chunk(0, 10, first), chunk(1, 8, None)], drop_first_record=True) is None


def test_a_long_summary_keeps_its_counts_and_drops_examples_to_fit_the_stderr_tail() -> None:
    from recast_engine.runtime.guards import SUMMARY_CHARACTERS, WarningCounter

    counter = WarningCounter(None, None)
    for column in range(1, 60):
        for row in range(2, 6):
            counter.note("unparsed_number", column, row, "x" * 80)
    stream = io.StringIO()
    counter.report(stream)
    line = stream.getvalue()
    assert len(line) <= SUMMARY_CHARACTERS + 1
    summary = read_summary(line)
    assert summary is not None and summary.total == 59 * 4


def test_wrong_width_rows_of_a_chunked_run_are_numbered_by_input_row_not_output_row() -> None:
    from recast_common.db.models import InferenceChunk
    from tester.chunked import run_warnings

    def chunk(index: int, input_rows: int, output_rows: int, warnings: ConversionWarnings) -> InferenceChunk:
        return InferenceChunk(run_id="r", chunk_index=index, output_rows=output_rows,
                              metrics={"warnings": warnings.model_dump(mode="json"), "input_rows": input_rows})

    # a filter: chunk 0 reads a header and 19 rows and writes a header and 4; chunk 1 repeats the header
    first = ConversionWarnings(warnings=[_warning("unknown_key", 2, 1, [3])])
    second = ConversionWarnings(warnings=[_warning("wrong_width", None, 1, [3]),
                                          _warning("unknown_key", 2, 1, [2])])
    merged = {(w.kind, w.column): w for w in
              run_warnings([chunk(0, 20, 5, first), chunk(1, 20, 6, second)], drop_first_record=True).warnings}
    assert [e.row for e in merged[("wrong_width", None)].examples] == [22]  # the 22nd line of the input
    assert [e.row for e in merged[("unknown_key", 2)].examples] == [3, 6]  # output rows


def _summary_line_of(columns: int) -> str:
    counter = WarningCounter(width=None, header_line=None)
    counter.named([f"a rather long column name {c}" for c in range(columns)])
    for column in range(1, columns + 1):
        counter.note("unknown_key", column, 2, "a value that is not in the table" * 2)
    stream = io.StringIO()
    counter.report(stream)
    return stream.getvalue()


def test_the_summary_of_many_columns_is_caught_whole_however_the_stream_is_cut() -> None:
    line = _summary_line_of(300)
    assert len(line) > 12_000  # longer than any stderr tail a runner keeps
    stream = ("noise before\n" + line).encode()
    for size in (1, 7, 4096):
        catcher = SummaryCatcher()
        for at in range(0, len(stream), size):
            catcher.feed(stream[at:at + size])
        summary = read_summary(catcher.text())
        assert summary is not None and len(summary.warnings) == 300


def test_only_the_last_summary_line_is_kept_and_an_oversized_one_is_dropped() -> None:
    catcher = SummaryCatcher()
    catcher.feed((_summary_line_of(2) + _summary_line_of(3)).encode())
    summary = read_summary(catcher.text())
    assert summary is not None and len(summary.warnings) == 3
    small = SummaryCatcher(cap_bytes=100)
    small.feed(_summary_line_of(3).encode())
    assert small.text() == ""
