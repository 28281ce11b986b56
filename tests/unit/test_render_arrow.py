"""The vectorized script writes the same bytes as the per-cell script, whatever the file and the operators."""
from __future__ import annotations

import csv
import inspect
import io
import random
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from recast_engine.dsl import OutputColumn, Program, Step, call, col, const
from recast_engine.render.arrow import kernel_coverage, render_vectorized, vectorizable
from recast_engine.render.script import render_script
from recast_engine.runtime import cells
from script_kit import instrumented_script, load_script

TRICKY = [
    ["name", "date", "amount", "note"],
    ["alice smith", "2024-03-05", "1,234.50", "x; y"],
    ["Bob", "1999-12-31", "-7", ""],
    ["", "", "", ""],
    ["  dave  ", "2000-01-01", "1e3", 'quote " and, comma'],
    ["straße ǅ İ", "2000-1-1", "é", "line\nbreak"],
    ["\x1cspaced\x1f", "31/12/1999", " 12 ", "a\rb"],
]


def outputs(
    program: Program, data: bytes, tmp_path: Path, block_bytes: int | None = None, row_by_row: bool | None = False
) -> tuple[bytes, bytes]:
    """(per-cell script's output, vectorized script's output) on the same input bytes; `row_by_row` says whether
    the vectorized script must have given up on Arrow's reader for this file (None: either)."""
    source = tmp_path / "in.csv"
    source.write_bytes(data)
    results = []
    for backend in ("cell", "arrow"):
        script, fell_back = instrumented_script(program, backend, block_bytes)
        target = tmp_path / f"{backend}.csv"
        assert script["main"]([str(source), str(target)]) == 0
        if backend == "arrow" and row_by_row is not None:
            assert bool(fell_back) == row_by_row
        results.append(target.read_bytes())
    return results[0], results[1]


def as_csv(grid: list[list[str]], terminator: str = "\n") -> bytes:
    """The grid as CSV, every field quoted (so that line breaks inside values stay inside them)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=terminator, quoting=csv.QUOTE_ALL).writerows(grid)
    return buffer.getvalue().encode()


def program_of(*values, header: bool = True) -> Program:
    return Program(header_rows=int(header), columns=[OutputColumn(value=v) for v in values])


def _public_cell_operators() -> list[str]:
    return sorted(
        name for name, fn in vars(cells).items()
        if inspect.isfunction(fn) and not name.startswith("_") and fn.__module__ == cells.__name__
    )


_SAMPLE_ARGS = {"int": 1, "int | None": 1, "str": ",", "bool": False, "list[int]": [0, 1], "list[str]": ["%Y-%m-%d"],
                "dict": {"Bob": "B", "": "empty"}}


@pytest.mark.parametrize("op", _public_cell_operators())
def test_every_cell_operator_writes_the_same_bytes_vectorized(op: str, tmp_path: Path) -> None:
    fn = getattr(cells, op)
    params = list(inspect.signature(fn).parameters.values())
    cells_in = 0  # the leading parameters that take a cell value (str)
    for p in params:
        positional = p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        if not positional or p.default is not p.empty or p.annotation != "str":
            break
        cells_in += 1
    variadic = any(p.kind == p.VAR_POSITIONAL for p in params)
    inputs = [col(0), col(3)] if variadic else [col(0), col(3), col(1)][:cells_in]
    args = {}
    for p in params[len(inputs):]:
        if p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        annotation = p.annotation if isinstance(p.annotation, str) else getattr(p.annotation, "__name__", "")
        if annotation not in _SAMPLE_ARGS:
            pytest.skip(f"{op} needs arguments of unknown kinds")
        args[p.name] = _SAMPLE_ARGS[annotation]
    program = program_of(call(op, *inputs, **args), col(2))
    try:
        per_cell, vectorized = outputs(program, as_csv(TRICKY), tmp_path)
    except Exception as e:  # noqa: BLE001 - an operator these sample arguments do not suit
        pytest.skip(f"{op} fails on the sample grid: {e}")
    assert vectorized == per_cell


KERNEL_PROGRAMS = {
    "case and trim": program_of(call("upper", col(0)), call("lower", col(0)), call("trim", col(0)), col(3)),
    "concat of kernels, per-value parts and constants": program_of(
        call("concat", call("upper", col(0)), const(", "), call("date_part", col(1), formats=["%Y-%m-%d"], part="yy"),
             const(7)),
    ),
    "lookup with a default": program_of(call("lookup", col(0), table={"Bob": "B", "": "none"}, default="?")),
    "if_matches with a portable pattern": program_of(
        call("if_matches", col(2), const("number"), col(0), pattern=r"^-?\d+(\.\d*)?$"),
        call("if_matches", col(0), col(1), const(""), pattern="[a-c]"),
    ),
    "if_matches with a Python-only pattern": program_of(
        call("if_matches", col(0), const("y"), const("n"), pattern=r"(?i)BOB"),
    ),
    "a constant that is not a string": program_of(const(3), const(None), call("upper", const("x"))),
    "a column past the end of every row": program_of(col(9), call("upper", col(9))),
    "one output column (empty values are quoted)": program_of(col(3)),
    "kernel over a per-value input falls back whole": program_of(
        call("upper", call("date_part", col(1), formats=["%Y-%m-%d"], part="MMM")),
    ),
}


@pytest.mark.parametrize("name", sorted(KERNEL_PROGRAMS))
@pytest.mark.parametrize("terminator", ["\n", "\r\n", "\r"])
def test_kernels_write_the_same_bytes_as_the_per_cell_functions(name: str, terminator: str, tmp_path: Path) -> None:
    per_cell, vectorized = outputs(KERNEL_PROGRAMS[name], as_csv(TRICKY, terminator), tmp_path)
    assert vectorized == per_cell


def test_ascii_batches_use_the_kernels_and_others_the_per_cell_function(tmp_path: Path) -> None:
    program = program_of(call("upper", col(0)), header=False)
    ascii_rows = [["abc"], ["xyz q"]] * 20
    _, ascii_out = outputs(program, as_csv(ascii_rows + [["straße"]]), tmp_path, block_bytes=64)
    assert ascii_out.decode().splitlines()[-1] == "STRASSE"  # str.upper's full case mapping, not Arrow's
    assert kernel_coverage(program) == (1, 1)
    assert kernel_coverage(program_of(call("date_part", col(0), formats=["%Y"], part="yy"))) == (0, 1)


@pytest.mark.parametrize("start", range(-4, 5))
@pytest.mark.parametrize("end", range(-4, 5))
def test_substring_by_index_matches_python_slicing_rules(start: int, end: int, tmp_path: Path) -> None:
    words = [[w] for w in ["", "a", "ab", "abc", "abcd", "abcdé", "ééééééé"]]
    program = program_of(call("substring", col(0), start={"index": start}, end={"index": end}), header=False)
    per_cell, vectorized = outputs(program, as_csv(words), tmp_path)
    assert vectorized == per_cell


@pytest.mark.parametrize("data", [
    b"", b"a,b\n", b"\xef\xbb\xbfa,b\n1,2\n", b"a,b\n\n1,2\n", b"a,b\n1,2,3\n", b"a,b\n1\n", b'a,b\n"x',
    b'a,b\n"ab"c,d\n', b'a,b\n "q",2\n', b"a,b\n1,2", b'h\n""\n\n', b"a,b\r1,2\r",
])
def test_files_arrow_reads_differently_are_converted_row_by_row(data: bytes, tmp_path: Path) -> None:
    program = program_of(call("upper", col(0)), call("concat", col(1), const("!")))
    per_cell, vectorized = outputs(program, data, tmp_path, row_by_row=None)
    assert vectorized == per_cell


def test_a_file_under_the_threshold_is_converted_row_by_row_without_importing_pyarrow(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    program = program_of(col(0), call("upper", col(1)), call("date_part", col(2), formats=["%Y-%m-%d"], part="MMM"))
    source = tmp_path / "in.csv"
    source.write_bytes(as_csv([["id", "name", "date"], ["1", "ann lee", "2024-03-05"], ["2", "Çelik", "1999-12-31"]]))
    per_cell = load_script(render_script(program, backend="cell"))
    assert per_cell["main"]([str(source), str(tmp_path / "cell.csv")]) == 0
    script = load_script(render_script(program, backend="arrow"), small_files_by_batch=False)
    assert script["VECTORIZE_FROM_BYTES"] > source.stat().st_size
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # any import of pyarrow (or its modules) now fails
    assert script["main"]([str(source), str(tmp_path / "arrow.csv")]) == 0
    assert (tmp_path / "arrow.csv").read_bytes() == (tmp_path / "cell.csv").read_bytes()
    assert script["pa"] is None


def test_a_file_of_the_threshold_or_more_is_converted_by_record_batches(tmp_path: Path) -> None:
    program = program_of(col(0), call("upper", col(1)))
    source = tmp_path / "in.csv"
    source.write_bytes(as_csv([["id", "name"], ["1", "ann lee"], ["2", "Çelik"]]))
    script = load_script(render_script(program, backend="arrow"), small_files_by_batch=False)
    script["VECTORIZE_FROM_BYTES"] = source.stat().st_size
    script["main_by_row"] = None  # the vectorized path must convert this file itself
    assert script["main"]([str(source), str(tmp_path / "arrow.csv")]) == 0
    per_cell = load_script(render_script(program, backend="cell"))
    assert per_cell["main"]([str(source), str(tmp_path / "cell.csv")]) == 0
    assert (tmp_path / "arrow.csv").read_bytes() == (tmp_path / "cell.csv").read_bytes()


def test_random_csv_text_gives_the_same_bytes(tmp_path: Path) -> None:
    rng = random.Random(3)
    alphabet = ["a", "B", ",", '"', "\n", "\r\n", " ", "é", "ß", "1", "-", ";"]
    program = program_of(call("upper", col(0)), call("trim", col(1)), col(2), call("concat", col(0), col(2)))
    for _ in range(60):
        data = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80))).encode()
        per_cell, vectorized = outputs(program, data, tmp_path, row_by_row=None)
        assert vectorized == per_cell, data


@pytest.mark.parametrize("program", [
    Program(header_rows=1),
    Program(steps=[Step(op="drop_empty_rows", args={"column": 1, "header": True})], header_rows=1),
], ids=["copy", "filter"])
def test_rows_kept_as_they_stand_give_the_same_bytes(program: Program, tmp_path: Path) -> None:
    rng = random.Random(8)
    alphabet = ["a", "B", ",", '"', "\n", "\r\n", " ", "é", "1", "", ""]
    for _ in range(40):
        data = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80))).encode()
        per_cell, vectorized = outputs(program, data, tmp_path, row_by_row=None)
        assert vectorized == per_cell, data
    grid = [["id", "note"]] + [[str(i), rng.choice(["", "x, y", 'say "hi"', "two\nlines", " pad "])]
                               for i in range(300)]
    per_cell, vectorized = outputs(program, as_csv(grid), tmp_path, block_bytes=256)
    assert vectorized == per_cell


def test_many_small_batches_give_the_same_bytes_as_one(tmp_path: Path) -> None:
    rng = random.Random(5)
    grid = [["id", "name", "date"]] + [
        [str(i), rng.choice(["ann lee", "bo", "Çelik"]), f"20{rng.randint(10, 29)}-0{rng.randint(1, 9)}-1{i % 10}"]
        for i in range(400)
    ]
    program = program_of(col(0), call("upper", col(1)), call("date_part", col(2), formats=["%Y-%m-%d"], part="MMM"))
    per_cell, vectorized = outputs(program, as_csv(grid), tmp_path, block_bytes=256)
    assert vectorized == per_cell


def test_only_column_programs_with_non_negative_indices_are_vectorized() -> None:
    assert vectorizable(program_of(col(0)))
    assert not vectorizable(program_of(col(-1)))
    assert not vectorizable(Program(steps=[Step(op="identity")], columns=[OutputColumn(value=col(0))]))
    assert vectorizable(Program())  # the rows as they stand
    with pytest.raises(ValueError):
        render_vectorized(program_of(col(-1)))
    assert "pyarrow" not in render_script(program_of(col(-1)), backend="auto")
    assert "pyarrow" in render_script(program_of(col(0)), backend="auto")


def test_an_operator_without_a_kernel_falls_back_to_its_per_cell_function(tmp_path: Path) -> None:
    """A new operator (here a runtime function the kernel table does not know) is called per value."""
    script = render_script(program_of(call("join_numbers", col(0))), backend="arrow")
    assert "per_value(value_1, input_column(batch, 0))" in script
    assert "def join_numbers(" in script


FILTERED = TRICKY + [["  ", "", "٣", ""], ["x", "12", "7", "ok"], ["", "", "", ""]]
TOKEN_CLASSES = [r"\d+", r"[\d.,$%-]+", r"[A-Za-z]+", r"[A-Za-z ]+", r"\S+", r".*\d.*", r".*[A-Za-z].*", r"(?i)X"]


@pytest.mark.parametrize("header", [False, True])
@pytest.mark.parametrize("steps", [
    [Step(op="drop_empty_rows")],
    [Step(op="drop_empty_rows", args={"column": 1})],
    [Step(op="drop_empty_rows", args={"column": 9})],
    *[[Step(op="keep_rows_matching", args={"column": c, "pattern": p})] for p in TOKEN_CLASSES for c in (0, 2)],
    [Step(op="drop_empty_rows", args={"column": 0}), Step(op="keep_rows_matching", args={"column": 1,
                                                                                        "pattern": r"\d+"})],
    [Step(op="keep_rows_matching", args={"column": 3, "pattern": "no such value"})],
], ids=repr)
def test_row_filters_keep_the_same_rows_vectorized(steps: list[Step], header: bool, tmp_path: Path) -> None:
    steps = [Step(op=s.op, args={**s.args, "header": header}) for s in steps]
    program = Program(steps=steps, header_rows=1, columns=[
        OutputColumn(header=col(0), value=col(0)), OutputColumn(value=call("upper", col(2))),
        OutputColumn(value=col(1)),
    ])
    assert vectorizable(program)
    per_cell, vectorized = outputs(program, as_csv(FILTERED), tmp_path, block_bytes=64)
    assert vectorized == per_cell


def test_steps_other_than_row_filters_keep_the_per_cell_script() -> None:
    assert not vectorizable(Program(steps=[Step(op="deduplicate")], columns=[OutputColumn(value=col(0))]))
    assert not vectorizable(Program(steps=[Step(op="keep_rows_matching", args={"column": -1, "pattern": "x"})],
                                    columns=[OutputColumn(value=col(0))]))


@pytest.mark.parametrize("op,value", [("eq", "bob"), ("ne", ""), ("gt", "0"), ("le", "1e3"), ("contains", "a"),
                                      ("eq", "-7"), ("lt", "x")])
@pytest.mark.parametrize("keep", [True, False])
def test_comparison_filters_keep_the_same_rows_vectorized(op: str, value: str, keep: bool, tmp_path: Path) -> None:
    step = Step(op="keep_rows_where", args={"column": 2, "op": op, "value": value, "keep": keep, "header": True})
    program = Program(steps=[step, Step(op="keep_rows_where", args={"column": 0, "op": "ne", "value": "x"})],
                      header_rows=1, columns=[OutputColumn(value=col(2)), OutputColumn(value=col(0))])
    assert vectorizable(program)
    per_cell, vectorized = outputs(program, as_csv(FILTERED), tmp_path, block_bytes=64)
    assert vectorized == per_cell


def test_a_runtime_name_equal_to_a_vectorized_helper_keeps_the_per_cell_script() -> None:
    from recast_engine.render.arrow import clashing

    assert clashing({"per_value", "value_3", "keep", "pa", "upper", "_parse_number"}) == {
        "per_value", "value_3", "keep", "pa"}


def test_a_pipe_as_input_gives_what_the_per_cell_script_gives(tmp_path: Path) -> None:
    import subprocess
    import sys

    written = []
    for backend in ("cell", "arrow"):
        script = tmp_path / f"{backend}.py"
        script.write_text(render_script(program_of(call("upper", col(0))), backend=backend))
        done = subprocess.run([sys.executable, str(script), "/dev/stdin", str(tmp_path / f"{backend}.csv")],
                              input=b"h\nabc\nde\n", capture_output=True, check=False, timeout=60)
        assert done.returncode == 0, done.stderr
        written.append((tmp_path / f"{backend}.csv").read_bytes())
    assert written[0] == written[1]


def _number_text(rng: random.Random) -> str:
    whole = str(rng.choice([0, 1, 7, 12, 99, 100, 999, 1000, 12345, 999999, 10**11, 123456789012]))
    fraction = rng.choice(["", "0", "5", "05", "50", "125", "995", "000001", "999999", "1234567"])
    text = whole + ("." + fraction if fraction else "")
    return rng.choice(["", "-"]) * (rng.random() < 0.4) + text


ODD_NUMBERS = ["", " ", "-0", "-0.00", "0.000", " 5", "1,234.5", "$3", "1e3", ".5", "5.", "+4", "abc", "٣", "-",
               "1234567890123", "0.0000001", "(45.00)", "9999999999.999999"]


def numbers_grid(rows: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    pick = lambda: rng.choice(ODD_NUMBERS) if rng.random() < 0.2 else _number_text(rng)  # noqa: E731
    return [["a", "b", "c"]] + [[pick(), pick(), pick()] for _ in range(rows)]


NUMERIC_PROGRAMS = {
    "combine": program_of(*[call("combine", col(0), col(1), operator=o) for o in "+-*/"],
                          call("combine", col(0), const("2.5"), operator="*"),
                          call("combine", const("-1"), col(2), operator="-")),
    "arith": program_of(*[call("arith", col(0), col(1), operator=o) for o in "+-*/"]),
    "linear": program_of(call("linear", col(0), col(1), weights=["0.45359237", "-2"], offset="32"),
                         call("linear", col(2), weights=["1.8"], offset="32")),
    "format_number with decimals": program_of(
        *[call("format_number", col(0), decimals=d) for d in (0, 1, 2, 3)],
        call("format_number", col(1), decimals=2, thousands=",", int_digits=8),
        call("format_number", col(1), decimals=1, thousands=" ", point=",", scale="0.01", shift="-3"),
        call("format_number", col(2), decimals=2, int_fill=" ", int_digits=12, fraction_width=4),
    ),
    "format_number without decimals": program_of(
        call("format_number", col(0)), call("format_number", col(1), trim_zeros=True),
        call("format_number", col(2), min_decimals=2), call("format_number", col(0), trim_zeros=True, min_decimals=3),
        call("format_number", col(1), scale="100", shift="0.5", thousands="'"),
        call("format_number", col(0), thousands="\u2009"), call("format_number", col(2), thousands=", "),
        call("format_number", col(1), thousands=",", int_digits=9, int_fill=" "),
    ),
    "format_number of arithmetic": program_of(
        call("format_number", call("combine", col(0), col(1), operator="*"), min_decimals=2, trim_zeros=True),
        call("format_number", call("arith", col(1), col(2), operator="+"), decimals=2, thousands=","),
        call("format_number", call("linear", col(0), col(2), weights=["1.8", "-0.5"], offset="32"), decimals=1),
        call("format_number", call("combine", col(2), const("3"), operator="-"), decimals=0, scale="0.01"),
        call("format_number", call("combine", col(0), col(1), operator="+"), min_decimals=1),  # not fused
    ),
}


@pytest.mark.parametrize("name", sorted(NUMERIC_PROGRAMS))
@pytest.mark.parametrize("seed", [1, 2])
def test_numeric_kernels_write_the_same_bytes_as_the_per_cell_functions(name: str, seed: int, tmp_path: Path) -> None:
    program = NUMERIC_PROGRAMS[name]
    per_cell, vectorized = outputs(program, as_csv(numbers_grid(300, seed)), tmp_path, block_bytes=2048)
    assert vectorized == per_cell


def test_plainly_written_numbers_are_computed_by_kernels() -> None:
    assert kernel_coverage(NUMERIC_PROGRAMS["format_number of arithmetic"]) == (5, 5)
    fused = render_script(NUMERIC_PROGRAMS["format_number of arithmetic"], backend="arrow")
    assert "format_fixed(combine_fixed(*values, '*')" in fused
    assert kernel_coverage(program_of(call("combine", col(0), col(1), operator="/"))) == (0, 1)


@pytest.mark.parametrize("scale", [0, 2, 6])
def test_integers_at_a_scale_are_written_as_decimal_text_up_to_the_int64_limits(scale: int) -> None:
    import pyarrow as pa

    script = load_script(render_script(NUMERIC_PROGRAMS["format_number of arithmetic"], backend="arrow"))
    units = [0, 5, -5, 120, -1200, 10**18 - 1, -(10**18 - 1), 10**18, -(10**18), 2**63 - 1, -(2**63) + 1]
    for values in (units, units[:5], units[5:], []):
        written = script["decimal_text"](pa.array(values, pa.int64()), scale).to_pylist()
        assert written == [f"{Decimal(v).scaleb(-scale):f}" for v in values]


def test_operators_the_guards_assume_write_nothing_for_nothing_do() -> None:
    """The vectorized guards compute a node feeding one of these only where its column is empty."""
    from recast_engine.render.arrow_guards import EMPTY_FOR_EMPTY

    for name in EMPTY_FOR_EMPTY:
        for program in NUMERIC_PROGRAMS.values():
            for column in program.columns:
                if column.value.op == name:
                    assert getattr(cells, name)("", **column.value.args) == ""


def sales_grid(rows: int, seed: int, messy: bool = False) -> list[list[str]]:
    rng = random.Random(seed)
    grid = [["id", "city", "amount", "qty"]]
    for i in range(rows):
        amount = rng.choice([f"{rng.randint(-999, 99999)}.{rng.randint(0, 99):02d}", str(rng.randint(0, 500)),
                             f"{rng.randint(0, 9)}.{rng.randint(0, 999):03d}", "", "0.10", "-0.00", " 7 "])
        if messy and rng.random() < 0.05:
            amount = rng.choice(["$1,234.50", "(3.5)", "n/a", "٣"])
        grid.append([str(i), rng.choice(["Paris", "Rome", "Oslo", "", "Ürümqi"]), amount, rng.choice(["", "1", "x"])])
    return grid


def _grouped(aggregates: list[dict], **args) -> Step:
    return Step(op="group_rows", args={"keys": [1], "aggregates": aggregates, "header": True, **args})


ALL_AGGREGATES = [{"func": f, "column": c} for f, c in (("rows", 0), ("count", 3), ("sum", 2), ("mean", 2),
                                                        ("first", 0), ("last", 2), ("count", 1))]
GROUPED_PROGRAMS = {
    "sum per key": Program(steps=[_grouped([{"func": "sum", "column": 2}])], header_rows=1),
    "every aggregate, keys sorted": Program(steps=[_grouped(ALL_AGGREGATES, order="sorted")], header_rows=1),
    "keys sorted as numbers, unreadable ones last": Program(
        steps=[Step(op="group_rows", args={"keys": [3, 2], "aggregates": ALL_AGGREGATES[:3], "header": True,
                                           "order": "sorted", "sort_as": [{"as": "text"}, {"as": "number"}]})],
        header_rows=1),
    "two keys, no header": Program(steps=[Step(op="group_rows", args={"keys": [1, 3], "aggregates": ALL_AGGREGATES})]),
    "after a filter, then a sort and columns": Program(
        steps=[Step(op="drop_empty_rows", args={"column": 3, "header": True}), _grouped(ALL_AGGREGATES),
               Step(op="sort_by", args={"keys": [{"column": 3, "as": "number"}], "header": True})],
        header_rows=1,
        columns=[OutputColumn(header=const("CITY"), value=call("upper", col(0))), OutputColumn(value=col(3))]),
}


@pytest.mark.parametrize("name", sorted(GROUPED_PROGRAMS))
@pytest.mark.parametrize("messy", [False, True])
def test_group_by_through_arrow_writes_the_same_bytes_as_the_per_cell_script(name: str, messy: bool,
                                                                               tmp_path: Path) -> None:
    program = GROUPED_PROGRAMS[name]
    assert vectorizable(program)
    # a header row read as data puts a word among the summed numbers: that file is converted row by row
    by_row = messy or name == "two keys, no header"
    per_cell, vectorized = outputs(program, as_csv(sales_grid(400, 3, messy)), tmp_path, block_bytes=1024,
                                   row_by_row=by_row)
    assert vectorized == per_cell
    assert len(per_cell.splitlines()) > 3


def test_aggregates_arrow_does_not_compute_keep_the_per_cell_script() -> None:
    for aggregate in ({"func": "concat", "column": 2}, {"func": "max", "column": 2}):
        assert not vectorizable(Program(steps=[_grouped([aggregate])]))
    assert not vectorizable(Program(steps=[Step(op="group_rows", args={"keys": [], "aggregates": []})]))


_DATE = {"as": "date", "formats": ["%Y-%m-%d"]}
PREDICATES = [
    {"column": 2, "test": "ge", "value": "100", "as": "number"},
    {"column": 2, "test": "lt", "value": "-0.5", "as": "number"},
    {"column": 2, "test": "ne", "value": "0.10", "as": "number"},
    {"column": 2, "test": "eq", "value": "$7", "as": "number"},
    {"column": 2, "test": "gt", "value": "n/a", "as": "number"},
    {"column": 0, "test": "lt", "other": 2, "as": "number"},
    {"column": 1, "test": "le", "value": "Paris"},
    {"column": 1, "test": "in", "values": ["Rome", "", "Ürümqi"]},
    {"column": 1, "test": "contains", "value": "r"},
    {"column": 1, "test": "starts", "value": "O"},
    {"column": 1, "test": "ends", "value": "s"},
    {"column": 3, "test": "empty"},
    {"column": 2, "test": "filled"},
    {"column": 2, "test": "lt", "value": "2024-06-01", **_DATE},
    {"any": [{"column": 2, "test": "ge", "value": "500", "as": "number"},
             {"all": [{"column": 1, "test": "eq", "value": "Rome"}, {"not": {"column": 3, "test": "empty"}}]}]},
]


@pytest.mark.parametrize("where", PREDICATES, ids=repr)
@pytest.mark.parametrize("messy", [False, True])
def test_filter_rows_keeps_the_same_rows_vectorized(where: dict, messy: bool, tmp_path: Path) -> None:
    program = Program(steps=[Step(op="filter_rows", args={"where": where, "header": True})], header_rows=1,
                      columns=[OutputColumn(value=col(0)), OutputColumn(value=col(2)), OutputColumn(value=col(1))])
    assert vectorizable(program)
    per_cell, vectorized = outputs(program, as_csv(sales_grid(300, 5, messy)), tmp_path, block_bytes=1024)
    assert vectorized == per_cell


IF_CELL_PROGRAMS = {
    f"{test} {value} as {as_}": program_of(
        call("if_cell", col(2), const("yes"), col(1), test=test, value=value, as_=as_, missing="?"),
        call("if_cell", col(1), col(0), const(""), test=test, value=value, as_=as_))
    for test, value, as_ in (("ge", "100", "number"), ("lt", "-0.5", "number"), ("eq", "7", "number"),
                             ("ne", "0.10", "number"), ("le", "Paris", "text"), ("empty", "", "text"),
                             ("filled", "", "text"), ("contains", "o", "text"), ("starts", "R", "text"),
                             ("gt", "1e2", "number"))
}


@pytest.mark.parametrize("name", sorted(IF_CELL_PROGRAMS))
@pytest.mark.parametrize("messy", [False, True])
def test_if_cell_writes_the_same_bytes_vectorized(name: str, messy: bool, tmp_path: Path) -> None:
    per_cell, vectorized = outputs(IF_CELL_PROGRAMS[name], as_csv(sales_grid(300, 9, messy)), tmp_path,
                                   block_bytes=1024)
    assert vectorized == per_cell


def _sorted(*keys: dict, header: bool = True) -> Step:
    return Step(op="sort_by", args={"keys": list(keys), "header": header})


SORTED_PROGRAMS = {
    "by text": Program(steps=[_sorted({"column": 1})], header_rows=1),
    "by number descending then text": Program(
        steps=[_sorted({"column": 2, "as": "number", "descending": True}, {"column": 1})], header_rows=1),
    "by date, then columns": Program(
        steps=[_sorted({"column": 3, "as": "date", "formats": ["%Y-%m-%d", "%d/%m/%Y"]})], header_rows=1,
        columns=[OutputColumn(header=col(3), value=call("upper", col(1))), OutputColumn(value=col(2))]),
    "after a filter, then more steps": Program(
        steps=[Step(op="drop_empty_rows", args={"column": 2, "header": True}),
               _sorted({"column": 2, "as": "number"}, {"column": 0, "descending": True}),
               Step(op="head_rows", args={"count": 50, "header": True})], header_rows=1),
}


def dated_grid(rows: int, seed: int, messy: bool) -> list[list[str]]:
    rng = random.Random(seed)
    grid = sales_grid(rows, seed, messy)
    for row in grid[1:]:
        row[3] = rng.choice([f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}", "", "soon", "03/04/2023"])
    return grid


@pytest.mark.parametrize("name", sorted(SORTED_PROGRAMS))
@pytest.mark.parametrize("messy", [False, True])
@pytest.mark.parametrize("memory_bytes", [None, 2048])
def test_sort_through_arrow_writes_the_same_bytes_as_the_per_cell_script(name: str, messy: bool,
                                                                          memory_bytes: int | None,
                                                                          tmp_path: Path) -> None:
    """In memory, and past a memory bound of a few batches (sorted runs spilled to disk, then merged)."""
    program = SORTED_PROGRAMS[name]
    assert vectorizable(program)
    source = tmp_path / "in.csv"
    source.write_bytes(as_csv(dated_grid(400, 4, messy)))
    written = []
    for backend in ("cell", "arrow"):
        script = load_script(render_script(program, backend=backend))
        if backend == "arrow":
            script["BLOCK_BYTES"] = 1024
            if memory_bytes:
                script["MEMORY_BYTES"] = memory_bytes
            script["main_by_row"] = None  # the vectorized path must convert this file itself
        assert script["main"]([str(source), str(tmp_path / f"{backend}.csv")]) == 0
        written.append((tmp_path / f"{backend}.csv").read_bytes())
    assert written[1] == written[0]


def test_a_number_sort_key_finer_than_millionths_is_sorted_row_by_row_with_the_same_bytes(tmp_path: Path) -> None:
    program = Program(steps=[_sorted({"column": 1, "as": "number"})], header_rows=1)
    grid = [["id", "x"], ["1", "0.0000002"], ["2", "0.0000001"], ["3", "12"], ["4", "$1,000.5"], ["5", "-0"]]
    per_cell, vectorized = outputs(program, as_csv(grid), tmp_path, row_by_row=True)
    assert vectorized == per_cell
    assert [line.split(b",")[0] for line in per_cell.splitlines()] == [b"id", b"5", b"2", b"1", b"3", b"4"]


def test_a_sort_merged_from_many_spilled_runs_keeps_ties_in_input_order(tmp_path: Path) -> None:
    """Few distinct keys over many runs: every tie spans runs, and the merge must take it in input order."""
    program = Program(steps=[_sorted({"column": 1}, {"column": 3, "descending": True})], header_rows=1)
    source = tmp_path / "in.csv"
    source.write_bytes(as_csv(sales_grid(3000, 11)))
    written = []
    for backend in ("cell", "arrow"):
        script = load_script(render_script(program, backend=backend))
        if backend == "arrow":
            script.update(BLOCK_BYTES=2048, MEMORY_BYTES=4096, OUTPUT_ROWS=7, main_by_row=None)
        assert script["main"]([str(source), str(tmp_path / f"{backend}.csv")]) == 0
        written.append((tmp_path / f"{backend}.csv").read_bytes())
    assert written[1] == written[0]
    ids = [line.split(b",")[0] for line in written[1].splitlines()[1:]]
    assert sorted(ids, key=int) != ids  # the rows did move
