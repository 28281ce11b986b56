"""learn_column: learned on a few rows, the first expression must generalize to new rows."""
import time

from recast_engine.dsl.interpret import eval_expr
from recast_engine.synthesis.columns import learn_column


def _learn(rows, outputs):
    expr = next(learn_column(rows, outputs, time.monotonic() + 10), None)
    assert expr is not None
    for row, out in zip(rows, outputs):
        assert str(eval_expr(expr, row)) == out
    return expr


def _apply(expr, row):
    return str(eval_expr(expr, row))


def test_substring_by_token():
    expr = _learn([["Hone Albert"], ["Aysu Polat"], ["Fatma Yilmaz"]], ["Albert", "Polat", "Yilmaz"])
    assert _apply(expr, ["Cecep Sutresna"]) == "Sutresna"


def test_concat_with_constant_and_case():
    expr = _learn([["Hone Albert"], ["Aysu Polat"], ["Fatma Yilmaz"]], ["hone.A@", "aysu.P@", "fatma.Y@"])
    assert _apply(expr, ["Artem Kuznetsov"]) == "artem.K@"


def test_multi_column_concat():
    expr = _learn([["Caribbean", "359"], ["India", "550"]], ["case 359: return Caribbean;", "case 550: return India;"])
    assert _apply(expr, ["Gambia", "955"]) == "case 955: return Gambia;"


def test_date_reformat():
    rows = [["06-Oct-2143"], ["Mar 30 2002"], ["22 Apr 1953"]]
    expr = _learn(rows, ["6/10/2143", "30/3/2002", "22/4/1953"])
    assert _apply(expr, ["5 April 2088"]) == "5/4/2088"


def test_time_range():
    expr = _learn([["18:25:57"], ["21:44:40"], ["07:00:20"]], ["6PM-8PM", "8PM-10PM", "6AM-8AM"])
    assert _apply(expr, ["23:34:17"]) == "10PM-12AM"


def test_number_format():
    expr = _learn([["243.1"], ["12.5"], ["2345.23292"]], ["243.100", "12.500", "2345.233"])
    assert _apply(expr, ["10"]) == "10.000"
    expr = _learn([["1652"], ["1160"], ["940"]], ["1,652", "1,160", "940"])
    assert _apply(expr, ["1711"]) == "1,711"


def test_conditional():
    rows = [["joe@fabrikam.com"], ["claudia"], ["francis@contoso.com"], ["nina"]]
    outputs = ["joe@fabrikam.com", "claudia@proseware.com", "francis@contoso.com", "nina@proseware.com"]
    expr = _learn(rows, outputs)
    assert _apply(expr, ["celtia@contoso.com"]) == "celtia@contoso.com"
    assert _apply(expr, ["iker"]) == "iker@proseware.com"


def test_lookup_is_the_last_resort():
    rows = [["M"], ["F"], ["M"]]
    exprs = list(learn_column(rows, ["0", "1", "0"], time.monotonic() + 10))
    assert exprs[-1].op == "lookup"
    assert _apply(exprs[-1], ["F"]) == "1"


def test_respects_deadline():
    assert list(learn_column([["a b"]], ["b a"], time.monotonic() - 1)) == []
