"""divide_by_pattern: Potter's Wheel divide of one column into two by a token class."""
from recast_engine.dsl.interpret import run
from recast_engine.runtime import tables
from recast_engine.synthesis.search import learn
from recast_engine.synthesis.table_proposals import Context, propose_divide_by_pattern


def test_cells_go_left_when_they_match_else_right():
    rows = [["id", "score"], ["a", "43"], ["b", "n/a"], ["c"]]
    out = list(tables.divide_by_pattern(rows, column=1, pattern=r"\d+", header=True))
    assert out == [["id", "score", "score"], ["a", "43", ""], ["b", "", "n/a"], ["c", "", ""]]


def test_proposed_only_for_mixed_columns_when_the_output_is_one_column_wider():
    grid = [["Anna", "43"], ["Bob", "n/a"]]
    wider = Context.build([["Anna", "43", ""], ["Bob", "", "n/a"]], header=False)
    steps = list(propose_divide_by_pattern(grid, wider))
    assert steps and all(s.args["column"] == 1 for s in steps)  # column 0 is all words
    assert list(propose_divide_by_pattern(grid, Context.build(grid, header=False))) == []


def test_learned_program_divides_new_rows():
    grid = [["Anna", "43"], ["Bob", "n/a"], ["Carl", "96"], ["Dee", "absent"]]
    expected = [["Anna", "43", ""], ["Bob", "", "n/a"], ["Carl", "96", ""], ["Dee", "", "absent"]]
    best = learn(grid, expected, header="no", timeout=5).programs[0]
    assert run(best, [["Eve", "sick"], ["Fay", "12"]]) == [["Eve", "", "sick"], ["Fay", "12", ""]]
