"""Dates named by a weekday (rank in the month, ISO week) and dates written later without their time."""
import time

from recast_engine.dsl.interpret import eval_expr
from recast_engine.runtime import cells
from recast_engine.synthesis.columns import learn_column
from recast_engine.synthesis.dates import learn_formats, with_dates_alone


def _learned(rows: list[list[str]], outputs: list[str]):
    expr = next(learn_column(rows, outputs, time.monotonic() + 10), None)
    assert expr is not None
    assert [str(eval_expr(expr, row)) for row in rows] == outputs
    return expr


def test_rank_of_the_weekday_in_its_month():
    fmt = ["%A #%N %B %Y"]
    assert cells.date_part("Sunday #1 March 2002", fmt, "{yyyy}-{MM}-{dd}") == "2002-03-03"
    assert cells.date_part("Saturday #2 April 1953", fmt, "d") == "11"
    assert cells.date_part("Tue 1983 3", ["%a %Y %N"], "d") == ""  # no month: not a date
    assert cells.date_part("Monday #5 February 2021", fmt, "d") == ""  # February 2021 has four Mondays
    assert cells.date_part("Mar 1983 Tue 3", ["%b %Y %a %N"], "{d} {MMM}") == "15 Mar"


def test_iso_week_and_weekday():
    assert cells.date_part("Thu wk 10 in 2039", ["%a wk %V in %G"], "{yyyy}-{MM}-{dd}") == "2039-03-10"
    assert cells.date_part("Tue wk 42 in 2222", ["%a wk %V in %G"], "ww") == "42"


def test_weekday_spellings_are_fallbacks_of_any_full_date():
    formats = learn_formats(["17 Dec 1973", "Jan 10 1975", "1 January 2014"], day_first=False)
    assert formats is not None
    assert cells.date_part("Mar 1983 Tue 3", formats, "d") == "15"
    assert cells.date_part("Thu wk 10 in 2039", formats, "d") == "10"
    assert cells.date_part("Sunday #1 October 1920", formats, "d") == "3"


def test_learns_fields_of_weekday_named_dates():
    rows = [["Sunday #1 March 2002"], ["Saturday #2 April 1953"], ["Tuesday #3 August 2160"], ["8/7/2237"]]
    outputs = ["2002 3 3", "1953 11 4", "2160 19 8", "2237 8 7"]
    expr = _learned(rows, outputs)
    assert str(eval_expr(expr, ["Monday #3 January 2187"])) == "2187 15 1"
    assert str(eval_expr(expr, ["3/11/1904"])) == "1904 3 11"


def test_date_alone_follows_its_date_and_time_format():
    formats = ["%d %b %Y %H:%M", "%b %d %Y %H:%M"]
    assert with_dates_alone(formats, ["22 Apr 1953 11:34"]) == ["%d %b %Y %H:%M", "%d %b %Y", "%b %d %Y %H:%M"]


def test_date_part_reads_the_date_without_its_time_but_not_other_spellings():
    rows = [["06-Oct-2143"], ["Mar 30 2002"], ["01311846"], ["22 Apr 1953 11:34"], ["03302241"]]
    outputs = ["", "", "", "22/4/1953", ""]
    expr = _learned(rows, outputs)
    assert str(eval_expr(expr, ["3 Nov 1904"])) == "3/11/1904"
    assert str(eval_expr(expr, ["23 May 1984 10:24"])) == "23/5/1984"
    assert str(eval_expr(expr, ["Jul 08 2237"])) == ""


def test_day_first_for_one_separator_and_month_first_for_another():
    rows = [["2001--11--6"], ["8/7/2237"], ["6.30.2220"], ["2131--5--30"], ["10.8.2089"], ["2160--8--2"]]
    outputs = ["11", "7", "6", "5", "10", "8"]
    expr = _learned(rows, outputs)
    assert str(eval_expr(expr, ["20/4/1957"])) == "4"
    assert str(eval_expr(expr, ["6.21.2059"])) == "6"
    assert str(eval_expr(expr, ["2/10/2204"])) == "10"


def test_rounding_up_is_preferred_to_rounding_down_and_moving_to_the_end():
    rows = [["8/2/2160 23:48"], ["5/23/1984 22:24"], ["8/15/1740 4:29"], ["7/8/2237 15:25"], ["11/3/1904 8:14"]]
    outputs = ["12:00 AM", "10:30 PM", "4:30 AM", "3:30 PM", "8:30 AM"]
    expr = _learned(rows, outputs)
    assert str(eval_expr(expr, ["1/31/1846 7:00"])) == "7:00 AM"  # on the boundary: stays


def test_date_spelling_is_learned_from_all_rows_not_only_the_searched_examples():
    rows = [["2187--1--30"], ["1816--3--26"], ["1751--6--25"], ["20/4/1957"], ["2139--4--25"], ["6.21.2059"],
            ["23/9/1733"]]
    outputs = ["January", "March", "June", "April", "April", "June", "September"]
    expr = _learned(rows, outputs)
    assert str(eval_expr(expr, ["10.8.2089"])) == "October"


def test_fields_are_zero_padded_like_the_other_fields_of_the_output():
    rows = [["21:32 6/21"], ["22:48 8/16"], ["8:55 9/21"], ["7:30 4/18"]]
    outputs = ["21 32 06 21", "22 48 08 16", "08 55 09 21", "07 30 04 18"]
    expr = _learned(rows, outputs)
    assert str(eval_expr(expr, ["9:05 12/5"])) == "09 05 12 05"


def test_rows_left_empty_keep_their_other_date_spellings_unread():
    rows = [["02-Aug-2160"], ["23 May 1984 10:24"], ["15 August 1740"], ["Jul 08 2237"], ["3 Nov 1904"]]
    outputs = ["", "23/5/1984", "", "", "3/11/1904"]
    expr = _learned(rows, outputs)
    assert str(eval_expr(expr, ["22 Apr 1953 11:34"])) == "22/4/1953"
    assert str(eval_expr(expr, ["06-Oct-2143"])) == ""


def test_fallbacks_cover_other_separators_of_a_date_and_time():
    formats = learn_formats(["06-Oct-2143 18:25", "Mar 30 2002 21:44", "1846 231"], day_first=False)
    assert formats is not None
    assert cells.date_part("25 May 1817 09:50", formats, "{d}/{M}/{yyyy}") == "25/5/1817"
    assert cells.date_part("22 October 1815 21:29", formats, "{d}/{M}/{yyyy}") == "22/10/1815"
