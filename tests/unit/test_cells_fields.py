"""Field-ending separators and dates whose leading zero was dropped, in the runtime and in learning."""
import time

from recast_engine.dsl.interpret import eval_expr
from recast_engine.runtime import cells
from recast_engine.synthesis.columns import learn_column


def test_closer_position_stops_at_the_first_separator_or_bracket():
    start, end = {"after": "(", "k": 1}, {"before": "closer", "k": 1}
    assert cells.substring("Agent/1.0 (X11 SE; Win64) x", start, end) == "X11 SE"
    assert cells.substring("Agent/1.0 (Macintosh 3.7) x", start, end) == "Macintosh 3.7"
    assert cells.substring("no brackets here", start, end) == ""


def test_learned_field_end_generalizes_from_semicolons_to_a_closing_bracket():
    rows = [
        ["Netscape/5.2 (X11 SE; Win64; rv:08.9) OPR/90.65"],
        ["Chrome/6.5 (Windows 5.5; Linux x86_64) Safari/21.44"],
        ["IE/5.8 (Macintosh; Win64) Chrome/66.58"],
    ]
    outputs = ["X11 SE", "Windows 5.5", "Macintosh"]
    expr = next(learn_column(rows, outputs, time.monotonic() + 10), None)
    assert expr is not None
    assert [str(eval_expr(expr, row)) for row in rows] == outputs
    assert str(eval_expr(expr, ["Firefox/6.4 (Macintosh 3.7) Gecko/45.84"])) == "Macintosh 3.7"


def test_eight_digit_date_missing_its_leading_zero_reads_as_zero_padded():
    assert cells.date_part("1211818", ["%m%d%Y"], "{M}/{d}/{yyyy}") == "1/21/1818"
    assert cells.date_part("12011818", ["%m%d%Y"], "{M}/{d}/{yyyy}") == "12/1/1818"
    assert cells.date_part("3302241", ["%m%d%Y"], "{M}/{d}/{yyyy}") == "3/30/2241"


def test_a_number_the_input_holds_is_extracted_not_written_as_a_constant():
    rows = [["$2475 / 2br - Superb location - (palo alto) pic"]]
    expr = next(learn_column(rows, ["2"], time.monotonic() + 10), None)
    assert expr is not None
    assert str(eval_expr(expr, rows[0])) == "2"
    assert str(eval_expr(expr, ["$1975 / 3br - Lower unit - (berkeley) img"])) == "3"
