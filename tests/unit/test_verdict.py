"""recast_engine.verify.verdict: the cell-level diff of an output against the expected CSV."""
from __future__ import annotations

import json
from pathlib import Path

from recast_engine.verify.sandbox import RunResult
from recast_engine.verify.verdict import MAX_EXAMPLES, compare, compare_files, run_failed

EXPECTED = [
    ["id", "date", "amount"],
    ["1", "2024-01-05", "3.50"],
    ["2", "2024-02-05", "4.00"],
    ["3", "2024-03-05", "5.25"],
]


def with_column(rows: list[list[str]], index: int, values: list[str]) -> list[list[str]]:
    return [row[:index] + [value] + row[index + 1:] for row, value in zip(rows, values)]


def test_identical_outputs_pass() -> None:
    verdict = compare(EXPECTED, [list(r) for r in EXPECTED], header=True)
    assert verdict.passed and verdict.score == 1.0
    assert verdict.summary == "output matches: 3 rows x 3 columns"
    assert verdict.columns == [] and verdict.expected_names == ["id", "date", "amount"]


def test_a_differing_column_is_named_with_examples() -> None:
    actual = with_column(EXPECTED, 1, ["date", "05/01/2024", "05/02/2024", "2024-03-05"])
    verdict = compare(EXPECTED, actual, header=True)
    assert not verdict.passed
    assert [(c.name, c.mismatches) for c in verdict.columns] == [("date", 2)]
    first = verdict.columns[0].examples[0]
    assert (first.row, first.expected, first.got) == (2, "2024-01-05", "05/01/2024")
    assert verdict.score == round(10 / 12, 4)
    assert verdict.summary == "column 'date' differs in 2/3 rows (row 2: expected '2024-01-05', got '05/01/2024')"


def test_the_header_row_counts() -> None:
    actual = [["id", "day", "amount"], *EXPECTED[1:]]
    verdict = compare(EXPECTED, actual, header=True)
    assert not verdict.passed and verdict.header_differs
    assert verdict.missing_columns == ["date"] and verdict.extra_columns == ["day"]
    assert "missing column(s) 'date'" in verdict.summary and "unexpected column(s) 'day'" in verdict.summary


def test_rows_in_another_order_are_recognised() -> None:
    verdict = compare(EXPECTED, [EXPECTED[0], EXPECTED[3], EXPECTED[1], EXPECTED[2]], header=True)
    assert not verdict.passed
    assert verdict.rows.same_rows_other_order is True
    assert verdict.summary == "the same rows in another order"


def test_columns_in_another_order_are_compared_by_name() -> None:
    actual = [[r[0], r[2], r[1]] for r in EXPECTED]
    verdict = compare(EXPECTED, actual, header=True)
    assert not verdict.passed and verdict.column_order_differs
    assert verdict.columns == []  # each column's values are right, only their place is not
    assert verdict.summary == "the same columns in another order"


def test_a_missing_column() -> None:
    verdict = compare(EXPECTED, [r[:2] for r in EXPECTED], header=True)
    assert (verdict.expected_columns, verdict.actual_columns) == (3, 2)
    assert verdict.missing_columns == ["amount"]
    assert verdict.columns[0].examples[0].got is None
    assert verdict.summary == "expected 3 columns, got 2; missing column(s) 'amount'"


def test_missing_rows_are_found_wherever_they_were() -> None:
    verdict = compare(EXPECTED, [EXPECTED[0], EXPECTED[1], EXPECTED[3]], header=True)
    assert (verdict.expected_rows, verdict.actual_rows) == (3, 2)
    assert verdict.rows.missing == 1 and verdict.rows.not_in_output == 1 and verdict.rows.not_expected == 0
    assert verdict.rows.not_in_output_examples[0].cells == ["2", "2024-02-05", "4.00"]
    assert verdict.summary == (
        "expected 3 rows, got 2; 1 expected row not in the output (e.g. row 3: '2,2024-02-05,4.00')"
    )


def test_extra_rows() -> None:
    verdict = compare(EXPECTED, [*EXPECTED, ["4", "2024-04-05", "1.00"]], header=True)
    assert verdict.rows.extra == 1 and verdict.rows.not_expected == 1
    assert verdict.summary.startswith("expected 3 rows, got 4; 1 output row not expected (e.g. row 5:")


def test_without_header_the_first_row_is_data() -> None:
    expected = [["a", "1"], ["b", "2"]]
    verdict = compare(expected, [["A", "1"], ["b", "2"]], header=False)
    assert verdict.expected_names is None and verdict.expected_rows == 2
    assert verdict.columns[0].name is None and verdict.columns[0].examples[0].row == 1
    assert verdict.summary == "column #1 differs in 1/2 rows (row 1: expected 'a', got 'A')"


def test_rows_of_another_width_are_counted() -> None:
    verdict = compare([["a", "b"], ["c", "d"]], [["a", "b"], ["c", "d", ""]], header=False)
    assert not verdict.passed and verdict.rows.other_width == 1


def test_big_differences_stay_compact_and_serialisable() -> None:
    expected = [[f"{i}", f"x{i}", f"y{i}\x00", "z" * 1000] for i in range(20_000)]
    actual = [[f"{i}", f"X{i}", "\udcff", "w"] for i in range(20_000)]
    verdict = compare(expected, actual, header=False)
    text = json.dumps(verdict.to_dict())
    assert len(text) < 20_000
    assert all(len(c.examples) == MAX_EXAMPLES and c.mismatches == 20_000 for c in verdict.columns)
    assert "\\u0000" not in text and "\\udcff" not in text
    assert verdict.differing_columns == 3 and verdict.score == 0.25


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_files_compare_as_the_csv_module_reads_them(tmp_path: Path) -> None:
    expected = write(tmp_path / "e.csv", "\ufeffid,name\n1,\"a, b\"\n2,c\n")
    actual = write(tmp_path / "a.csv", "id,name\r\n1,\"a, b\"\r\n2,c\r\n")
    verdict = compare_files(expected, actual, header=True)
    assert verdict.passed, verdict.summary


def test_files_give_the_same_verdict_as_lists(tmp_path: Path) -> None:
    expected = write(tmp_path / "e.csv", "id,name\n1,a\n2,b\n3,c\n")
    actual = write(tmp_path / "a.csv", "id,name\n1,a\n2,B\n")
    from_files = compare_files(expected, actual, header=True)
    from_lists = compare([["id", "name"], ["1", "a"], ["2", "b"], ["3", "c"]],
                         [["id", "name"], ["1", "a"], ["2", "B"]], header=True)
    assert from_files.to_dict() == from_lists.to_dict()


def test_a_missing_output_file_is_a_failed_verdict(tmp_path: Path) -> None:
    expected = write(tmp_path / "e.csv", "a\n")
    verdict = compare_files(expected, tmp_path / "absent.csv", header=False)
    assert not verdict.passed and verdict.error == "no output file"


def test_invalid_utf8_in_the_output_differs_and_serialises(tmp_path: Path) -> None:
    expected = write(tmp_path / "e.csv", "café\n")
    actual = tmp_path / "a.csv"
    actual.write_bytes("café\n".encode("latin-1"))
    verdict = compare_files(expected, actual, header=False)
    assert not verdict.passed
    json.dumps(verdict.to_dict())


def test_run_info_travels_with_the_verdict() -> None:
    result = RunResult(ok=False, returncode=1, reason="exit code 1: KeyError: 'price'",
                       stderr_tail="Traceback (most recent call last):\n  File \"x\"\nKeyError: 'price'\n",
                       wall_seconds=0.51234, peak_rss_mb=88.25, isolation=["netns"])
    failed = run_failed(result)
    assert not failed.passed and failed.score == 0.0
    assert failed.summary == "the script failed: exit code 1: KeyError: 'price'"
    assert failed.run is not None and failed.run.error == "KeyError: 'price'" and failed.run.wall_seconds == 0.512
    passed = compare([["a"]], [["a"]], header=False).with_run(
        RunResult(ok=True, returncode=0, reason="ok", wall_seconds=1.0, peak_rss_mb=50.0, output_bytes=2))
    assert passed.passed and passed.run is not None and passed.run.output_bytes == 2
    json.dumps(passed.to_dict())
    json.dumps(failed.to_dict())
