"""Proposers of relational steps (filters, group-by, extremes, HAVING, distinct, sort, top-N, windows), learned
from what the expected output must contain before anything is searched (PATSQL / Scythe style):

- which output columns copy an input column (every output value occurs in that input column);
- which input rows the output keeps (the output rows matched to input rows on those columns, in order or not);
- a predicate separating kept from dropped rows (constants taken from the data, thresholds snapped between the
  kept and the dropped values, column against column, and/or of two);
- group keys (copied columns whose tuples are distinct in the output) and aggregates equal to the output values;
- whether the output's row order follows some column's order.

Each proposer yields a few Steps whose parameters are fitted to this pair; the search applies and checks them.
"""
from __future__ import annotations

import functools
import itertools
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from recast_engine.dsl import Program, Step
from recast_engine.hints import NO_HINTS, Hints
from recast_engine.runtime import relational as rt
from recast_engine.synthesis.dates import learn_formats
from recast_engine.synthesis.table_proposals import Context

Row = list[str]
Fits = Callable[[list[Row]], bool]  # whether a step's rows are the rows the output keeps
# (input head, input body, output head, output body, copied columns, kept rows and whether in input order)
Pair = tuple[Row | None, list[Row], Row | None, list[Row], dict[int, int], tuple[list[bool], bool] | None]

MAX_ROWS = 1000  # relational proposals are learned on grids up to this size
MAX_COLUMNS = 24
MAX_ATOMS = 400
COMBINATION_COST = 1.0


def _width(grid: list[Row]) -> int:
    return max((len(r) for r in grid), default=0)


def _cell(row: Row, i: int) -> str:
    return row[i] if i < len(row) else ""


def _split(grid: list[Row], header: bool) -> tuple[Row | None, list[Row]]:
    return (grid[0], grid[1:]) if header and grid else (None, grid)


def _columns(rows: list[Row], width: int) -> list[list[str]]:
    return [[_cell(r, c) for r in rows] for c in range(width)]


# ---------------------------------------------------------------------------------------------------------
# What the output copies, and which rows it keeps
# ---------------------------------------------------------------------------------------------------------


def copied_columns(body: list[Row], out_body: list[Row], head: Row | None, out_head: Row | None) -> dict[int, int]:
    """Output column -> the input column holding every one of its values (same name first, then leftmost)."""
    width, out_width = min(_width(body), MAX_COLUMNS * 2), _width(out_body)
    sets = [set(c) for c in _columns(body, width)]
    found: dict[int, int] = {}
    columns = _columns(out_body, out_width)
    named: dict[int, list[int]] = {}
    for j, values in enumerate(columns):
        wanted = set(values)
        candidates = [i for i in range(width) if wanted <= sets[i]]
        named[j] = [i for i in candidates if out_head and head and _cell(head, i) == _cell(out_head, j)]
        found[j] = -1 if not candidates else named[j][0] if named[j] else candidates[0]
    for j, values in enumerate(columns):
        if found[j] >= 0 and not named[j]:
            # renamed: an input column no other output column copies, the one in the same place first
            wanted = set(values)
            taken = {i for k, i in found.items() if k != j}
            candidates = [i for i in range(width) if wanted <= sets[i]]
            candidates.sort(key=lambda i: (i != j, i in taken))
            found[j] = candidates[0]
    return {j: i for j, i in found.items() if i >= 0}


def kept_rows(body: list[Row], out_body: list[Row], mapping: dict[int, int]) -> tuple[list[bool], bool] | None:
    """Which input rows the output keeps (and whether in input order), matched on the copied columns."""
    if not mapping:
        return None
    pairs = sorted(mapping.items())
    keys_in = [tuple(_cell(r, i) for _, i in pairs) for r in body]
    keys_out = [tuple(_cell(r, j) for j, _ in pairs) for r in out_body]
    mask = [False] * len(body)
    p = 0
    for index, key in enumerate(keys_in):
        if p < len(keys_out) and key == keys_out[p]:
            mask[index] = True
            p += 1
    if p == len(keys_out):
        return mask, True
    wanted = Counter(keys_out)
    mask = [False] * len(body)
    for index, key in enumerate(keys_in):
        if wanted[key] > 0:
            wanted[key] -= 1
            mask[index] = True
    if any(n > 0 for n in wanted.values()):
        return None
    return mask, False


# ---------------------------------------------------------------------------------------------------------
# Predicates learned from kept versus dropped rows
# ---------------------------------------------------------------------------------------------------------


@dataclass
class Atom:
    where: dict[str, Any]
    truth: int  # bit i set when row i satisfies it
    cost: float


def _bits(values: list[bool]) -> int:
    return sum(1 << i for i, v in enumerate(values) if v)


@dataclass
class ColumnKind:
    as_: str  # number | date | text
    formats: list[str]
    values: list[Any]  # comparable values (None for unreadable or empty cells)


def column_kind(values: list[str]) -> ColumnKind:
    filled = [v for v in values if v.strip()]
    if filled and all(rt._number(v) is not None for v in filled):
        return ColumnKind("number", [], [rt._number(v) if v.strip() else None for v in values])
    if filled and all(any(ch.isdigit() for ch in v) for v in filled):
        formats = learn_formats(filled[:50], False)
        if formats:
            formats = formats[:4]
            moments = [rt._moment(v, formats) if v.strip() else None for v in values]
            if all(m is not None for m, v in zip(moments, values) if v.strip()):
                return ColumnKind("date", formats, moments)
    return ColumnKind("text", [], [v for v in values])


def _clean_constant(low: Decimal | None, high: Decimal) -> Decimal:
    """The roundest number in (low, high] (high itself when nothing rounder fits)."""
    if low is None:
        return high
    for exponent in range(12, -7, -1):
        quantum = Decimal(1).scaleb(exponent)
        candidate = (high / quantum).to_integral_value(rounding="ROUND_FLOOR") * quantum
        if low < candidate <= high:
            return candidate
    return high


def _significant(value: Decimal) -> int:
    """How many significant digits a constant has (0 has none): rounder constants generalize better."""
    digits = _number_text(abs(value)).replace(".", "").strip("0")
    return len(digits)


def _number_text(value: Decimal) -> str:
    return rt._written(value)


HINTED_COST = 1.0  # a test against a constant the user gave comes before any constant taken from the data
MAX_HINTED_SUPERSETS = 8


def _atoms(body: list[Row], mask: list[bool], kinds: list[ColumnKind], hints: Hints = NO_HINTS) -> list[Atom]:
    n = len(body)
    kept = [i for i in range(n) if mask[i]]
    dropped = [i for i in range(n) if not mask[i]]
    atoms: list[Atom] = []

    def add(where: dict[str, Any], cost: float) -> None:
        truth = _bits([rt._holds(r, where) for r in body])
        atoms.append(Atom(where, truth, cost))

    for c, kind in enumerate(kinds):
        raw = [_cell(r, c) for r in body]
        k_values = [raw[i] for i in kept]
        d_values = [raw[i] for i in dropped]
        k_set, d_set = set(k_values), set(d_values)
        if not k_set & d_set:
            empties_k = {not v.strip() for v in k_values}
            if empties_k == {True}:
                add({"column": c, "test": "empty"}, 1.0)
            if empties_k == {False} and all(not v.strip() for v in d_values):
                add({"column": c, "test": "filled"}, 1.0)
        everywhere = Counter(raw)
        for side, other in ((k_values, d_set), (d_values, k_set)):
            counts = Counter(side)
            typed = {"as": "number"} if kind.as_ == "number" else {}
            for value, count in counts.most_common(3):
                if not value.strip():
                    continue
                if not picks_one_row(value, everywhere[value], "eq"):
                    add({"column": c, "test": "eq", "value": value, **typed}, 1.5 + 0.01 * c)
                if not picks_one_row(value, everywhere[value], "ne"):
                    add({"column": c, "test": "ne", "value": value, **typed}, 1.7 + 0.01 * c)
        if 1 < len(k_set) <= 3 and not k_set & d_set and len(k_values) > len(k_set):
            add({"column": c, "test": "in", "values": sorted(k_set)}, 2.5 + len(k_set))
        if kind.as_ in ("number", "date"):
            atoms.extend(_threshold_atoms(body, c, kind, kept, dropped))
        read_as: dict[str, Any] = {} if kind.as_ == "text" else {"as": kind.as_}
        if kind.formats:
            read_as["formats"] = kind.formats
        for value in hints.constant_as(kind.as_, kind.formats):
            tests = ("eq", "ne", "ge", "gt", "le", "lt") if kind.as_ != "text" else ("eq", "ne")
            for rank, test in enumerate(tests):
                add({"column": c, "test": test, "value": value, **read_as}, HINTED_COST + 0.01 * rank + 0.01 * c)
    for (c1, k1), (c2, k2) in itertools.permutations(list(enumerate(kinds)), 2):
        if k1.as_ == k2.as_ and k1.as_ in ("number", "date") and c1 < c2:
            for test in ("lt", "le", "gt", "ge", "eq", "ne"):
                where: dict[str, Any] = {"column": c1, "test": test, "other": c2, "as": k1.as_}
                if k1.formats:
                    where["formats"] = k1.formats
                add(where, 2.0)
        if len(atoms) > MAX_ATOMS:
            break
    return atoms


def picks_one_row(value: str, occurrences: int, test: str) -> bool:
    """A test against a value only one row holds picks that row of the example, not a class of rows; dropping a
    single named row ("Total") is the exception, a number or a code is not."""
    if occurrences != 1:
        return False
    return test != "ne" or rt._number(value) is not None or any(ch.isdigit() for ch in value)


def memorizing_filters(program: Program, input_grid: list[Row], hints: Hints = NO_HINTS) -> list[tuple[str, str]]:
    """(reason, suggestion) for each filter of the program testing a value one row of the example holds (unless
    the user gave that value as a hint: then it names the rows meant)."""
    findings: list[tuple[str, str]] = []
    grid = [list(r) for r in input_grid]
    from recast_engine.dsl.interpret import apply_steps  # noqa: PLC0415 - the interpreter imports the registry

    for i, step in enumerate(program.steps):
        header = bool(step.args.get("header"))
        body = grid[1:] if header else grid
        for atom in _tested_values(step.args.get("where") or {}) + _tested_values(step.args.get("having") or {}):
            column, test, value = atom
            occurrences = sum(1 for r in body if _cell(r, column) == value)
            if test in ("eq", "ne") and picks_one_row(value, occurrences, test) and not hints.hinted(value):
                findings.append((
                    f"step {step.op} tests column {column + 1} against {value!r}, a value only one row of the "
                    "example holds: it picks that row rather than a kind of row",
                    "add rows that show which rows are kept (more than one of each kind)",
                ))
        grid = list(apply_steps(program.model_copy(update={"steps": [step]}), grid))
    return findings


def _tested_values(where: dict[str, Any]) -> list[tuple[int, str, str]]:
    found = []
    for key in ("all", "any"):
        for part in where.get(key, []):
            found += _tested_values(part)
    for key in ("not", "some", "every"):
        if key in where:
            found += _tested_values(where[key])
    if "column" in where and "value" in where and "other" not in where:
        found.append((where["column"], where.get("test", ""), where["value"]))
    return found


def _threshold_atoms(body: list[Row], c: int, kind: ColumnKind, kept: list[int], dropped: list[int]) -> list[Atom]:
    """x >= t / x < t (and > / <=) with t between the kept and the dropped values, from either side."""
    found: list[Atom] = []
    values = kind.values
    present = sorted({v for v in values if v is not None})
    if len(present) < 2:
        return found
    for side in (kept, dropped):
        side_values = [values[i] for i in side if values[i] is not None]
        if not side_values:
            continue
        low, high = min(side_values), max(side_values)
        below = [v for v in present if v < low]
        above = [v for v in present if v > high]
        for test, edge, neighbour in (("ge", low, below[-1] if below else None),
                                      ("le", high, above[0] if above else None)):
            if neighbour is None:
                continue
            if kind.as_ == "number":
                if test == "ge":
                    options = [("ge", _clean_constant(neighbour, edge)), ("gt", neighbour)]
                else:
                    options = [("le", -_clean_constant(-neighbour, -edge)), ("lt", neighbour)]
                for op, value in options:
                    where = {"column": c, "test": op, "value": _number_text(value), "as": "number"}
                    truth = _bits([rt._holds(r, where) for r in body])
                    found.append(Atom(where, truth, 2.0 + 0.3 * _significant(value) + 0.01 * c))
            else:
                for op, value in ((test, edge), ("gt" if test == "ge" else "lt", neighbour)):
                    written = next(_cell(body[i], c) for i in range(len(body)) if values[i] == value)
                    where = {"column": c, "test": op, "value": written, "as": "date", "formats": kind.formats}
                    truth = _bits([rt._holds(r, where) for r in body])
                    found.append(Atom(where, truth, 2.2 + 0.01 * c))
    return found


def learn_predicates(body: list[Row], mask: list[bool], limit: int = 3,
                     hints: Hints = NO_HINTS) -> list[dict[str, Any]]:
    """Predicates true exactly on the kept rows, simplest first: one atom, then and/or of two."""
    width = min(_width(body), MAX_COLUMNS)
    kinds = [column_kind([_cell(r, c) for r in body]) for c in range(width)]
    atoms = _atoms(body, mask, kinds, hints)
    target = _bits(mask)
    everything = (1 << len(body)) - 1
    found: list[tuple[float, dict[str, Any]]] = []
    seen: set[tuple[int, int]] = set()
    for atom in sorted(atoms, key=lambda a: a.cost):
        if atom.truth == target:
            found.append((atom.cost, atom.where))
    if found:
        return [w for _, w in sorted(found, key=lambda x: x[0])[:limit]]
    supersets = [a for a in atoms if a.truth & target == target and a.truth != everything]
    subsets = [a for a in atoms if a.truth & ~target == 0 and a.truth]
    for a, b in itertools.combinations(sorted(supersets, key=lambda a: a.cost)[:120], 2):
        if a.truth & b.truth == target and (a.truth, b.truth) not in seen:
            found.append((a.cost + b.cost + COMBINATION_COST, {"all": [a.where, b.where]}))
    for a, b in itertools.combinations(sorted(subsets, key=lambda a: a.cost)[:120], 2):
        if a.truth | b.truth == target:
            found.append((a.cost + b.cost + COMBINATION_COST + 0.5, {"any": [a.where, b.where]}))
    return [w for _, w in sorted(found, key=lambda x: x[0])[:limit]]


def superset_predicates(body: list[Row], mask: list[bool], limit: int = 3,
                        hints: Hints = NO_HINTS) -> list[dict[str, Any]]:
    """Single atoms true on every kept row and false on some dropped ones (a filter another step completes)."""
    width = min(_width(body), MAX_COLUMNS)
    kinds = [column_kind([_cell(r, c) for r in body]) for c in range(width)]
    target = _bits(mask)
    everything = (1 << len(body)) - 1
    atoms = [a for a in _atoms(body, mask, kinds, hints) if a.truth & target == target and a.truth != everything]
    atoms.sort(key=lambda a: (a.cost, -bin(everything & ~a.truth).count("1")))
    # every test on a hinted constant is worth a try (the next step tells them apart), then the usual few
    hinted = [a for a in atoms if a.cost < HINTED_COST + 0.5][:MAX_HINTED_SUPERSETS]
    return [a.where for a in hinted] + [a.where for a in atoms[len(hinted):len(hinted) + limit]]


# ---------------------------------------------------------------------------------------------------------
# Proposers
# ---------------------------------------------------------------------------------------------------------


def _pair(grid: list[Row], ctx: Context) -> Pair | None:
    """(head, body, expected head, expected body, copied columns, kept rows) or None."""
    if len(grid) > MAX_ROWS or not grid:
        return None
    head, body = _split(grid, ctx.header)
    out_head, out_body = _split(ctx.expected, ctx.header)
    if not body or len(out_body) >= len(body) or not out_body:
        return None
    mapping = copied_columns(body, out_body, head, out_head)
    kept = kept_rows(body, out_body, mapping)
    if kept is None and mapping:
        mapping, kept = _rematched(body, out_body, mapping)
    return head, body, out_head, out_body, mapping, kept


def _rematched(body: list[Row], out_body: list[Row], mapping: dict[int, int]) -> tuple[dict[int, int],
                                                                                      tuple[list[bool], bool] | None]:
    """When the output rows are no input rows on the copied columns, one output column copied from another input
    column holding its values (a column a window step added, its name kept by another) may make them so."""
    width = min(_width(body), MAX_COLUMNS * 2)
    sets = [set(c) for c in _columns(body, width)]
    for j, values in enumerate(_columns(out_body, _width(out_body))):
        wanted = set(values)
        for i in reversed(range(width)):
            if i != mapping.get(j) and wanted <= sets[i]:
                changed = {**mapping, j: i}
                kept = kept_rows(body, out_body, changed)
                if kept is not None:
                    return changed, kept
    return mapping, None


def propose_filter(grid: list[Row], ctx: Context) -> Iterator[Step]:
    """filter_rows with a predicate learned from the rows the output keeps (and, when none separates them
    exactly, a few filters that keep every kept row for a later step to finish). With hinted constants, every
    test on one that drops some rows too, for a later step: which input rows an aggregated output stands for
    does not show."""
    found = _pair(grid, ctx)
    yielded: list[dict[str, Any]] = []
    if found is not None and found[5] is not None:
        body, mask = found[1], found[5][0]
        predicates = learn_predicates(body, mask, hints=ctx.hints)
        yielded += predicates
        if not ctx.last:
            yielded += superset_predicates(body, mask, limit=3 if not predicates else 2, hints=ctx.hints)
    if ctx.hints.constants and 0 < len(grid) <= MAX_ROWS:
        hinted = [w for w in hinted_predicates(_split(grid, ctx.header)[1], ctx.hints) if w not in yielded]
        if ctx.last and found is not None:
            # the last step: those keeping rows that are the output's on the copied columns (when several input
            # rows show the same values, which of them the output holds is what the hinted test tells)
            hinted = [w for w in hinted if _keeps_output(found, w)]
        yielded += hinted
    for where in yielded:
        yield Step(op="filter_rows", args={"where": where, "header": ctx.header})


def _keeps_output(pair: Pair, where: dict[str, Any]) -> bool:
    """Whether the rows passing the predicate are the output's rows on its copied columns, in order."""
    _, body, _, out_body, mapping, _ = pair
    columns = sorted(mapping.items())
    kept = [tuple(_cell(r, i) for _, i in columns) for r in body if rt._holds(r, where)]
    return bool(mapping) and kept == [tuple(_cell(r, j) for j, _ in columns) for r in out_body]


def hinted_predicates(body: list[Row], hints: Hints) -> list[dict[str, Any]]:
    """Tests on the hinted constants that keep some rows and drop others."""
    width = min(_width(body), MAX_COLUMNS)
    kinds = [column_kind([_cell(r, c) for r in body]) for c in range(width)]
    everything = (1 << len(body)) - 1
    atoms = _atoms(body, [False] * len(body), kinds, hints)
    hinted = [a for a in atoms if a.cost < HINTED_COST + 0.5 and 0 < a.truth < everything]
    return [a.where for a in sorted(hinted, key=lambda a: a.cost)[:MAX_HINTED_SUPERSETS]]


MAX_KEY_OPTIONS = 40
MAX_HAVING_VALUES = 30


def _key_options(body: list[Row], mapping: dict[int, int], width: int) -> list[list[int]]:
    """Group keys to try: none, then single columns and pairs (a copied column with another), copied first."""
    copied = sorted(dict.fromkeys(mapping.values()))  # the input's own columns before those steps added
    repeating = [c for c in range(min(width, MAX_COLUMNS)) if len({_cell(r, c) for r in body}) < len(body)]
    others = [c for c in repeating if c not in copied]
    options: list[list[int]] = [[]]
    options += [[c] for c in copied if c in repeating] + [[c] for c in others]
    options += [list(p) for p in itertools.combinations(copied, 2)]
    options += [sorted((a, b)) for a in copied for b in others]
    return options[:MAX_KEY_OPTIONS]


def propose_extremes(grid: list[Row], ctx: Context) -> Iterator[Step]:
    """Rows kept by a rule over groups or other rows: each group's max/min (keep_extremes), its top n (keep_top),
    groups passing a test (keep_groups), rows another row refers to (keep_referenced), the first/last row per
    distinct key (distinct_rows) - whichever reproduces the kept rows. Not at the last step: groups passing a test
    whose rows hold exactly the output's values, for a distinct or group-by to finish (HAVING ... GROUP BY)."""
    found = _pair(grid, ctx)
    if found is None or not found[4]:
        return
    head, body, out_head, out_body, mapping, kept = found
    width = min(_width(body), MAX_COLUMNS)
    key_options = _key_options(body, mapping, width)
    if kept is not None:
        mask = kept[0]
        wanted = [r for r, m in zip(body, mask) if m]

        def fits(step_rows: list[Row]) -> bool:
            return len(step_rows) == len(wanted) and step_rows == wanted

        yield from _distinct_steps(body, mapping, fits, ctx)
        yield from _referenced_steps(body, mask, width, ctx)
        yield from _extreme_steps(body, key_options, width, fits, ctx)
        yield from _having_steps(body, key_options, width, ctx, exact=mask)
    if not ctx.last:
        yield from _having_steps(body, key_options, width, ctx, projection=(mapping, out_body))


def _distinct_steps(body: list[Row], mapping: dict[int, int], fits: Fits, ctx: Context) -> Iterator[Step]:
    """distinct_rows on the copied columns, or on all of them but one (a dedupe on chosen columns), first or last."""
    copied = sorted(dict.fromkeys(mapping.values()))
    options = [copied] + [[c for c in copied if c != dropped] for dropped in copied if len(copied) > 1]
    yielded = 0
    for columns in options:
        for keep in ("first", "last"):
            if fits(rt.distinct_rows(body, columns, keep)):
                yield Step(op="distinct_rows", args={"columns": columns, "keep": keep, "header": ctx.header})
                yielded += 1
                break
        if yielded >= 2:
            return


def _referenced_steps(body: list[Row], mask: list[bool], width: int, ctx: Context) -> Iterator[Step]:
    """keep_referenced: the kept rows are exactly those whose identifier occurs (or does not) in another column."""
    columns = _columns(body, width)
    sets = [set(values) for values in columns]
    for c, r in itertools.permutations(range(width), 2):
        # the referring column points at an identifier: each row's own cell in `column` is unique
        if len(sets[r]) < 2 or len(sets[c]) < len(body):
            continue
        inside = [v in sets[r] for v in columns[c]]
        for keep in (True, False):
            if [i == keep for i in inside] == mask:
                yield Step(op="keep_referenced", args={"column": c, "referenced": r, "keep": keep,
                                                       "header": ctx.header})


def _extreme_steps(
    body: list[Row], key_options: list[list[int]], width: int, fits: Fits, ctx: Context
) -> Iterator[Step]:
    kinds = [column_kind([_cell(r, c) for r in body]) for c in range(width)]
    varying = {c for c in range(width) if len({_cell(r, c) for r in body}) > 1}
    yielded = 0
    for keys in key_options:
        for c, kind in enumerate(kinds):
            if c in keys or c not in varying:  # the max of a constant column picks nothing
                continue
            extra: dict[str, Any] = {"as_": kind.as_} | ({"formats": kind.formats} if kind.formats else {})
            for which in ("max", "min"):
                for ties in ("all", "first", "last"):
                    args = {"keys": keys, "column": c, "which": which, **extra, "ties": ties}
                    if fits(rt.keep_extremes(body, keys, c, which, kind.as_, kind.formats or None, ties)):
                        yield Step(op="keep_extremes", args={**args, "header": ctx.header})
                        yielded += 1
                        if ties != "all":
                            yield from _tiebreak_steps(body, {**args, "ties": "all"}, kinds, varying, fits, ctx)
                        break
            if keys and kind.as_ != "text":
                for count in (2, 3):
                    for descending in (True, False):
                        args = {"keys": keys, "column": c, "count": count, "descending": descending, **extra}
                        if fits(rt.keep_top(body, keys, c, count, descending, kind.as_, kind.formats or None)):
                            yield Step(op="keep_top", args={**args, "header": ctx.header})
                            yielded += 1
            if yielded >= 3:
                return


def _tiebreak_steps(body: list[Row], args: dict[str, Any], kinds: list[ColumnKind], varying: set[int], fits: Fits,
                    ctx: Context) -> Iterator[Step]:
    """keep_extremes whose ties are broken by the min or max of another column (a number or date): the row with
    the smallest id of those holding the max, rather than the first in row order."""
    for t, kind in enumerate(kinds):
        if t == args["column"] or t in args["keys"] or t not in varying or kind.as_ == "text":
            continue
        for which in ctx.hints.first(("min", "max")):
            tiebreak = {"column": t, "which": which, "as_": kind.as_} | ({"formats": kind.formats} if kind.formats
                                                                           else {})
            rows = rt.keep_extremes(body, args["keys"], args["column"], args["which"], args["as_"],
                                    args.get("formats"), "all", tiebreak=tiebreak)
            if fits(rows):
                yield Step(op="keep_extremes", args={**args, "tiebreak": tiebreak, "header": ctx.header})
                return


def _holds_output_values(kept: list[bool], held: list[set[tuple[str, ...]]], allowed: list[bool],
                         wanted: set[tuple[str, ...]]) -> bool:
    """Whether the kept groups are allowed ones whose rows together hold exactly the wanted values."""
    if any(k and not a for k, a in zip(kept, allowed)):
        return False
    return set().union(*(h for h, k in zip(held, kept) if k)) == wanted


def _keeps_holding_groups(kept: list[bool], holds: list[bool]) -> bool:
    """Whether every group holding a kept row is kept and some group is not."""
    return not all(kept) and all(k or not h for k, h in zip(kept, holds))


def _row_count_tests(keys: list[int], sizes: list[int], passes: Callable[[list[bool]], bool], hints: Hints
                     ) -> list[tuple[tuple[int, ...], dict[str, Any], list[int]]]:
    """Group tests on the groups' row counts (the sizes) that keep the groups `passes` wants, with their costs."""
    found: list[tuple[tuple[int, ...], dict[str, Any], list[int]]] = []
    for n in range(1, 6):
        if passes([size > n for size in sizes]):
            found.append(((0, n, len(keys)), {"rows": "gt", "value": str(n)}, keys))
            break
    # the user named max (min) among the functions: the groups with the most (fewest) rows, ties all kept
    for rank, which in enumerate(("max", "min")):
        if hints.aggregations and hints.allows(which) and hints.allows("count"):
            extreme = max(sizes) if which == "max" else min(sizes)
            if passes([size == extreme for size in sizes]):
                found.append(((-1, rank, len(keys)), {"rows": which}, keys))
    # a count the user gave: the groups with at least (more than, at most, fewer than) that many rows
    for value in hints.constant_as("number", []):
        count = rt._number(value)
        if count is None or count != count.to_integral_value() or count < 1:
            continue
        for rank, test in enumerate(("ge", "gt", "le", "lt")):
            if passes([rt._compare(Decimal(size), test, count) for size in sizes]):
                found.append(((-1, rank, len(keys)), {"rows": test, "value": rt._written(count)}, keys))
    return found


def _having_steps(
    body: list[Row], key_options: list[list[int]], width: int, ctx: Context, exact: list[bool] | None = None,
    projection: tuple[dict[int, int], list[Row]] | None = None, limit: int = 2,
) -> Iterator[Step]:
    """keep_groups whose kept groups are exactly the groups of the kept rows (`exact`, a mask of the rows; or, when
    a later step may filter and the user gave constants, every group holding a kept row, by a test on a hinted
    value: EXISTS a row with that value, then a filter), or
    whose kept rows hold exactly the output's values on its copied columns (`projection`): a HAVING a distinct
    or a group-by completes. Tests without data constants first (hinted constants count as none), then constants
    several rows hold."""
    if projection is not None:
        mapping, out_body = projection
        pairs = sorted(mapping.items())
        wanted = {tuple(_cell(r, j) for j, _ in pairs) for r in out_body}
        projected = [tuple(_cell(r, i) for _, i in pairs) for r in body]
    everywhere = [Counter(_cell(r, c) for r in body) for c in range(width)]
    found: list[tuple[tuple[int, ...], dict[str, Any], list[int]]] = []
    for keys in key_options[1:]:
        groups = list(rt._groups(body, keys).values())
        if len(groups) < 2 or len(groups) == len(body):
            continue
        narrowing = False  # a HAVING a later filter completes: only tests against a hinted constant
        if exact is not None:
            state = [exact[members[0]] for members in groups]
            passes: Callable[[list[bool]], bool] = state.__eq__
            if any(exact[i] != keep for members, keep in zip(groups, state) for i in members) or all(state):
                if ctx.last or not ctx.hints.constants:
                    continue
                # the kept groups hold every kept row and some group of dropped rows goes: a filter finishes
                narrowing = True
                holds = [any(exact[i] for i in members) for members in groups]
                passes = functools.partial(_keeps_holding_groups, holds=holds)
        else:
            # a kept group stands for one output row (GROUP BY team, player HAVING ...: the team); a group spanning
            # several output rows is dropped
            held = [{projected[i] for i in members} for members in groups]
            allowed = [values <= wanted and len(values) == 1 for values in held]
            if all(allowed):
                continue  # nothing for a group test to drop

            passes = functools.partial(_holds_output_values, held=held, allowed=allowed, wanted=wanted)
        if not narrowing:  # a later filter completes only tests on a hinted value, not row counts
            found += _row_count_tests(keys, [len(members) for members in groups], passes, ctx.hints)
        for c in range(width):
            if c in keys:
                continue
            values_per_group = [{_cell(body[i], c) for i in members} for members in groups]
            if narrowing:  # only hinted values, however few rows hold them
                candidates = sorted(v for v in everywhere[c] if ctx.hints.hinted(v))
            else:
                candidates = sorted(everywhere[c], key=lambda v: (-everywhere[c][v], v))[:MAX_HAVING_VALUES]
            for value in candidates:
                if not value.strip():
                    continue
                tests = (("some", "eq", [value in vs for vs in values_per_group]),
                         ("every", "eq", [vs == {value} for vs in values_per_group]),
                         ("every", "ne", [value not in vs for vs in values_per_group]),
                         ("some", "ne", [bool(vs - {value}) for vs in values_per_group]))
                for rank, (quantifier, test, kept) in enumerate(tests):
                    if passes(kept):
                        single = everywhere[c][value] == 1
                        cost = (0 if ctx.hints.hinted(value) else 1 + single, rank, len(keys), c)
                        found.append((cost, {quantifier: {"column": c, "test": test, "value": value}}, keys))
    found.sort(key=lambda f: f[0])
    seen: set[str] = set()
    for _, having, keys in found:
        description = repr((keys, having))
        if description in seen:
            continue
        seen.add(description)
        yield Step(op="keep_groups", args={"keys": keys, "having": having, "header": ctx.header})
        limit -= 1
        if limit <= 0:
            return



_AGGREGATES = ("rows", "count", "count_distinct", "sum", "mean", "min", "max", "first", "last", "second_min",
               "second_max", "concat")
_SECOND = ("second_min", "second_max")
_EXTREMES = ("min", "max", *_SECOND)  # aggregates that read the column as a kind


_UNAGGREGATED = ("first", "last", "concat")  # no aggregation function the user would name: never left out


def _same_value(got: str, want: str) -> bool:
    if got == want:
        return True
    a, b = rt._number(got), rt._number(want)
    if a is None or b is None:
        return False
    digits = len(want.partition(".")[2]) if "." in want else 0
    return abs(a - b) <= Decimal(5).scaleb(-digits - 1)


def propose_group(grid: list[Row], ctx: Context) -> Iterator[Step]:
    """group_rows: keys are copied output columns whose tuples are distinct in the output; each other output
    column an aggregate of one input column equal to it on every group."""
    if len(grid) > MAX_ROWS or not grid:
        return
    head, body = _split(grid, ctx.header)
    out_head, out_body = _split(ctx.expected, ctx.header)
    if not body or not out_body or len(out_body) >= len(body):
        return
    mapping = copied_columns(body, out_body, head, out_head)
    out_width = _width(out_body)
    width = min(_width(body), MAX_COLUMNS)
    kinds = None
    copied_out = sorted(mapping)
    key_sets = [[j] for j in copied_out] + [list(p) for p in itertools.combinations(copied_out, 2)]
    key_sets += [list(p) for p in itertools.combinations(copied_out, 3)]
    yielded = 0
    for key_out in key_sets:
        keys = [mapping[j] for j in key_out]
        out_keys = [tuple(_cell(r, j) for j in key_out) for r in out_body]
        if len(set(out_keys)) != len(out_keys):
            continue
        groups = rt._groups(body, keys)
        if not all(k in groups for k in out_keys):
            continue
        if kinds is None:
            kinds = [column_kind([_cell(r, c) for r in body]) for c in range(width)]
        aggregates: list[dict[str, Any]] = []
        for j in range(out_width):
            if j in key_out:
                continue
            want = [_cell(r, j) for r in out_body]
            match = _find_aggregate(body, groups, out_keys, want, kinds, width, ctx.hints)
            if match is None:
                break
            aggregates.append(match)
        else:
            having = len(groups) > len(out_keys)
            if having:
                aggregates.append({"func": "rows", "column": keys[0]})
            yield Step(op="group_rows", args={"keys": keys, "aggregates": aggregates, "header": ctx.header,
                                              **_group_order(out_keys, keys, kinds or [])})
            yielded += 1
            if yielded >= 2:
                return


def _group_order(out_keys: list[tuple[str, ...]], keys: list[int], kinds: list[ColumnKind]) -> dict[str, Any]:
    """How group_rows orders the groups: sorted by their keys when the output is (numbers as numbers, dates as
    dates: how a grouped listing is sorted), the text order when only that fits, else as their first rows come
    (sorted when both the sorted and the input's order fit)."""
    sort_as = [{"as": kinds[c].as_} | ({"formats": kinds[c].formats} if kinds[c].formats else {})
               if c < len(kinds) else {"as": "text"} for c in keys]
    typed = any(read["as"] != "text" for read in sort_as)
    if typed and [k for k, _ in rt._sorted_groups([(k, None) for k in out_keys], sort_as)] == out_keys:
        return {"order": "sorted", "sort_as": sort_as}
    return {"order": "sorted" if out_keys == sorted(out_keys) else "first"}


def _find_aggregate(
    body: list[Row], groups: dict[tuple[str, ...], list[int]], out_keys: list[tuple[str, ...]], want: list[str],
    kinds: list[ColumnKind], width: int, hints: Hints = NO_HINTS,
) -> dict[str, Any] | None:
    for func in hints.first(_AGGREGATES):
        if func not in _UNAGGREGATED and not hints.allows(func):
            continue
        if func in _SECOND and not hints.aggregations:
            continue  # a rare reading, that the rows shown often fit by chance: only where the user named min/max
        for c in range(width):
            kind = kinds[c]
            if func in ("sum", "mean") and kind.as_ != "number":
                continue
            agg: dict[str, Any] = {"func": func, "column": c}
            if func in _EXTREMES:
                agg["as"] = kind.as_
                if kind.formats:
                    agg["formats"] = kind.formats
            ok = True
            for key, value in zip(out_keys, want):
                cells = [_cell(body[i], c) for i in groups[key]]
                got = rt._aggregate(cells, func, agg.get("as", "text"), agg.get("formats", []), ",")
                if not _same_value(got, value):
                    ok = False
                    break
            if ok:
                return agg
            if func in ("rows", "count"):
                break  # the count does not depend on the column
    return None


def propose_sort(grid: list[Row], ctx: Context) -> Iterator[Step]:
    """sort_by one or two columns (number, date or text; either direction) when the output holds the same rows
    in another order, or (top-N) begins with the first rows of that order."""
    if len(grid) > MAX_ROWS or not grid:
        return
    head, body = _split(grid, ctx.header)
    out_head, out_body = _split(ctx.expected, ctx.header)
    if len(out_body) > len(body) or len(out_body) < 2:
        return
    mapping = copied_columns(body, out_body, head, out_head)
    if not mapping:
        return
    pairs = sorted(mapping.items())
    key_in = [tuple(_cell(r, i) for _, i in pairs) for r in body]
    key_out = [tuple(_cell(r, j) for j, _ in pairs) for r in out_body]
    if not Counter(key_out) <= Counter(key_in) or key_in[: len(key_out)] == key_out:
        return
    width = min(_width(body), MAX_COLUMNS)
    kinds = [column_kind([_cell(r, c) for r in body]) for c in range(width)]
    columns = list(dict.fromkeys([i for _, i in pairs] + list(range(width))))
    options = []
    for c in columns:
        for descending in (False, True):
            key = {"column": c, "as": kinds[c].as_, "descending": descending}
            if kinds[c].formats:
                key["formats"] = kinds[c].formats
            options.append(key)
    yielded = 0
    values = _SortValues(body)
    for keys in [[k] for k in options] + [list(p) for p in itertools.permutations(options, 2)
                                          if p[0]["column"] != p[1]["column"]]:
        got = [key_in[i] for i in values.ordered(keys)]
        if got[: len(key_out)] == key_out:
            yield Step(op="sort_by", args={"keys": keys, "header": ctx.header})
            yielded += 1
            if yielded >= 2:
                return


class _SortValues:
    """runtime.relational._ordered over row indices, each column read (a number, a date) once for every order tried."""

    def __init__(self, body: list[Row]):
        self.body = body
        self.read: dict[tuple[int, str, tuple[str, ...]], list[Any]] = {}

    def _values(self, key: dict[str, Any]) -> list[Any]:
        as_, formats = key.get("as", "text"), key.get("formats", [])
        memo = (key["column"], as_, tuple(formats))
        if memo not in self.read:
            self.read[memo] = [rt._value(_cell(r, key["column"]), as_, formats) for r in self.body]
        return self.read[memo]

    def ordered(self, keys: list[dict[str, Any]]) -> list[int]:
        # as _ordered: stable sorts from the last key to the first, missing values last
        order = list(range(len(self.body)))
        for key in reversed(keys):
            values = self._values(key)
            present = [i for i in order if values[i] is not None]
            missing = [i for i in order if values[i] is None]
            present.sort(key=values.__getitem__, reverse=key.get("descending", False))
            order = present + missing
        return order


def propose_head(grid: list[Row], ctx: Context) -> Iterator[Step]:
    """head_rows when the output is the first rows of this grid (top-N after a sort)."""
    head, body = _split(grid, ctx.header)
    out_head, out_body = _split(ctx.expected, ctx.header)
    if not out_body or len(out_body) >= len(body) or len(grid) > MAX_ROWS:
        return
    mapping = copied_columns(body, out_body, head, out_head)
    if not mapping:
        return
    pairs = sorted(mapping.items())
    if [tuple(_cell(r, i) for _, i in pairs) for r in body[: len(out_body)]] == [
        tuple(_cell(r, j) for j, _ in pairs) for r in out_body
    ]:
        yield Step(op="head_rows", args={"count": len(out_body), "header": ctx.header})


_WINDOWS = ("sum", "running_sum", "row_number", "count", "mean", "difference")
_GROUP_WINDOWS = ("sum", "count", "mean", "max", "min")
MAX_WINDOW_KEYS = 4


MAX_GROUP_VALUE_WINDOWS = 4  # the search's node budget per depth is shared with every other proposal


def _group_value_windows(head: Row | None, body: list[Row], out_head: Row | None, out_body: list[Row],
                         ctx: Context) -> Iterator[Step]:
    """add_window of a group's sum, count, mean, max or min when the output keeps some rows (a later step picks
    them) and shows that value beside their cells: the output rows are no input rows, but are rows of the table
    with the window column (SELECT MAX(b) OVER (PARTITION BY a), c ... joined back to the picked rows)."""
    mapping = copied_columns(body, out_body, head, out_head)
    out_columns = _columns(out_body, _width(out_body))
    if not mapping or (kept_rows(body, out_body, mapping) is not None and len(mapping) == len(out_columns)):
        return
    width = min(_width(body), MAX_COLUMNS)
    kinds = [column_kind([_cell(r, c) for r in body]) for c in range(width)]
    numeric = [c for c in range(width) if kinds[c].as_ == "number"]
    copied = list(dict.fromkeys(mapping.values()))
    repeating = [c for c in copied if len({_cell(r, c) for r in body}) < len(body)][:MAX_WINDOW_KEYS]
    # the rows a group's value is taken over: all, or (hinted constants) those passing a test on one of them
    wheres: list[dict[str, Any] | None] = [None]
    if ctx.hints.constants:
        wheres += hinted_predicates(body, ctx.hints)
    yielded = 0
    for keys in [[c] for c in repeating]:
        for where in wheres:
            for func in ctx.hints.first(_GROUP_WINDOWS):
                if not ctx.hints.allows(func):
                    continue
                for c in numeric if func != "count" else numeric[:1]:
                    if c in keys:
                        continue
                    got = [r[-1] for r in rt.add_window(body, func, c, keys, where=where)]
                    values = set(got)
                    extended = [r + [g] for r, g in zip(body, got)]
                    for j, wanted in enumerate(out_columns):
                        if not set(wanted) <= values or mapping.get(j) in keys:
                            continue
                        if kept_rows(extended, out_body, {**mapping, j: width}) is None:
                            continue
                        args = {"func": func, "column": c, "keys": keys, "header": ctx.header,
                                "name": f"{func}_by_group"}
                        yield Step(op="add_window", args=args | ({"where": where} if where is not None else {}))
                        yielded += 1
                        if yielded >= MAX_GROUP_VALUE_WINDOWS:
                            return
                        break


def propose_window(grid: list[Row], ctx: Context) -> Iterator[Step]:
    """add_window when an output column is numeric and not a copy: group totals (for shares), running sums,
    row numbers, differences from the previous row, per group when a column repeats."""
    if len(grid) > MAX_ROWS or not grid or ctx.last:
        return
    head, body = _split(grid, ctx.header)
    out_head, out_body = _split(ctx.expected, ctx.header)
    if body and out_body and len(out_body) < len(body):
        yield from _group_value_windows(head, body, out_head, out_body, ctx)
    if not body or len(out_body) != len(body):
        return
    mapping = copied_columns(body, out_body, head, out_head)
    out_width = _width(out_body)
    missing = [j for j in range(out_width) if j not in mapping]
    numeric_missing = [j for j in missing if all(rt._number(_cell(r, j)) is not None for r in out_body)]
    if not numeric_missing:
        return
    width = min(_width(body), MAX_COLUMNS)
    kinds = [column_kind([_cell(r, c) for r in body]) for c in range(width)]
    numeric = [c for c in range(width) if kinds[c].as_ == "number"]
    repeated = [c for c in range(width) if kinds[c].as_ == "text" and len({_cell(r, c) for r in body}) < len(body)]
    wanted = [[_cell(r, j) for r in out_body] for j in numeric_missing]
    options: list[list[int]] = [[]] + [[c] for c in repeated[:4]]
    for keys in options:
        for func in _WINDOWS:
            for c in numeric or [0]:
                name = func if not keys else f"{func}_by_group"
                args = {"func": func, "column": c, "keys": keys, "header": ctx.header, "name": name}
                got = [r[-1] for r in rt.add_window(body, func, c, keys)]
                exact = any(all(_same_value(g, w) for g, w in zip(got, want)) for want in wanted)
                if exact or (func == "sum" and not keys):
                    yield Step(op="add_window", args=args)


# What a relational step costs in the ranking: structure is cheap, every constant taken from the data is not
# (a filter on a value the example happens to show overfits; "the latest row per key" does not).
_STRUCTURAL_COST = {"keep_extremes": 5, "keep_top": 7, "keep_groups": 5, "distinct_rows": 3, "group_rows": 5,
                    "sort_by": 4, "head_rows": 6, "add_window": 5, "filter_rows": 7,
                    "keep_referenced": 4}
CONSTANT_COST = 4


def _constants(value: Any, hints: Hints = NO_HINTS, used: set[str] | None = None) -> int:
    """The data constants of a predicate: each constant it tests, except a hinted one the first time (a hinted
    constant tested again, on another column or with another test, is a second guess the hint does not name)."""
    used = set() if used is None else used
    if isinstance(value, dict):
        if "column" in value and hints.tests_hinted(value) and str(value.get("value")) not in used:
            used.add(str(value.get("value")))
            return 0  # the user named this constant: not a guess from the data
        return sum(_constants(v, hints, used) for k, v in value.items()
                   if k in ("value", "values", "all", "any", "not", "some", "every"))
    if isinstance(value, list):
        return sum(_constants(v, hints, used) for v in value)
    return 1 if isinstance(value, str) and value.strip() else 0


def relational_step_cost(step: Step, hints: Hints = NO_HINTS) -> int | None:
    """The ranking cost of a relational step (None for other operators)."""
    base = _STRUCTURAL_COST.get(step.op)
    if base is None:
        return None
    if step.args.get("ties", "all") != "all":
        base += 2  # one row of several holding the max: which one is a further guess
    if step.op == "keep_extremes" and step.args.get("as_") == "text":
        base += 3  # the alphabetically first (last) text: a rarer pick than a test against a value
    if step.op == "add_window" and step.args.get("where"):
        base += 6  # a group's value over some of its rows only: a further choice (a filter and a group-by first)
    tiebreak = step.args.get("tiebreak")
    if tiebreak:
        # ties broken by another column's extreme: a further choice, a likelier one when the user named it
        named = hints.aggregations and hints.allows(tiebreak.get("which", "")) and hints.allows(step.args["which"])
        base += 1 if named else 3
    if step.op == "keep_groups" and step.args.get("having", {}).get("rows") in ("max", "min"):
        base -= 2  # the groups holding the most (fewest) rows: proposed only when the user named the function
    where = step.args.get("where", {})
    combined = 3 if "all" in where or "any" in where else 0
    # each aggregate the output needs is one more fitted choice; the max of a text column a rarer one
    # (a pick by row order, first or last, a further one when the user named the functions the output uses)
    aggregates = sum(2 + 2 * (a.get("func") in _EXTREMES and a.get("as", "text") == "text")
                     + 2 * (a.get("func") in _SECOND)
                     + 2 * (bool(hints.aggregations) and a.get("func") in ("first", "last"))
                     for a in step.args.get("aggregates", []))
    # the user named the constants the rows are told apart by: another one taken from the data is a worse guess
    per_constant = CONSTANT_COST * (2 if hints.constants else 1)
    return (base + per_constant * step_constants(step, hints) + combined + len(step.args.get("keys", []) or [])
            + aggregates)


def step_constants(step: Step, hints: Hints = NO_HINTS) -> int:
    """Data constants in a relational step's predicates (a constant the user hinted is not one, nor is the count
    of a HAVING that keeps the groups of more than one row)."""
    having = step.args.get("having", {})
    return _constants(step.args.get("where", {}), hints) + (_count_constant(having, hints) if "rows" in having
                                                            else _constants(having, hints))


def _count_constant(having: dict[str, Any], hints: Hints) -> int:
    """1 for a HAVING's row count fitted to the example (groups of more than 2 rows), 0 for a repeated key's
    (more than 1) or a count the user gave."""
    value = having.get("value")
    if value is None or (having["rows"], str(value)) in (("gt", "1"), ("ge", "2")):
        return 0
    return 0 if hints.hinted(str(value), "number") else 1


def ignored_hints(program: Program, hints: Hints) -> int:
    """How many kinds of hint the program ignores (0 to 2): it tests none of the hinted constants (nor keeps a
    hinted number of rows), or uses none of the hinted aggregation functions. The user said the conversion uses
    them: a program that does not is a worse reading of the example."""
    from recast_engine.synthesis.relational_trust import hinted_uses  # noqa: PLC0415 - it imports this module's users

    constants, functions = hinted_uses(program, hints)
    return (bool(hints.constants) and not constants) + (bool(hints.aggregations) and not functions)


GROUP_LISTING_COST = 4  # the groups a group test keeps, listed by distinct_rows rather than by group_rows


def listing_groups_by_distinct(program: Program) -> bool:
    """Whether the program lists the groups a keep_groups step kept with distinct_rows on some of its keys (HAVING
    ... then the groups): a listing of groups is a grouping, whose rows come sorted by key when the example shows
    no other order (group_rows); distinct_rows keeps the input's order."""
    for before, step in itertools.pairwise(program.steps):
        if (step.op == "distinct_rows" and before.op == "keep_groups"
                and set(step.args.get("columns") or []) <= set(before.args.get("keys") or [])):
            return True
    return False


def relational_program_cost(program: Program) -> int:
    """Extra cost of a program whose last step keeps the rows holding a group's extreme of a column the output
    does not show: the extreme of a shown column is the likelier intent."""
    if not program.steps or not program.columns:
        return 0
    if listing_groups_by_distinct(program):
        return GROUP_LISTING_COST
    last = program.steps[-1]
    if last.op not in ("keep_extremes", "keep_top"):
        return 0
    shown = {c.value.args.get("index") for c in program.columns if c.value.op == "col"}
    return 0 if last.args.get("column") in shown else 3
