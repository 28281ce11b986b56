"""Hints given with a learn request: constants a filter may use settle a threshold the example leaves open, and
aggregation functions put those readings first. A hint never makes the search accept what the example denies."""
from __future__ import annotations

import pytest
from pydantic import ValidationError
from recast_engine.dsl.interpret import run
from recast_engine.hints import Hints
from recast_engine.synthesis.search import learn

# Orders of 100 or more are kept; the example's totals jump from 92.40 to 100.00, so any cut in between fits.
ORDERS = [["id", "total"], ["1", "92.40"], ["2", "104.99"], ["3", "250.00"], ["4", "72.10"], ["5", "130.00"],
          ["6", "100.00"]]
KEPT = [["id", "total"], ["2", "104.99"], ["3", "250.00"], ["5", "130.00"], ["6", "100.00"]]
NEW_ORDERS = [["id", "total"], ["6", "99.50"], ["7", "100.50"], ["8", "101.00"]]

TERMS = [["term", "start", "end"], ["A3", "2012-09-24", "2012-12-10"], ["A1", "2013-01-07", "2013-03-20"],
         ["A4", "2013-01-02", "2013-02-10"], ["A2", "2013-01-28", "2013-04-01"], ["A5", "2013-02-18", "2013-05-01"],
         ["A6", "2013-02-01", "2013-02-15"]]  # the last shows that a term starting or ending on a cut counts


def filter_values(result) -> list[str]:
    where = result.programs[0].steps[0].args["where"]
    parts = where.get("all", [where])
    return sorted(p["value"] for p in parts)


def test_without_hints_a_threshold_in_a_wide_gap_is_left_ambiguous() -> None:
    result = learn(ORDERS, KEPT, header="yes", timeout=10)
    assert result.programs and result.confidence == "ambiguous"
    assert "between 92.40 and 100.00" in result.reason


def test_a_hinted_constant_that_separates_the_rows_is_the_threshold_and_is_trusted() -> None:
    result = learn(ORDERS, KEPT, header="yes", timeout=10, hints=Hints(constants=["100"]))
    assert result.confidence == "trusted", result.reason
    assert filter_values(result) == ["100"]
    assert run(result.programs[0], NEW_ORDERS) == [["id", "total"], ["7", "100.50"], ["8", "101.00"]]


def test_a_hinted_cut_no_example_row_holds_leaves_open_whether_a_row_at_the_cut_passes() -> None:
    orders, kept = ORDERS[:-1], KEPT[:-1]  # without the order of exactly 100.00
    result = learn(orders, kept, header="yes", timeout=10, hints=Hints(constants=["100"]))
    assert result.confidence == "ambiguous"
    assert "no example row has column 2 ('total') 100" in result.reason
    assert "100" in result.suggestion and "100" in result.distinguishing_row


def test_a_hinted_constant_that_does_not_separate_the_rows_is_not_used() -> None:
    result = learn(ORDERS, KEPT, header="yes", timeout=10, hints=Hints(constants=["200"]))
    assert result.programs and run(result.programs[0], ORDERS) == KEPT
    assert "200" not in filter_values(result)
    assert result.confidence == "ambiguous"


def test_hinted_dates_settle_both_ends_of_a_date_range() -> None:
    # terms running over the whole of 1 to 15 February 2013
    expected = [["term"], ["A1"], ["A2"], ["A6"]]
    hints = Hints(constants=["2013-02-01", "2013-02-15"])
    result = learn(TERMS, expected, header="yes", timeout=10, hints=hints)
    assert result.confidence == "trusted", result.reason
    assert filter_values(result) == ["2013-02-01", "2013-02-15"]


def test_a_hinted_date_is_written_in_the_columns_own_format() -> None:
    grid = [["term", "start"], ["A1", "07/01/2013"], ["A2", "04/02/2013"], ["A3", "24/09/2012"], ["A4", "10/03/2013"],
            ["A5", "11/11/2012"], ["A6", "01/02/2013"]]
    expected = [["term"], ["A2"], ["A4"], ["A6"]]
    result = learn(grid, expected, header="yes", timeout=10, hints=Hints(constants=["2013-02-01"]))
    assert result.confidence == "trusted", result.reason
    assert filter_values(result) == ["01/02/2013"]


def test_an_equality_on_a_hinted_value_only_one_row_holds_is_not_memorizing() -> None:
    grid = [["name", "kind"], ["d", "Jar"], ["b", "Cup"], ["a", "Box"], ["c", "Tin"]]
    expected = [["name"], ["b"]]
    plain = learn(grid, expected, header="yes", timeout=10)
    assert plain.confidence != "trusted"
    hinted = learn(grid, expected, header="yes", timeout=10, hints=Hints(constants=["Cup"]))
    assert hinted.confidence == "trusted", hinted.reason
    assert hinted.programs[0].steps[0].args["where"] == {"column": 1, "test": "eq", "value": "Cup"}


def test_aggregation_names_are_read_as_the_engines_functions() -> None:
    hints = Hints(aggregations=["AVG", "count-distinct", "max", "max"])
    assert hints.aggregations == ["mean", "count_distinct", "max"]
    assert hints.allows("max") and not hints.allows("min")
    assert Hints(aggregations=["count"]).allows("rows")
    with pytest.raises(ValidationError):
        Hints(aggregations=["median"])


def test_hinted_aggregation_functions_are_tried_first() -> None:
    hints = Hints(aggregations=["max"])
    assert hints.first(("rows", "count", "sum", "min", "max"))[0] == "max"
    assert Hints().first(("rows", "max")) == ("rows", "max")


def test_blank_and_repeated_constants_are_dropped() -> None:
    assert Hints(constants=["3", " ", "3", "x"]).constants == ["3", "x"]


READINGS = [["sensor", "day", "temp"], ["100", "2009-02-27", "12"], ["100", "2009-02-26", "14"],
            ["200", "2009-02-28", "20"], ["200", "2009-02-25", "19"], ["100", "2009-02-24", "13"],
            ["200", "2009-02-24", "18"], ["400", "2009-02-24", "12"], ["400", "2009-02-23", "10"]]


def test_a_hinted_date_cut_before_each_groups_latest_row_is_found_and_trusted() -> None:
    # each sensor's latest reading after 24 February: sensor 400 has none, though its latest is on the 24th
    expected = [["sensor", "day", "temp"], ["100", "2009-02-27", "12"], ["200", "2009-02-28", "20"]]
    result = learn(READINGS, expected, header="yes", timeout=10, hints=Hints(constants=["2009-02-24"],
                                                                          aggregations=["max"]))
    assert result.confidence == "trusted", result.reason
    assert [s.op for s in result.programs[0].steps] == ["filter_rows", "keep_extremes"]
    later = [["sensor", "day", "temp"], ["100", "2009-02-26", "9"], ["400", "2009-02-25", "1"]]
    assert run(result.programs[0], READINGS + later[1:]) == [
        ["sensor", "day", "temp"], ["100", "2009-02-27", "12"], ["200", "2009-02-28", "20"], ["400", "2009-02-25", "1"]]


def test_a_count_per_group_of_the_rows_a_hinted_constant_picks_is_found_and_trusted() -> None:
    grid = [["id", "name", "status", "kind"], ["1", "a", "Error", "url"], ["2", "b", "Error", "url"],
            ["3", "a", "Done", "url"], ["4", "a", "Done", "doc"], ["5", "a", "Error", "doc"],
            ["6", "c", "Error", "doc"]]
    expected = [["kind", "errors"], ["url", "2"], ["doc", "2"]]
    result = learn(grid, expected, header="yes", timeout=10, hints=Hints(constants=["Error"], aggregations=["count"]))
    assert result.confidence == "trusted", result.reason
    new = [["id", "name", "status", "kind"], ["7", "a", "Error", "url"], ["8", "a", "Done", "doc"]]
    assert run(result.programs[0], new) == [["kind", "errors"], ["url", "1"]]


def test_a_hinted_row_count_of_a_top_n_is_not_a_guess() -> None:
    grid = [["name", "paid"], ["a", "10"], ["b", "40"], ["c", "30"], ["d", "5"], ["e", "20"]]
    expected = [["name", "paid"], ["b", "40"], ["c", "30"], ["e", "20"]]
    plain = learn(grid, expected, header="yes", timeout=10)
    assert plain.confidence == "ambiguous"
    hinted = learn(grid, expected, header="yes", timeout=10, hints=Hints(constants=["3"]))
    assert hinted.confidence == "trusted", hinted.reason
    assert run(hinted.programs[0], grid + [["f", "50"]])[1:] == [["f", "50"], ["b", "40"], ["c", "30"]]


def test_a_program_ignoring_the_hinted_constant_and_function_ranks_after_one_using_them() -> None:
    from recast_engine.dsl import Program, Step
    from recast_engine.synthesis.ranking import program_cost

    uses = Program(header_rows=1, steps=[
        Step(op="filter_rows", args={"where": {"column": 0, "test": "eq", "value": "Bottle"}, "header": True}),
        Step(op="keep_extremes", args={"keys": [], "column": 2, "which": "max", "as_": "number", "ties": "all",
                                       "header": True})])
    ignores = Program(header_rows=1, steps=[Step(op="transpose")])
    hints = Hints(constants=["Bottle"], aggregations=["max"])
    assert program_cost(ignores)[0] < program_cost(uses)[0]
    assert program_cost(uses, hints=hints)[0] < program_cost(ignores, hints=hints)[0]


def test_a_hinted_count_is_the_row_count_a_group_test_keeps_groups_by() -> None:
    # teams with a player listed at least twice (GROUP BY team, player HAVING COUNT(*) >= 2), the 2 given
    grid = [["team", "player"], ["1", "ann"], ["1", "bo"], ["1", "bo"], ["2", "cy"], ["2", "di"], ["3", "fay"],
            ["4", "gus"], ["4", "gus"], ["5", "bo"], ["5", "bo"], ["5", "bo"]]
    result = learn(grid, [["team"], ["1"], ["4"], ["5"]], header="yes", timeout=10,
                   hints=Hints(constants=["2"], aggregations=["count"]))
    assert result.confidence == "trusted", result.reason
    assert result.programs[0].steps[0].args["having"] == {"rows": "ge", "value": "2"}


def test_a_hinted_constant_tested_a_second_time_costs_as_a_constant_from_the_data() -> None:
    from recast_engine.dsl import Step
    from recast_engine.synthesis.relational import relational_step_cost

    hints = Hints(constants=["2"])
    once = {"column": 1, "test": "ge", "value": "2", "as": "number"}
    twice = {"all": [{"column": 0, "test": "ne", "value": "2", "as": "number"}, once]}
    other = {"all": [{"column": 0, "test": "ne", "value": "7", "as": "number"}, once]}
    cost = {name: relational_step_cost(Step(op="filter_rows", args={"where": where}), hints)
            for name, where in (("once", once), ("twice", twice), ("other", other))}
    assert cost["once"] is not None and cost["twice"] is not None
    assert cost["twice"] == cost["other"] > cost["once"]


def test_the_groups_with_the_most_rows_are_found_when_the_user_names_count_and_max() -> None:
    # the dish ordered most often (GROUP BY dish HAVING COUNT(*) = the largest count); dishes tied for it all count
    grid = [["shop", "till", "dish"], ["north", "A", "2"], ["north", "A", "1"], ["north", "A", "2"],
            ["north", "A", "3"], ["north", "A", "2"]]
    expected = [["item"], ["2"]]
    hinted = learn(grid, expected, header="yes", timeout=10, hints=Hints(aggregations=["count", "max"]))
    assert hinted.confidence == "trusted", hinted.reason
    assert hinted.programs[0].steps[0].args["having"] == {"rows": "max"}
    tied = [["shop", "till", "dish"], ["south", "A", "1"], ["north", "B", "2"], ["south", "A", "1"],
            ["north", "A", "3"], ["north", "C", "2"]]
    assert sorted(run(hinted.programs[0], tied)[1:]) == [["1"], ["2"]]
    # without the hint, the first row of the example is as good a reading: not trusted
    plain = learn(grid, expected, header="yes", timeout=10)
    assert plain.confidence != "trusted"


SCORES = [["player", "round", "score"], ["ann", "1", "71"], ["ann", "2", "68"], ["ann", "3", "75"],
          ["bob", "1", "80"], ["bob", "2", "77"], ["bob", "3", "79"], ["cy", "1", "66"], ["cy", "2", "70"]]


def test_each_groups_best_and_second_best_value_is_learned_when_the_user_names_max() -> None:
    expected = [["player", "best", "runner_up"], ["ann", "75", "71"], ["bob", "80", "79"], ["cy", "70", "66"]]
    result = learn(SCORES, expected, header="yes", timeout=10, hints=Hints(aggregations=["max"]))
    step = result.programs[0].steps[0]
    assert step.op == "group_rows" and [a["func"] for a in step.args["aggregates"]] == ["max", "second_max"]
    # every player shows two or more scores: what a player with one score gets is left open
    assert result.confidence == "ambiguous" and "two or more values" in result.reason
    new = [["player", "round", "score"], ["dee", "1", "90"], ["dee", "2", "90"], ["dee", "3", "85"],
           ["eve", "1", "60"]]
    assert run(result.programs[0], new) == [["player", "best", "runner_up"], ["dee", "90", "85"], ["eve", "60", ""]]


def test_a_second_best_value_is_not_a_reading_without_named_functions() -> None:
    expected = [["player", "best", "runner_up"], ["ann", "75", "71"], ["bob", "80", "79"], ["cy", "70", "66"]]
    result = learn(SCORES, expected, header="yes", timeout=10)
    assert not any(a.get("func") == "second_max" for p in result.programs for s in p.steps
                   for a in s.args.get("aggregates", []))


def test_groups_holding_a_hinted_value_are_kept_before_a_filter_picks_their_rows() -> None:
    # the treated patients of the countries that also have an untreated one (EXISTS on the same table)
    grid = [["id", "country", "status"], ["1", "SE", "TREATED"], ["2", "DK", "UNTREATED"], ["3", "SE", "UNTREATED"],
            ["4", "DE", "TREATED"], ["5", "JP", "UNTREATED"], ["6", "JP", "TREATED"], ["7", "NO", "TREATED"],
            ["8", "NO", "TREATED"]]
    expected = [["id", "country", "status"], ["1", "SE", "TREATED"], ["6", "JP", "TREATED"]]
    result = learn(grid, expected, header="yes", timeout=10, hints=Hints(constants=["TREATED", "UNTREATED"]))
    assert [s.op for s in result.programs[0].steps] == ["keep_groups", "filter_rows"]
    # once or once per untreated row of the country (a join) is not shown: one untreated row per country
    assert result.confidence == "ambiguous" and "a join" in result.reason
    new = [["id", "country", "status"], ["9", "FI", "TREATED"], ["10", "FI", "UNTREATED"], ["11", "IS", "TREATED"]]
    assert run(result.programs[0], new) == [["id", "country", "status"], ["9", "FI", "TREATED"]]


def test_a_tie_broken_by_the_named_function_is_trusted_over_the_row_order() -> None:
    # each item's largest pack, and of packs of the same size the one with the highest price (SQL: max, max)
    grid = [["item", "pack", "price"], ["7", "288", "5.75"], ["7", "576", "5.46"], ["7", "96", "5.24"],
            ["7", "576", "5.23"], ["6", "200", "5.76"], ["6", "500", "5.01"], ["6", "100", "5.55"]]
    expected = [["item", "pack", "price"], ["7", "576", "5.46"], ["6", "500", "5.01"]]
    hinted = learn(grid, expected, header="yes", timeout=10, hints=Hints(aggregations=["max"]))
    assert hinted.confidence == "trusted", hinted.reason
    reordered = [grid[0], grid[4], grid[2], grid[3], grid[1]]
    assert run(hinted.programs[0], reordered) == [["item", "pack", "price"], ["7", "576", "5.46"]]
    assert learn(grid, expected, header="yes", timeout=10).confidence != "trusted"
