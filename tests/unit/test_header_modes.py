"""In header "auto" mode, a renamed header over typed columns is learned as a header, not as a special data row."""
from __future__ import annotations

from recast_engine.dsl.interpret import run
from recast_engine.kinds import looks_like_header
from recast_engine.synthesis.search import learn

TRAIN_IN = [["name", "birth"], ["ada lovelace", "1815-12-10"], ["alan turing", "1912-06-23"]]
TRAIN_OUT = [["Name", "Year"], ["Ada Lovelace", "1815"], ["Alan Turing", "1912"]]


def test_a_renamed_header_over_dates_is_a_header():
    assert looks_like_header(TRAIN_IN) and looks_like_header(TRAIN_OUT)
    program = learn(TRAIN_IN, TRAIN_OUT, header="auto", timeout=10).programs[0]
    assert program.header_rows == 1
    # a one-word name must not be taken for the header row (a header=no program special-cases row 0 by shape)
    new = [["name", "birth"], ["cher", "1946-05-20"], ["grace hopper", "1906-12-09"]]
    assert run(program, new) == [["Name", "Year"], ["Cher", "1946"], ["Grace Hopper", "1906"]]


def test_rows_of_one_kind_are_not_taken_for_a_header():
    grid = [["10", "20"], ["30", "40"]]
    assert not looks_like_header(grid)
    program = learn(grid, [["20"], ["40"]], header="auto", timeout=10).programs[0]
    assert program.header_rows == 0 and run(program, [["1", "2"], ["3", "4"]]) == [["2"], ["4"]]
