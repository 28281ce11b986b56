"""Reference interpreter of a Program (pure, in memory). The search verifies candidates with it."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from recast_engine import operators
from recast_engine.dsl.model import Expr, Program

Row = list[str]

operators.load()  # the declarations, once per process (not inside the first search's time)


def _cell_fn(name: str) -> Callable[..., Any]:
    return operators.cell(name).function


def _table_fn(name: str) -> Callable[..., Iterable[Row]]:
    return operators.table(name).function


def eval_expr(expr: Expr, row: Row) -> Any:
    if expr.op == "col":
        i = expr.args["index"]
        return row[i] if i < len(row) else ""
    if expr.op == "const":
        return expr.args["value"]
    values = [eval_expr(e, row) for e in expr.inputs]
    return _cell_fn(expr.op)(*values, **expr.args)


def apply_steps(program: Program, grid: Iterable[Row]) -> Iterable[Row]:
    for step in program.steps:
        grid = _table_fn(step.op)(grid, **step.args)
    return grid


def run_program(program: Program, grid: Iterable[Row]) -> Iterator[Row]:
    rows = iter(apply_steps(program, grid))
    if not program.columns:
        yield from rows
        return
    if program.header_rows:
        head = next(rows, None)
        yield [str(eval_expr(c.header, head or [])) if c.header else "" for c in program.columns]
    for row in rows:
        yield [str(eval_expr(c.value, row)) for c in program.columns]


def run(program: Program, grid: list[Row]) -> list[Row]:
    return list(run_program(program, grid))
