"""The rendered script must reproduce the reference interpreter exactly, stream, and stay standalone."""
from __future__ import annotations

import ast
import csv
import inspect
import io
import itertools
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import pytest
from recast_engine import operators
from recast_engine.dsl import OutputColumn, Program, Step, call, col, const
from recast_engine.dsl.interpret import run
from recast_engine.operators import relational_shapes as shapes
from recast_engine.render.closure import collect_definitions
from recast_engine.render.script import literal, render_script
from recast_engine.runtime import cells, tables
from script_kit import load_script

GRID = [
    ["name", "date", "amount", "note"],
    ["alice smith", "2024-03-05", "1,234.50", "x; y"],
    ["Bob", "1999-12-31", "-7", ""],
    ["", "", "", ""],
    ["carol", "bad date", "3.14159"],  # a short row
    ["  dave  ", "2000-01-01", "1e3", 'quote " and, comma'],
]


# every row as long as the header, so that the vectorized script (backend "auto") reads it with Arrow
REGULAR_GRID = [row + [""] * (4 - len(row)) for row in GRID] + [["straße İ", "2024-1-2", "١٢", "a\nb"]]
BACKENDS = [("cell", "GRID"), ("auto", "GRID"), ("auto", "REGULAR_GRID")]


def run_rendered(program: Program, grid: list[list[str]], tmp_path: Path, backend: str = "cell") -> list[list[str]]:
    """Write grid as CSV, run the rendered script's main on it, read the output back with csv."""
    source = tmp_path / "in.csv"
    target = tmp_path / "out.csv"
    with source.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(grid)
    assert load_script(render_script(program, backend=backend))["main"]([str(source), str(target)]) == 0
    with target.open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def through_csv(grid: list[list]) -> list[list[str]]:
    """What a grid becomes once written by csv.writer and read back (the interpreter's output as a file)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(grid)
    return list(csv.reader(io.StringIO(buffer.getvalue())))


HAND_WRITTEN = {
    "copy and reorder": Program(columns=[OutputColumn(value=col(2)), OutputColumn(value=col(0))]),
    "with header": Program(
        header_rows=1,
        columns=[
            OutputColumn(header=const("Amount"), value=col(2)),
            OutputColumn(header=col(0), value=const("fixed")),
            OutputColumn(value=col(7)),  # past the end of every row
        ],
    ),
    "negative index reads from the end": Program(
        header_rows=1, columns=[OutputColumn(header=col(-1), value=col(-1)), OutputColumn(value=col(1))]
    ),
    "no columns": Program(steps=[Step(op="identity")]),
    "header and no columns": Program(header_rows=1),
    "step then columns": Program(steps=[Step(op="identity")], header_rows=1, columns=[OutputColumn(value=col(3))]),
    "awkward literals": Program(
        columns=[OutputColumn(value=const('tab\there "quoted" \\ back """ triple')), OutputColumn(value=const(""))],
        notes=['a note with """ quotes and \\ backslash', "second\nline"],
    ),
}


@pytest.mark.parametrize("backend,grid", BACKENDS)
@pytest.mark.parametrize("name", sorted(HAND_WRITTEN))
def test_hand_written_programs_match_the_interpreter(name: str, backend: str, grid: str, tmp_path: Path) -> None:
    program, grid = HAND_WRITTEN[name], globals()[grid]
    expected = through_csv(run(program, [list(r) for r in grid]))
    assert run_rendered(program, grid, tmp_path, backend) == expected


def test_header_row_is_produced_even_for_an_empty_input(tmp_path: Path) -> None:
    program = HAND_WRITTEN["with header"]
    assert run_rendered(program, [], tmp_path) == through_csv(run(program, []))


def _public_functions(module) -> list[str]:
    return sorted(
        name
        for name, fn in vars(module).items()
        if inspect.isfunction(fn) and not name.startswith("_") and fn.__module__ == module.__name__
    )


# sample values by argument type, for the arguments without a default (a Literal takes its first option)
_SAMPLE_ARGS: dict[object, object] = {
    int: 1, int | None: 1, str: ",", bool: False, list[int]: [0, 1], list[str]: ["%Y-%m-%d"],
    dict[str, str]: {"Bob": "B"}, dict[str, Any]: {"index": 1},
    list[dict[str, Any]]: [{"column": 1, "func": "max", "as": "text"}],
    shapes.Predicate: {"column": 1, "test": "eq", "value": "x"}, shapes.GroupTest: {"rows": "gt", "value": "1"},
    list[shapes.Aggregate]: [{"column": 1, "func": "max", "as": "text"}],
    list[shapes.SortKey]: [{"column": 1, "as": "text", "descending": True}],
}


# arguments a sample of their type does not suit (a date field, a decimal step)
_SAMPLE_BY_NAME: dict[str, object] = {"part": "yyyy", "step": "10"}


def _sample_args(op: operators.Operator) -> dict:
    args = {}
    for name, field in op.arguments.model_fields.items():
        if not field.is_required():
            continue
        if name in _SAMPLE_BY_NAME:
            args[name] = _SAMPLE_BY_NAME[name]
        elif typing.get_origin(field.annotation) is typing.Literal:
            args[name] = typing.get_args(field.annotation)[0]
        else:
            assert field.annotation in _SAMPLE_ARGS, f"{op.name}: no sample for {name}: {field.annotation}"
            args[name] = _SAMPLE_ARGS[field.annotation]
    return args


@pytest.mark.parametrize("op", operators.operators("table"), ids=lambda op: op.name)
def test_every_table_operator_renders_like_the_interpreter(op: operators.Operator, tmp_path: Path) -> None:
    """Every declared table operator, with sample arguments, runs the same in the script and the interpreter."""
    program = Program(steps=[Step(op=op.name, args=_sample_args(op))])
    try:
        expected = through_csv(run(program, [list(r) for r in GRID]))
    except Exception as e:  # noqa: BLE001 - not an operator this grid suits
        pytest.skip(f"{op.name} fails on the sample grid: {e}")
    assert run_rendered(program, GRID, tmp_path) == expected


@pytest.mark.parametrize("backend,grid", BACKENDS)
@pytest.mark.parametrize("op", operators.operators("cell"), ids=lambda op: op.name)
def test_every_cell_operator_renders_like_the_interpreter(
    op: operators.Operator, backend: str, grid: str, tmp_path: Path
) -> None:
    """Every declared cell operator, applied to column 1 (and 2, 3 when it takes more cells)."""
    inputs = [col(1), col(2), col(3)][: op.cell_inputs() or 2]
    program = Program(
        header_rows=1,
        columns=[OutputColumn(value=call(op.name, *inputs, **_sample_args(op))), OutputColumn(value=col(0))],
    )
    rows = globals()[grid]
    try:
        expected = through_csv(run(program, [list(r) for r in rows]))
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"{op.name} fails on the sample grid: {e}")
    assert run_rendered(program, rows, tmp_path, backend) == expected


def test_script_contains_exactly_the_runtime_functions_it_uses() -> None:
    op = "deduplicate"
    script = render_script(Program(steps=[Step(op=op)]))
    defined = {n.name for n in ast.parse(script).body if isinstance(n, ast.FunctionDef)}
    public_tables = set(_public_functions(tables))
    public_cells = set(_public_functions(cells))
    assert defined & (public_tables | public_cells) == {op}
    assert {"convert", "main"} <= defined


def test_script_imports_only_the_standard_library_pandas_and_pyarrow() -> None:
    """Whatever operator a program uses, the source copied with it imports nothing else."""
    allowed = set(sys.stdlib_module_names) | {"pandas", "pyarrow"}
    for module in operators.runtime_modules():
        names = {op.function.__name__ for op in operators.operators() if op.module is module}
        for node in collect_definitions(module, names).imports:
            if isinstance(node, ast.Import):
                assert {a.name.split(".")[0] for a in node.names} <= allowed
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0 and node.module and node.module.split(".")[0] in allowed


def test_rows_stream_without_reading_the_whole_input() -> None:
    program = Program(header_rows=1, columns=[OutputColumn(value=col(1)), OutputColumn(value=const("k"))])
    convert = load_script(render_script(program))["convert"]
    endless = ([str(i), str(i * 2)] for i in itertools.count())
    assert list(itertools.islice(convert(endless), 3)) == [["", ""], ["2", "k"], ["4", "k"]]


def test_script_runs_standalone_and_ignores_a_byte_order_mark(tmp_path: Path) -> None:
    program = Program(header_rows=1, columns=[OutputColumn(header=col(1), value=col(1)), OutputColumn(value=col(0))])
    script = tmp_path / "script.py"
    script.write_text(render_script(program, title="swap"))
    source = tmp_path / "in.csv"
    source.write_bytes('\ufeffa,b\r\n1,"x\ny"\r\n'.encode())
    target = tmp_path / "out.csv"
    command = [sys.executable, "-I", str(script), str(source), str(target)]
    done = subprocess.run(command, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    assert target.read_text(encoding="utf-8") == 'b,\n"x\ny",1\n'


def test_header_comment_states_the_plan_and_notes() -> None:
    program = Program(columns=[OutputColumn(value=col(3))], notes=["keeps the fourth column"])
    script = render_script(program, title="Keep one column")
    docstring = ast.get_docstring(ast.parse(script))
    assert "Keep one column" in docstring
    assert "output column 1 = column 3" in docstring
    assert "keeps the fourth column" in docstring


def test_unknown_operators_are_rejected() -> None:
    with pytest.raises(KeyError):
        render_script(Program(columns=[OutputColumn(value=call("no_such_operator_xyz", col(0)))]))
    with pytest.raises(KeyError):
        render_script(Program(steps=[Step(op="_private")]))


@pytest.mark.parametrize(
    "value",
    ["", "it's", 'say "hi"', "a\\b", 0, -3, 2.5, True, None, [1, "a", [2]], {"k": "v", "n": [1, 2]}, (1,),
     float("inf"), float("-inf")],
)
def test_literals_evaluate_to_their_value(value) -> None:
    assert eval(literal(value)) == value


def test_keyword_arguments_that_are_not_identifiers_still_render() -> None:
    program = Program(steps=[Step(op="identity", args={})], columns=[OutputColumn(value=const("x"))])
    script = render_script(program)
    ast.parse(script)
    from recast_engine.render.script import _call_text

    text = _call_text("f", ["rows"], {"class": 1, "ok": 2})
    assert eval(text, {"f": lambda *a, **k: (a, k), "rows": "r"}) == (("r",), {"class": 1, "ok": 2})


# Arithmetic, conditional and relational operators on generated business-like rows (a header, numbers with
# currency signs and thousands, dates, repeated keys, empty and short rows).
def _business_grid(n: int = 40) -> list[list[str]]:
    import random

    rng = random.Random(7)
    grid = [["id", "customer", "date", "amount", "qty", "status"]]
    for i in range(n):
        amount = rng.choice([f"{rng.uniform(-500, 5000):.2f}", f"${rng.uniform(0, 9000):,.2f}", "", "n/a"])
        date = rng.choice([f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}", "", "soon"])
        grid.append([str(i), rng.choice(["Ann", "Bob", "Cid", ""]), date, amount, str(rng.randint(0, 9)),
                     rng.choice(["paid", "open", "void"])])
    grid.append(["99", "Bob"])  # a short row
    return grid


_DATE = {"as": "date", "formats": ["%Y-%m-%d"]}
VOCABULARY = {
    "arithmetic cells": Program(header_rows=1, columns=[
        OutputColumn(value=call("amount", col(3))),
        OutputColumn(value=call("format_number", call("combine", col(3), col(4), operator="*"), decimals=2)),
        OutputColumn(value=call("combine", col(3), col(4), operator="/")),
        OutputColumn(value=call("linear", col(3), col(4), weights=["0.45359237", "-2"], offset="32")),
        OutputColumn(value=call("date_difference", col(2), const("2024-01-01"), formats=["%Y-%m-%d"])),
        OutputColumn(value=call("if_cell", col(3), const("big"), const("small"), test="ge", value="100",
                                as_="number")),
        OutputColumn(value=call("if_cell", col(1), const("Y"), const("N"), test="empty")),
        OutputColumn(value=call("band", col(4), cuts=["3", "7"], labels=["low", "mid", "high"])),
        OutputColumn(value=call("digits", col(3))),
        OutputColumn(value=call("collapse_spaces", col(1))),
    ]),
    "filter": Program(steps=[Step(op="filter_rows", args={"header": True, "where": {"any": [
        {"column": 3, "test": "ge", "value": "100", "as": "number"},
        {"all": [{"column": 2, "test": "lt", "value": "2024-06-01", **_DATE}, {"column": 5, "test": "in",
                                                                                "values": ["paid"]}]}]}})]),
    "filter column against column": Program(steps=[Step(op="filter_rows", args={
        "where": {"column": 0, "test": "lt", "other": 4, "as": "number"}})]),
    "sort and head": Program(steps=[
        Step(op="sort_by", args={"header": True, "keys": [{"column": 1, "as": "text"},
                                                           {"column": 3, "as": "number", "descending": True}]}),
        Step(op="head_rows", args={"count": 7, "header": True})]),
    "group": Program(steps=[Step(op="group_rows", args={"keys": [1, 5], "header": True, "order": "sorted",
                                                        "aggregates": [{"func": f, "column": 3} for f in (
                                                            "rows", "count", "count_distinct", "sum", "mean",
                                                            "first", "last", "concat")] + [
                                                            {"func": "max", "column": 2, **_DATE},
                                                            {"func": "min", "column": 3, "as": "number"},
                                                            {"func": "second_max", "column": 2, **_DATE},
                                                            {"func": "second_min", "column": 3, "as": "number"}]})]),
    "extremes and top": Program(steps=[
        Step(op="keep_extremes", args={"keys": [1], "column": 3, "which": "max", "header": True}),
        Step(op="keep_top", args={"keys": [], "column": 2, "count": 3, "as_": "date", "formats": ["%Y-%m-%d"],
                                  "header": True})]),
    "having and distinct": Program(steps=[
        Step(op="keep_groups", args={"keys": [1], "having": {"rows": "gt", "value": "3"}, "header": True}),
        Step(op="keep_groups", args={"keys": [5], "having": {"some": {"column": 4, "test": "eq", "value": "3"}}}),
        Step(op="distinct_rows", args={"columns": [1, 5], "keep": "last", "header": True})]),
    "rows another row refers to": Program(steps=[
        Step(op="keep_referenced", args={"column": 4, "referenced": 0, "header": True}),
        Step(op="keep_referenced", args={"column": 0, "referenced": 4, "keep": False, "header": True})]),
    "windows": Program(steps=[
        Step(op="add_window", args={"func": f, "column": 3, "keys": k, "header": True, "name": f})
        for f, k in (("sum", []), ("running_sum", [1]), ("row_number", [5]), ("count", [1]), ("mean", []),
                     ("difference", [1]))]),
}


@pytest.mark.parametrize("backend", ["cell", "auto"])
@pytest.mark.parametrize("name", sorted(VOCABULARY))
def test_arithmetic_and_relational_operators_render_like_the_interpreter(name: str, backend: str,
                                                                          tmp_path: Path) -> None:
    program = VOCABULARY[name]
    grid = _business_grid()
    expected = through_csv(run(program, [list(r) for r in grid]))
    assert len(expected) > 1
    assert run_rendered(program, grid, tmp_path, backend) == expected
