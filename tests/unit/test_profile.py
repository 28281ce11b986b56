from recast_engine.profile import cell_kind, looks_like_header, parse_csv, profile_grid, profile_pair, summarize


def test_cell_kinds():
    assert [cell_kind(v) for v in ["", "12", "-3.5", "2024-01-31", "abc", "3,5"]] == [
        "empty", "integer", "decimal", "date", "text", "decimal"]


def test_parse_csv_drops_bom_and_keeps_quoted_newlines():
    grid = parse_csv('\ufeffname,note\nAda,"two\nlines"\n'.encode())
    assert grid == [["name", "note"], ["Ada", "two\nlines"]]


def test_header_detected_over_numeric_body():
    assert looks_like_header([["id", "price"], ["1", "2.5"], ["2", "3.0"]])
    assert not looks_like_header([["1", "2.5"], ["2", "3.0"]])


def test_all_text_table_header_when_first_row_does_not_repeat():
    assert looks_like_header([["city", "country"], ["Paris", "France"], ["Lyon", "France"]])
    assert not looks_like_header([["x", "y"], ["x", "y"]])


def test_profile_grid_counts_and_column_kinds():
    profile = profile_grid([["id", "name", "when"], ["1", "Ada", "2024-01-01"], ["2", "", "2024-02-01"],
                            ["3", "Bob"]])
    assert profile["rows"] == 4 and profile["data_rows"] == 3 and profile["columns"] == 3
    assert profile["ragged"] is True
    kinds = [c["kind"] for c in profile["column_profiles"]]
    assert kinds == ["integer", "text", "date"]
    assert profile["column_profiles"][1]["empty"] == 1
    assert profile["column_profiles"][0]["name"] == "id"


def test_profile_pair_relation_and_summary():
    source = [["a", "b"], ["1", "x"], ["2", "y"]]
    target = [["b", "a"], ["x", "1"], ["y", "2"]]
    profile = profile_pair(source, target, "auto")
    assert profile["relation"]["copied_cell_share"] == 1.0
    assert profile["relation"]["row_ratio"] == 1.0
    summary = summarize(profile)
    assert summary["input_rows"] == 3 and summary["expected_columns"] == 2
    assert summary["input_kinds"] == ["integer", "text"]
    assert summary["header_guess"] is True


def test_explicit_header_mode_wins():
    grid = [["1", "2"], ["3", "4"]]
    assert profile_pair(grid, grid, "yes")["header_guess"] is True
    assert profile_pair(grid, grid, "no")["header_guess"] is False
