"""pandas_floats: the float round trip of pandas (read_csv, to_csv) as a table step, and its proposer."""
from recast_engine.runtime import tables
from recast_engine.synthesis.table_proposals import Context, propose_pandas_floats


def test_seventeen_digit_values_come_back_as_pandas_parses_them():
    # pandas' default converter accumulates the digits in a double: this one loses its last digit
    assert tables.pandas_float_text("185.51864358724612") == "185.5186435872461"
    # values with at most 15 significant digits round-trip exactly
    for text in ("101.10363542842256", "92.53225682048256", "0.5", "-3.25", "1e-05", "4.16E-05"):
        assert float(tables.pandas_float_text(text)) == float(text)


def test_integers_of_a_float_column_gain_a_decimal_and_text_is_untouched():
    assert tables.pandas_float_text("7") == "7.0"
    assert tables.pandas_float_text(" 12 ") == "12.0"
    assert tables.pandas_float_text("4.16E-05") == "4.16e-05"
    for text in ("abc", "1,200", "0..8", "12%", "", "nan"):
        assert tables.pandas_float_text(text) == text


def test_step_rewrites_only_the_given_columns_and_passes_the_header():
    rows = [["id", "x", "y"], ["7", "3", "185.51864358724612"], ["8", "", "n/a"]]
    out = list(tables.pandas_floats(rows, columns=[1, 2], header=True))
    assert out == [["id", "x", "y"], ["7", "3.0", "185.5186435872461"], ["8", "", "n/a"]]
    assert rows[1] == ["7", "3", "185.51864358724612"]  # input rows are not mutated


def test_proposed_for_the_columns_whose_round_trip_gives_output_cells():
    grid = [["a", "b", "c"], ["x", "1", "185.51864358724612"], ["y", "", "3"]]
    expected = [["a", "b", "c"], ["x", "1", "185.5186435872461"], ["y", "", "3.0"]]
    steps = list(propose_pandas_floats(grid, Context.build(expected, header=True)))
    assert [s.args for s in steps] == [{"columns": [2], "header": True}]
    assert list(tables.pandas_floats(grid, **steps[0].args)) == expected


def test_not_proposed_for_rewrites_a_number_format_explains():
    # "6.797490E-001" -> "0.679749" is also what pandas does, but a format keeping the digits is likelier
    grid = [["x"], ["5.581612E-001"], ["6.797490E-001"], ["7"]]
    expected = [["x"], ["0.5581612"], ["0.679749"], ["7.0"]]
    assert list(propose_pandas_floats(grid, Context.build(expected, header=True))) == []


def test_not_proposed_when_the_output_has_no_float_text():
    grid = [["a", "b"], ["x", "1"]]
    expected = [["a", "b"], ["x", "1"]]
    assert list(propose_pandas_floats(grid, Context.build(expected, header=True))) == []
