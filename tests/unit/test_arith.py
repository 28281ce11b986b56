"""Arithmetic and conditional cell operators, and the learners that fit them from examples."""
from __future__ import annotations

import time

from recast_engine.dsl.interpret import eval_expr
from recast_engine.runtime import arith
from recast_engine.synthesis.columns import learn_column


def _learned(rows, outputs):
    return next(learn_column(rows, outputs, time.monotonic() + 10))


def test_amounts_read_currency_signs_parentheses_and_european_spellings():
    assert arith.amount("-$1,197.67") == "-1197.67"
    assert arith.amount("(45.00)") == "-45"
    assert arith.amount("1.234,56") == "1234.56"
    assert arith.amount("3,5") == "3.5"
    assert arith.amount("12 %") == "12"
    assert arith.amount("abc") == ""
    assert arith.amount("1e3") == ""


def test_operators_are_total_on_cells_that_are_not_numbers():
    assert arith.combine("10", "0", operator="/") == ""
    assert arith.combine("x", "2", operator="+") == ""
    assert arith.linear("4354", weights=["0.45359237"]) == "1974.94117898"
    assert arith.linear("", weights=["2"]) == ""
    assert arith.band("n/a", cuts=["10"], labels=["low", "high"]) == ""
    assert arith.if_cell("x", "big", "small", test="gt", value="3", as_="number") == ""


def test_dates_subtract_in_days_and_whole_years():
    formats = ["%Y-%m-%d"]
    assert arith.date_difference("2024-03-01", "2024-02-01", formats) == "29"
    assert arith.date_difference("2024-03-01", "2000-03-02", formats, unit="years") == "23"
    assert arith.date_difference("soon", "2000-03-02", formats) == ""


def test_bands_and_cleanups():
    assert [arith.band(v, cuts=["10", "100"], labels=["S", "M", "L"]) for v in ("3", "10", "99.5", "1e9x")] == [
        "S", "M", "M", "",
    ]
    assert arith.digits("(555) 123-4567") == "5551234567"
    assert arith.collapse_spaces("  a \t b  c ") == "a b c"


def test_a_product_of_two_columns_is_learned_with_the_outputs_decimals():
    rows = [["5", "10.84"], ["1", "19.86"], ["12", "16.71"], ["3", "2.50"]]
    expr = _learned(rows, ["54.20", "19.86", "200.52", "7.50"])
    assert str(eval_expr(expr, ["2", "0.25"])) == "0.50"


def test_a_unit_conversion_snaps_its_factor_to_the_known_constant():
    rows = [["4354"], ["2065"], ["2511"], ["3000"]]
    outputs = [f"{int(r[0]) * 0.45359237:.1f}" for r in rows]
    expr = _learned(rows, outputs)
    assert "0.45359237" in expr.model_dump_json()
    assert str(eval_expr(expr, ["1000"])) == "453.6"


def test_an_affine_map_snaps_both_constants():
    rows = [["0"], ["100"], ["37"], ["-40"]]
    expr = _learned(rows, ["32", "212", "98.6", "-40"])
    assert str(eval_expr(expr, ["10"])) == "50"


def test_a_flag_is_learned_as_a_test_on_the_column_that_decides_it():
    rows = [["a", "555-1234"], ["b", ""], ["c", "555-9876"], ["d", ""], ["e", "1"]]
    expr = _learned(rows, ["Y", "N", "Y", "N", "Y"])
    assert expr.op == "if_cell"
    assert str(eval_expr(expr, ["z", "777"])) == "Y"
    assert str(eval_expr(expr, ["z", ""])) == "N"


def test_a_threshold_label_puts_its_cut_between_the_example_values():
    rows = [["0.0"], ["0.3"], ["1.2"], ["0.0"], ["5"], ["0.0"]]
    expr = _learned(rows, ["dry", "wet", "wet", "dry", "wet", "dry"])
    assert str(eval_expr(expr, ["0.05"])) == "wet"
    assert str(eval_expr(expr, ["0"])) == "dry"


def test_bands_of_three_labels_are_learned_from_sorted_values():
    rows = [["5"], ["50"], ["500"], ["8"], ["70"], ["900"]]
    expr = _learned(rows, ["low", "mid", "high", "low", "mid", "high"])
    assert expr.op == "band"
    assert [str(eval_expr(expr, [v])) for v in ("1", "60", "5000")] == ["low", "mid", "high"]


def test_codes_map_through_the_column_whose_values_repeat():
    rows = [["1", "CO"], ["2", "FL"], ["3", "CO"], ["4", "IL"], ["5", "FL"], ["6", "IL"]]
    outputs = ["Colorado", "Florida", "Colorado", "Illinois", "Florida", "Illinois"]
    expr = _learned(rows, outputs)
    assert expr.op == "lookup" and expr.inputs[0].args["index"] == 1
    assert str(eval_expr(expr, ["99", "FL"])) == "Florida"


def test_a_difference_times_a_third_column_is_learned_when_no_pair_fits():
    rows = [["45", "210", "4.92"], ["10", "138", "135.50"], ["3", "231", "54.02"], ["20", "100", "1.25"]]
    outputs = [f"{(int(b) - int(a)) * float(c):.2f}" for a, b, c in rows]
    expr = _learned(rows, outputs)
    assert str(eval_expr(expr, ["1", "11", "0.5"])) == "5.00"


def test_phones_typed_in_many_ways_are_regrouped_from_their_digits():
    rows = [["(499) 848-2838"], ["427.632.0974"], ["9975434376"], ["+1 555 301 2231"], ["1-212-555-0147"]]
    outputs = ["499-848-2838", "427-632-0974", "997-543-4376", "555-301-2231", "212-555-0147"]
    expr = _learned(rows, outputs)
    assert str(eval_expr(expr, ["+1 (303) 444.5555"])) == "303-444-5555"


def test_linear_divides_by_its_divisor_exactly() -> None:
    from recast_engine.runtime.arith import linear

    assert linear("-40", weights=["1"], offset="-32", divisor="1.8") == "-40"
    assert linear("98.6", weights=["1"], offset="-32", divisor="1.8") == "37"
    assert linear("x", weights=["1"], divisor="1.8") == ""
