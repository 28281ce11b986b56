"""Ranking parts: text every example's input holds is copied, not written as a constant; positions stay relative."""
import time

from recast_engine.dsl.interpret import eval_expr
from recast_engine.synthesis.columns import learn_column


def _learned(rows: list[list[str]], outputs: list[str]):
    expr = next(learn_column(rows, outputs, time.monotonic() + 10), None)
    assert expr is not None
    assert [str(eval_expr(expr, row)) for row in rows] == outputs
    return expr


def test_one_example_copies_the_input_rather_than_repeating_it():
    expr = _learned([["henrique"]], ["henrique@fabrikam.com"])
    assert str(eval_expr(expr, ["nenad"])) == "nenad@fabrikam.com"


def test_one_example_copies_the_right_column():
    expr = _learned([["csevilla", "32618", "14025"]], ["csevilla@fabrikam.com"])
    assert str(eval_expr(expr, ["ndavignon", "47345", "5306"])) == "ndavignon@fabrikam.com"


def test_a_constant_the_inputs_do_not_hold_stays_a_constant():
    expr = _learned([["Ann"], ["Bob"]], ["Dear Ann", "Dear Bob"])
    assert str(eval_expr(expr, ["Eve"])) == "Dear Eve"
    expr = _learned([["a-1"], ["b-2"]], ["Smith", "Smith"])
    assert str(eval_expr(expr, ["c-3"])) == "Smith"


def test_a_letter_after_an_anchor_is_not_cut_at_a_fixed_index():
    expr = _learned([["Hone Albert"], ["Aysu Polat"]], ["ha", "ap"])
    assert str(eval_expr(expr, ["Milica Zujovic"])) == "mz"
    assert str(eval_expr(expr, ["Radmilo Bogic"])) == "rb"
