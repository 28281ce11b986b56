"""Whole-table search: header detection, single operators and compositions on small pairs."""
import pytest
from recast_engine.dsl.interpret import run
from recast_engine.synthesis.search import learn


def solve(inp, out, **kw):
    result = learn(inp, out, timeout=5.0, **kw)
    assert result.programs, (result.tried, result.unexplained)
    program = result.programs[0]
    assert run(program, inp) == out
    return program


def test_identity_and_column_copies():
    inp = [["a", "b", "c"], ["1", "2", "3"], ["4", "5", "6"]]
    program = solve(inp, inp)
    assert program.steps == []
    reordered = solve(inp, [["c", "a"], ["3", "1"], ["6", "4"]])
    assert [c.value.args["index"] for c in reordered.columns] == [2, 0]


def test_header_detection_modes():
    inp = [["name", "x"], ["a", "1"], ["", "2"]]
    out = [["name", "x"], ["a", "1"], ["a", "2"]]
    assert solve(inp, out, header="auto").steps[0].op == "fill_down"
    assert solve(inp, out, header="yes").header_rows in (0, 1)
    no_header = [["a", "1"], ["", "2"]]
    assert solve(no_header, [["a", "1"], ["a", "2"]], header="no").steps[0].args["header"] is False


def test_melt_generalizes_to_new_rows():
    inp = [["id", "p", "q"], ["1", "a", "b"], ["2", "c", "d"]]
    out = [["id", "var", "value"], ["1", "p", "a"], ["2", "p", "c"], ["1", "q", "b"], ["2", "q", "d"]]
    program = solve(inp, out)
    assert program.steps[0].op == "melt"
    expected = [["id", "var", "value"], ["7", "p", "x"], ["7", "q", "y"]]
    assert run(program, [["id", "p", "q"], ["7", "x", "y"]]) == expected


def test_explode_then_ffill_composition():
    inp = [["k", "v"], ["a/b", "1"], ["", "2"]]
    out = [["k", "v"], ["a", "1"], ["b", "1"], ["a", "2"], ["b", "2"]]
    program = solve(inp, out)
    assert [s.op for s in program.steps] == ["fill_down", "explode"]


def test_transpose_blocks_wraps_records():
    inp = [["Name1"], ["Age1"], ["Name2"], ["Age2"]]
    program = solve(inp, [["Name1", "Age1"], ["Name2", "Age2"]], header="no")
    assert run(program, [["N"], ["A"]]) == [["N", "A"]]


def test_exclude_skips_failed_candidates():
    inp = [["a", "b"], ["1", "2"]]
    first = learn(inp, inp, timeout=5.0).programs[0]
    again = learn(inp, inp, timeout=5.0, exclude=frozenset({first.fingerprint()}))
    assert all(p.fingerprint() != first.fingerprint() for p in again.programs)


def test_memorizing_programs_rank_below_structural_ones():
    inp = [["k", "v"], ["a/b", "1"], ["", "2"]]
    out = [["k", "v"], ["a", "1"], ["b", "1"], ["a", "2"], ["b", "2"]]
    result = learn(inp, out, timeout=5.0)
    assert all(c.value.op == "col" for c in result.programs[0].columns)


def test_failure_reports_unexplained_and_respects_timeout():
    result = learn([], [["zz", "qq"], ["1", "2"], ["3", "4"]], timeout=1.0)
    assert result.programs == []
    assert result.unexplained
    assert result.elapsed < 2.0


def test_filter_sort_and_split_are_found():
    inp = [["a1", "x"], ["total", "y"], ["b2", "z"]]
    kept = solve(inp, [["a1", "x"], ["b2", "z"]], header="no")
    assert run(kept, [["q9", "1"], ["sum", "2"]]) == [["q9", "1"]]
    unsorted = [["n", "v"], ["b", "2"], ["a", "1"], ["c", "3"]]
    ordered = solve(unsorted, [["n", "v"], ["a", "1"], ["b", "2"], ["c", "3"]], header="yes")
    assert [s.op for s in ordered.steps] == ["sort_by"]
    assert run(ordered, [["n", "v"], ["z", "9"], ["m", "5"]]) == [["n", "v"], ["m", "5"], ["z", "9"]]
    split = solve([["k: v"], ["a: b"]], [["k", " v"], ["a", " b"]], header="no")
    assert split.steps[0].op == "split_column"


def test_per_column_programs_compose_upper_case_iso_dates_and_two_decimals():
    rows = [["alice lee", "04/19/2024", "606.2"], ["bob smith", "10/03/1990", "7688"],
            ["carol smith", "12/16/2024", "520.54"], ["dave lee", "04/21/1999", "8572"],
            ["erin lee", "02/06/1992", "50.9"], ["frank jones", "12/13/2017", "6472"],
            ["grace jones", "02/02/1998", "338.15"], ["heidi jones", "11/28/2009", "505.77"]]

    def converted(row: list[str]) -> list[str]:
        month, day, year = row[1].split("/")
        return [row[0].upper(), f"{year}-{month}-{day}", f"{float(row[2]):.2f}"]

    result = learn([["name", "date", "amount"], *rows], [["NAME", "ISO_DATE", "AMOUNT"], *map(converted, rows)],
                   timeout=20)
    assert result.confidence == "trusted", result.reason
    new = [["ivan lee", "07/04/2001", "3.5"], ["judy smith", "01/30/1985", "12"]]
    assert run(result.programs[0], [["name", "date", "amount"], *new])[1:] == [converted(r) for r in new]


def test_a_column_learned_on_the_first_rows_is_relearned_with_the_first_row_it_gets_wrong():
    # the first 50 rows are whole numbers ("7" -> "7.0"); only later rows show that decimals are kept as written
    body = [[f"r{i}", str(i + 7)] for i in range(50)] + [["r50", "1.25"], ["r51", "3.5"]]
    inp = [["id", "amount"]] + body
    out = [["id", "amount"]] + [[r[0], r[1] if "." in r[1] else r[1] + ".0"] for r in body]
    program = solve(inp, out, sample_rows=40)
    assert run(program, [["id", "amount"], ["x", "12"], ["y", "0.125"]]) == [
        ["id", "amount"], ["x", "12.0"], ["y", "0.125"]]


@pytest.mark.parametrize("inp, out, new, expected", [
    pytest.param(  # numbers written in scientific notation are learned as a format, not a table
        [["id", "flow"], ["a", "4.17474E-05"], ["b", "4.16E-05"], ["c", "0.000123456"], ["d", "98765"]],
        [["id", "flow"], ["a", "4.17E-05"], ["b", "4.16E-05"], ["c", "1.23E-04"], ["d", "9.88E+04"]],
        [["id", "flow"], ["e", "0.5"], ["f", "12345678"]],
        [["id", "flow"], ["e", "5.00E-01"], ["f", "1.23E+07"]], id="format"),
    pytest.param(  # a unit converted on the way learns the scale
        [["sensor", "microlitres"], ["a", "332"], ["b", "2872.11856"], ["c", "0.5"], ["d", "15"]],
        [["sensor", "litres"], ["a", "3.320E-04"], ["b", "2.872E-03"], ["c", "5.000E-07"], ["d", "1.500E-05"]],
        [["sensor", "microlitres"], ["e", "1000000"]],
        [["sensor", "litres"], ["e", "1.000E+00"]], id="scale"),
])
def test_numbers_in_scientific_notation_are_learned_as_a_format_with_its_scale(inp, out, new, expected):
    assert run(solve(inp, out), new) == expected


def test_outputs_with_absurdly_long_scientific_mantissas_end_the_search_without_an_error():
    inp = [["x"], ["1.5"], ["2.5"]]
    out = [["x"], ["1." + "5" + "0" * 40 + "E+00"], ["2." + "5" + "0" * 40 + "E+00"]]
    result = learn(inp, out, timeout=3.0)
    assert not any(e.op == "format_scientific" for p in result.programs for c in p.columns for e in [c.value])
