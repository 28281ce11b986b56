"""The verdict on a script's output: a cell-level diff against the expected CSV (pure logic, plus a file reader).

Cells compare as exact strings after reading with the csv module (the benchmark's rule); the header row counts
like any other row. The verdict explains a difference the way the planner and a person need it: the shape
(columns and rows), which columns differ, with a few examples each, rows missing or extra, and whether the output
holds the right rows in another order. It stays small for big files: examples and columns are capped, and
`compare_files` streams both files once.

`Verdict` is the one model of a verdict: the tester stores it (attempt-N/verdict.json) and the events carry it
(recast_common.events: job.feedback, job.succeeded, job.failed, inference.failed).

Row numbers in examples are 1-based record numbers in the file; with a header, the header is row 1.
"""
from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import zip_longest
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, model_validator

if TYPE_CHECKING:  # the sandbox (subprocess, resource limits) is not loaded by events that only carry verdicts
    from recast_engine.verify.sandbox import RunResult

MAX_EXAMPLES = 3
MAX_COLUMNS_REPORTED = 30
MAX_NAMES = 200
MAX_CELL_CHARS = 120
MAX_ROW_CELLS = 20
MAX_ROWS_FOR_ORDER_CHECK = 200_000  # differing rows per side hashed to tell "other order" from "other rows"
ROW_CANDIDATES = 50  # unmatched rows kept per side as possible examples of missing / extra rows
SUMMARY_CHARS = 500

Row = list[str]


class CellExample(BaseModel):
    row: int
    expected: str | None  # None: the cell does not exist in the expected output
    got: str | None  # None: the output has no such cell


class ColumnDiff(BaseModel):
    index: int  # 0-based position in the expected output
    name: str | None  # its header name, when there is a header
    mismatches: int  # rows where this column's cell differs (or is missing)
    examples: list[CellExample] = Field(default_factory=list)
    actual_index: int | None = None  # where it was compared in the output (differs when columns moved)


class RowExample(BaseModel):
    row: int
    cells: list[str]


class RowsDiff(BaseModel):
    missing: int = 0  # expected rows beyond the output's last row
    extra: int = 0  # output rows beyond the expected last row
    not_in_output: int | None = None  # expected rows found nowhere in the output (None: not checked)
    not_expected: int | None = None  # output rows found nowhere in the expected output
    same_rows_other_order: bool | None = None
    other_width: int = 0  # rows whose cell count differs from the expected row's
    not_in_output_examples: list[RowExample] = Field(default_factory=list)
    not_expected_examples: list[RowExample] = Field(default_factory=list)


class RunInfo(BaseModel):
    """How the script ran."""

    ok: bool = False
    reason: str = ""
    returncode: int | None = None
    error: str = ""  # the last exception line of stderr
    stderr_tail: str = ""
    wall_seconds: float = 0.0
    peak_rss_mb: float = 0.0
    output_bytes: int = 0
    isolation: list[str] | None = None  # sandbox layers applied, when any


class Verdict(BaseModel):
    passed: bool
    score: float = 0.0  # matching cells / cells of the larger side, header included (1.0 when passed)
    summary: str = ""
    header: bool = False
    expected_rows: int = 0  # data rows, without the header
    actual_rows: int = 0
    expected_columns: int = 0
    actual_columns: int = 0
    expected_names: list[str] | None = None
    actual_names: list[str] | None = None
    missing_columns: list[str] = Field(default_factory=list)
    extra_columns: list[str] = Field(default_factory=list)
    column_order_differs: bool = False
    header_differs: bool = False
    columns: list[ColumnDiff] = Field(default_factory=list)  # the differing ones, most mismatches first
    differing_columns: int = 0  # all of them, also when `columns` is capped
    rows: RowsDiff = Field(default_factory=RowsDiff)
    cells_matched: int = 0
    cells_expected: int = 0
    cells_actual: int = 0
    error: str | None = None  # why there was nothing to compare (e.g. no output file)
    run: RunInfo | None = None  # how the script ran (see with_run)
    attempt: int | None = None  # the train attempt judged (set by the tester)

    @model_validator(mode="before")
    @classmethod
    def _from_older_producers(cls, data: Any) -> Any:
        """Verdicts written before this model (stored files, events in flight) put the run's figures and the
        failure reason at the top level, and the oldest said "ok" for "passed"."""
        if not isinstance(data, dict) or not {"ok", "reason", "wall_seconds", "peak_rss_mb"} & data.keys():
            return data
        data = dict(data)
        if "passed" not in data and "ok" in data:
            data["passed"] = data.pop("ok")
        reason = data.pop("reason", None)
        if data.get("error") is None and reason:
            data["error"] = reason
        figures = {k: data.pop(k) for k in ("wall_seconds", "peak_rss_mb") if k in data}
        if data.get("run") is None and figures:
            data["run"] = {"ok": True, "reason": "ok"} | figures
        return data

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return self.model_dump(mode="json")

    def with_run(self, result: RunResult) -> Verdict:
        """A copy carrying the run's facts."""
        return self.model_copy(update={"run": run_info(result)})


def run_info(result: RunResult) -> RunInfo:
    stderr = result.stderr_tail or ""
    return RunInfo(
        ok=result.ok,
        reason=result.reason or "",
        returncode=result.returncode,
        error=_error_line(stderr),
        stderr_tail=_clean(stderr[-2000:], 2000) or "",
        wall_seconds=round(result.wall_seconds, 3),
        peak_rss_mb=round(result.peak_rss_mb, 1),
        output_bytes=result.output_bytes,
        isolation=list(result.isolation) or None,
    )


def run_failed(result: RunResult) -> Verdict:
    """The verdict of a run that produced nothing to compare."""
    reason = result.reason or "failed"
    return Verdict(passed=False, score=0.0, summary=_cap(f"the script failed: {reason}"), error=reason,
                   run=run_info(result))


def compare(expected: list[list[str]], actual: list[list[str]], *, header: bool) -> Verdict:
    return _Comparison(header).feed(expected, actual)


def compare_files(expected_path: Path | str, actual_path: Path | str, header: bool = False) -> Verdict:
    """Streams both files once. A missing or unreadable output is a failed verdict, not an exception."""
    expected_path, actual_path = Path(expected_path), Path(actual_path)
    if not actual_path.is_file():
        return Verdict(passed=False, score=0.0, summary="the script wrote no output file", header=header,
                       error="no output file")
    csv.field_size_limit(2**31 - 1)
    with expected_path.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as expected_file, \
            actual_path.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as actual_file:
        expected_rows, actual_rows = csv.reader(expected_file), _guarded(csv.reader(actual_file))
        try:
            return _Comparison(header).feed(expected_rows, actual_rows)
        except _UnreadableOutput as error:
            return Verdict(passed=False, score=0.0, summary=_cap(f"the output is not readable CSV: {error}"),
                           header=header, error=f"unreadable output: {error}")


class _UnreadableOutput(Exception):
    pass


def _guarded(rows: Iterator[Row]) -> Iterator[Row]:
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as error:
            raise _UnreadableOutput(str(error)) from error
        yield row


class _Comparison:
    """Accumulates the diff of two row streams in one pass."""

    def __init__(self, header: bool) -> None:
        self.header = header
        self.identical = True
        self.expected_count = self.actual_count = 0
        self.cells_matched = self.cells_expected = self.cells_actual = 0
        self.expected_width = self.actual_width = 0
        self.expected_names: Row | None = None
        self.actual_names: Row | None = None
        self.column_map: list[int | None] | None = None  # expected column -> output column compared with it
        self.positional = True
        self.columns: dict[int, ColumnDiff] = {}
        self.rows = RowsDiff()
        self.expected_hashes: Counter[int] | None = Counter()
        self.actual_hashes: Counter[int] | None = Counter()
        self.expected_candidates: list[tuple[int, RowExample]] = []
        self.actual_candidates: list[tuple[int, RowExample]] = []

    def feed(self, expected: Iterable[Row], actual: Iterable[Row]) -> Verdict:
        pairs = enumerate(zip_longest(expected, actual), start=1)
        for number, (want, got) in pairs:
            self._first(want, got)
            if self.header:
                self._count_cells(want, got)
                self.identical &= want == got
            else:
                self._row(number, want, got)
            break
        equal_rows = equal_cells = 0
        for number, (want, got) in pairs:
            if want == got:  # the common case, kept cheap: equal rows cancel out of the order check too
                equal_rows += 1
                equal_cells += len(want)
            else:
                self._row(number, want, got)
        self.expected_count += equal_rows
        self.actual_count += equal_rows
        self.cells_matched += equal_cells
        self.cells_expected += equal_cells
        self.cells_actual += equal_cells
        return self._verdict()

    def _first(self, want: Row | None, got: Row | None) -> None:
        self.expected_width, self.actual_width = len(want or []), len(got or [])
        if self.header:
            self.expected_names, self.actual_names = list(want or []), list(got or [])
        self.column_map = _map_columns(self.expected_names, self.actual_names, self.expected_width,
                                       self.actual_width)
        self.positional = self.column_map == list(range(self.expected_width))

    def _count_cells(self, want: Row | None, got: Row | None) -> None:
        self.cells_expected += len(want or [])
        self.cells_actual += len(got or [])
        if want and got:
            self.cells_matched += sum(1 for a, b in zip(want, got) if a == b)

    def _row(self, number: int, want: Row | None, got: Row | None) -> None:
        self._count_cells(want, got)
        if want is not None:
            self.expected_count += 1
        if got is not None:
            self.actual_count += 1
        if want == got:
            return
        self.identical = False
        if want is None:
            self.rows.extra += 1
        elif got is None:
            self.rows.missing += 1
        else:
            if len(want) != len(got):
                self.rows.other_width += 1
            self._cells(number, want, got)
        self._remember(want, got, number)

    def _cells(self, number: int, want: Row, got: Row) -> None:
        column_map = self.column_map or []
        if len(want) == len(got) == len(column_map) and self.positional:  # the common case, kept cheap
            for index, (expected_cell, got_cell) in enumerate(zip(want, got)):
                if expected_cell != got_cell:
                    self._mismatch(number, index, index, expected_cell, got_cell)
            return
        for index, expected_cell in enumerate(want):
            source = column_map[index] if index < len(column_map) else (index if index < len(got) else None)
            found = got[source] if source is not None and source < len(got) else None
            if found != expected_cell:
                self._mismatch(number, index, source, expected_cell, found)

    def _mismatch(self, number: int, index: int, source: int | None, expected_cell: str,
                  got_cell: str | None) -> None:
        diff = self.columns.get(index)
        if diff is None:
            name = self.expected_names[index] if self.expected_names and index < len(self.expected_names) else None
            diff = self.columns[index] = ColumnDiff(index=index, name=name, mismatches=0, actual_index=source)
        diff.mismatches += 1
        if len(diff.examples) < MAX_EXAMPLES:
            diff.examples.append(CellExample(row=number, expected=_clean(expected_cell), got=_clean(got_cell)))

    def _remember(self, want: Row | None, got: Row | None, number: int) -> None:
        """Hashes of the rows that differ at their place, for the order check (rows equal at their place would
        add the same to both sides), and some of them as candidate examples of missing / extra rows."""
        if self.expected_hashes is None or self.actual_hashes is None:
            return
        if len(self.expected_hashes) + len(self.actual_hashes) > 2 * MAX_ROWS_FOR_ORDER_CHECK:
            self.expected_hashes = self.actual_hashes = None
            return
        for row, hashes, candidates in ((want, self.expected_hashes, self.expected_candidates),
                                        (got, self.actual_hashes, self.actual_candidates)):
            if row is None:
                continue
            key = hash(tuple(row))
            hashes[key] += 1
            if len(candidates) < ROW_CANDIDATES:
                candidates.append((key, RowExample(row=number, cells=[_clean(c) or "" for c in row[:MAX_ROW_CELLS]])))

    def _order_check(self) -> None:
        if self.expected_hashes is None or self.actual_hashes is None:
            return
        only_expected = self.expected_hashes - self.actual_hashes
        only_actual = self.actual_hashes - self.expected_hashes
        self.rows.not_in_output = sum(only_expected.values())
        self.rows.not_expected = sum(only_actual.values())
        self.rows.same_rows_other_order = not self.identical and not only_expected and not only_actual
        self.rows.not_in_output_examples = [e for k, e in self.expected_candidates if k in only_expected][
            :MAX_EXAMPLES]
        self.rows.not_expected_examples = [e for k, e in self.actual_candidates if k in only_actual][:MAX_EXAMPLES]

    def _verdict(self) -> Verdict:
        self._order_check()
        expected_names, actual_names = self.expected_names, self.actual_names
        missing = [n for n in expected_names or [] if n not in set(actual_names or [])]
        extra = [n for n in actual_names or [] if n not in set(expected_names or [])]
        order_differs = bool(expected_names is not None and expected_names != actual_names and not missing
                             and not extra and len(expected_names) == len(actual_names or []))
        differing = sorted(self.columns.values(), key=lambda c: (-c.mismatches, c.index))
        larger = max(self.cells_expected, self.cells_actual)
        passed = self.identical
        verdict = Verdict(
            passed=passed,
            score=1.0 if passed else round(self.cells_matched / larger, 4) if larger else 0.0,
            summary="",
            header=self.header,
            expected_rows=self.expected_count,
            actual_rows=self.actual_count,
            expected_columns=self.expected_width,
            actual_columns=self.actual_width,
            expected_names=_names(expected_names),
            actual_names=_names(actual_names),
            missing_columns=_names(missing) or [],
            extra_columns=_names(extra) or [],
            column_order_differs=order_differs,
            header_differs=bool(self.header and expected_names != actual_names),
            columns=differing[:MAX_COLUMNS_REPORTED],
            differing_columns=len(differing),
            rows=self.rows,
            cells_matched=self.cells_matched,
            cells_expected=self.cells_expected,
            cells_actual=self.cells_actual,
        )
        verdict.summary = summarize(verdict)
        return verdict


def _map_columns(expected_names: Row | None, actual_names: Row | None, expected_width: int,
                 actual_width: int) -> list[int | None]:
    """For each expected column, the output column to compare it with: by header name when names are unique,
    else (and for names the output lacks) by position."""
    positional: list[int | None] = [i if i < actual_width else None for i in range(expected_width)]
    if not expected_names or not actual_names:
        return positional
    if len(set(expected_names)) != len(expected_names) or len(set(actual_names)) != len(actual_names):
        return positional
    where = {name: i for i, name in enumerate(actual_names)}
    by_name = [where.get(name) for name in expected_names]
    taken = {i for i in by_name if i is not None}
    return [i if i is not None else (p if p is not None and p not in taken else None)
            for i, p in zip(by_name, positional)]


def summarize(verdict: Verdict) -> str:
    if verdict.error:
        return _cap(verdict.summary or verdict.error)
    if verdict.passed:
        return f"output matches: {verdict.expected_rows} rows x {verdict.expected_columns} columns"
    parts: list[str] = []
    if verdict.expected_columns != verdict.actual_columns:
        parts.append(f"expected {verdict.expected_columns} columns, got {verdict.actual_columns}")
    if verdict.missing_columns:
        parts.append("missing column(s) " + ", ".join(map(_quote, verdict.missing_columns[:5])))
    if verdict.extra_columns:
        parts.append("unexpected column(s) " + ", ".join(map(_quote, verdict.extra_columns[:5])))
    if verdict.column_order_differs:
        parts.append("the same columns in another order")
    rows = verdict.rows
    if verdict.expected_rows != verdict.actual_rows:
        parts.append(f"expected {verdict.expected_rows} rows, got {verdict.actual_rows}")
    rows_explain_it = False  # whole rows missing or added, the rest right: cell diffs would only be noise
    if rows.same_rows_other_order:
        parts.append("the same rows in another order")
        rows_explain_it = True
    elif verdict.expected_rows != verdict.actual_rows and rows.not_in_output is not None:
        if rows.not_in_output:
            parts.append(_rows_text(rows.not_in_output, "expected row", "not in the output",
                                    rows.not_in_output_examples))
        if rows.not_expected:
            parts.append(_rows_text(rows.not_expected, "output row", "not expected", rows.not_expected_examples))
        rows_explain_it = not (rows.not_in_output and rows.not_expected)
    if not rows_explain_it:
        shown = [c for c in verdict.columns if c.name is None or c.name not in verdict.missing_columns]
        for column in shown[:3]:
            parts.append(_describe_column(column, verdict.expected_rows))
        if len(shown) > 3 or verdict.differing_columns > len(verdict.columns):
            parts.append(f"{verdict.differing_columns - min(3, len(shown))} more columns differ")
    if not parts and verdict.header_differs:
        parts.append("the header row differs")
    return _cap("; ".join(parts) or "the output differs from the expected output")


def _rows_text(count: int, what: str, where: str, examples: list[RowExample]) -> str:
    text = f"{count} {what}{'s' if count != 1 else ''} {where}"
    if examples:
        text += f" (e.g. row {examples[0].row}: {_quote(','.join(examples[0].cells))})"
    return text


def _describe_column(column: ColumnDiff, rows: int) -> str:
    label = _quote(column.name) if column.name is not None else f"#{column.index + 1}"
    text = f"column {label} differs in {column.mismatches}/{rows} rows"
    if column.examples:
        e = column.examples[0]
        got = "nothing" if e.got is None else _quote(e.got)
        text += f" (row {e.row}: expected {_quote(e.expected or '')}, got {got})"
    return text


def _names(names: Row | None) -> list[str] | None:
    return None if names is None else [_clean(n) or "" for n in names[:MAX_NAMES]]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "\\'") + "'"


def _cap(text: str) -> str:
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


def _clean(text: str | None, limit: int = MAX_CELL_CHARS) -> str | None:
    """A cell as it can travel in JSON and be stored in Postgres: no NUL, no lone surrogates, capped length."""
    if text is None:
        return None
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace").replace("\x00", "\ufffd")
    return text if len(text) <= limit else text[: limit - 1] + "…"


EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b")


def _error_line(stderr: str) -> str:
    """The last exception line of a traceback (e.g. "KeyError: 'price'"), else the last line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if EXCEPTION_LINE.match(line)]
    chosen = errors[-1] if errors else (lines[-1] if lines else "")
    return _clean(chosen, 300) or ""
