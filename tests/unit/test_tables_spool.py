"""Whole-table operators give the same rows whether they hold the table in memory or spill it to temporary files.

The spool bound is forced tiny (a few cells) so that the small tables below go through the on-disk paths:
_SpilledRows, the external merge sort (with a fan-in of 2 so that merges cascade) and the multi-pass readers.
"""
import os

import pytest
from recast_engine.runtime import tables

WIDE = [
    ["id", "name", "x1", "x2", "y1", "y2"],
    ["3", "c", "1", "", "a,b", "q\"uote"],
    ["1", "a", "2", "5", "line\nbreak", ""],
    ["2", "b", "", "6", "", "z"],
    ["10", "b", "7", "8", "\u00e9", "lone \udc80 surrogate"],
    ["1", "d", "9", "", "w", ""],
]
RAGGED = [["a", "1"], [], ["b"], [""], ["c", "2", "x"], ["a", "3"], ["", ""], ["b", "4"]]
RECORDS = [["name", "ann"], ["age", "3"], ["name", "bob"], ["city", "Oslo"], ["age", ""], ["name", "cy"]]
LONG = [["r1", "c1", "1"], ["r1", "c2", "2"], ["r2", "c1", "3"], ["r1", "c1", "4"], ["r3", "c3", ""]]

CASES = [
    ("transpose", WIDE, {}),
    ("transpose", RAGGED, {}),
    ("transpose", [], {}),
    ("sort_rows", WIDE, {"column": 1, "header": True}),
    ("sort_rows", WIDE, {"column": 0, "header": True, "descending": True}),
    ("sort_rows", WIDE, {"column": 1}),
    ("sort_rows", RAGGED, {"column": 0}),
    ("sort_rows", RAGGED, {"column": 1, "descending": True}),
    ("sort_rows", [], {"column": 0, "header": True}),
    ("melt", WIDE, {"id_columns": [0, 1], "value_columns": [2, 3, 4, 5]}),
    ("melt", WIDE, {"id_columns": [0], "value_columns": [3, 2], "drop_empty": True, "keep_header": False}),
    ("melt", RAGGED, {"id_columns": [0], "value_columns": [1, 2]}),
    ("melt", WIDE, {"id_columns": [1], "value_columns": [2, 5], "by": "row", "drop_empty": True}),
    ("wide_to_long", WIDE, {"id_columns": [0, 1], "pattern": r"(?P<stub>[a-z])(?P<var>\d)"}),
    ("wide_to_long", WIDE, {"id_columns": [1], "pattern": r"(?P<stub>[a-z])(?P<var>\d)", "sort_by_id": False}),
    ("wide_to_long", WIDE, {"id_columns": [], "pattern": r"(?P<stub>[a-z])(?P<var>\d)", "index_name": "i"}),
    ("wrap_rows_at", RAGGED, {"column": 0, "prefix": "a"}),
    ("wrap_rows_at", [["#1", "x"], ["y"], ["#2"], ["z", "w", "v"], ["#3"]], {"column": 0, "prefix": "#",
                                                                            "strip_prefix": True}),
    ("pivot_records", RECORDS, {}),
    ("pivot_records", RECORDS, {"sort_keys": False}),
    ("pivot_records", [], {}),
    ("unfold", LONG, {"key_columns": [0], "value_columns": [1, 2]}),
    ("unfold", LONG, {"key_columns": [1, 0], "value_columns": [2]}),
    ("unfold", RAGGED, {"key_columns": [0], "value_columns": [1]}),
    ("unfold", [], {"key_columns": [0], "value_columns": [1]}),
    ("pivot", LONG, {"row_key": 0, "column_key": 1, "value": 2}),
]


def run(op, rows, **args):
    return [list(r) for r in getattr(tables, op)([list(r) for r in rows], **args)]


@pytest.mark.parametrize("bound", [0, 3, 7])
@pytest.mark.parametrize(("op", "rows", "args"), CASES)
def test_spilled_paths_give_the_in_memory_result(monkeypatch, tmp_path, op, rows, args, bound):
    expected = run(op, rows, **args)
    monkeypatch.setattr(tables, "_SPOOL_CELLS", bound)
    monkeypatch.setattr(tables, "_MERGE_FAN_IN", 2)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tables.tempfile, "tempdir", None)  # re-read TMPDIR
    assert run(op, rows, **args) == expected


def test_small_tables_stay_in_memory(monkeypatch, tmp_path):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tables.tempfile, "tempdir", None)
    for op, rows, args in CASES:
        result = getattr(tables, op)([list(r) for r in rows], **args)
        if op not in ("melt",):  # melt is a generator by design
            assert isinstance(result, list), op
    assert os.listdir(tmp_path) == []


def test_spilled_rows_write_temporary_files_and_remove_them(monkeypatch, tmp_path):
    monkeypatch.setattr(tables, "_SPOOL_CELLS", 3)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tables.tempfile, "tempdir", None)
    spooled = tables._spool([["a", "b"], ["c"], ["d", "e"]])
    assert not isinstance(spooled, list)
    assert len(os.listdir(tmp_path)) == 1
    assert list(spooled) == list(spooled) == [["a", "b"], ["c"], ["d", "e"]]
    del spooled
    assert os.listdir(tmp_path) == []


def test_external_sort_is_stable_on_many_runs(monkeypatch, tmp_path):
    monkeypatch.setattr(tables, "_SPOOL_CELLS", 5)
    monkeypatch.setattr(tables, "_MERGE_FAN_IN", 3)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tables.tempfile, "tempdir", None)
    rows = [[str(i % 7), str(i)] for i in range(200)]
    for descending in (False, True):
        expected = sorted(rows, key=lambda r: r[0], reverse=descending)
        assert [list(r) for r in tables.sort_rows(rows, column=0, descending=descending)] == expected
