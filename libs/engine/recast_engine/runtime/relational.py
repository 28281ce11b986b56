"""Relational table operators: filter, sort, top-N, group-by with aggregates, the rows holding a group's extreme,
group filters (HAVING), rows another row refers to, distinct rows and window columns. Standard library only (see
the package docstring).

Values are compared as numbers, dates or text (`as_`): a number is read the way people write amounts ("$1,234.50",
"-7"); a date with the first of `formats` that reads it; a cell that does not read compares as missing (a filter
keeps no such row, an aggregate skips it). Predicates are JSON data:
    {"column": 3, "test": "ge", "value": "100", "as": "number"}      lt le gt ge eq ne against a constant
    {"column": 3, "test": "lt", "other": 4, "as": "number"}          against another column of the row
    {"column": 1, "test": "in", "values": ["a", "b"]}                in a set (text)
    {"column": 1, "test": "contains" | "starts" | "ends", "value": "x"}
    {"column": 1, "test": "empty" | "filled"}
    {"all": [p, q]}, {"any": [p, q]}, {"not": p}
`header=True` passes the first row through untouched. Filters stream; the others hold the table in memory.
"""
from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

Row = list[str]

_NUMBER_TEXT = re.compile(r"^\(?([-+]?)\s*[$€£¥]?\s*([-+]?)(\d[\d,]*(?:\.\d*)?|\.\d+)\)?\s*%?$")


def _number(text: str) -> Decimal | None:
    """The number in a cell ("1,234.50", "-$7", "(3.5)", "12%"), or None."""
    m = _NUMBER_TEXT.match(text.strip())
    if m is None:
        return None
    negative = "-" in (m.group(1), m.group(2)) or text.strip().startswith("(")
    try:
        value = Decimal(m.group(3).replace(",", ""))
    except InvalidOperation:
        return None
    return -value if negative else value


def _moment(text: str, formats: list[str]) -> datetime.datetime | None:
    text = text.strip()
    for fmt in formats:
        try:
            return datetime.datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def _value(text: str, as_: str, formats: list[str]) -> Any:
    """The cell as a comparable value (None when it does not read as one)."""
    if as_ == "number":
        return _number(text)
    if as_ == "date":
        return _moment(text, formats)
    return text


def _cell(row: Row, index: int) -> str:
    return row[index] if index < len(row) else ""


def _compare(left: Any, test: str, right: Any) -> bool:
    if left is None or right is None:
        return False
    if test == "eq":
        return bool(left == right)
    if test == "ne":
        return bool(left != right)
    if test == "lt":
        return bool(left < right)
    if test == "le":
        return bool(left <= right)
    if test == "gt":
        return bool(left > right)
    return bool(left >= right)


def _holds(row: Row, where: dict[str, Any]) -> bool:
    """Whether the row satisfies the predicate (see the module docstring)."""
    if "all" in where:
        return all(_holds(row, p) for p in where["all"])
    if "any" in where:
        return any(_holds(row, p) for p in where["any"])
    if "not" in where:
        return not _holds(row, where["not"])
    text = _cell(row, where["column"])
    test = where["test"]
    if test == "empty":
        return not text.strip()
    if test == "filled":
        return bool(text.strip())
    if test == "in":
        return text in where["values"]
    if test == "contains":
        return where["value"] in text
    if test == "starts":
        return text.startswith(where["value"])
    if test == "ends":
        return text.endswith(where["value"])
    as_ = where.get("as", "text")
    formats = where.get("formats", [])
    left = _value(text, as_, formats)
    if "other" in where:
        right = _value(_cell(row, where["other"]), as_, formats)
    else:
        right = _value(where["value"], as_, formats)
    return _compare(left, test, right)


def _split_header(rows: Iterable[Row], header: bool) -> tuple[list[Row], Iterator[Row]]:
    it = iter(rows)
    head = []
    if header:
        first = next(it, None)
        if first is not None:
            head = [first]
    return head, it


def filter_rows(rows: Iterable[Row], where: dict[str, Any], header: bool = False) -> Iterator[Row]:
    """The rows satisfying the predicate `where`, in their order."""
    head, it = _split_header(rows, header)
    yield from head
    for row in it:
        if _holds(row, where):
            yield row


def _sort_key(keys: list[dict[str, Any]]) -> Callable[[Row], list[Any]]:
    """A key function ordering rows by several columns; unreadable cells sort last whatever the direction."""

    def key(row: Row) -> list[Any]:
        parts = []
        for k in keys:
            value = _value(_cell(row, k["column"]), k.get("as", "text"), k.get("formats", []))
            parts.append(value)
        return parts

    return key


def _ordered(body: list[Row], keys: list[dict[str, Any]]) -> list[Row]:
    # stable sorts from the last key to the first give the multi-key order; missing values go last
    for k in reversed(keys):
        as_, formats = k.get("as", "text"), k.get("formats", [])
        valued = [(_value(_cell(r, k["column"]), as_, formats), r) for r in body]
        present = [vr for vr in valued if vr[0] is not None]
        present.sort(key=lambda vr: vr[0], reverse=k.get("descending", False))
        body = [r for _, r in present] + [r for v, r in valued if v is None]
    return body


def sort_by(rows: Iterable[Row], keys: list[dict[str, Any]], header: bool = False) -> list[Row]:
    """The rows sorted (stably) by keys [{"column": c, "as": "number"|"date"|"text", "descending": bool}, ...]."""
    head, it = _split_header(rows, header)
    return head + _ordered(list(it), keys)


def head_rows(rows: Iterable[Row], count: int, header: bool = False) -> Iterator[Row]:
    """The first `count` rows (after the header row)."""
    head, it = _split_header(rows, header)
    yield from head
    for i, row in enumerate(it):
        if i >= count:
            break
        yield row


def _groups(body: list[Row], keys: list[int]) -> dict[tuple[str, ...], list[int]]:
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, row in enumerate(body):
        groups.setdefault(tuple(_cell(row, k) for k in keys), []).append(i)
    return groups


def _written(value: Any) -> str:
    if isinstance(value, Decimal):
        text = f"{value:f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    return "" if value is None else str(value)


MEAN_DIGITS = 17  # a mean with more significant digits is written as the nearest double prints (SQL, pandas)


def _mean_text(total: Decimal, count: int) -> str:
    """A mean as written: exactly when it ends within MEAN_DIGITS significant digits (12.5), else as the shortest
    text of the nearest double ("101.66666666666667"), as SQL engines and spreadsheets write an average."""
    quotient = total / count
    if len(quotient.normalize().as_tuple().digits) > MEAN_DIGITS:
        quotient = Decimal(repr(float(quotient)))
    return _written(quotient)


def _plain(value: Decimal) -> str:
    """A sum as written with the decimals of its terms ("1.10" + "2.10" -> "3.20"), as spreadsheets show it."""
    text = f"{value:f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


def _aggregate(cells: list[str], func: str, as_: str, formats: list[str], separator: str) -> str:
    """One aggregate of a group's cells, as group_rows computes it."""
    aggregate = {"func": func, "as": as_, "formats": formats, "separator": separator}
    state = _new_state()
    for cell in cells:
        _accumulate(state, aggregate, cell)
    return _result(state, aggregate)


def group_rows(
    rows: Iterable[Row], keys: list[int], aggregates: list[dict[str, Any]], header: bool = False, order: str = "first",
    sort_as: list[dict[str, Any]] | None = None,
) -> list[Row]:
    """One row per distinct key: the key cells, then each aggregate {"func": count | rows | count_distinct | sum
    | mean | min | max | second_min | second_max | first | last | concat, "column": c, "as": ..., "separator": ", "}
    over the group's rows (second_max: the largest value below the max, as read; empty with one distinct value).
    Groups come in the order of their first row (order "first") or sorted by their keys ("sorted"): as text, or
    each key read as `sort_as` says ([{"as": "number" | "date" | "text", "formats": [...]}, ...], one per key;
    keys that do not read sort last). The header row names an aggregate after its column ("count" for the
    counts)."""
    head, it = _split_header(rows, header)
    out: list[Row] = []
    if head:
        names = [_cell(head[0], k) for k in keys]
        names += [_cell(head[0], a.get("column", 0)) if a["func"] not in ("rows", "count", "count_distinct")
                  else "count" for a in aggregates]
        out.append(names)
    # one accumulator per group and aggregate: memory grows with the groups, not with the rows
    groups: dict[tuple[str, ...], list[list[Any]]] = {}
    for row in it:
        key = tuple(_cell(row, k) for k in keys)
        states = groups.get(key)
        if states is None:
            states = groups[key] = [_new_state() for _ in aggregates]
        for a, state in zip(aggregates, states):
            _accumulate(state, a, _cell(row, a.get("column", 0)))
    items = list(groups.items())
    if order == "sorted":
        items = _sorted_groups(items, sort_as or [])
    for key, states in items:
        out.append(list(key) + [_result(state, a) for a, state in zip(aggregates, states)])
    return out


def _sorted_groups(items: list[tuple[tuple[str, ...], Any]], sort_as: list[dict[str, Any]]) -> list[Any]:
    """(key cells, state) pairs sorted by their keys: as text, then (stable sorts from the last key to the first)
    each key read as `sort_as` says, keys that do not read as that kind last."""
    states = dict(items)  # one item per group key
    keys = [{**read, "column": k} for k, read in enumerate(sort_as)]
    return [(key, states[key]) for key in map(tuple, _ordered(sorted(list(key) for key in states), keys))]


def _new_state() -> list[Any]:
    """An aggregate's accumulator before any cell: [rows, first, last, distinct cells, kept cells, sum, numbers]."""
    return [0, None, None, set(), [], Decimal(0), 0]


def _accumulate(state: list[Any], aggregate: dict[str, Any], cell: str) -> None:
    """The accumulator (_new_state) updated for one more cell."""
    func = aggregate["func"]
    filled = bool(cell.strip())
    state[0] += 1
    if state[0] == 1:
        state[1] = cell
    state[2] = cell
    if func == "count_distinct" and filled:
        state[3].add(cell)
    elif func == "concat" and filled:
        state[4].append(cell)
    elif func == "count" and filled:
        state[6] += 1
    elif func in ("min", "max") and filled:
        value = _value(cell, aggregate.get("as", "text"), aggregate.get("formats", []))
        if value is not None:
            best = state[4]
            if not best or (value < best[0] if func == "min" else value > best[0]):
                state[4] = [value, cell]
    elif func in ("second_min", "second_max") and filled:
        # the two best distinct values as [(value, cell), ...], best first
        value = _value(cell, aggregate.get("as", "text"), aggregate.get("formats", []))
        if value is not None and all(value != v for v, _ in state[4]):
            state[4] = sorted([*state[4], (value, cell)], key=lambda vc: vc[0], reverse=func == "second_max")[:2]
    elif func in ("sum", "mean"):
        number = _number(cell)
        if number is not None:
            state[5] += number
            state[6] += 1


def _result(state: list[Any], aggregate: dict[str, Any]) -> str:
    func = aggregate["func"]
    if func == "rows":
        return str(state[0])
    if func == "count":
        return str(state[6])
    if func == "count_distinct":
        return str(len(state[3]))
    if func == "first":
        return state[1] if state[1] is not None else ""
    if func == "last":
        return state[2] if state[2] is not None else ""
    if func == "concat":
        return str(aggregate.get("separator", ",")).join(state[4])
    if func in ("min", "max"):
        return state[4][1] if state[4] else ""
    if func in ("second_min", "second_max"):
        return state[4][1][1] if len(state[4]) > 1 else ""
    if not state[6]:
        return ""
    return _plain(state[5]) if func == "sum" else _mean_text(state[5], state[6])


def keep_extremes(
    rows: Iterable[Row],
    keys: list[int],
    column: int,
    which: str = "max",
    as_: str = "number",
    formats: list[str] | None = None,
    ties: str = "all",
    header: bool = False,
    tiebreak: dict[str, Any] | None = None,
) -> list[Row]:
    """The rows holding their group's max (or min) of `column` (groups by the `keys` cells, one group when none),
    in input order; with ties "first" or "last", one row per group. `tiebreak` {"column": c, "which": "min" |
    "max", "as_": ...}: of the rows holding the extreme, those holding their min (max) of column c."""
    head, it = _split_header(rows, header)
    body = list(it)
    formats = formats or []
    keep: set[int] = set()
    for members in _groups(body, keys).values():
        values = [(i, _value(_cell(body[i], column), as_, formats)) for i in members]
        values = [(i, v) for i, v in values if v is not None]
        if not values:
            continue
        best = (max if which == "max" else min)(v for _, v in values)
        held = [i for i, v in values if v == best]
        if tiebreak is not None:
            held = _extreme_held(body, held, tiebreak)
        if ties == "all":
            keep.update(held)
        elif held:
            keep.add(held[0] if ties == "first" else held[-1])
    return head + [row for i, row in enumerate(body) if i in keep]


def _extreme_held(body: list[Row], held: list[int], by: dict[str, Any]) -> list[int]:
    """Of the rows `held`, those holding their min (max) of the column `by` names (rows it does not read drop)."""
    column, as_, formats = by["column"], by.get("as_", "number"), by.get("formats") or []
    values = [(i, v) for i in held if (v := _value(_cell(body[i], column), as_, formats)) is not None]
    if not values:
        return []
    best = (max if by.get("which") == "max" else min)(v for _, v in values)
    return [i for i, v in values if v == best]


def keep_top(
    rows: Iterable[Row],
    keys: list[int],
    column: int,
    count: int,
    descending: bool = True,
    as_: str = "number",
    formats: list[str] | None = None,
    header: bool = False,
) -> list[Row]:
    """The rows ranked within the first `count` of their group by `column` (ties share a rank), in input order."""
    head, it = _split_header(rows, header)
    body = list(it)
    formats = formats or []
    keep: set[int] = set()
    for members in _groups(body, keys).values():
        values = [(i, _value(_cell(body[i], column), as_, formats)) for i in members]
        values = [(i, v) for i, v in values if v is not None]
        ordered = sorted((v for _, v in values), reverse=descending)
        if not ordered:
            continue
        limit = ordered[min(count, len(ordered)) - 1]
        keep.update(i for i, v in values if (v >= limit if descending else v <= limit))
    return head + [row for i, row in enumerate(body) if i in keep]


def keep_groups(rows: Iterable[Row], keys: list[int], having: dict[str, Any], header: bool = False) -> list[Row]:
    """The rows whose group (by the `keys` cells) passes `having`: {"rows": test, "value": n} on the group's row
    count, {"rows": "max" | "min"} when no group has more (fewer) rows (every group tied for it passes: HAVING
    COUNT(*) = (SELECT MAX(COUNT(*)) ...)), {"some": predicate} when one of its rows satisfies a predicate,
    {"every": predicate} when all do."""
    head, it = _split_header(rows, header)
    body = list(it)
    keep: set[int] = set()
    groups = list(_groups(body, keys).values())
    sizes = [len(members) for members in groups]
    for members in groups:
        if having.get("rows") in ("max", "min"):
            passed = len(members) == (max(sizes) if having["rows"] == "max" else min(sizes))
        elif "rows" in having:
            passed = _compare(len(members), having["rows"], int(having["value"]))
        elif "some" in having:
            passed = any(_holds(body[i], having["some"]) for i in members)
        else:
            passed = all(_holds(body[i], having["every"]) for i in members)
        if passed:
            keep.update(members)
    return head + [row for i, row in enumerate(body) if i in keep]


def keep_referenced(
    rows: Iterable[Row], column: int, referenced: int, keep: bool = True, header: bool = False
) -> list[Row]:
    """The rows whose `column` cell occurs somewhere in the `referenced` column (an id another row points at:
    a parent, a manager), in input order; keep False: the rows whose cell occurs nowhere there."""
    head, it = _split_header(rows, header)
    body = list(it)
    pointed = {_cell(row, referenced) for row in body}
    return head + [row for row in body if (_cell(row, column) in pointed) == keep]


def distinct_rows(rows: Iterable[Row], columns: list[int], keep: str = "first", header: bool = False) -> list[Row]:
    """One row per distinct combination of `columns` cells: its first (or last) row, in input order."""
    head, it = _split_header(rows, header)
    body = list(it)
    chosen: dict[tuple[str, ...], int] = {}
    for i, row in enumerate(body):
        key = tuple(_cell(row, c) for c in columns)
        if keep == "last" or key not in chosen:
            chosen[key] = i
    kept = set(chosen.values())
    return head + [row for i, row in enumerate(body) if i in kept]


def add_window(
    rows: Iterable[Row], func: str, column: int = 0, keys: list[int] | None = None, header: bool = False,
    name: str = "", where: dict[str, Any] | None = None,
) -> list[Row]:
    """Each row with one more cell computed over its group (by the `keys` cells; the whole table when none):
    "sum" / "count" / "mean" of the group, "max" / "min" (the cell holding it), "running_sum" and "row_number" in
    row order, "difference" from the previous row of the group ("" for the first). The header row gets `name`.
    `where`: the group's sum, count, mean, max or min over its rows satisfying that predicate only (every row of
    the group gets it: AVG(x) FILTER (WHERE ...) OVER (PARTITION BY ...))."""
    head, it = _split_header(rows, header)
    body = list(it)
    keys = keys or []
    extra = [""] * len(body)
    for members in _groups(body, keys).values():
        numbers = [_number(_cell(body[i], column)) for i in members]
        if func in ("sum", "mean", "count", "max", "min") and where is not None:
            counted = [k for k, i in enumerate(members) if _holds(body[i], where)]
        else:
            counted = list(range(len(members)))
        if func in ("sum", "mean", "count"):
            present = [n for k in counted if (n := numbers[k]) is not None]
            if func == "count":
                value = str(len(counted))
            elif not present:
                value = ""
            else:
                total = sum(present, Decimal(0))
                value = _plain(total) if func == "sum" else _mean_text(total, len(present))
            for i in members:
                extra[i] = value
        elif func in ("max", "min"):
            present_cells = [(n, _cell(body[members[k]], column)) for k in counted if (n := numbers[k]) is not None]
            pick = max if func == "max" else min
            value = pick(present_cells, key=lambda nc: nc[0])[1] if present_cells else ""
            for i in members:
                extra[i] = value
        elif func == "running_sum":
            running = Decimal(0)
            for i, n in zip(members, numbers):
                running += n or 0
                extra[i] = _plain(running)
        elif func == "row_number":
            for rank, i in enumerate(members, 1):
                extra[i] = str(rank)
        elif func == "difference":
            previous = None
            for i, n in zip(members, numbers):
                extra[i] = _written(n - previous) if n is not None and previous is not None else ""
                previous = n
    out = [head[0] + [name]] if head else []
    return out + [row + [value] for row, value in zip(body, extra)]
