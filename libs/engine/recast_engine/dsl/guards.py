"""Which nodes of a cell expression a learned script guards, and the reference count of its warnings.

The renderers (render.script, render.arrow) check exactly the nodes `guarded_nodes` lists, in its order, with the
runtime's guard functions (recast_engine.runtime.guards); `count_warnings` is what their summary line must say.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from recast_engine import operators
from recast_engine.dsl.interpret import apply_steps, eval_expr
from recast_engine.dsl.model import Expr, Program
from recast_engine.runtime.guards import WarningCounter, problems, unknown_key, unparsed

Row = list[str]


def guarded_nodes(expr: Expr) -> list[tuple[Expr, str]]:
    """(node, kind) of every guarded operator call in expr, inner calls first (evaluation order), leaving out
    calls whose checked inputs are all constants."""
    found: list[tuple[Expr, str]] = []

    def walk(e: Expr) -> None:
        for i in e.inputs:
            walk(i)
        if e.op in ("col", "const"):
            return
        kind = operators.cell(e.op).guard
        if kind is not None and checked_inputs(e, kind):
            found.append((e, kind))

    walk(expr)
    return found


def checked_inputs(node: Expr, kind: str) -> list[Expr]:
    """The inputs a guard reads: a lookup's key, or every input of a date/number operator; constants left out."""
    inputs = node.inputs[:1] if kind == "unknown_key" else node.inputs
    return [i for i in inputs if i.op != "const"]


def training_shape(program: Program, input_grid: list[Row]) -> Program:
    """The program with the train input's row width (when all its rows share one) and header line (when the
    program reads a header row) recorded, so its script can say when a new input differs."""
    from recast_engine.runtime.guards import header_line

    widths = {len(r) for r in input_grid}
    width = widths.pop() if len(widths) == 1 else None
    header = header_line(input_grid[0]) if program.header_rows and input_grid else None
    return program.model_copy(update={"input_width": width, "input_header_line": header})


def cell_problems(expr: Expr, row: Row) -> tuple[tuple[str, str], ...]:
    found: list[tuple[str, str] | None] = []
    for node, kind in guarded_nodes(expr):
        inputs = [eval_expr(i, row) for i in checked_inputs(node, kind)]
        if kind == "unknown_key":
            found.append(unknown_key(inputs[0], node.args["table"]))
        else:
            found.append(unparsed(kind, eval_expr(node, row), *inputs))
    return problems(*found)


def count_warnings(program: Program, grid: Iterable[Row]) -> dict[str, Any]:
    """The warnings summary (runtime.guards.WarningCounter.summary) of running the program on grid."""
    counter = WarningCounter(program.input_width, program.input_header_line)
    rows = iter(apply_steps(program, counter.watch(iter(grid))))
    if not program.columns:
        for _ in rows:
            pass
        return counter.summary()
    if program.header_rows:
        head = next(rows, None) or []
        counter.named([str(eval_expr(c.header, head)) if c.header else "" for c in program.columns])
    for number, row in enumerate(rows, program.header_rows + 1):
        for j, c in enumerate(program.columns, 1):
            counter.note_cell(number, j, cell_problems(c.value, row))
    return counter.summary()
