"""Understood instructions compile to a Program that runs on the input, and the rendered script agrees."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest
from recast_engine.dsl.interpret import run
from recast_engine.instructions import read_instructions
from recast_engine.instructions.compile import CompileError, check_program, compile_program
from recast_engine.render.script import render_script
from recast_engine.runtime import cells, tables

ORDERS = [
    ["id", "status", "unit_price", "quantity", "temp_f", "code", "when"],
    ["1", "paid", "2.50", "4", "98.6", "ab", "2024-01-05"],
    ["2", "open", "1.10", "3", "32", "cd", "2024-12-25"],
    ["3", "Paid", "10", "12", "212", "", "2023-07-04"],
    ["1", "paid", "2.50", "4", "98.6", "ab", "2024-01-05"],
]


def rendered_output(program, grid: list[list[str]], tmp_path: Path) -> list[list[str]]:
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    with source.open("w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(grid)
    namespace: dict = {"__name__": "rendered"}
    exec(compile(render_script(program), "<rendered>", "exec"), namespace)  # noqa: S102 - the script under test
    assert namespace["main"]([str(source), str(target)]) == 0
    with target.open(newline="") as f:
        return list(csv.reader(f))


def test_instruction_only_program_filters_dedupes_sorts_and_computes_columns(tmp_path):
    instructions = read_instructions(
        "Keep only rows where status is paid. Remove duplicates. Sort by quantity descending.",
        {"id": "drop", "code": "uppercase; fill empty with ZZ", "when": "Month D, YYYY",
         "total": "unit_price * quantity", "temp_c": "(temp_f - 32) * 5 / 9 then round to 1 decimal"},
    )
    program = compile_program(instructions, ORDERS)
    output = check_program(program, ORDERS)
    assert output == [
        ["status", "unit_price", "quantity", "temp_f", "code", "when", "total", "temp_c"],
        ["Paid", "10", "12", "212", "ZZ", "July 4, 2023", "120", "100.0"],
        ["paid", "2.50", "4", "98.6", "AB", "January 5, 2024", "10", "37.0"],
    ]
    assert rendered_output(program, ORDERS, tmp_path) == output
    assert any("unit_price * quantity" in note for note in program.notes)


def test_an_aggregate_gives_one_row_per_group_named_after_its_column(tmp_path):
    program = compile_program(read_instructions("total of quantity per status", None), ORDERS)
    assert run(program, ORDERS) == [["status", "quantity"], ["paid", "8"], ["open", "3"], ["Paid", "12"]]
    counted = compile_program(read_instructions("count per status. sort by count descending", None), ORDERS)
    assert run(counted, ORDERS) == [["status", "count"], ["paid", "2"], ["open", "1"], ["Paid", "1"]]
    assert rendered_output(counted, ORDERS, tmp_path) == run(counted, ORDERS)


def test_an_example_header_chooses_and_orders_the_output_columns():
    instructions = read_instructions(None, {"cust": "rename to client", "code": "uppercase"})
    grid = [["cust", "code", "x"], ["ann", "ab", "1"]]
    program = compile_program(instructions, grid, output_header=["code", "client"])
    assert run(program, grid) == [["code", "client"], ["AB", "ann"]]


@pytest.mark.parametrize("general, columns, message", [
    ("sort by nowhere", None, "'nowhere' is not in the input"),
    (None, {"total": "price * qty"}, "'price' is not in the input"),
    ("make it nice", None, "not understood"),
    (None, {"ghost": "uppercase"}, "'ghost' is not in the input"),
])
def test_instructions_that_do_not_fit_the_input_say_why(general, columns, message):
    with pytest.raises(CompileError, match=message):
        compile_program(read_instructions(general, columns), ORDERS)


def test_runtime_operators_of_instructions_compare_numbers_as_numbers():
    assert cells.arith("19.99", "3", "*") == "59.97" and cells.arith("1", "0", "/") == ""
    assert cells.arith("x", "1", "+") == "" and cells.arith("1,000", "0.5", "-") == "999.5"
    assert cells.map_values("B", {"A": "Alpha", "B": "Beta"}) == "Beta" and cells.map_values("C", {}) == "C"
    assert cells.fill_empty(" ", "n/a") == "n/a" and cells.fill_empty("x", "n/a") == "x"
    rows = [["v"], ["9"], ["100"], ["abc"], ["20"]]
    assert list(tables.keep_rows_where(rows, 0, "gt", "10", header=True)) == [["v"], ["100"], ["20"]]
    assert list(tables.keep_rows_where(rows, 0, "eq", "ABC", keep=False, header=True)) == [
        ["v"], ["9"], ["100"], ["20"]]
    assert list(tables.sort_rows_by(rows, 0, descending=True, header=True)) == [
        ["v"], ["abc"], ["100"], ["20"], ["9"]]
