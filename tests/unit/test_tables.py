"""Table operators of the DSL (recast_engine.runtime.tables): semantics on small grids."""
from recast_engine.runtime import tables


def run(op, rows, **args):
    return [list(r) for r in getattr(tables, op)(rows, **args)]


def test_drop_empty_rows_all_or_by_column():
    rows = [["a", "1"], ["", ""], ["b", ""]]
    assert run("drop_empty_rows", rows) == [["a", "1"], ["b", ""]]
    assert run("drop_empty_rows", rows, column=1) == [["a", "1"]]
    assert run("drop_empty_rows", [["h", "k"], ["", ""]], header=True) == [["h", "k"]]


def test_fill_down_keeps_header():
    rows = [["k", "v"], ["a", "1"], ["", "2"], ["b", ""]]
    assert run("fill_down", rows, columns=[0], header=True) == [["k", "v"], ["a", "1"], ["a", "2"], ["b", ""]]


def test_explode_splits_and_marks_empty():
    rows = [["id", "tags"], ["1", "x, y"], ["2", ""]]
    assert run("explode", rows, column=1, delimiter=",", header=True, empty_as="nan") == [
        ["id", "tags"], ["1", "x"], ["1", " y"], ["2", "nan"],
    ]


def test_split_column_pads():
    assert run("split_column", [["a: b"], ["c"]], column=0, delimiter=":") == [["a", " b"], ["c", ""]]


def test_transpose_and_blocks():
    assert run("transpose", [["a", "b"], ["1"]]) == [["a", "1"], ["b", ""]]
    assert run("transpose_blocks", [["n1", "n2"], ["a1", "a2"]], size=2) == [["n1", "a1"], ["n2", "a2"]]
    assert run("transpose_blocks", [["x"], ["y"], ["z"], ["w"]], size=2) == [["x", "y"], ["z", "w"]]


def test_wrap_rows_and_wrap_at_marker():
    assert run("wrap_rows", [["a"], ["b"], ["c"]], size=2) == [["a", "b"], ["c"]]
    rows = [["*A"], ["x"], ["*B"]]
    assert run("wrap_rows_at", rows, column=0, prefix="*", strip_prefix=True) == [["A", "x"], ["B", ""]]


def test_melt_orders():
    rows = [["id", "p", "q"], ["1", "a", ""], ["2", "b", "c"]]
    by_column = run("melt", rows, id_columns=[0], value_columns=[1, 2])
    assert by_column == [["id", "var", "value"], ["1", "p", "a"], ["2", "p", "b"], ["1", "q", ""], ["2", "q", "c"]]
    by_row = run("melt", rows, id_columns=[0], value_columns=[1, 2], by="row", drop_empty=True, keep_header=False)
    assert by_row == [["1", "p", "a"], ["2", "p", "b"], ["2", "q", "c"]]


def test_wide_to_long_groups_stubs():
    rows = [["id", "a_1", "b_1", "a_2", "b_2"], ["9", "x", "y", "z", "w"]]
    out = run("wide_to_long", rows, id_columns=[0], pattern=r"(?P<stub>.+)_(?P<var>\d+)")
    assert out == [["id", "Var", "a", "b"], ["9", "1", "x", "y"], ["9", "2", "z", "w"]]


def test_spread_subtitles_and_sections():
    rows = [["h1", "h2"], ["Group", ""], ["a", "1"], ["b", "2"]]
    assert run("spread_subtitles", rows) == [["Subtitle", "h1", "h2"], ["Group", "a", "1"], ["Group", "b", "2"]]
    sections = [["10", "Shop", ""], ["1", "x", "5"], ["11", "Mall", ""], ["2", "y", "6"]]
    assert run("spread_sections", sections, column=2) == [["10", "Shop", "1", "x", "5"], ["11", "Mall", "2", "y", "6"]]


def test_pivots():
    records = [["k1", "a"], ["k2", "b"], ["k1", "c"]]
    assert run("pivot_records", records) == [["k1", "k2"], ["a", "b"], ["c", ""]]
    long = [["X", "0", "5"], ["X", "1", "6"], ["Y", "0", "7"]]
    assert run("pivot", long, row_key=0, column_key=1, value=2) == [["", "0", "1"], ["X", "5", "6"], ["Y", "7", ""]]


def test_unfold_and_fold():
    rows = [["a", "1"], ["b", "2"], ["a", "3"]]
    assert run("unfold", rows, key_columns=[0], value_columns=[1]) == [["a", "1", "3"], ["b", "2", ""]]
    wide = [["id", "p", "q", "", ""]]
    assert run("fold", wide, id_count=1, group_size=2, drop_empty_groups=True) == [["id", "p", "q"]]


def test_deduplicate_and_sort():
    assert run("deduplicate", [["a"], ["a"], ["b"]]) == [["a"], ["b"]]
    assert run("sort_rows", [["h"], ["b"], ["a"]], column=0, header=True) == [["h"], ["a"], ["b"]]


def test_divide_moves_complete_rows_right():
    rows = [["Stewart, Bob", ""], ["Anna", "Davis"]]
    assert run("divide", rows, column=1, width=2) == [["Stewart, Bob", "", ""], ["", "Anna", "Davis"]]


def test_keep_rows_matching_token_class():
    rows = [["id"], ["12"], ["total"], ["7"]]
    assert run("keep_rows_matching", rows, column=0, pattern=r"\d+", header=True) == [["id"], ["12"], ["7"]]
