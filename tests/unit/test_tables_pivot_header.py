"""pivot with a header row and pandas' key order, and the proposer that finds it from the output's header."""
from recast_engine.dsl.interpret import run
from recast_engine.runtime import tables
from recast_engine.synthesis.search import learn
from recast_engine.synthesis.table_proposals import Context, propose_pivots

LONG = [
    ["Name", "Room", "Subject", "Score"],
    ["Tom", "1", "Math", "7"],
    ["Ann", "2", "Math", "9"],
    ["Tom", "1", "Art", "3"],
    ["Bob", "3", "Art", "5"],
]


def test_header_names_the_row_key_and_sort_orders_keys():
    out = tables.pivot(LONG, row_key=0, column_key=2, value=3, header=True, sort=True)
    assert out == [["Name", "Art", "Math"], ["Ann", "", "9"], ["Bob", "5", ""], ["Tom", "3", "7"]]
    first_seen = tables.pivot(LONG, row_key=0, column_key=2, value=3, header=True)
    assert first_seen[0] == ["Name", "Math", "Art"] and [r[0] for r in first_seen[1:]] == ["Tom", "Ann", "Bob"]


def test_numeric_keys_sort_by_value():
    rows = [["k", "c", "v"], ["10", "b", "1"], ["9", "a", "2"]]
    assert tables.pivot(rows, 0, 1, 2, header=True, sort=True) == [["k", "a", "b"], ["9", "2", ""], ["10", "", "1"]]


def test_proposed_from_the_expected_header_and_learned_as_one_step():
    expected = tables.pivot(LONG, row_key=0, column_key=2, value=3, header=True, sort=True)
    steps = [s.args for s in propose_pivots(LONG, Context.build(expected, header=True))]
    assert {"row_key": 0, "column_key": 2, "value": 3, "header": True, "sort": True} in steps
    result = learn(LONG, expected, header="yes", timeout=5)
    assert result.programs
    best = result.programs[0]
    assert [s.op for s in best.steps] == ["pivot"]
    new_input = [LONG[0], ["Zoe", "4", "Bio", "8"], ["Al", "5", "Chem", "6"]]
    assert run(best, new_input) == [["Name", "Bio", "Chem"], ["Al", "", "6"], ["Zoe", "8", ""]]
