"""Table operators: functions from an iterable of rows (lists of strings) to an iterable of rows.

Prefer generators for row-local operators (filter, explode, fill down...) so learned scripts stream large files
in bounded memory. Operators that need the whole table (transpose, sort, melt by column, wide_to_long...) hold it
through `_spool` / `_sorted`: in memory up to `_SPOOL_CELLS` cells (always the case for the small grids the
search evaluates), beyond that in temporary CSV files (in TMPDIR) read back as many times as needed, so a
learned script converts a huge file in bounded memory. Aggregating operators (pivot) keep memory proportional
to their output's distinct keys.

Arguments are structural (column indices, delimiters, counts, header names the output must carry), never data.
`header=True` means the first row is a header row: row-local operators pass it through untouched.
"""
from __future__ import annotations

import heapq
import itertools
import os
import re
import tempfile
import weakref
from collections.abc import Callable, Iterable, Iterator
from csv import reader as csv_reader
from csv import writer as csv_writer
from typing import Any

Row = list[str]

# Cells a whole-table operator holds in memory (about 100 MB of short strings) before it spills rows to disk.
_SPOOL_CELLS = 1_000_000
# Sorted runs merged at once by the external sort (open files).
_MERGE_FAN_IN = 64


def _remove_file(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


class _SpilledRows:
    """Rows written to a temporary CSV file (removed with this object); each iteration reads them from the start."""

    def __init__(self, rows: Iterable[Row]):
        fd, self.path = tempfile.mkstemp(prefix="recast-spool-", suffix=".csv")
        self._cleanup = weakref.finalize(self, _remove_file, self.path)
        # surrogatepass: any str cell (even a lone surrogate) reads back exactly as written
        with open(fd, "w", newline="", encoding="utf-8", errors="surrogatepass") as f:
            csv_writer(f).writerows(rows)

    def __iter__(self) -> Iterator[Row]:
        with open(self.path, newline="", encoding="utf-8", errors="surrogatepass") as f:
            yield from csv_reader(f)


def _spool(rows: Iterable[Row]) -> list[Row] | _SpilledRows:
    """The rows, re-iterable: the list itself while they hold at most `_SPOOL_CELLS` cells, else a temporary file."""
    held: list[Row] = []
    cells = 0
    it = iter(rows)
    for row in it:
        held.append(row)
        cells += len(row) + 1
        if cells > _SPOOL_CELLS:
            return _SpilledRows(itertools.chain(held, it))
    return held


def _sorted(rows: Iterable[Row], key: Callable[[Row], Any], reverse: bool = False) -> list[Row] | Iterator[Row]:
    """sorted(rows, key=key, reverse=reverse) in bounded memory: an external merge sort beyond `_SPOOL_CELLS` cells.

    Stable like sorted(): runs keep input order and heapq.merge takes ties from the earlier run first.
    """
    runs: list[list[Row] | _SpilledRows] = []
    run: list[Row] = []
    cells = 0
    for row in rows:
        run.append(row)
        cells += len(row) + 1
        if cells > _SPOOL_CELLS:
            run.sort(key=key, reverse=reverse)
            runs.append(_SpilledRows(run))
            run, cells = [], 0
    run.sort(key=key, reverse=reverse)
    if not runs:
        return run
    runs.append(run)
    while len(runs) > _MERGE_FAN_IN:
        runs = [
            _SpilledRows(heapq.merge(*runs[i:i + _MERGE_FAN_IN], key=key, reverse=reverse))
            for i in range(0, len(runs), _MERGE_FAN_IN)
        ]
    return heapq.merge(*runs, key=key, reverse=reverse)


def _padded(rows: Iterable[Row]) -> Iterator[Row]:
    """`_pad` over a re-iterable too large for memory: one pass for the width, one to pad."""
    width = max((len(r) for r in rows), default=0)
    for r in rows:
        yield r + [""] * (width - len(r))


def identity(rows: Iterable[Row]) -> Iterator[Row]:
    return iter(rows)


def _cell(row: Row, index: int) -> str:
    return row[index] if index < len(row) else ""


def _pad(rows: list[Row]) -> list[Row]:
    width = max((len(r) for r in rows), default=0)
    return [r + [""] * (width - len(r)) for r in rows]


def _pass_header(it: Iterator[Row], header: bool) -> Iterator[Row]:
    """Yields the header row unchanged (taking it from `it`) when there is one."""
    if header:
        first = next(it, None)
        if first is not None:
            yield first


def drop_empty_rows(rows: Iterable[Row], column: int | None = None, header: bool = False) -> Iterator[Row]:
    """Drop rows whose cells are all empty (or, with `column`, whose cell in that column is empty)."""
    it = iter(rows)
    yield from _pass_header(it, header)
    for row in it:
        if column is None:
            if any(c.strip() for c in row):
                yield row
        elif _cell(row, column).strip():
            yield row


def keep_rows_matching(rows: Iterable[Row], column: int, pattern: str, header: bool = False) -> Iterator[Row]:
    """Keep the rows whose cell in `column` fully matches `pattern` (a token class such as digits)."""
    regex = re.compile(pattern)
    it = iter(rows)
    yield from _pass_header(it, header)
    for row in it:
        if regex.fullmatch(_cell(row, column)):
            yield row


def fill_down(rows: Iterable[Row], columns: list[int], header: bool = False) -> Iterator[Row]:
    """Fill empty cells of `columns` with the last non-empty value above them."""
    it = iter(rows)
    yield from _pass_header(it, header)
    last: dict[int, str] = {}
    for row in it:
        row = list(row)
        for c in columns:
            value = _cell(row, c)
            if value.strip():
                last[c] = value
            elif c in last:
                row.extend([""] * (c + 1 - len(row)))
                row[c] = last[c]
        yield row


def explode(
    rows: Iterable[Row], column: int, delimiter: str, header: bool = False, empty_as: str = ""
) -> Iterator[Row]:
    """One row per piece of the cell in `column` split by `delimiter` (other cells repeated).

    `empty_as` replaces an empty cell in that column (pandas writes a missing list as "nan").
    """
    it = iter(rows)
    yield from _pass_header(it, header)
    for row in it:
        value = _cell(row, column)
        if delimiter not in value:
            if empty_as and not value:
                row = row[:column] + [empty_as] + row[column + 1:]
            yield row
            continue
        for piece in value.split(delimiter):
            yield row[:column] + [piece] + row[column + 1:]


def split_column(rows: Iterable[Row], column: int, delimiter: str, maxsplit: int = 1) -> Iterator[Row]:
    """Replace the cell in `column` by its pieces split on `delimiter` (padded to maxsplit + 1 cells)."""
    for row in rows:
        pieces = _cell(row, column).split(delimiter, maxsplit)
        pieces += [""] * (maxsplit + 1 - len(pieces))
        yield row[:column] + pieces + row[column + 1:]


def transpose(rows: Iterable[Row]) -> list[Row] | Iterator[Row]:
    grid = _spool(rows)
    if isinstance(grid, list):
        grid = _pad(grid)
        return [list(col) for col in zip(*grid)] if grid else []
    return _transpose_spilled(grid)


def _transpose_spilled(grid: _SpilledRows) -> Iterator[Row]:
    # One pass over the file per output row; an output row is a whole input column, so it is held in memory.
    width = max((len(r) for r in grid), default=0)
    for i in range(width):
        yield [_cell(r, i) for r in grid]


def transpose_blocks(rows: Iterable[Row], size: int) -> Iterator[Row]:
    """Transpose each consecutive block of `size` rows (a list of records, one field per line)."""
    block: list[Row] = []
    for row in rows:
        block.append(row)
        if len(block) == size:
            yield from transpose(block)
            block = []
    if block:
        yield from transpose(block)


def wrap_rows(rows: Iterable[Row], size: int) -> Iterator[Row]:
    """Concatenate every `size` consecutive rows into one row."""
    merged: Row = []
    count = 0
    for row in rows:
        merged.extend(row)
        count += 1
        if count == size:
            yield merged
            merged, count = [], 0
    if count:
        yield merged


def wrap_rows_at(
    rows: Iterable[Row], column: int, prefix: str, strip_prefix: bool = False
) -> list[Row] | Iterator[Row]:
    """Start a new output row at each row whose cell in `column` starts with `prefix`; concatenate the rest."""
    out = _spool(_wrapped_at(rows, column, prefix, strip_prefix))
    return _pad(out) if isinstance(out, list) else _padded(out)


def _wrapped_at(rows: Iterable[Row], column: int, prefix: str, strip_prefix: bool) -> Iterator[Row]:
    current: Row | None = None
    for row in rows:
        cell = _cell(row, column)
        if current is None or cell.startswith(prefix):
            if current is not None:
                yield current
            current = list(row)
            if strip_prefix and cell.startswith(prefix):
                current[column] = cell[len(prefix):]
        else:
            current.extend(row)
    if current is not None:
        yield current


def melt(
    rows: Iterable[Row],
    id_columns: list[int],
    value_columns: list[int],
    var_name: str = "var",
    value_name: str = "value",
    by: str = "column",
    drop_empty: bool = False,
    keep_header: bool = True,
) -> Iterator[Row]:
    """Wide to long: one row per (row, value column): id cells, the column's header, the cell.

    The first row names the value columns. by="column" lists all rows of the first value column first (as
    pandas.melt does), by="row" lists the values of each input row together (and so streams: one row at a time).
    """
    it = iter(rows)
    head = next(it, None)
    if head is None:
        return
    if keep_header:
        yield [_cell(head, i) for i in id_columns] + [var_name, value_name]
    names = [_cell(head, v) for v in value_columns]
    if by == "column":
        body = _spool(it)  # column order needs every row before the second value column starts
        for v, name in zip(value_columns, names):
            for row in body:
                value = _cell(row, v)
                if drop_empty and not value.strip():
                    continue
                yield [_cell(row, i) for i in id_columns] + [name, value]
        return
    for row in it:
        ids = [_cell(row, i) for i in id_columns]
        for v, name in zip(value_columns, names):
            value = _cell(row, v)
            if drop_empty and not value.strip():
                continue
            yield ids + [name, value]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _column_sort_key(rows: Iterable[Row], column: int) -> Callable[[Row], Any]:
    """Numeric order for a column of numbers (empty cells last), text order otherwise, as a typed index sorts."""
    if all(_is_number(_cell(r, column)) for r in rows if _cell(r, column)):
        return lambda r: (0, float(_cell(r, column))) if _cell(r, column) else (1, 0.0)
    return lambda r: _cell(r, column)


def wide_to_long(
    rows: Iterable[Row],
    id_columns: list[int],
    pattern: str,
    var_name: str = "Var",
    sort_by_id: bool = True,
    index_name: str | None = None,
) -> list[Row] | Iterator[Row]:
    """Groups of columns named <stub><var> (as matched by `pattern`, groups `stub` and `var`) become rows.

    Output: id cells, the var part, then one column per stub (stubs sorted by name), like pandas.wide_to_long.
    Value columns whose header does not match the pattern are dropped. With `index_name`, a first column of
    that name numbers the input rows from 0 (the id when no column identifies a row).
    """
    it = iter(rows)
    head = next(it, None)
    if head is None:
        return []
    regex = re.compile(pattern)
    cells: dict[tuple[str, str], int] = {}
    stubs: list[str] = []
    suffixes: list[str] = []
    for index, name in enumerate(head):
        if index in id_columns:
            continue
        match = regex.fullmatch(name)
        if not match:
            continue
        stub, var = match.group("stub"), match.group("var")
        cells[(stub, var)] = index
        if stub not in stubs:
            stubs.append(stub)
        if var not in suffixes:
            suffixes.append(var)
    stubs.sort()
    suffixes.sort()
    body: Iterable[Row] = it
    if index_name is not None:
        body = ([str(n)] + row for n, row in enumerate(it))
        head = [index_name] + list(head)
        id_columns = [0] + [i + 1 for i in id_columns]
        cells = {key: index + 1 for key, index in cells.items()}
    body = _spool(body)
    if sort_by_id:
        keys = [_column_sort_key(body, i) for i in id_columns]
        body = _sorted(body, key=lambda r: [key(r) for key in keys])
    header = [_cell(head, i) for i in id_columns] + [var_name] + stubs
    long_rows = _long_rows(body, id_columns, suffixes, stubs, cells)
    return [header] + list(long_rows) if isinstance(body, list) else itertools.chain([header], long_rows)


def _long_rows(
    body: Iterable[Row], id_columns: list[int], suffixes: list[str], stubs: list[str], cells: dict[tuple[str, str], int]
) -> Iterator[Row]:
    for row in body:
        ids = [_cell(row, i) for i in id_columns]
        for var in suffixes:
            yield ids + [var] + [_cell(row, cells[(s, var)]) if (s, var) in cells else "" for s in stubs]


def spread_subtitles(
    rows: Iterable[Row], name: str = "Subtitle", header: bool = True, column: int | None = None
) -> Iterator[Row]:
    """A row with a single non-empty cell (in `column`, when given) is a subtitle: it is dropped and prefixed
    to the rows below it."""
    it = iter(rows)
    if header:
        first = next(it, None)
        if first is not None:
            yield [name] + first
    subtitle = ""
    for row in it:
        filled = [c for c in row if c.strip()]
        if len(filled) == 1 and len(row) > 1 and (column is None or _cell(row, column).strip()):
            subtitle = filled[0]
            continue
        yield [subtitle] + row


def spread_sections(rows: Iterable[Row], column: int) -> Iterator[Row]:
    """A row whose cell in `column` is empty starts a section: its cells before `column` prefix the rows below."""
    prefix: Row | None = None
    for row in rows:
        if not _cell(row, column).strip() and any(c.strip() for c in row[:column]):
            prefix = row[:column]
            continue
        yield (prefix or [""] * column) + row


def pivot_records(
    rows: Iterable[Row], key_column: int = 0, value_column: int = 1, sort_keys: bool = True
) -> list[Row] | Iterator[Row]:
    """Key/value rows to one row per record; a record ends when a key repeats. The header row lists the keys."""
    keys: list[str] = []
    records = _spool(_records(rows, key_column, value_column, keys))
    if sort_keys:
        keys.sort()
    out = ([r.get(k, "") for k in keys] for r in map(_record_dict, records))
    return [keys] + list(out) if isinstance(records, list) else itertools.chain([keys], out)


def _records(rows: Iterable[Row], key_column: int, value_column: int, keys: list[str]) -> Iterator[Row]:
    """Each record as a flat row key, value, key, value... (`keys` collects every key, first-seen order)."""
    record: dict[str, str] = {}
    for row in rows:
        key, value = _cell(row, key_column), _cell(row, value_column)
        if key in record:
            yield [c for pair in record.items() for c in pair]
            record = {}
        record[key] = value
        if key not in keys:
            keys.append(key)
    if record:
        yield [c for pair in record.items() for c in pair]


def _record_dict(flat: Row) -> dict[str, str]:
    return dict(zip(flat[::2], flat[1::2]))


def pivot(
    rows: Iterable[Row],
    row_key: int,
    column_key: int,
    value: int,
    corner: str = "",
    header: bool = False,
    sort: bool = False,
) -> list[Row]:
    """Long to wide: one row per `row_key`, one column per `column_key`, cells from `value` (first-seen order).

    With `header`, the first row names the columns and the row key's name heads the output. With `sort`, rows
    and columns are in key order (numeric when every key is a number), as pandas' pivot gives them.
    """
    it = iter(rows)
    if header:
        head = next(it, None)
        if head is not None:
            corner = _cell(head, row_key)
    table: dict[str, dict[str, str]] = {}
    columns: list[str] = []
    for row in it:
        r, c = _cell(row, row_key), _cell(row, column_key)
        table.setdefault(r, {})[c] = _cell(row, value)
        if c not in columns:
            columns.append(c)
    keys = list(table)
    if sort:
        columns.sort(key=_key_order(columns))
        keys.sort(key=_key_order(keys))
    return [[corner] + columns] + [[r] + [table[r].get(c, "") for c in columns] for r in keys]


def _key_order(keys: list[str]) -> Callable[[str], float] | None:
    """Sort key for index labels: numbers by value when all are numbers (as a typed index sorts), else text."""
    if keys and all(_is_number(k) for k in keys):
        return float
    return None


def unfold(rows: Iterable[Row], key_columns: list[int], value_columns: list[int]) -> list[Row] | Iterator[Row]:
    """One row per distinct key (first-seen order): the key cells, then the value cells of all its rows."""
    spooled = _spool(rows)
    if not isinstance(spooled, list):
        return _unfold_spilled(spooled, key_columns, value_columns)
    groups: dict[tuple[str, ...], Row] = {}
    for row in spooled:
        key = tuple(_cell(row, k) for k in key_columns)
        groups.setdefault(key, []).extend(_cell(row, v) for v in value_columns)
    return _pad([list(key) + values for key, values in groups.items()])


def _unfold_spilled(rows: _SpilledRows, key_columns: list[int], value_columns: list[int]) -> Iterator[Row]:
    # Memory proportional to the distinct keys: the rows are sorted on disk by their key's first-seen ordinal
    # (stably, so a key's values keep input order) and each key's row is joined as its group streams by.
    def key_of(row: Row) -> tuple[str, ...]:
        return tuple(_cell(row, k) for k in key_columns)

    ordinals: dict[tuple[str, ...], int] = {}
    counts: dict[tuple[str, ...], int] = {}
    for row in rows:
        key = key_of(row)
        ordinals.setdefault(key, len(ordinals))
        counts[key] = counts.get(key, 0) + 1
    width = len(key_columns) + max(counts.values(), default=0) * len(value_columns)
    del counts
    ordered = _sorted(rows, key=lambda r: ordinals[key_of(r)])
    for key, group in itertools.groupby(ordered, key=key_of):
        out = list(key) + [_cell(row, v) for row in group for v in value_columns]
        yield out + [""] * (width - len(out))


def fold(rows: Iterable[Row], id_count: int, group_size: int, drop_empty_groups: bool = False) -> Iterator[Row]:
    """Each row becomes one row per group of `group_size` cells after the first `id_count` cells."""
    for row in rows:
        ids = row[:id_count]
        for start in range(id_count, len(row), group_size):
            group = row[start:start + group_size]
            if drop_empty_groups and not any(c.strip() for c in group):
                continue
            yield ids + group + [""] * (group_size - len(group))


def divide(rows: Iterable[Row], column: int, width: int) -> Iterator[Row]:
    """Potter's Wheel divide: rows whose cell in `column` is empty keep their first `column` cells on the left;
    the other rows move right, after `column` empty cells. Output rows have `column + width` cells."""
    for row in rows:
        if not _cell(row, column).strip():
            yield row[:column] + [""] * (column - len(row[:column])) + [""] * width
        else:
            yield [""] * column + row[:width] + [""] * (width - len(row[:width]))


def divide_by_pattern(rows: Iterable[Row], column: int, pattern: str, header: bool = False) -> Iterator[Row]:
    """Potter's Wheel divide on a predicate: the cell in `column` goes to the first of two columns when it fully
    matches `pattern` (a token class such as digits), else to the second; the other cells stay in place."""
    regex = re.compile(pattern)
    it = iter(rows)
    if header:
        first = next(it, None)
        if first is not None:
            name = _cell(first, column)
            yield _padded_to(first, column) + [name, name] + first[column + 1:]
    for row in it:
        cell = _cell(row, column)
        pieces = [cell, ""] if regex.fullmatch(cell) else ["", cell]
        yield _padded_to(row, column) + pieces + row[column + 1:]


def _padded_to(row: Row, width: int) -> Row:
    """The first `width` cells of row, padded with empty cells."""
    head = row[:width]
    return head + [""] * (width - len(head))


def deduplicate(rows: Iterable[Row]) -> Iterator[Row]:
    seen: set[tuple[str, ...]] = set()
    for row in rows:
        key = tuple(row)
        if key not in seen:
            seen.add(key)
            yield row


def sort_rows(
    rows: Iterable[Row], column: int, header: bool = False, descending: bool = False
) -> list[Row] | Iterator[Row]:
    it = iter(rows)
    head = list(itertools.islice(it, 1)) if header else []
    body = _sorted(it, key=lambda r: _cell(r, column), reverse=descending)
    return head + body if isinstance(body, list) else itertools.chain(head, body)


# A decimal number as pandas' C parser reads it into a float column (surrounding spaces allowed).
_FLOAT_TEXT = re.compile(r"\s*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*")
_POWERS_OF_TEN = [float(f"1e{k}") for k in range(309)]


def _pandas_float(text: str) -> float:
    """The float pandas' default read_csv converter gives for `text` (pandas 1.x-2.x `precise_xstrtod`).

    It accumulates at most 17 significant digits in a double, then scales by a power of ten: with 17 digits
    the result may differ from the correctly rounded value by one unit in the last place.
    """
    text = text.strip()
    negative = text.startswith("-")
    text = text.lstrip("+-")
    mantissa, _, exponent_text = text.replace("E", "e").partition("e")
    whole, _, fraction = mantissa.partition(".")
    if len(whole) + len(fraction) <= 15 and -22 <= int(exponent_text or 0) - len(fraction) <= 22:
        # an exact integer scaled by an exact power of ten: one rounding, the correctly rounded value
        return -float(text) if negative else float(text)
    number, digits, exponent = 0.0, 0, 0
    for ch in whole:
        if digits < 17:
            number = number * 10.0 + (ord(ch) - 48)
            digits += 1
        else:
            exponent += 1
    for ch in fraction:
        if digits >= 17:
            break
        number = number * 10.0 + (ord(ch) - 48)
        digits += 1
        exponent -= 1
    if negative:
        number = -number
    exponent += int(exponent_text) if exponent_text else 0
    if exponent > 308:
        return float("-inf") if negative else float("inf")
    if exponent > 0:
        return number * _POWERS_OF_TEN[exponent]
    if exponent < -308:
        if exponent < -616:
            return 0.0
        return number / _POWERS_OF_TEN[-308 - exponent] / _POWERS_OF_TEN[308]
    return number / _POWERS_OF_TEN[-exponent]


def pandas_float_text(text: str) -> str:
    """`text` as pandas writes it back after reading it into a float column ("7" -> "7.0"); else unchanged."""
    if not _FLOAT_TEXT.fullmatch(text):
        return text
    return repr(_pandas_float(text))


def pandas_floats(rows: Iterable[Row], columns: list[int], header: bool = False) -> Iterator[Row]:
    """Rewrite the numbers of `columns` as a pandas round trip (read_csv, to_csv) of a float column does.

    Tables produced with pandas carry its float parser's quirks: "7" becomes "7.0", and a value written with
    17 significant digits may come back one digit shorter. Cells that are not numbers are left as they are.
    """
    it = iter(rows)
    yield from _pass_header(it, header)
    for row in it:
        row = list(row)
        for c in columns:
            if c < len(row) and row[c]:
                row[c] = pandas_float_text(row[c])
        yield row


# ---------------------------------------------------------------------------------------------------------
# Operators that instructions compile to (recast_engine.instructions): filters, sorts and aggregates by name
# ---------------------------------------------------------------------------------------------------------


def _as_number(text: str) -> float | None:
    cleaned = text.strip().replace(",", "").lstrip("$€£")
    try:
        return float(cleaned) if cleaned else None
    except ValueError:
        return None


def _matches(cell: str, op: str, value: str) -> bool:
    if op in ("eq", "ne"):
        a, b = _as_number(cell), _as_number(value)
        same = a == b if a is not None and b is not None else cell.strip().lower() == value.strip().lower()
        return same if op == "eq" else not same
    if op == "contains":
        return value.strip().lower() in cell.lower()
    a, b = _as_number(cell), _as_number(value)
    if a is None or b is None:
        return False
    return {"gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}.get(op, False)


def keep_rows_where(
    rows: Iterable[Row], column: int, op: str, value: str, keep: bool = True, header: bool = False
) -> Iterator[Row]:
    """Rows whose cell in `column` compares to value (op eq ne gt ge lt le contains; numbers as numbers, text
    without regard to case); keep=False drops those rows instead."""
    it = iter(rows)
    yield from _pass_header(it, header)
    for row in it:
        if _matches(_cell(row, column), op, value) == keep:
            yield row


def _order_key(text: str) -> tuple[int, float, str]:
    number = _as_number(text)
    return (0, number, "") if number is not None else (1, 0.0, text.lower())


def sort_rows_by(
    rows: Iterable[Row], column: int, descending: bool = False, header: bool = False
) -> list[Row] | Iterator[Row]:
    """The rows in order of `column`: numbers by value (before text), text without regard to case."""
    it = iter(rows)
    head = list(itertools.islice(it, 1)) if header else []
    body = _sorted(it, key=lambda r: _order_key(_cell(r, column)), reverse=descending)
    return head + body if isinstance(body, list) else itertools.chain(head, body)


def _aggregate_text(values: list[float], function: str, count: int) -> str:
    if function == "count":
        return str(count)
    if not values:
        return ""
    if function == "sum":
        result = sum(values)
    elif function == "average":
        result = sum(values) / len(values)
    elif function == "min":
        result = min(values)
    else:
        result = max(values)
    result = round(result, 10)
    return str(int(result)) if result == int(result) else repr(result)


def aggregate_rows(
    rows: Iterable[Row], keys: list[int], function: str, column: int | None = None, name: str = "",
    header: bool = False,
) -> Iterator[Row]:
    """One row per distinct key (first-seen order): the key cells, then the sum, count, average, min or max of
    `column` over the group's rows (count: the number of rows). The header row becomes the key names + name."""
    it = iter(rows)
    if header:
        head = next(it, None)
        if head is not None:
            yield [_cell(head, k) for k in keys] + [name]
    groups: dict[tuple[str, ...], tuple[list[float], list[int]]] = {}
    for row in it:
        key = tuple(_cell(row, k) for k in keys)
        values, count = groups.setdefault(key, ([], [0]))
        count[0] += 1
        if column is not None and (number := _as_number(_cell(row, column))) is not None:
            values.append(number)
    for key, (values, count) in groups.items():
        yield list(key) + [_aggregate_text(values, function, count[0])]
