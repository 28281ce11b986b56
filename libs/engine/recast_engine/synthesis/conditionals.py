"""Categorical outputs: a few labels chosen by a test on one column, by numeric bands, or by a code table.

Tried before the concatenation search when the output takes few distinct values that the row does not spell
(flags, classes, labels): an if-then-else on the simplest test separating two labels (a threshold snapped
between the example values, equality with a value of the data, an empty cell), bands with cut points between
the sorted example values, else a lookup keyed on the column whose repeated values determine the output.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from decimal import Decimal

from recast_engine.dsl import Expr, call, col, const
from recast_engine.runtime import relational as rt
from recast_engine.synthesis.relational import _atoms, _bits, _clean_constant, _number_text, column_kind

Row = list[str]

MAX_LABELS = 4
MAX_COLUMNS = 24


def _cell(row: Row, i: int) -> str:
    return row[i] if i < len(row) else ""


def _spelled_by_row(rows: list[Row], outputs: list[str]) -> bool:
    """Every output appears (ignoring case) in a cell of its row: a copy or a transformation, not a label."""
    return all(any(out.lower() in c.lower() for c in row) for row, out in zip(rows, outputs) if out)


def categorical(rows: list[Row], outputs: list[str]) -> Iterator[Expr]:
    counts = Counter(outputs)
    labels = sorted(counts)
    if "" in counts or len(labels) < 2 or len(labels) == len(outputs) or _spelled_by_row(rows, outputs):
        return
    if len(labels) > MAX_LABELS:
        # names for codes ("CO" -> "Colorado"): words without digits, so no number or date is being formatted
        table = code_table(rows, outputs)
        if table is not None and not any(ch.isdigit() for text in [*labels, *table.args["table"]] for ch in text):
            yield table
        return
    if min(counts.values()) < 2:  # a label seen once is no class yet
        return
    if len(labels) == 2:
        found = _two_labels(rows, outputs, labels)
        if found is not None:
            yield found
            return
    banded = _bands(rows, outputs)
    if banded is not None:
        yield banded
        return
    table = code_table(rows, outputs)
    if table is not None:
        yield table


_TESTS = {"eq", "ne", "lt", "le", "gt", "ge", "empty", "filled"}


def _two_labels(rows: list[Row], outputs: list[str], labels: list[str]) -> Expr | None:
    width = min(max(len(r) for r in rows), MAX_COLUMNS)
    kinds = [column_kind([_cell(r, c) for r in rows]) for c in range(width)]
    best: tuple[float, Expr] | None = None
    for label, other in (labels, labels[::-1]):
        mask = [o == label for o in outputs]
        target = _bits(mask)
        for atom in _atoms(rows, mask, kinds):
            where = atom.where
            if atom.truth != target or where.get("test") not in _TESTS or "other" in where:
                continue
            if where.get("as") == "date":
                continue
            args = {"test": where["test"]}
            if "value" in where:
                args["value"] = where["value"]
            if where.get("as") == "number":
                args["as_"] = "number"
            cost = atom.cost + (0.5 if where["test"] in ("ne", "le", "lt") else 0.0)
            expr = call("if_cell", col(where["column"]), const(label), const(other), **args)
            if best is None or cost < best[0]:
                best = (cost, expr)
    return None if best is None else best[1]


def _bands(rows: list[Row], outputs: list[str]) -> Expr | None:
    """band(x, cuts, labels) when sorting the rows by a numeric column leaves each label in one run."""
    width = min(max(len(r) for r in rows), MAX_COLUMNS)
    for c in range(width):
        read = [rt._number(_cell(r, c)) for r in rows]
        numbers = [n for n in read if n is not None]
        if len(numbers) != len(read):
            continue
        pairs = sorted(zip(numbers, outputs), key=lambda p: p[0])
        runs: list[tuple[str, Decimal, Decimal]] = []  # label, low, high
        ok = True
        for value, out in pairs:
            if runs and runs[-1][0] == out:
                runs[-1] = (out, runs[-1][1], value)
            else:
                if any(r[0] == out for r in runs) or (runs and runs[-1][2] == value):
                    ok = False
                    break
                runs.append((out, value, value))
        if not ok or len(runs) < 2:
            continue
        cuts = [_number_text(_clean_constant(runs[i][2], runs[i + 1][1])) for i in range(len(runs) - 1)]
        return call("band", col(c), cuts=cuts, labels=[r[0] for r in runs])
    return None


def code_table(rows: list[Row], outputs: list[str]) -> Expr | None:
    """lookup keyed on the column whose repeated values determine the output (fewest distinct keys first)."""
    width = max(len(r) for r in rows)
    best: tuple[int, int, dict[str, str]] | None = None
    for c in range(width):
        table: dict[str, str] = {}
        if any(table.setdefault(_cell(r, c), o) != o for r, o in zip(rows, outputs)):
            continue
        if best is None or len(table) < best[0]:
            best = (len(table), c, table)
    if best is None or best[0] == len(rows):
        return None
    return call("lookup", col(best[1]), table=best[2], default="")
