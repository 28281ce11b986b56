"""Trust in relational steps: a filter, a top-N, a per-group pick or a running total is trusted only when the
example pins its parameters down; otherwise the result is ambiguous and names a row that would settle it."""
from recast_engine.dsl import Program, Step
from recast_engine.dsl.interpret import run
from recast_engine.synthesis import trust
from recast_engine.synthesis.search import learn

DATE_FORMATS = ["%Y-%m-%d"]


def assessed(steps: list[Step], grid: list[list[str]]) -> trust.Assessment:
    program = Program(steps=steps, header_rows=1)
    return trust.assess([program], [(10, 1)], grid, run(program, grid))


def filtered(where: dict, grid: list[list[str]]) -> trust.Assessment:
    return assessed([Step(op="filter_rows", args={"where": where, "header": True})], grid)


ORDERS = [["id", "total"], ["1", "92.40"], ["2", "104.99"], ["3", "250.00"], ["4", "72.10"], ["5", "130.00"]]


def test_a_threshold_with_a_wide_gap_between_dropped_and_kept_values_is_ambiguous_and_names_a_row_in_the_gap() -> None:
    verdict = filtered({"column": 1, "test": "ge", "value": "100", "as": "number"}, ORDERS)
    assert verdict.confidence == "ambiguous"
    assert "between 92.40 and 104.99" in verdict.reason
    assert verdict.distinguishing_row is not None and verdict.distinguishing_row[1] == "92.41"
    assert "between 92.40 and 104.99" in verdict.suggestion


def test_a_threshold_between_adjacent_integers_is_trusted() -> None:
    grid = [["id", "qty"], ["a", "3"], ["b", "4"], ["c", "7"], ["d", "1"], ["e", "4"]]
    assert filtered({"column": 1, "test": "ge", "value": "4", "as": "number"}, grid).confidence == "trusted"


def test_a_date_threshold_with_months_between_the_values_is_ambiguous() -> None:
    grid = [["id", "day"], ["a", "2013-01-07"], ["b", "2012-09-24"], ["c", "2013-02-01"], ["d", "2012-06-25"]]
    where = {"column": 1, "test": "ge", "value": "2013-01-07", "as": "date", "formats": DATE_FORMATS}
    verdict = filtered(where, grid)
    assert verdict.confidence == "ambiguous" and verdict.distinguishing_row == ["a", "2012-09-25"]


def test_keeping_the_first_rows_by_the_example_output_count_is_ambiguous() -> None:
    grid = [["id", "name"], ["1", "Bob"], ["2", "Matt"], ["3", "Rick"], ["4", "Alice"]]
    verdict = assessed([Step(op="head_rows", args={"count": 2, "header": True})], grid)
    assert verdict.confidence == "ambiguous" and "first 2 rows" in verdict.reason
    assert verdict.distinguishing_row == ["3", "Rick"]


def test_a_conjunction_part_that_drops_a_single_example_row_is_ambiguous() -> None:
    grid = [["id", "country", "status"], ["1", "SE", "TREATED"], ["2", "DK", "UNTREATED"], ["3", "SE", "UNTREATED"],
            ["4", "DE", "TREATED"], ["6", "JP", "TREATED"]]
    where = {"all": [{"column": 2, "test": "eq", "value": "TREATED"}, {"column": 1, "test": "ne", "value": "DE"}]}
    verdict = filtered(where, grid)
    assert verdict.confidence == "ambiguous" and verdict.distinguishing_row == ["4", "DE", "TREATED"]


def test_a_date_filter_whose_kept_rows_are_one_per_group_is_ambiguous_with_each_groups_latest() -> None:
    grid = [["loc", "day"], ["100", "2009-02-27"], ["100", "2009-02-26"], ["200", "2009-02-28"],
            ["200", "2009-02-25"], ["300", "2009-02-28"], ["300", "2009-02-24"]]
    where = {"column": 1, "test": "ge", "value": "2009-02-27", "as": "date", "formats": DATE_FORMATS}
    verdict = filtered(where, grid)
    assert verdict.confidence == "ambiguous" and "one per column 1 ('loc')" in verdict.reason
    mine, theirs = verdict.candidate_outputs
    assert mine != theirs


def test_a_group_key_that_coincides_with_another_column_is_ambiguous() -> None:
    grid = [["id", "first", "score"], ["7", "ann", "3"], ["7", "ann", "5"], ["9", "bob", "2"], ["9", "bob", "1"]]
    step = Step(op="keep_extremes", args={"keys": [0], "column": 2, "which": "max", "as_": "number", "header": True})
    verdict = assessed([step], grid)
    assert verdict.confidence == "ambiguous" and "column 2 ('first')" in verdict.reason


def test_a_group_key_no_other_column_follows_is_trusted() -> None:
    grid = [["id", "first", "score"], ["7", "ann", "3"], ["7", "bob", "5"], ["9", "bob", "2"], ["9", "cy", "1"]]
    step = Step(op="keep_extremes", args={"keys": [0], "column": 2, "which": "max", "as_": "number", "header": True})
    assert assessed([step], grid).confidence == "trusted"


def test_a_tie_broken_by_row_order_that_another_column_also_explains_is_ambiguous() -> None:
    grid = [["number", "quantity", "price"], ["1007", "288", "5.750"], ["1007", "576", "5.460"],
            ["1007", "576", "5.230"], ["1006", "500", "5.010"], ["1006", "200", "5.760"]]
    step = Step(op="keep_extremes", args={"keys": [0], "column": 1, "which": "max", "as_": "number", "ties": "first",
                                          "header": True})
    verdict = assessed([step], grid)
    assert verdict.confidence == "ambiguous" and "column 3 ('price')" in verdict.reason


def test_us_dates_whose_text_order_agrees_with_their_date_order_are_ambiguous_and_iso_dates_are_not() -> None:
    step = Step(op="keep_extremes", args={"keys": [0], "column": 1, "which": "max", "as_": "date",
                                          "formats": ["%m/%d/%Y"], "header": True})
    us = [["item", "start"], ["A", "1/1/2000"], ["A", "5/1/2000"], ["B", "7/8/2015"], ["B", "5/1/2000"],
          ["C", "4/10/2007"], ["C", "4/10/2003"]]
    verdict = assessed([step], us)
    assert verdict.confidence == "ambiguous" and "as dates or as text" in verdict.reason
    iso_step = step.model_copy(update={"args": {**step.args, "formats": DATE_FORMATS}})
    iso = [["item", "start"], ["A", "2000-01-01"], ["A", "2000-05-01"], ["B", "2015-07-08"], ["B", "2000-05-01"]]
    assert assessed([iso_step], iso).confidence == "trusted"


def test_an_aggregate_that_is_the_same_for_every_group_is_ambiguous() -> None:
    grid = [["name", "status", "type"], ["a", "Error", "url"], ["b", "Error", "url"], ["c", "Done", "url"],
            ["d", "Done", "doc"], ["e", "Error", "doc"]]
    step = Step(op="group_rows", args={"keys": [2], "aggregates": [{"func": "count_distinct", "column": 1}],
                                       "header": True})
    verdict = assessed([step], grid)
    assert verdict.confidence == "ambiguous" and "for every group" in verdict.reason


def test_a_running_sum_over_rows_already_sorted_by_a_column_is_ambiguous_and_over_unsorted_rows_is_trusted() -> None:
    step = Step(op="add_window", args={"func": "running_sum", "column": 1, "keys": [], "header": True,
                                       "name": "total"})
    ordered = [["day", "count"], ["2011-04-04", "100"], ["2011-04-05", "50"], ["2011-04-06", "50"],
               ["2011-04-07", "300"]]
    verdict = assessed([step], ordered)
    assert verdict.confidence == "ambiguous" and "sorted by column 1 ('day')" in verdict.reason
    shuffled = [ordered[0], ordered[3], ordered[1], ordered[4], ordered[2]]
    assert assessed([step], shuffled).confidence == "trusted"


def test_picking_rows_by_the_alphabetical_order_of_words_is_ambiguous_but_codes_or_filled_over_empty_are_not(
) -> None:
    words = [["key", "team"], ["x", "MC-A"], ["x", "AK-G"], ["y", "MC-A"], ["z", "AK-G"]]
    step = Step(op="keep_extremes", args={"keys": [0], "column": 1, "which": "min", "as_": "text", "header": True})
    assert assessed([step], words).confidence == "ambiguous"
    filled = [["key", "log"], ["x", ""], ["x", "83"], ["y", ""], ["z", "85"]]
    pick = step.model_copy(update={"args": {**step.args, "which": "max"}})
    assert assessed([pick], filled).confidence == "trusted"
    codes = [["key", "change"], ["x", "GUC320140101"], ["x", "GUC320141225"], ["y", "GUC320150101"]]
    assert assessed([pick], codes).confidence == "trusted"


def test_a_filter_ahead_of_a_per_group_pick_leaves_open_whether_a_dropped_row_that_ties_is_kept() -> None:
    grid = [["id", "product", "index", "rejected"], ["1", "1", "0", "true"], ["2", "1", "1", "false"],
            ["3", "1", "2", "false"], ["4", "2", "0", "false"], ["5", "2", "1", "true"]]
    steps = [Step(op="filter_rows", args={"where": {"column": 3, "test": "eq", "value": "false"}, "header": True}),
             Step(op="keep_extremes", args={"keys": [1], "column": 2, "which": "min", "as_": "number",
                                            "header": True})]
    verdict = assessed(steps, grid)
    assert verdict.confidence == "ambiguous" and verdict.distinguishing_row == ["1", "1", "1", "true"]


def test_an_equality_filter_another_column_explains_as_well_is_ambiguous_with_a_row_that_tells_them_apart() -> None:
    grid = [["order", "status", "carrier"], ["1", "shipped", "UPS"], ["2", "open", "none"], ["3", "shipped", "UPS"],
            ["4", "open", "none"], ["5", "shipped", "UPS"]]
    verdict = filtered({"column": 1, "test": "eq", "value": "shipped"}, grid)
    assert verdict.confidence == "ambiguous" and "column 3 ('carrier')" in verdict.reason
    row = verdict.distinguishing_row
    assert row is not None and (row[1] == "shipped") != (row[2] == "UPS")


def test_an_equality_filter_no_other_column_follows_is_trusted() -> None:
    grid = [["order", "status", "carrier"], ["1", "shipped", "UPS"], ["2", "open", "UPS"], ["3", "shipped", "DHL"],
            ["4", "open", "DHL"], ["5", "shipped", "UPS"]]
    assert filtered({"column": 1, "test": "eq", "value": "shipped"}, grid).confidence == "trusted"


def test_a_filter_on_the_picked_column_ahead_of_each_groups_max_raises_no_doubt_about_dropped_ties() -> None:
    # rows under 8 only, then each user's largest: a dropped row cannot hold that largest value (it would pass)
    grid = [["usr", "value"], ["p", "1"], ["p", "3"], ["q", "3"], ["q", "7"], ["q", "8"]]
    steps = [Step(op="filter_rows", args={"where": {"column": 1, "test": "lt", "value": "8", "as": "number"},
                                          "header": True}),
             Step(op="keep_extremes", args={"keys": [0], "column": 1, "which": "max", "as_": "number", "ties": "all",
                                            "header": True})]
    from recast_engine.synthesis.relational_trust import relational_doubt

    doubt = relational_doubt(Program(steps=steps, header_rows=1), grid)
    assert doubt is None


def test_an_equality_with_a_hinted_value_that_drops_one_row_of_a_conjunction_is_still_doubted() -> None:
    from recast_engine.hints import Hints

    # teams with at least 2 rows, but team 2 dropped by its number: the hinted 2 was meant for the count
    grid = [["team", "rows"], ["1", "3"], ["2", "3"], ["3", "1"], ["4", "2"], ["5", "2"]]
    where = {"all": [{"column": 0, "test": "ne", "value": "2", "as": "number"},
                     {"column": 1, "test": "ge", "value": "2", "as": "number"}]}
    program = Program(steps=[Step(op="filter_rows", args={"where": where, "header": True})], header_rows=1)
    from recast_engine.synthesis.relational_trust import relational_doubt

    doubt = relational_doubt(program, grid, Hints(constants=["2"]))
    assert doubt is not None and "drops one example row" in doubt.reason


def test_the_first_of_tied_rows_that_also_has_the_smallest_id_is_ambiguous_though_a_sort_would_reorder_rows() -> None:
    from recast_engine.dsl import OutputColumn, col
    from recast_engine.synthesis.relational_trust import relational_doubt

    grid = [["uniq", "value", "person"], ["5", "999", "Bob"], ["1", "996", "Bob"], ["3", "994", "Claire"],
            ["4", "994", "Claire"]]
    first = Program(header_rows=1, steps=[Step(op="keep_extremes", args={
        "keys": [2], "column": 1, "which": "max", "as_": "number", "ties": "first", "header": True})],
        columns=[OutputColumn(header=col(i), value=col(i)) for i in range(3)])
    assert run(first, grid) == [grid[0], ["5", "999", "Bob"], ["3", "994", "Claire"]]
    doubt = relational_doubt(first, grid)
    assert doubt is not None and "uniq" in doubt.reason


def test_the_row_holding_the_minimum_is_ambiguous_when_it_is_also_the_first_row_of_the_example() -> None:
    shops = [["shop", "dish"], ["2", "pizza"], ["3", "pasta"], ["5", "soup"]]
    pick = Step(op="keep_extremes", args={"keys": [], "column": 0, "which": "min", "as_": "number", "ties": "all",
                                          "header": True})
    verdict = assessed([pick], shops)
    assert verdict.confidence == "ambiguous"
    assert "first rows" in verdict.reason
    unsorted = [["shop", "dish"], ["3", "pasta"], ["2", "pizza"], ["5", "soup"]]
    assert "first rows" not in (assessed([pick], unsorted).reason or "")


def test_groups_kept_for_their_row_count_are_doubted_when_a_filter_on_their_key_reads_the_same() -> None:
    grid = [["id", "status"], ["1", "shipped"], ["2", "zeta"], ["3", "shipped"], ["4", "alpha"], ["5", "zeta"],
            ["6", "shipped"]]
    kept = [grid[0]] + [r for r in grid[1:] if r[1] == "shipped"]
    result = learn(grid, kept, header="yes", timeout=10)
    assert result.programs[0].steps[0].op == "keep_groups"
    assert result.confidence == "ambiguous" and "for their row count" in result.reason
