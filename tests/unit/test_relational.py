"""Relational table operators (filter, sort, group-by, extremes, HAVING, distinct, windows) and their learners."""
from __future__ import annotations

from recast_engine.dsl.interpret import run
from recast_engine.runtime import relational as rt
from recast_engine.synthesis.relational import learn_predicates
from recast_engine.synthesis.search import learn

ORDERS = [
    ["order_id", "customer", "status", "total"],
    ["1", "Ann", "shipped", "267.98"],
    ["2", "Bob", "pending", "92.40"],
    ["3", "Ann", "shipped", "24.10"],
    ["4", "Cid", "shipped", "352.20"],
    ["5", "Bob", "refunded", "150.00"],
    ["6", "Cid", "pending", "99.99"],
]


def solve(grid_in, grid_out, header="yes"):
    result = learn(grid_in, grid_out, header=header, timeout=20)
    assert result.programs, result.unexplained
    return result.programs[0]


def test_filters_compare_numbers_dates_and_text_and_keep_the_header():
    where = {"column": 3, "test": "ge", "value": "100", "as": "number"}
    assert [r[0] for r in rt.filter_rows(ORDERS, where, header=True)] == ["order_id", "1", "4", "5"]
    both = {"all": [{"column": 2, "test": "eq", "value": "shipped"}, {"column": 1, "test": "ne", "value": "Ann"}]}
    assert [r[0] for r in rt.filter_rows(ORDERS, both, header=True)][1:] == ["4"]
    dates = [["2024-01-05"], ["2023-12-31"], ["bad"]]
    later = {"column": 0, "test": "gt", "value": "2024-01-01", "as": "date", "formats": ["%Y-%m-%d"]}
    assert list(rt.filter_rows(dates, later)) == [["2024-01-05"]]


def test_a_threshold_is_snapped_to_a_round_constant_between_kept_and_dropped_values():
    body = ORDERS[1:]
    mask = [float(r[3]) >= 100 for r in body]
    assert learn_predicates(body, mask)[0] == {"column": 3, "test": "ge", "value": "100", "as": "number"}


def test_a_filter_on_a_status_is_learned_and_generalizes():
    kept = [ORDERS[0]] + [r for r in ORDERS[1:] if r[2] == "shipped"]
    program = solve(ORDERS, kept)
    new = [ORDERS[0], ["9", "Dan", "shipped", "1.00"], ["10", "Eve", "lost", "5.00"]]
    assert run(program, new) == [ORDERS[0], ["9", "Dan", "shipped", "1.00"]]


def test_sort_by_numbers_descending_is_stable_and_puts_unreadable_cells_last():
    rows = [["a", "10"], ["b", "9"], ["c", "x"], ["d", "10"]]
    assert rt.sort_by(rows, [{"column": 1, "as": "number", "descending": True}]) == [
        ["a", "10"], ["d", "10"], ["b", "9"], ["c", "x"],
    ]


def test_group_rows_aggregates_per_key_in_first_or_sorted_order():
    aggregates = [{"func": "sum", "column": 3}, {"func": "rows", "column": 0}, {"func": "max", "column": 3,
                                                                                "as": "number"}]
    grouped = rt.group_rows(ORDERS, [1], aggregates, header=True, order="sorted")
    assert grouped[1:] == [["Ann", "292.08", "2", "267.98"], ["Bob", "242.40", "2", "150.00"],
                           ["Cid", "452.19", "2", "352.20"]]
    assert rt.group_rows(ORDERS, [2], [{"func": "concat", "column": 0, "separator": "|"}], header=True)[1] == [
        "shipped", "1|3|4",
    ]


def test_the_second_largest_value_per_group_is_the_next_distinct_one_and_empty_with_one_value():
    rows = [["a", "3"], ["a", "9"], ["a", "9"], ["a", "x"], ["b", "4"], ["b", "4"], ["c", "10"], ["c", "2"]]
    aggregates = [{"func": "second_max", "column": 1, "as": "number"}, {"func": "second_min", "column": 1,
                                                                          "as": "number"}]
    assert rt.group_rows(rows, [0], aggregates) == [["a", "3", "9"], ["b", "", ""], ["c", "2", "10"]]


def test_a_sum_per_customer_is_learned_with_its_group_key():
    expected = [["customer", "total_amount"], ["Ann", "292.08"], ["Bob", "242.40"], ["Cid", "452.19"]]
    program = solve(ORDERS, expected)
    assert [s.op for s in program.steps] == ["group_rows"]
    new = [ORDERS[0], ["1", "Zed", "x", "1.10"], ["2", "Amy", "x", "2.00"], ["3", "Zed", "x", "3.10"]]
    assert run(program, new)[1:] == [["Amy", "2.00"], ["Zed", "4.20"]]


def test_the_row_holding_each_groups_latest_date_is_kept():
    grid = [["id", "home", "when"], ["1", "10", "2009/03/04"], ["2", "11", "2009/03/04"], ["3", "10", "2009/03/03"],
            ["4", "11", "2009/03/03"], ["5", "12", "2008/12/24"], ["6", "12", "2009/01/01"]]
    program = solve(grid, [grid[0], grid[1], grid[2], grid[6]])
    assert program.steps[0].op == "keep_extremes"
    assert rt.keep_extremes(grid[1:], [1], 2, "max", "date", ["%Y/%m/%d"]) == [grid[1], grid[2], grid[6]]


def test_groups_pass_having_tests_on_their_size_or_their_rows():
    rows = [["1", "A"], ["2", "A"], ["3", "A"], ["1", "B"], ["2", "B"]]
    assert rt.keep_groups(rows, [0], {"rows": "gt", "value": "1"}) == [["1", "A"], ["2", "A"], ["1", "B"],
                                                                       ["2", "B"]]
    assert rt.keep_groups(rows, [0], {"some": {"column": 1, "test": "eq", "value": "B"}}) == [
        ["1", "A"], ["2", "A"], ["1", "B"], ["2", "B"],
    ]
    assert rt.keep_top(rows, [1], 0, 2) == [["2", "A"], ["3", "A"], ["1", "B"], ["2", "B"]]
    assert rt.distinct_rows(rows, [1], keep="last") == [["3", "A"], ["2", "B"]]


def test_the_groups_holding_the_most_or_fewest_rows_are_kept_with_every_tied_group():
    rows = [["1", "A"], ["2", "A"], ["3", "B"], ["4", "C"], ["5", "C"], ["6", "D"]]
    assert rt.keep_groups(rows, [1], {"rows": "max"}) == [["1", "A"], ["2", "A"], ["4", "C"], ["5", "C"]]
    assert rt.keep_groups(rows, [1], {"rows": "min"}) == [["3", "B"], ["6", "D"]]
    assert rt.keep_groups([["x", "y"]] + rows[:3], [1], {"rows": "max"}, header=True) == [
        ["x", "y"], ["1", "A"], ["2", "A"]]


def test_windows_append_running_sums_group_totals_and_differences():
    rows = [["h"], ["a", "1"], ["a", "2"], ["b", "5"]]
    assert [r[-1] for r in rt.add_window(rows, "running_sum", 1, header=True, name="run")] == ["run", "1", "3", "8"]
    assert [r[-1] for r in rt.add_window(rows[1:], "sum", 1, keys=[0])] == ["3", "3", "5"]
    assert [r[-1] for r in rt.add_window(rows[1:], "difference", 1)] == ["", "1", "3"]


def test_a_share_of_the_column_total_is_learned_through_a_window():
    grid = [["store", "revenue"], ["a", "200"], ["b", "300"], ["c", "537"], ["d", "300"]]
    expected = [["store", "revenue", "share"], ["a", "200", "14.96"], ["b", "300", "22.44"], ["c", "537", "40.16"],
                ["d", "300", "22.44"]]
    program = solve(grid, expected)
    assert run(program, [["s", "r"], ["x", "1"], ["y", "3"]]) == [["s", "r", "share"], ["x", "1", "25.00"],
                                                                  ["y", "3", "75.00"]]


def test_a_filter_on_a_value_only_one_row_holds_is_reported_as_memorizing():
    from recast_engine.dsl import Program, Step
    from recast_engine.synthesis import trust

    picks = Program(steps=[Step(op="filter_rows", args={"where": {"column": 0, "test": "eq", "value": "4"},
                                                        "header": True})])
    assert any("only one row" in reason for reason, _ in trust.memorizing(picks, ORDERS))
    by_status = Program(steps=[Step(op="filter_rows", args={"where": {"column": 2, "test": "eq", "value": "shipped"},
                                                            "header": True})])
    assert trust.memorizing(by_status, ORDERS) == []
    total_row = [["a"], ["1"], ["Total"]]
    drop_total = Program(steps=[Step(op="filter_rows", args={"where": {"column": 0, "test": "ne", "value": "Total"}})])
    assert trust.memorizing(drop_total, total_row) == []


def test_rows_another_row_refers_to_are_kept_or_dropped():
    family = [["id", "name", "parent"], ["1", "Bob", "-1"], ["2", "Matt", "1"], ["3", "Rick", "1"],
              ["4", "Alice", "2"]]
    assert rt.keep_referenced(family, 0, 2, header=True) == [family[0], family[1], family[2]]
    assert rt.keep_referenced(family, 0, 2, keep=False, header=True) == [family[0], family[3], family[4]]


def test_a_having_on_key_pairs_then_distinct_is_learned_and_generalizes():
    # teams with a player listed more than once (GROUP BY team, player HAVING COUNT(*) > 1, then the teams)
    grid = [["team", "player"], ["5", "bo"], ["5", "bo"], ["5", "gus"], ["1", "ann"], ["1", "bo"], ["1", "bo"],
            ["2", "cy"], ["2", "di"], ["2", "ed"], ["3", "fay"], ["4", "gus"], ["4", "gus"]]
    result = learn(grid, [["team"], ["5"], ["1"], ["4"]], header="yes", timeout=20)
    assert result.confidence == "trusted", result.reason
    new = [["team", "player"], ["9", "bo"], ["9", "bo"], ["8", "bo"], ["8", "cy"], ["7", "ann"], ["7", "ann"]]
    assert run(result.programs[0], new)[1:] == [["9"], ["7"]]


def test_groups_a_group_test_keeps_are_listed_sorted_by_their_key_as_numbers_when_the_example_shows_both_orders():
    # GROUP BY team HAVING ...: a listing of groups comes sorted by key, as a grouping does, when the example's
    # input order is also its sorted order
    grid = [["team", "player"], ["1", "ann"], ["1", "bo"], ["1", "bo"], ["2", "cy"], ["2", "di"], ["2", "ed"],
            ["3", "fay"], ["4", "gus"], ["4", "gus"], ["5", "bo"], ["5", "bo"], ["5", "gus"]]
    result = learn(grid, [["team"], ["1"], ["4"], ["5"]], header="yes", timeout=20)
    assert result.confidence == "trusted", result.reason
    new = [["team", "player"], ["10", "bo"], ["10", "bo"], ["8", "bo"], ["8", "cy"], ["9", "ann"], ["9", "ann"]]
    assert run(result.programs[0], new)[1:] == [["9"], ["10"]]


def test_one_row_per_group_kept_by_distinct_in_an_order_that_is_also_sorted_is_ambiguous():
    from recast_engine.dsl import Program, Step
    from recast_engine.synthesis.relational_trust import relational_doubt

    grid = [["team", "player"], ["1", "ann"], ["1", "bo"], ["1", "bo"], ["4", "gus"], ["4", "gus"], ["5", "bo"]]
    program = Program(steps=[Step(op="keep_groups", args={"keys": [0, 1], "having": {"rows": "gt", "value": "1"},
                                                          "header": True}),
                             Step(op="distinct_rows", args={"columns": [0], "header": True})], header_rows=1)
    doubt = relational_doubt(program, grid)
    assert doubt is not None and "sorted" in doubt.reason


def test_grouped_rows_sort_their_keys_as_numbers_or_dates_with_unreadable_keys_last():
    rows = [["k", "v"], ["10", "a"], ["9", "b"], ["n/a", "c"], ["9", "d"], ["-2", "e"]]
    grouped = rt.group_rows(rows, [0], [{"func": "rows", "column": 1}], header=True, order="sorted",
                            sort_as=[{"as": "number"}])
    assert grouped[1:] == [["-2", "1"], ["9", "2"], ["10", "1"], ["n/a", "1"]]
    assert [r[0] for r in rt.group_rows(rows[1:], [0], [], order="sorted")] == ["-2", "10", "9", "n/a"]
    days = [["3/1/2024"], ["12/31/2023"], ["1/15/2024"]]
    by_date = rt.group_rows(days, [0], [], order="sorted", sort_as=[{"as": "date", "formats": ["%m/%d/%Y"]}])
    assert by_date == [["12/31/2023"], ["1/15/2024"], ["3/1/2024"]]


def test_groups_whose_rows_all_hold_a_value_are_kept_then_listed_once():
    grid = [["product", "client"], ["21", "233"], ["21", "133"], ["22", "233"], ["22", "233"], ["23", "233"],
            ["24", "433"], ["24", "233"], ["26", "133"], ["26", "133"]]
    program = solve(grid, [["product"], ["22"], ["23"]])
    new = [["product", "client"], ["30", "233"], ["31", "233"], ["31", "7"], ["32", "233"], ["32", "233"]]
    assert sorted(run(program, new)[1:]) == [["30"], ["32"]]


def test_distinct_rows_on_a_column_the_keys_determine_is_ambiguous():
    grid = [["chapter", "file"], ["1234", "a.xml"], ["1234", "a.xml"], ["4567", "a.xml"], ["4567", "a.xml"],
            ["6789", "c.xml"], ["7890", "b.xml"], ["7890", "b.xml"]]
    result = learn(grid, [["chapter", "file"], ["1234", "a.xml"], ["4567", "a.xml"], ["7890", "b.xml"]],
                   header="yes", timeout=20)
    assert result.programs
    assert result.confidence == "ambiguous"


def test_a_candidate_lining_rows_up_by_coincidence_ranks_after_a_relational_one():
    grid = [["product", "client"], ["21", "233"], ["21", "133"], ["22", "233"], ["22", "233"], ["23", "233"],
            ["24", "433"], ["24", "233"]]
    result = learn(grid, [["product"], ["22"], ["23"]], header="yes", timeout=20)
    assert result.programs[0].steps[0].op == "keep_groups"


def test_keeping_the_last_duplicate_that_also_holds_the_largest_value_is_ambiguous():
    grid = [["team", "log", "name"], ["a", "", "ann"], ["b", "", "bo"], ["c", "", "cy"], ["b", "12", "bo"],
            ["c", "13", "cy"]]
    result = learn(grid, [["team", "log", "name"], ["a", "", "ann"], ["b", "12", "bo"], ["c", "13", "cy"]],
                   header="yes", timeout=20)
    assert result.programs
    assert result.confidence == "ambiguous"


def test_ties_for_a_groups_max_are_broken_by_the_smallest_value_of_another_column():
    rows = [["id", "who", "total"], ["4", "Joe", "6"], ["2", "Joe", "6"], ["5", "Sal", "3"], ["1", "Joe", "5"]]
    kept = rt.keep_extremes(rows, [1], 2, "max", "number", None, "all", header=True,
                            tiebreak={"column": 0, "which": "min", "as_": "number"})
    assert kept == [["id", "who", "total"], ["2", "Joe", "6"], ["5", "Sal", "3"]]


def test_the_smallest_id_among_each_groups_max_rows_is_trusted_when_the_user_names_min_and_max():
    from recast_engine.hints import Hints

    grid = [["id", "customer", "total"], ["1", "Joe", "5"], ["2", "Joe", "6"], ["3", "Joe", "6"], ["4", "Joe", "6"],
            ["5", "Sally", "3"], ["6", "Joe", "2"], ["7", "Sally", "1"]]
    out = [["first_id", "customer", "best"], ["2", "Joe", "6"], ["5", "Sally", "3"]]
    hinted = learn(grid, out, header="yes", timeout=20, hints=Hints(aggregations=["min", "max"]))
    assert hinted.confidence == "trusted", hinted.reason
    fresh = [grid[0], ["9", "Joe", "6"], ["3", "Joe", "6"], ["5", "Sally", "3"]]
    assert run(hinted.programs[0], fresh) == [out[0], ["3", "Joe", "6"], ["5", "Sally", "3"]]
    # without the hint, the first of the tied rows in row order reads the example as well
    assert learn(grid, out, header="yes", timeout=20).confidence == "ambiguous"


def test_a_window_appends_each_groups_max_and_min_cell():
    rows = [["k", "v"], ["a", "3"], ["b", "10"], ["a", "12"], ["b", "9"]]
    assert [r[-1] for r in rt.add_window(rows, "max", 1, [0], header=True)] == ["", "12", "10", "12", "10"]
    assert [r[-1] for r in rt.add_window(rows, "min", 1, [0], header=True)] == ["", "3", "9", "3", "9"]


def test_each_groups_best_row_shown_with_the_groups_largest_other_value_is_learned_through_a_window():
    grid = [["item", "team", "score", "year"], ["1", "7", "1", "2014"], ["1", "7", "2", "2014"],
            ["1", "7", "3", "2015"], ["2", "8", "2", "2014"], ["3", "8", "1", "2015"], ["4", "9", "2", "2014"],
            ["4", "9", "3", "2015"]]
    out = [grid[0], ["1", "7", "3", "2015"], ["3", "8", "2", "2014"], ["4", "9", "3", "2015"]]
    result = learn(grid, out, header="yes", timeout=20)
    assert result.confidence == "trusted", result.reason
    assert [s.op for s in result.programs[0].steps] == ["add_window", "keep_extremes"]
    fresh = [grid[0], ["5", "7", "4", "2013"], ["6", "7", "1", "2016"], ["2", "9", "5", "2012"]]
    assert run(result.programs[0], fresh) == [grid[0], ["6", "7", "4", "2013"], ["2", "9", "5", "2012"]]


def test_groups_kept_for_a_row_passing_a_test_then_filtered_are_ambiguous_while_each_holds_one_passing_row():
    from recast_engine.dsl import Program, Step
    from recast_engine.synthesis.relational_trust import relational_doubt

    grid = [["id", "country", "status"], ["1", "SE", "TREATED"], ["2", "DK", "UNTREATED"], ["3", "SE", "UNTREATED"],
            ["4", "DE", "TREATED"], ["5", "JP", "UNTREATED"], ["6", "JP", "TREATED"], ["7", "JP", "UNTREATED"]]
    exists = Program(header_rows=1, steps=[
        Step(op="keep_groups", args={"keys": [1], "having": {"some": {"column": 2, "test": "eq", "value": "UNTREATED"}},
                                     "header": True}),
        Step(op="filter_rows", args={"where": {"column": 2, "test": "eq", "value": "TREATED"}, "header": True})])
    assert run(exists, grid) == [grid[0], ["1", "SE", "TREATED"], ["6", "JP", "TREATED"]]
    # JP holds two UNTREATED rows and its TREATED row comes out once: an existence test, not a join
    assert relational_doubt(exists, grid) is None
    # with one UNTREATED row per country, a join of the table with those rows reads the example as well
    doubt = relational_doubt(exists, grid[:-1])
    assert doubt is not None and "join" in doubt.reason


def test_a_window_over_the_rows_passing_a_test_gives_every_row_of_the_group_that_value():
    rows = [["v", "who", "m"], ["100", "1", "a"], ["102", "2", "a"], ["103", "3", "a"], ["90", "1", "b"]]
    where = {"column": 1, "test": "ne", "value": "3", "as": "number"}
    got = rt.add_window(rows, "mean", 0, [2], header=True, name="avg", where=where)
    assert [r[-1] for r in got] == ["avg", "101", "101", "101", "90"]


def test_a_mean_that_does_not_end_is_written_as_the_nearest_double_prints():
    from decimal import Decimal

    assert rt._mean_text(Decimal(305), 3) == "101.66666666666667"
    assert rt._mean_text(Decimal("203"), 2) == "101.5"
    assert rt._aggregate(["1", "2", "2"], "mean", "number", [], ",") == "1.6666666666666667"


def test_each_months_average_of_the_other_users_beside_one_users_rows_is_learned_with_hints():
    from recast_engine.hints import Hints

    grid = [["trans", "user", "month"], ["100", "1", "1"], ["102", "2", "1"], ["103", "3", "1"], ["100", "1", "2"],
            ["103", "2", "2"], ["103", "3", "2"], ["104", "1", "3"], ["104", "2", "3"], ["101", "3", "3"]]
    out = [["others_avg", "mine", "month"], ["101", "103", "1"], ["101.5", "103", "2"], ["104", "101", "3"]]
    result = learn(grid, out, header="yes", timeout=20, hints=Hints(constants=["3"], aggregations=["avg"]))
    assert result.confidence == "trusted", result.reason
    assert [s.op for s in result.programs[0].steps] == ["add_window", "filter_rows"]
    fresh = [grid[0], ["10", "1", "7"], ["20", "3", "7"], ["11", "2", "7"], ["30", "3", "7"], ["12", "2", "7"]]
    assert run(result.programs[0], fresh) == [out[0], ["11", "20", "7"], ["11", "30", "7"]]
