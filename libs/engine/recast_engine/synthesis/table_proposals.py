"""Candidate table steps for a grid, guided by the expected output (pure, no I/O).

Each proposer looks at the current grid and the expected grid and yields a few Steps whose parameters are
structural (column indices, delimiters, sizes) and plausible for this pair; the search applies and checks them.
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from recast_engine.dsl import Step
from recast_engine.hints import NO_HINTS, Hints
from recast_engine.operators import proposers
from recast_engine.runtime.tables import _FLOAT_TEXT, pandas_float_text

Row = list[str]

DELIMITERS = [", ", ",", ";", "; ", "/", "|", "\n", " / ", " & ", " and ", " ", "-", ":"]
SPLIT_DELIMITERS = [": ", ":", "=", " = ", "\t", " - "]
MAX_COLUMN_PROPOSALS = 12


@dataclass
class Context:
    expected: list[Row]
    header: bool  # the first row of the input (and of the output) is a header row
    expected_cells: set[str]
    expected_width: int
    numeric_gaps: bool = False  # some output cells are numbers as pandas writes floats ("7.0", "1e-05")
    # per-column facts, reused across the grids of one search
    memo: dict[tuple[str, ...], bool] = field(default_factory=dict)
    last: bool = False  # no step may follow the one proposed (the search's last depth)
    hints: Hints = NO_HINTS  # the user's constants and aggregation functions (recast_engine.hints)

    @classmethod
    def build(cls, expected: list[Row], header: bool, hints: Hints = NO_HINTS) -> Context:
        cells = {c for r in expected for c in r}
        width = max((len(r) for r in expected), default=0)
        numeric = any(_looks_like_float_repr(c) for c in itertools.islice(cells, 20000))
        return cls(expected, header, cells, width, numeric, hints=hints)


def _looks_like_float_repr(text: str) -> bool:
    return bool(text) and ("." in text or "e" in text) and pandas_float_text(text) == text


def _width(grid: list[Row]) -> int:
    return max((len(r) for r in grid), default=0)


def _cell(row: Row, i: int) -> str:
    return row[i] if i < len(row) else ""


def _body(grid: list[Row], ctx: Context) -> list[Row]:
    return grid[1:] if ctx.header else grid


def _sample(rows: list[Row], n: int = 300) -> list[Row]:
    return rows[:n]


def propose_fill_down(grid: list[Row], ctx: Context) -> Iterator[Step]:
    body = _sample(_body(grid, ctx), 2000)
    with_gaps = []
    for c in range(min(_width(grid), 40)):
        values = [_cell(r, c) for r in body]
        empties = sum(1 for v in values if not v.strip())
        if 0 < empties < len(values) and values and values[0].strip():
            with_gaps.append(c)
    singles = with_gaps[:MAX_COLUMN_PROPOSALS] if len(body) < 5000 else with_gaps[:3]
    for c in singles:
        yield Step(op="fill_down", args={"columns": [c], "header": ctx.header})
    for k in range(2, min(len(with_gaps), 4) + 1):
        yield Step(op="fill_down", args={"columns": with_gaps[:k], "header": ctx.header})
    if len(with_gaps) > 4:
        yield Step(op="fill_down", args={"columns": with_gaps, "header": ctx.header})


def propose_explode(grid: list[Row], ctx: Context) -> Iterator[Step]:
    extra_rows = len(ctx.expected) - len(grid)
    if extra_rows <= 0:
        return
    body = _body(grid, ctx)
    exact, plausible = [], []
    for c in range(min(_width(grid), 60)):
        values = [_cell(r, c) for r in body]
        for d in DELIMITERS:
            hits = [v for v in values[:500] if d in v]
            if not hits:
                continue
            args = {"column": c, "delimiter": d, "header": ctx.header}
            if sum(v.count(d) for v in values) == extra_rows:
                exact.append(args)
            elif all(p in ctx.expected_cells for p in hits[0].split(d)[:3]):
                plausible.append(args)
    for args in exact + plausible[:MAX_COLUMN_PROPOSALS]:
        yield Step(op="explode", args=args)
        if "nan" in ctx.expected_cells:
            yield Step(op="explode", args={**args, "empty_as": "nan"})


def propose_drop_rows(grid: list[Row], ctx: Context) -> Iterator[Step]:
    if len(grid) <= 1:
        return
    if any(not any(c.strip() for c in r) for r in grid):
        yield Step(op="drop_empty_rows", args={"header": ctx.header})
    if len(ctx.expected) >= len(grid):
        return
    body = _body(grid, ctx)
    for c in range(min(_width(grid), MAX_COLUMN_PROPOSALS)):
        empties = sum(1 for r in body if not _cell(r, c).strip())
        if 0 < empties < len(body):
            yield Step(op="drop_empty_rows", args={"column": c, "header": ctx.header})


def propose_transpose(grid: list[Row], ctx: Context) -> Iterator[Step]:
    # a single column is better read as records (transpose_blocks), which also generalizes to more rows
    if len(grid) > 1 and _width(grid) > 1:
        yield Step(op="transpose")


def _melt_ids(grid: list[Row], ctx: Context) -> list[list[int]]:
    head = grid[0]
    w = _width(grid)
    options: list[list[int]] = []
    if ctx.header and ctx.expected:
        expected_head = ctx.expected[0]
        ids = [i for i, h in enumerate(head) if h in expected_head[: max(len(expected_head) - 2, 0)]]
        if len(ids) < w:
            options.append(ids)
    for k in range(1, min(w - 1, 6) + 1):
        prefix = list(range(k))
        if prefix not in options:
            options.append(prefix)
    return options


def propose_melt(grid: list[Row], ctx: Context) -> Iterator[Step]:
    if len(grid) < 2 or len(ctx.expected) < len(grid) - 1:
        return
    w = _width(grid)
    body_count = len(grid) - 1
    body = grid[1:]
    filled = [sum(1 for r in body if _cell(r, i).strip()) for i in range(w)]
    empty_columns = {i for i in range(w) if not filled[i]}
    variants = []
    for ids in _melt_ids(grid, ctx):
        values = [i for i in range(w) if i not in ids]
        variants.append((ids, values))
        if empty_columns & set(values):
            variants.append((ids, [v for v in values if v not in empty_columns]))
    for ids, values in variants:
        if not values:
            continue
        if ctx.header:
            names = ctx.expected[0][len(ids):len(ids) + 2] if ctx.expected else []
            names = (names + ["var", "value"])[:2] if len(names) < 2 else names
        else:
            names = ["var", "value"]
        head_rows = 1 if ctx.header else 0
        full = body_count * len(values) + head_rows
        for drop_empty in (False, True):
            count = full
            if drop_empty:
                count = head_rows + sum(filled[v] for v in values)
            if count > len(ctx.expected) + 1 or (ctx.last and count != len(ctx.expected)):
                continue
            for by in ("column", "row") if ctx.header else ("row", "column"):
                yield Step(
                    op="melt",
                    args={
                        "id_columns": ids,
                        "value_columns": values,
                        "var_name": names[0],
                        "value_name": names[1],
                        "by": by,
                        "drop_empty": drop_empty,
                        "keep_header": ctx.header,
                    },
                )


WIDE_PATTERNS = [
    r"(?P<stub>.+?)(?P<sep>[_ .-])(?P<var>\d+)",
    r"(?P<stub>.+?)(?P<var>\d+)",
    r"(?P<stub>.+)(?P<sep>[_ .-])(?P<var>[^_ .-]+)",
    r"(?P<stub>[^_ .-]+)(?P<sep>[_ .-])(?P<var>.+)",
    r"(?P<var>.+)(?P<sep>[_ .-])(?P<stub>[^_ .-]+)",
    r"(?P<var>[^_ .-]+)(?P<sep>[_ .-])(?P<stub>.+)",
    r"(?P<stub>[^(\[]+?)(?P<var>[(\[].*)",
    r"(?P<var>.+)(?P<stub>\([^()]*\))",
    r"(?P<stub>.+?)(?P<var>\d+)(?P<sep>[_ .-]?)",
]


def _wide_patterns() -> Iterator[str]:
    seps = ["_", " ", ".", "-", ""]
    for template in WIDE_PATTERNS:
        if "(?P<sep>" not in template:
            yield template
            continue
        for sep in seps:
            s = re.escape(sep)
            t = template.replace("(?P<sep>[_ .-])", s).replace("(?P<sep>[_ .-]?)", s)
            if sep:
                t = t.replace("[^_ .-]", f"[^{s}]")
            else:
                if "[^_ .-]" in t:
                    continue
            yield t


def propose_wide_to_long(grid: list[Row], ctx: Context) -> Iterator[Step]:
    if not ctx.header or len(grid) < 2 or not ctx.expected:
        return
    head, expected_head = grid[0], ctx.expected[0]
    known = set(head)
    var_at = next((j for j, h in enumerate(expected_head) if h not in known), None)
    if var_at is None:
        return
    index_name = None
    if var_at == 0 and len(expected_head) > 2 and expected_head[1] not in known:
        index_name, var_at = expected_head[0], 1
    ids = [head.index(h) for h in expected_head[:var_at] if h in known]
    stubs = set(expected_head[var_at + 1:])
    if not stubs:
        return
    seen: set[str] = set()
    for pattern in _wide_patterns():
        if pattern in seen:
            continue
        seen.add(pattern)
        regex = re.compile(pattern)
        found: set[str] = set()
        for i, name in enumerate(head):
            if i in ids:
                continue
            m = regex.fullmatch(name)
            if m:
                found.add(m.group("stub"))
                if m.group("stub") not in stubs:
                    break
        if found == stubs:
            for sort_by_id in (True, False):
                yield Step(
                    op="wide_to_long",
                    args={
                        "id_columns": ids,
                        "pattern": pattern,
                        "var_name": expected_head[var_at],
                        "sort_by_id": sort_by_id,
                        **({"index_name": index_name} if index_name is not None else {}),
                    },
                )
            return


def propose_subtitles(grid: list[Row], ctx: Context) -> Iterator[Step]:
    body = _body(grid, ctx)
    if _width(grid) < 2 or not any(sum(1 for c in r if c.strip()) == 1 for r in body[:2000]):
        return
    name = ctx.expected[0][0] if ctx.header and ctx.expected and ctx.expected[0] else "Subtitle"
    yield Step(op="spread_subtitles", args={"name": name, "header": ctx.header})
    yield Step(op="spread_subtitles", args={"name": name, "header": ctx.header, "column": 0})


def propose_sections(grid: list[Row], ctx: Context) -> Iterator[Step]:
    if len(ctx.expected) >= len(grid) or ctx.expected_width <= _width(grid):
        return
    body = _body(grid, ctx)
    for c in range(1, min(_width(grid), 10)):
        empties = sum(1 for r in body if not _cell(r, c).strip())
        if 0 < empties < len(body):
            yield Step(op="spread_sections", args={"column": c})


def propose_pivots(grid: list[Row], ctx: Context) -> Iterator[Step]:
    if len(ctx.expected) >= len(grid):
        return
    w = _width(grid)
    if w == 2:
        for sort_keys in (True, False):
            yield Step(op="pivot_records", args={"key_column": 0, "value_column": 1, "sort_keys": sort_keys})
    if w == 3:
        corner = ctx.expected[0][0] if ctx.expected and ctx.expected[0] else ""
        corner = corner if corner in ("",) or corner in {_cell(r, 0) for r in grid[:1]} else ""
        yield Step(op="pivot", args={"row_key": 0, "column_key": 1, "value": 2, "corner": corner})
        yield Step(op="pivot", args={"row_key": 1, "column_key": 0, "value": 2, "corner": corner})
    yield from _header_pivots(grid, ctx)


def _header_pivots(grid: list[Row], ctx: Context) -> Iterator[Step]:
    """pandas-style pivots: the output is headed by a row key's name, then by the values of a column key."""
    if not ctx.header or len(grid) < 2 or not ctx.expected or len(ctx.expected[0]) < 2:
        return
    head, targets = grid[0], set(ctx.expected[0][1:])
    row_keys = [i for i, h in enumerate(head) if h == ctx.expected[0][0]]
    if not row_keys:
        return
    w = _width(grid)
    column_keys = [c for c in range(min(w, 20)) if c not in row_keys and targets <= {_cell(r, c) for r in grid[1:]}]
    for r in row_keys:
        for c in column_keys:
            for v in range(min(w, 20)):
                if v in (r, c):
                    continue
                for sort in (True, False):
                    args = {"row_key": r, "column_key": c, "value": v, "header": True, "sort": sort}
                    yield Step(op="pivot", args=args)


def propose_split(grid: list[Row], ctx: Context) -> Iterator[Step]:
    w = _width(grid)
    if w > 10 or ctx.expected_width <= w and len(ctx.expected) >= len(grid):
        return
    pieces = max(ctx.expected_width - w, 1)
    for c in range(w):
        values = [_cell(r, c) for r in grid[:200]]
        for d in SPLIT_DELIMITERS + [",", ";", "/", "|", " ", "-"]:
            if values and sum(1 for v in values if d in v) >= 0.8 * len(values):
                for maxsplit in sorted({1, pieces}):
                    yield Step(op="split_column", args={"column": c, "delimiter": d, "maxsplit": maxsplit})


TOKEN_CLASSES = [r"\d+", r"[\d.,$%-]+", r"[A-Za-z]+", r"[A-Za-z ]+", r"\S+", r".*\d.*", r".*[A-Za-z].*"]


def propose_filters(grid: list[Row], ctx: Context) -> Iterator[Step]:
    """Keep rows whose cell in a column matches a token class; drop duplicate rows; sort by a column."""
    n, m = len(grid), len(ctx.expected)
    w = _width(grid)
    if m < n:
        target = m - (1 if ctx.header else 0)
        body = _body(grid, ctx)
        for c in range(min(w, MAX_COLUMN_PROPOSALS)):
            for pattern in TOKEN_CLASSES:
                regex = re.compile(pattern)
                if sum(1 for r in body if regex.fullmatch(_cell(r, c))) == target:
                    yield Step(op="keep_rows_matching", args={"column": c, "pattern": pattern, "header": ctx.header})
                    break
        if len({tuple(r) for r in grid}) == m:
            yield Step(op="deduplicate")
    if m == n and n <= 20000 and grid != ctx.expected:
        expected_first = [r[0] for r in ctx.expected[1 if ctx.header else 0:][:50] if r]
        for c in range(min(w, MAX_COLUMN_PROPOSALS)):
            column = {_cell(r, c) for r in grid}
            if expected_first and all(v in column for v in expected_first[:5]):
                for descending in (False, True):
                    yield Step(op="sort_rows", args={"column": c, "header": ctx.header, "descending": descending})


def propose_wrap(grid: list[Row], ctx: Context) -> Iterator[Step]:
    n, m = len(grid), len(ctx.expected)
    if m >= n or m == 0:
        return
    w = _width(grid)
    for size in range(2, min(n, 40) + 1):
        blocks = -(-n // size)
        if blocks in (m, m - 1, m + 1) or n // size in (m, m - 1):
            if w == 1:
                yield Step(op="transpose_blocks", args={"size": size})
            else:
                yield Step(op="wrap_rows", args={"size": size})
        if w > 1 and n % size == 0 and blocks * w in (m, m - 1):
            yield Step(op="transpose_blocks", args={"size": size})
    firsts = [_cell(r, 0) for r in grid]
    for prefix in {f[0] for f in firsts if f and not f[0].isalnum() and not f[0].isspace()}:
        starts = sum(1 for f in firsts if f.startswith(prefix))
        if starts in (m, m - 1) and firsts[0].startswith(prefix):
            for strip in (True, False):
                yield Step(op="wrap_rows_at", args={"column": 0, "prefix": prefix, "strip_prefix": strip})


def propose_unfold(grid: list[Row], ctx: Context) -> Iterator[Step]:
    if len(ctx.expected) >= len(grid):
        return
    w = _width(grid)
    for k in range(1, min(w, 3)):
        keys = list(range(k))
        distinct = len({tuple(r[:k]) for r in grid})
        if distinct not in (len(ctx.expected), len(ctx.expected) - 1):
            continue
        yield Step(op="unfold", args={"key_columns": keys, "value_columns": list(range(k, w))})
        if w - k > 1:
            for v in range(k, w):
                yield Step(op="unfold", args={"key_columns": keys, "value_columns": [v]})


def propose_fold(grid: list[Row], ctx: Context) -> Iterator[Step]:
    if len(ctx.expected) <= len(grid):
        return
    w, we = _width(grid), ctx.expected_width
    if w > 200:  # records folded from thousands of columns are unlikely, and costly to try
        return
    for ids in range(min(w - 1, 10) + 1):
        group = we - ids
        if group < 1 or group >= w - ids:
            continue
        groups = -(-(w - ids) // group)
        if len(grid) * groups < len(ctx.expected):
            continue
        for drop in (False, True):
            if not drop and len(grid) * groups != len(ctx.expected):
                continue
            if drop and len(grid) > 5000:  # costly to try blind on big tables
                continue
            yield Step(op="fold", args={"id_count": ids, "group_size": group, "drop_empty_groups": drop})


def propose_divide(grid: list[Row], ctx: Context) -> Iterator[Step]:
    w = _width(grid)
    if len(ctx.expected) != len(grid) or w > 20:
        return
    for c in range(1, w):
        empties = sum(1 for r in grid if not _cell(r, c).strip())
        if 0 < empties < len(grid) and ctx.expected_width == w + c:
            yield Step(op="divide", args={"column": c, "width": w})


def propose_divide_by_pattern(grid: list[Row], ctx: Context) -> Iterator[Step]:
    """A column whose cells fall into two token classes, when the output has one column more."""
    w = _width(grid)
    if len(ctx.expected) != len(grid) or ctx.expected_width != w + 1 or w > 20:
        return
    body = _sample(_body(grid, ctx))
    for c in range(w):
        values = [v for v in (_cell(r, c) for r in body) if v.strip()]
        if len(values) < 2:
            continue
        partitions: set[tuple[bool, ...]] = set()
        for pattern in TOKEN_CLASSES:
            regex = re.compile(pattern)
            hits = tuple(bool(regex.fullmatch(v)) for v in values)
            if any(hits) and not all(hits) and hits not in partitions:
                partitions.add(hits)
                yield Step(op="divide_by_pattern", args={"column": c, "pattern": pattern, "header": ctx.header})
            if len(partitions) >= 3:
                break


def propose_pandas_floats(grid: list[Row], ctx: Context) -> Iterator[Step]:
    """Numeric columns whose pandas round trip ("7" -> "7.0", 17 digits -> 16) gives cells of the output."""
    if not ctx.numeric_gaps:
        return
    body = _sample(_body(grid, ctx), 200)
    columns = []
    for c in range(min(_width(grid), 60)):
        values = tuple(_cell(r, c) for r in body)
        fits = ctx.memo.get(values)
        if fits is None:
            fits = ctx.memo[values] = _round_trip_fits(values, ctx.expected_cells)
        if fits:
            columns.append(c)
    if columns:
        yield Step(op="pandas_floats", args={"columns": columns, "header": ctx.header})


def _round_trip_fits(values: tuple[str, ...], expected_cells: set[str]) -> bool:
    """All values are numbers, the round trip changes some into output cells (and no others), and one of the
    changes is pandas' own: its parser's off-by-one-unit value. Plainer rewrites ("7" -> "7.0", "5E-1" -> "0.5")
    are left to number formatting, which keeps the digits as written and so generalizes better."""
    quirk = False
    for v in values:
        if not v:
            continue
        if not _FLOAT_TEXT.fullmatch(v):
            return False  # not a number: not a float column
        written = pandas_float_text(v)
        if written == v:
            continue
        if written not in expected_cells:
            return False
        quirk = quirk or (v not in expected_cells and written != repr(float(v)))
    return quirk


def propose(grid: list[Row], ctx: Context, last: bool) -> Iterator[Step]:
    """All candidate steps for `grid`, in the registry's search order. `last`: no step may follow this one."""
    ctx = replace(ctx, last=last)
    for proposer in proposers():
        yield from proposer(grid, ctx)
