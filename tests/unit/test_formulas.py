"""Opt-in neutralization of spreadsheet formulas: cells starting with = + - @ (or tab / CR) get a leading quote,
everything else is written back unchanged."""
from __future__ import annotations

import csv

from recast_common.formulas import neutralize_cell, neutralize_file


def test_formula_cells_get_a_leading_quote_and_others_stay():
    assert [neutralize_cell(c) for c in ["=1+1", "+A1", "-5", "@SUM(A1)", "\t=x", "plain", "", "a=b"]] == [
        "'=1+1", "'+A1", "'-5", "'@SUM(A1)", "'\t=x", "plain", "", "a=b"]


def test_a_file_is_rewritten_in_place_with_quoting_kept(tmp_path):
    path = tmp_path / "out.csv"
    rows = [["name", "value"], ['=HYPERLINK("http://x","y")', "1,5"], ["line\nbreak", "@x"]]
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    assert neutralize_file(path) == 2
    with path.open(newline="", encoding="utf-8") as handle:
        assert list(csv.reader(handle)) == [["name", "value"], ["'" + rows[1][0], "1,5"], ["line\nbreak", "'@x"]]
