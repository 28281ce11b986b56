"""Whether the relational steps of a program are pinned down by the example, or one of several readings of it.

A filter, a top-N, a per-group pick or a running total reproduces the example with parameters fitted to it; on
the next file another reading of the same example may be the intended one. Two kinds of doubt:
- a parameter the example leaves open: a threshold that could lie anywhere in a gap between the kept and the
  dropped values, a fixed row count, a condition that only drops one example row, an aggregate that is the same
  for every group, a filter ahead of a per-group pick that the example does not show the order of;
- another reading that agrees on the example: a group key that coincides with another column, a tie broken by
  row order, dates compared as text, a running total over rows that already come sorted, a filter whose kept
  rows are one per group, an equality filter another column explains as well. Each such rival program is run
  on the example plus one row made of its own cells; the first row on which the two disagree is reported.

A constant the user hinted (recast_engine.hints) is no parameter left open, and a rival that tests an unhinted
constant where the program tests hinted ones, or picks with a function the hints leave out, is no other reading.
"""
from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from recast_engine.dsl import Program, Step
from recast_engine.dsl.interpret import run
from recast_engine.hints import NO_HINTS, Hints
from recast_engine.runtime import relational as rt

Row = list[str]
Where = dict[str, Any]

MAX_PROBE_ROWS = 60  # example rows the perturbed inputs are built from
MAX_PROBES = 300  # perturbed inputs tried per rival
THRESHOLD_TESTS = ("lt", "le", "gt", "ge")
_KEYED = ("keep_extremes", "keep_top", "keep_groups", "add_window")
_ORDERED_WINDOWS = ("running_sum", "row_number", "difference")


@dataclass
class Doubt:
    reason: str
    suggestion: str
    row: Row | None = None  # an input row on which the readings differ
    outputs: list[Row] = field(default_factory=list)  # what each reading outputs for it


def _cell(row: Row, i: int) -> str:
    return row[i] if i < len(row) else ""


def _apply(step: Step, grid: list[Row]) -> list[Row]:
    return run(Program(steps=[step]), grid)


def _split(step: Step, grid: list[Row]) -> tuple[list[Row], list[Row]]:
    n = 1 if step.args.get("header") else 0
    return grid[:n], grid[n:]


def _name(head: list[Row], c: int) -> str:
    name = _cell(head[0], c) if head else ""
    return f"column {c + 1}" + (f" ({name!r})" if name else "")


def relational_doubt(program: Program, input_grid: list[Row], hints: Hints = NO_HINTS) -> Doubt | None:
    """The first doubt about the program's relational steps (None: they are pinned by the example and hints)."""
    grid = [list(r) for r in input_grid]
    grids: list[list[Row]] = []
    for step in program.steps:
        grids.append(grid)
        try:
            grid = _apply(step, grid)
        except Exception:  # noqa: BLE001 - a program failing on its own example is left to the verifier
            return None
    grids.append(grid)
    for index in range(len(program.steps)):
        doubt = _open_parameter(program, index, grids, hints)
        if doubt is not None:
            return doubt
    for rival, why in _rivals(program, grids):
        if contradicts_hints(rival, program, hints):
            continue
        doubt = _disagreement(program, rival, why, input_grid)
        if doubt is not None:
            return doubt
    return None


# ---------------------------------------------------------------- parameters the example leaves open


def _open_parameter(program: Program, index: int, grids: list[list[Row]], hints: Hints = NO_HINTS) -> Doubt | None:
    step = program.steps[index]
    grid = grids[index]
    head, body = _split(step, grid)
    if step.op == "head_rows":
        count = step.args.get("count")
        if hints.hinted(str(count), "number"):
            return None  # the user gave the count
        return Doubt(
            f"step head_rows keeps the first {count} rows because the example's output has {count}: on a longer "
            "file the count is a guess (the rows kept may rather be those passing a test, or per group)",
            f"say how many rows to keep (an instruction), or add rows showing which rows are kept; a row like "
            f"{body[count] if count is not None and count < len(body) else body[-1] if body else []} after them "
            "would show whether it is kept",
            body[count] if isinstance(count, int) and count < len(body) else None,
        )
    if step.op == "filter_rows":
        where = step.args.get("where") or {}
        return (_loose_threshold(program, index, where, head, body, grid, hints)
                or _single_exception(where, head, body, hints))
    if step.op == "group_rows":
        doubt = _unshown_single_values(step, head, body)
        if doubt is not None:
            return doubt
    if step.op == "group_rows" and index == len(program.steps) - 1:
        if any(_hinted_filter(s, hints) for s in program.steps[:index]):
            return None  # which rows are aggregated is what the user's constant says
        return _constant_aggregate(program, step, grid)
    if step.op in ("keep_extremes", "keep_top") and step.args.get("as_") == "text":
        doubt = _alphabetical_pick(step, head, body)
        if doubt is not None:
            return doubt
    if step.op == "keep_extremes" and index > 0 and program.steps[index - 1].op == "filter_rows":
        return _filtered_pick(program.steps[index - 1], step, grids[index - 1], grid)
    if step.op == "keep_groups" and "some" in step.args.get("having", {}):
        later = any(s.op == "filter_rows" for s in program.steps[index + 1:])
        return _single_match(step, head, body) if later else None
    if step.op == "distinct_rows":
        doubt = _ordered_duplicates(program, index, step, head, body)
        if doubt is None and any(s.op in _KEYED for s in program.steps[:index]):
            doubt = _unshown_order(program, index, step, grids[index + 1])
        return doubt
    return None


def _unshown_single_values(step: Step, head: list[Row], body: list[Row]) -> Doubt | None:
    """A group's second largest (smallest) value when every group of the example holds two or more: what a group
    holding one value gives, an empty cell or no row at all (a join on the second value), is not shown."""
    groups = rt._groups(body, step.args.get("keys", [])).values()
    for aggregate in step.args.get("aggregates", []):
        if aggregate.get("func") not in ("second_min", "second_max"):
            continue
        column = aggregate.get("column", 0)
        values = [{v for i in members if (v := rt._value(_cell(body[i], column), aggregate.get("as", "text"),
                                                           aggregate.get("formats", []))) is not None}
                  for members in groups]
        if all(len(v) > 1 for v in values):
            keys = " and ".join(_name(head, k) for k in step.args.get("keys", []))
            return Doubt(
                f"step group_rows takes the {aggregate['func'].replace('_', ' ')} of {_name(head, column)} per "
                f"{keys}, and every group of the example holds two or more values: whether a group with one value "
                "gets an empty cell or no row is not shown",
                f"add a {keys} with a single row, with its expected output",
            )
    return None


def _single_match(step: Step, head: list[Row], body: list[Row]) -> Doubt | None:
    """Groups kept because one of their rows passes a test, a later filter picking other rows of them: when every
    kept group holds a single passing row, whether a row is kept once (EXISTS) or once per passing row of its group
    (a join of the table with its passing rows) is not shown."""
    test = step.args["having"]["some"]
    passing = [len([i for i in members if rt._holds(body[i], test)])
               for members in rt._groups(body, step.args.get("keys", [])).values()]
    if any(n > 1 for n in passing) or not any(passing):
        return None
    keys = " and ".join(_name(head, k) for k in step.args.get("keys", []))
    return Doubt(
        f"step keep_groups keeps the rows whose {keys} has a row passing a test, and every such group holds one "
        "passing row: whether a row is kept once, or once for each passing row of its group (a join), is not shown",
        "add a group holding two rows that pass the test, with its expected output",
    )


def _ordered_duplicates(program: Program, index: int, step: Step, head: list[Row], body: list[Row]) -> Doubt | None:
    """distinct_rows keeping the first (last) of rows that differ in a column the output shows, where the kept row
    also holds its group's extreme of another column: the row order or that column may decide which row is kept."""
    columns = step.args.get("columns", [])
    width = max((len(r) for r in body), default=0)
    shown: set[int] = set(range(width))
    if index == len(program.steps) - 1 and program.columns and all(c.value.op == "col" for c in program.columns):
        shown = {c.value.args.get("index", 0) for c in program.columns}
    if shown <= set(columns):
        return None  # the output shows only the distinct columns: which row stands for them does not show
    groups: dict[tuple[str, ...], list[Row]] = {}
    for r in body:
        groups.setdefault(tuple(_cell(r, c) for c in columns), []).append(r)
    differing = [g for g in groups.values() if len({tuple(r) for r in g}) > 1]
    if not differing:
        return None
    pick = -1 if step.args.get("keep") == "last" else 0
    for c in range(width):
        if c in columns:
            continue
        for extreme in (max, min):
            if all(len({_cell(r, c) for r in g}) > 1 and _cell(g[pick], c) == extreme(_cell(r, c) for r in g)
                   for g in differing):
                return Doubt(
                    f"step distinct_rows keeps the {step.args.get('keep', 'first')} of the rows sharing "
                    f"{' and '.join(_name(head, k) for k in columns)}, which in the example is also the one with the "
                    f"{'largest' if extreme is max else 'smallest'} {_name(head, c)}: which row is kept is not shown",
                    "add duplicates whose order differs from that column's order, or an instruction saying which "
                    "row to keep",
                )
    return None


def _unshown_order(program: Program, index: int, step: Step, out: list[Row]) -> Doubt | None:
    """One row per group in the input's order, which the example also shows sorted by the group's key: whether
    the output is sorted (GROUP BY ... ORDER BY) is not shown."""
    if any(s.op == "sort_by" for s in program.steps[index + 1:]):
        return None
    head, body = _split(step, out)
    columns = step.args.get("columns", [])
    keys = [[_cell(r, c) for c in columns] for r in body]
    if len(keys) < 2 or keys != sorted(keys):
        return None
    return Doubt(
        f"the rows come one per {' and '.join(_name(head, c) for c in columns)} in the input's order, which in the "
        "example is also their sorted order: whether the output is sorted is not shown",
        "add example rows whose groups come out of order in the input, or an instruction saying how to sort",
    )


def _alphabetical_pick(step: Step, head: list[Row], body: list[Row]) -> Doubt | None:
    """Rows picked by the alphabetical order of words: seldom what is meant, unless the pick is only between an
    empty and a filled cell, or between codes holding numbers."""
    c = step.args.get("column", 0)
    for members in rt._groups(body, step.args.get("keys", [])).values():
        words = sorted({_cell(body[i], c) for i in members if _cell(body[i], c).strip()})
        # codes with digits ("GUC320141225", "v2") sort like the numbers they hold; plain words do not
        if len(words) >= 2 and not any(ch.isdigit() for w in words for ch in w):
            order = "last" if step.args.get("which") == "max" or step.args.get("descending") else "first"
            return Doubt(
                f"step {step.op} keeps the rows whose {_name(head, c)} comes {order} alphabetically in their group "
                f"(of {words[:3]}): that the alphabetical order decides "
                "which rows are kept is a guess",
                "add rows showing which row of a group is kept, or an instruction (latest, largest, first...)",
                list(body[members[0]]),
            )
    return None


def _atoms(where: Where) -> Iterator[Where]:
    for key in ("all", "any"):
        for part in where.get(key, []):
            yield from _atoms(part)
    if "not" in where:
        yield from _atoms(where["not"])
    if "column" in where:
        yield where


def _resolution(where: Where, written: list[str]) -> Decimal | datetime.timedelta:
    """The smallest step between two values the column is written with (its decimals, or its date format)."""
    if where.get("as") == "date":
        formats = "".join(where.get("formats", []))
        if "%S" in formats:
            return datetime.timedelta(seconds=1)
        if "%M" in formats:
            return datetime.timedelta(minutes=1)
        if "%H" in formats or "%I" in formats:
            return datetime.timedelta(hours=1)
        return datetime.timedelta(days=1)
    decimals = max((len(w.strip().partition(".")[2]) for w in written if "." in w), default=0)
    return Decimal(1).scaleb(-decimals)


def _written_like(value: Any, where: Where, written: list[str]) -> str:
    if isinstance(value, datetime.datetime):
        for fmt in where.get("formats", []):
            text = value.strftime(fmt)
            if rt._moment(text, [fmt]) == value:
                return text
        return value.isoformat()
    decimals = max((len(w.strip().partition(".")[2]) for w in written if "." in w), default=0)
    return f"{value:.{decimals}f}"


def _loose_threshold(
    program: Program, index: int, where: Where, head: list[Row], body: list[Row], grid: list[Row],
    hints: Hints = NO_HINTS,
) -> Doubt | None:
    """A threshold whose cut could lie anywhere in the gap between the values on either side of it (unless the
    user hinted that cut)."""
    for atom in _atoms(where):
        if atom.get("test") not in THRESHOLD_TESTS or "other" in atom or "value" not in atom:
            continue
        if hints.tests_hinted(atom):
            doubt = _open_boundary(program, index, atom, where, head, body, grid)
            if doubt is not None:
                return doubt
            continue
        c = atom["column"]
        as_, formats = atom.get("as", "text"), atom.get("formats", [])
        if as_ not in ("number", "date"):
            continue
        written = [_cell(r, c) for r in body if _cell(r, c).strip()]
        values = [(rt._value(w, as_, formats), w) for w in written]
        known = [(v, w) for v, w in values if v is not None]
        holds = [(v, w) for v, w in known if rt._compare(v, atom["test"], rt._value(atom["value"], as_, formats))]
        fails = [(v, w) for v, w in known if (v, w) not in holds]
        upward = atom["test"] in ("gt", "ge")
        below, above = (fails, holds) if upward else (holds, fails)
        if not below or not above:
            continue
        low, low_text = max(below, key=lambda p: p[0])
        high, high_text = min(above, key=lambda p: p[0])
        step_size = _resolution(atom, written)
        if high - low <= step_size:
            continue  # adjacent values: no other cut fits the example
        probe_value = low + step_size  # just above the largest value below the cut
        probe_text = _written_like(probe_value, atom, written)
        chosen_keeps = rt._compare(rt._value(probe_text, as_, formats), atom["test"],
                                   rt._value(atom["value"], as_, formats))
        # the other extreme reading: the cut right above `low` when the chosen one is higher, else right at `high`
        other = {**atom, "test": "gt", "value": low_text} if upward else {**atom, "test": "lt", "value": high_text}
        if chosen_keeps == rt._compare(rt._value(probe_text, as_, formats), other["test"],
                                       rt._value(other["value"], as_, formats)):
            other = {**atom, "test": "ge", "value": high_text} if upward else {**atom, "test": "le", "value": low_text}
        row = _probe_row([r for r in body if rt._holds(r, where)] or body, c, probe_text)
        name = _name(head, c)
        outputs = _outputs_on_row(program, index, atom, other, grid, row)
        described = f"{name} {_SYMBOL[atom['test']]} {atom['value']}"
        return Doubt(
            f"step filter_rows keeps rows where {described}, but any cut between {low_text} and {high_text} "
            f"keeps the same example rows: a row like {row} ({name} {probe_text}) is "
            f"{'kept' if chosen_keeps else 'dropped'} by the chosen cut and "
            f"{'dropped' if chosen_keeps else 'kept'} by {name} {_SYMBOL[other['test']]} {other['value']}",
            f"add a row whose {name} lies between {low_text} and {high_text} (like {probe_text}) with its expected "
            f"output, or an instruction naming the threshold",
            row,
            outputs,
        )
    return None


_SYMBOL = {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "=", "ne": "!="}
_STRICTNESS_FLIPPED = {"lt": "le", "le": "lt", "gt": "ge", "ge": "gt"}


def _open_boundary(program: Program, index: int, atom: Where, where: Where, head: list[Row], body: list[Row],
                   grid: list[Row]) -> Doubt | None:
    """A hinted cut that no example row holds: the hint places the cut, but whether a row holding the cut itself
    passes (>= or >, <= or <) is not shown."""
    c, as_, formats = atom["column"], atom.get("as", "text"), atom.get("formats", [])
    cut = rt._value(atom["value"], as_, formats) if as_ in ("number", "date") else None
    if cut is None or any(rt._value(_cell(r, c), as_, formats) == cut for r in body if _cell(r, c).strip()):
        return None
    other = {**atom, "test": _STRICTNESS_FLIPPED[atom["test"]]}
    row = _probe_row([r for r in body if rt._holds(r, where)] or body, c, atom["value"])
    name, kept = _name(head, c), rt._holds(row, where)
    return Doubt(
        f"step filter_rows keeps rows where {name} {_SYMBOL[atom['test']]} {atom['value']}, but no example row has "
        f"{name} {atom['value']}: a row like {row} is {'kept' if kept else 'dropped'} by the "
        f"chosen test and {'dropped' if kept else 'kept'} by {name} "
        f"{_SYMBOL[other['test']]} {atom['value']}",
        f"add a row whose {name} is {atom['value']} with its expected output, or an instruction naming the test",
        row,
        _outputs_on_row(program, index, atom, other, grid, row),
    )


def _probe_row(rows: list[Row], c: int, text: str) -> Row:
    """An example row (the first the filter keeps) with its column c set to text."""
    row = list(rows[0]) + [""] * max(0, c + 1 - len(rows[0]))
    row[c] = text
    return row


def _replace_atom(where: Where, old: Where, new: Where) -> Where:
    if where is old:
        return new
    out = dict(where)
    for key in ("all", "any"):
        if key in where:
            out[key] = [_replace_atom(p, old, new) for p in where[key]]
    if "not" in where:
        out["not"] = _replace_atom(where["not"], old, new)
    return out


def _outputs_on_row(program: Program, index: int, atom: Where, other: Where, grid: list[Row], row: Row) -> list[Row]:
    """What the program and its variant (atom replaced) output for the example plus `row`, first differing rows."""
    step = program.steps[index]
    variant_step = step.model_copy(update={"args": {**step.args, "where": _replace_atom(step.args["where"], atom,
                                                                                      other)}})
    variant = program.model_copy(update={"steps": [*program.steps[:index], variant_step, *program.steps[index + 1:]]})
    return _first_difference(program, variant, [*grid, row], start=index) or []


def _first_difference(program: Program, other: Program, grid: list[Row], start: int = 0) -> list[Row] | None:
    """The first output rows on which two programs differ when run on `grid` from step `start` (None: equal)."""
    tail = Program(steps=program.steps[start:], header_rows=program.header_rows, columns=program.columns)
    other_tail = Program(steps=other.steps[start:], header_rows=other.header_rows, columns=other.columns)
    try:
        mine, theirs = run(tail, [list(r) for r in grid]), run(other_tail, [list(r) for r in grid])
    except Exception:  # noqa: BLE001
        return None
    if mine == theirs:
        return None
    i = next((k for k, (a, b) in enumerate(zip(mine, theirs)) if a != b), min(len(mine), len(theirs)))
    return [mine[i] if i < len(mine) else [], theirs[i] if i < len(theirs) else []]


def _single_exception(where: Where, head: list[Row], body: list[Row], hints: Hints = NO_HINTS) -> Doubt | None:
    """A conjunction with a part that only drops one example row the other parts keep: a rule from one case."""
    parts = where.get("all")
    if not parts or len(parts) < 2:
        return None
    for k, part in enumerate(parts):
        # a hinted threshold is the user's cut; an equality with a hinted value dropping one row is still one case
        # (the value may be meant for another test: a team numbered 2 is not a count of 2)
        threshold = part.get("test") in THRESHOLD_TESTS
        if threshold and hints.tests_hinted(part):
            continue
        others = [p for j, p in enumerate(parts) if j != k]
        passing = [r for r in body if all(rt._holds(r, p) for p in others)]
        dropped = [r for r in passing if not rt._holds(r, part)]
        if len(dropped) == 1 and len(passing) > 1:
            row = dropped[0]
            column = part.get("column", 0)
            return Doubt(
                f"step filter_rows drops one example row ({row}) with a test of its own ({_name(head, column)} "
                f"{_SYMBOL.get(part.get('test', ''), part.get('test', ''))} {part.get('value', '')!r}): why that "
                "row goes is a guess from one case",
                f"add more rows like {row} (dropped or kept) so the rule for them shows, or an instruction",
                row,
            )
    return None


def _constant_aggregate(program: Program, step: Step, grid: list[Row]) -> Doubt | None:
    """An aggregate the output shows that is the same for every group: the example does not show what moves it."""
    out = _apply(step, grid)
    head, body = _split(step, out)
    keys = step.args.get("keys", [])
    if len(body) < 2:
        return None
    shown = {c.value.args.get("index") for c in program.columns if c.value.op == "col"} if program.columns else None
    for k, aggregate in enumerate(step.args.get("aggregates", [])):
        c = len(keys) + k
        if shown is not None and c not in shown:
            continue
        values = {_cell(r, c) for r in body}
        if len(values) == 1:
            value = next(iter(values))
            return Doubt(
                f"step group_rows: the {aggregate.get('func')} of "
                f"{_name(_split(step, grid)[0], aggregate.get('column', 0))} is {value!r} for every group "
                "of the example, so which rows it counts (all of them, or only some) is not shown",
                "add rows so that the groups' values differ, or an instruction saying what is aggregated",
            )
    return None


def _filtered_pick(filter_step: Step, pick: Step, unfiltered: list[Row], filtered: list[Row]) -> Doubt | None:
    """filter then keep each group's extreme: whether a row the filter drops but that ties with its group's
    extreme is kept (SQL computing the extreme on the filtered rows, then joining back) is not shown."""
    if pick.args.get("ties", "all") != "all" or not pick.args.get("keys"):
        return None
    body = _split(pick, filtered)[1]
    full_head, full = _split(filter_step, unfiltered)
    picked = _split(pick, _apply(pick, filtered))[1]
    keys, c = pick.args["keys"], pick.args["column"]
    extreme = {tuple(_cell(r, k) for k in keys): _cell(r, c) for r in picked}
    kept = {tuple(r) for r in body}
    for row in full:
        key = tuple(_cell(row, k) for k in keys)
        if tuple(row) in kept or key not in extreme or _cell(row, c) == extreme[key]:
            continue
        probe = list(row)
        probe[c] = extreme[key]
        if rt._holds(probe, filter_step.args.get("where") or {}):
            continue  # the filter keeps such a row (it tests the picked column): no dropped row ties
        return Doubt(
            f"the rows a filter drops are left out before each group's {pick.args.get('which')} of "
            f"{_name(full_head, c)} is picked; whether a dropped row holding that same value is kept is not shown "
            f"by the example (a row like {probe})",
            f"add a row like {probe} with its expected output",
            probe,
        )
    return None


# ---------------------------------------------------------------- other readings that agree on the example


def _with_step(program: Program, index: int, step: Step | None, before: Step | None = None,
               after: Step | None = None) -> Program:
    steps = list(program.steps)
    replaced = [s for s in (before, step, after) if s is not None]
    steps[index:index + 1] = replaced
    return program.model_copy(update={"steps": steps})


# steps that keep every column where it is (they keep, drop, order or append), so that a column an earlier
# add_window appended is still the one at the width of its input
_KEEP_COLUMNS = frozenset({"filter_rows", "keep_extremes", "keep_top", "keep_groups", "keep_referenced", "sort_by",
                           "head_rows", "add_window", "keep_rows_where", "sort_rows", "sort_rows_by",
                           "keep_rows_matching", "drop_empty_rows", "deduplicate"})


def _bijective(body: list[Row], a: int, b: int) -> bool:
    pairs = {(_cell(r, a), _cell(r, b)) for r in body}
    return len(pairs) == len({p[0] for p in pairs}) == len({p[1] for p in pairs})


def _rivals(program: Program, grids: list[list[Row]]) -> Iterator[tuple[Program, str]]:
    for index, step in enumerate(program.steps):
        grid = grids[index]
        head, body = _split(step, grid)
        width = max((len(r) for r in body), default=0)
        args = step.args
        if step.op in _KEYED and args.get("keys"):
            keys = list(args["keys"])
            target = args.get("column")
            # a group's value an earlier window step added follows its group: no other grouping of the rows
            derived = {max((len(r) for r in grids[k]), default=0) for k, s in enumerate(program.steps[:index])
                       if s.op == "add_window" and all(t.op in _KEEP_COLUMNS for t in program.steps[k + 1:index])}
            for k, key in enumerate(keys):
                if len({_cell(r, key) for r in body}) == len(body):
                    continue
                for other in range(width):
                    if other in keys or other == target or other in derived or not _bijective(body, key, other):
                        continue
                    swapped = keys[:k] + [other] + keys[k + 1:]
                    yield (_with_step(program, index, step.model_copy(update={"args": {**args, "keys": swapped}})),
                           f"the groups by {_name(head, key)} are also the groups by {_name(head, other)} in the "
                           "example")
        if step.op in ("keep_extremes", "keep_top") and not args.get("keys"):
            yield from _first_rows_rival(program, index, step, head, body)
        if step.op == "keep_groups" and "rows" in args.get("having", {}) and len(args.get("keys", [])) == 1:
            yield from _named_groups_rival(program, index, step, head, grids[index + 1])
        if step.op == "keep_extremes":
            tiebreak = args.get("tiebreak")
            if tiebreak:
                plain = {k: v for k, v in args.items() if k != "tiebreak"}
                for ties in ("first", "last"):
                    yield (_with_step(program, index, step.model_copy(update={"args": {**plain, "ties": ties}})),
                           f"which of the rows holding the same {args.get('which')} is kept may follow the row order "
                           f"or {_name(head, tiebreak['column'])}")
                flipped = "max" if tiebreak.get("which") == "min" else "min"
                yield (_with_step(program, index, step.model_copy(
                    update={"args": {**args, "tiebreak": {**tiebreak, "which": flipped}}})),
                       f"which of the rows holding the same {args.get('which')} is kept may follow the {flipped} of "
                       f"{_name(head, tiebreak['column'])}")
            if args.get("ties", "all") != "all":
                for key in _order_keys(body, width, exclude={args.get("column"), *args.get("keys", [])}):
                    sort = Step(op="sort_by", args={"keys": [key], "header": args.get("header", False)})
                    yield (_with_step(program, index, step, before=sort),
                           f"which of the rows holding the same {args.get('which')} is kept may follow the row order "
                           f"or {_name(head, key['column'])}")
                    # the same pick keeping the rows in their order (a sort first may reorder the output)
                    tiebreak = {"column": key["column"], "which": "max" if key["descending"] else "min",
                                "as_": key["as"]} | ({"formats": key["formats"]} if key.get("formats") else {})
                    yield (_with_step(program, index, step.model_copy(
                        update={"args": {**args, "ties": "all", "tiebreak": tiebreak}})),
                           f"which of the rows holding the same {args.get('which')} is kept may follow the row order "
                           f"or the {tiebreak['which']} of {_name(head, key['column'])}")
                for ties in ("all", "first", "last"):
                    if ties != args.get("ties"):
                        yield (_with_step(program, index, step.model_copy(update={"args": {**args, "ties": ties}})),
                               "which of the rows holding the same extreme is kept is not shown (row order, or "
                               "another column)")
            if args.get("as_") == "date":
                yield (_with_step(program, index, step.model_copy(update={"args": {**args, "as_": "text",
                                                                                    "formats": []}})),
                       f"the example orders {_name(head, args['column'])} the same read as dates or as text")
        if step.op == "add_window" and args.get("func") in _ORDERED_WINDOWS:
            for c in _sorted_columns(body, width, exclude=args.get("column")):
                sort = Step(op="sort_by", args={"keys": [c], "header": args.get("header", False)})
                yield (_with_step(program, index, step, before=sort),
                       f"the example's rows already come sorted by {_name(head, c['column'])}: whether the "
                       f"{args.get('func')} follows the row order or that column's order is not shown")
        if step.op == "filter_rows":
            yield from _filter_rivals(program, index, step, head, body)
        if step.op in ("distinct_rows", "group_rows"):
            yield from _dependent_column_rivals(program, index, step, head, body)


def _named_groups_rival(program: Program, index: int, step: Step, head: list[Row], kept_grid: list[Row]
                        ) -> Iterator[tuple[Program, str]]:
    """Groups kept for a row count fitted to the example (more than 2 rows, not a repeated key's more than 1): the
    rows holding those few key values are as good a reading."""
    from recast_engine.synthesis.relational import step_constants  # noqa: PLC0415 - relational imports this module

    if not step_constants(step):
        return
    key = step.args["keys"][0]
    _, kept = _split(step, kept_grid)
    values = sorted({_cell(r, key) for r in kept})
    if not 1 <= len(values) <= 3:
        return
    where = {"column": key, "test": "eq", "value": values[0]} if len(values) == 1 else {
        "column": key, "test": "in", "values": values}
    rival = Step(op="filter_rows", args={"where": where, "header": step.args.get("header", False)})
    yield (_with_step(program, index, rival),
           f"the groups kept for their row count are those whose {_name(head, key)} is {' or '.join(values)}")


def _first_rows_rival(program: Program, index: int, step: Step, head: list[Row],
                      body: list[Row]) -> Iterator[tuple[Program, str]]:
    """When the rows an overall pick keeps are the example's first rows, "the first rows" reads it as well."""
    kept = _apply(step, head + body)[len(head):]
    if kept and kept == body[:len(kept)] and len(kept) < len(body):
        first = Step(op="head_rows", args={"count": len(kept), "header": step.args.get("header", False)})
        yield (_with_step(program, index, first),
               f"the rows holding the {step.args.get('which', 'extreme')} of {_name(head, step.args['column'])} "
               "are also the example's first rows")


def _dependent_column_rivals(program: Program, index: int, step: Step, head: list[Row],
                             body: list[Row]) -> Iterator[tuple[Program, str]]:
    """A column the example's keys determine: distinct on the keys an earlier step groups by with or without it,
    or the min, max, first or last of it per group, coincide on the example (one value per key) and part on rows
    where they do not."""
    args = step.args
    if step.op == "distinct_rows":
        # only when an earlier step groups by the other columns: one row per group may be what is meant
        grouped = [sorted(s.args.get("keys") or []) for s in program.steps[:index] if s.op in _KEYED]
        columns = list(args.get("columns", []))
        for c in columns if len(columns) > 1 else []:
            rest = [k for k in columns if k != c]
            if sorted(rest) not in grouped:
                continue
            if _apply(step.model_copy(update={"args": {**args, "columns": rest}}), body) == _apply(step, body):
                yield (_with_step(program, index, step.model_copy(update={"args": {**args, "columns": rest}})),
                       f"each {' and '.join(_name(head, k) for k in rest)} has one {_name(head, c)} in the "
                       "example: whether rows are distinct with it or without it is not shown")
        return
    groups: dict[tuple[str, ...], set[str]] = {}
    for k, aggregate in enumerate(args.get("aggregates", [])):
        if aggregate.get("func") not in ("min", "max", "first", "last"):
            continue
        groups.clear()
        for r in body:
            groups.setdefault(tuple(_cell(r, key) for key in args.get("keys", [])), set()).add(
                _cell(r, aggregate.get("column", 0)))
        if any(len(values) > 1 for values in groups.values()):
            continue
        for func in ("min", "max", "first", "last"):
            if func != aggregate.get("func"):
                changed = list(args["aggregates"])
                changed[k] = {**aggregate, "func": func}
                yield (_with_step(program, index, step.model_copy(update={"args": {**args, "aggregates": changed}})),
                       f"{_name(head, aggregate.get('column', 0))} has one value per group in the example: whether "
                       f"the {aggregate.get('func')} or the {func} of it is meant is not shown")
        return


def _order_keys(body: list[Row], width: int, exclude: set[Any]) -> Iterator[Where]:
    from recast_engine.synthesis.relational import column_kind  # noqa: PLC0415

    for c in range(width):
        kind = column_kind([_cell(r, c) for r in body])
        if c in exclude or kind.as_ == "text":
            continue
        for descending in (True, False):
            yield {"column": c, "as": kind.as_, "descending": descending} | (
                {"formats": kind.formats} if kind.formats else {})


def _sorted_columns(body: list[Row], width: int, exclude: int | None) -> list[Where]:
    from recast_engine.synthesis.relational import column_kind  # noqa: PLC0415 - relational imports this module's users

    found = []
    for c in range(width):
        if c == exclude:
            continue
        kind = column_kind([_cell(r, c) for r in body])
        values = [rt._value(_cell(r, c), kind.as_, kind.formats) for r in body]
        if len(body) < 3 or any(v is None for v in values) or len(set(values)) < len(values):
            continue
        key = {"column": c, "as": kind.as_, "descending": False} | ({"formats": kind.formats} if kind.formats else {})
        if values == sorted(values):
            found.append(key)
        elif values == sorted(values, reverse=True):
            found.append({**key, "descending": True})
    return found


def _filter_rivals(program: Program, index: int, step: Step, head: list[Row],
                   body: list[Row]) -> Iterator[tuple[Program, str]]:
    from recast_engine.synthesis.relational import learn_predicates  # noqa: PLC0415

    where = step.args.get("where") or {}
    mask = [rt._holds(r, where) for r in body]
    kept = [r for r, m in zip(body, mask) if m]
    if "column" in where and where.get("test") in ("eq", "ne", "in"):
        for other in learn_predicates(body, mask, limit=4):
            if "column" in other and other.get("column") != where["column"] and "other" not in other:
                yield (_with_step(program, index, step.model_copy(update={"args": {**step.args, "where": other}})),
                       f"the kept rows are also those where {_name(head, other['column'])} "
                       f"{_SYMBOL.get(other.get('test', ''), other.get('test', ''))} "
                       f"{other.get('value', other.get('values', ''))}")
    # a threshold whose kept rows are one per group: each group's extreme is as likely a reading (unless a later
    # step already picks or aggregates per group: a second pick would change nothing the example could show)
    picked_later = any(s.op in ("keep_extremes", "keep_top", "group_rows") for s in program.steps[index + 1:])
    if ("column" in where and where.get("test") in THRESHOLD_TESTS and "other" not in where and len(kept) > 1
            and not picked_later):
        width = max((len(r) for r in body), default=0)
        for k in range(width):
            if k == where["column"]:
                continue
            values = [_cell(r, k) for r in kept]
            if len(set(values)) != len(values) or len({_cell(r, k) for r in body}) == len(body):
                continue
            pick = Step(op="keep_extremes", args={
                "keys": [k], "column": where["column"], "which": "max" if where["test"] in ("gt", "ge") else "min",
                "as_": where.get("as", "number"), "formats": where.get("formats", []), "ties": "all",
                "header": step.args.get("header", False)})
            yield (_with_step(program, index, step, after=pick),
                   f"the rows the filter keeps are one per {_name(head, k)}, each its group's "
                   f"{'largest' if where['test'] in ('gt', 'ge') else 'smallest'} {_name(head, where['column'])}")


def _probes(input_grid: list[Row], header_rows: int) -> Iterator[tuple[list[Row], Row]]:
    """The example plus one row: a copy of one of its rows, as is or with one cell taken from another row."""
    head, body = input_grid[:header_rows], input_grid[header_rows:]
    body = body[:MAX_PROBE_ROWS]
    width = max((len(r) for r in body), default=0)
    columns = [sorted({_cell(r, c) for r in body})[:8] for c in range(width)]
    made = 0
    seen: set[tuple[str, ...]] = set()
    for row in body:
        candidates = [list(row)]
        for c in range(width):
            for value in columns[c]:
                if value != _cell(row, c):
                    candidates.append([value if j == c else _cell(row, j) for j in range(width)])
        for candidate in candidates:
            if tuple(candidate) in seen:
                continue
            seen.add(tuple(candidate))
            yield head + body + [candidate], candidate
            made += 1
            if made >= MAX_PROBES:
                return


def _disagreement(program: Program, rival: Program, why: str, input_grid: list[Row]) -> Doubt | None:
    try:
        if run(rival, [list(r) for r in input_grid]) != run(program, [list(r) for r in input_grid]):
            return None  # not a reading of this example
    except Exception:  # noqa: BLE001
        return None
    for probe, row in _probes(input_grid, program.header_rows):
        outputs = _first_difference(program, rival, probe)
        if outputs is not None:
            return Doubt(
                f"{why}: two programs reproduce the example but disagree once a row like {row} is added: the chosen "
                f"one gives {outputs[0]}, the other gives {outputs[1]}",
                f"add a row like {row} with its expected output, or an instruction that settles it",
                row,
                outputs,
            )
    return None


# ---------------------------------------------------------------- the user's hints


def _tested_constants(program: Program) -> list[Where]:
    """The predicate atoms of the program's filters and group tests that compare with a constant."""
    found: list[Where] = []
    for step in program.steps:
        having = step.args.get("having") or {}
        if "rows" in having and "value" in having:
            found.append({"value": str(having.get("value", "")), "as": "number"})
        if step.op in ("head_rows", "keep_top"):
            found.append({"value": str(step.args.get("count", "")), "as": "number"})
        for key in ("where", "having"):
            part = step.args.get(key) or {}
            for nested in [part] + [part[k] for k in ("some", "every") if k in part]:
                found += [a for a in _atoms(nested) if "value" in a and "other" not in a]
    return found


def _functions(program: Program) -> list[str]:
    """The aggregate, window and pick functions of the program's steps that a hint could name (not first or
    last)."""
    found = []
    for step in program.steps:
        found += [a.get("func", "") for a in step.args.get("aggregates", [])]
        if step.op == "add_window" and step.args.get("func") in ("sum", "count", "mean", "max", "min"):
            found.append(step.args["func"])
        if step.op == "keep_groups" and step.args.get("having", {}).get("rows") in ("max", "min"):
            found += ["count", step.args["having"]["rows"]]  # the groups whose row count is the largest (smallest)
        if step.op in ("keep_extremes",):
            found.append(step.args.get("which", ""))
            found += [step.args["tiebreak"].get("which", "")] if step.args.get("tiebreak") else []
    return [f for f in found if f not in ("first", "last")]


def _hinted_filter(step: Step, hints: Hints) -> bool:
    """A filter whose every tested constant the user gave."""
    if step.op != "filter_rows" or not hints.constants:
        return False
    tested = _tested_constants(Program(steps=[step]))
    return bool(tested) and all(hints.tests_hinted(a) for a in tested)


def hinted_uses(program: Program, hints: Hints) -> tuple[int, int]:
    """How many hinted constants the program tests (counts of rows kept or grouped too), and how many of its
    aggregate and pick functions are hinted ones."""
    constants = sum(hints.tests_hinted(a) for a in _tested_constants(program))
    functions = sum(bool(hints.aggregations) and hints.allows(f) for f in _functions(program))
    return constants, functions


def contradicts_hints(rival: Program, program: Program, hints: Hints) -> bool:
    """Whether the rival departs from the hints where the program follows them: it tests a constant the user did
    not give, or fewer of the hinted ones, while every constant the program tests (a count of rows kept or grouped
    too) is hinted; or it uses an aggregation function the hints leave out, or fewer of the hinted ones, while the
    program uses only hinted ones."""
    if hints.empty:
        return False
    if hints.constants:
        mine = [hints.tests_hinted(a) for a in _tested_constants(program)]
        theirs = [hints.tests_hinted(a) for a in _tested_constants(rival)]
        if mine and all(mine) and (not all(theirs) or sum(theirs) < sum(mine)):
            return True
    if hints.aggregations:
        mine_ok = all(hints.allows(f) for f in _functions(program))
        if mine_ok and not all(hints.allows(f) for f in _functions(rival)):
            return True
        # the user named the functions used: a rival that leaves out one the program uses, or a use of one (ties
        # broken by row order where the program takes the max of another column), is no other reading
        used, rival_used = _functions(program), _functions(rival)
        if mine_ok and (set(rival_used) < set(used) or len(rival_used) < len(used)):
            return True
    return False
