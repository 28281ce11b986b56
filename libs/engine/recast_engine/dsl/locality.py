"""Whether a Program converts a file chunk by chunk: each output row depends on one input row alone.

Then a file split on record boundaries converts in pieces whose outputs, put end to end, are the whole file's
output (recast_engine.chunking). A step that needs the table (a sort, a group, a fill-down, a pivot) makes the
program run whole. Cell operators read one row; a table operator says so when it is row-local (its declaration
in recast_engine.operators).

The first record is the exception: a header row, or a row that steps pass through untouched (`header=True`).
Every chunk but the first then gets the file's first record in front, and the one output row it yields is
dropped from that chunk's output. That holds only when the first record yields exactly one output row, i.e.
when every step that could drop or repeat it passes it (`header=True`).
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass

from recast_engine.dsl.model import Expr, Program
from recast_engine.operators import registry


@dataclass(frozen=True)
class RowLocality:
    row_local: bool
    first_record: bool = False  # every chunk but the first needs the file's first record (and yields it once)
    reason: str = ""  # why not row-local


def row_locality(program: Program) -> RowLocality:
    """Whether `program` is row-local, and how a chunk treats the file's first record."""
    for step in program.steps:
        try:
            operator = registry.table(step.op)
        except registry.OperatorError:
            return RowLocality(False, reason=f"unknown table operator {step.op}")
        if not operator.row_local:
            return RowLocality(False, reason=f"step {step.op} needs the whole table")
    for column in program.columns:
        for expr in (column.value, column.header):
            if expr is not None and (op := _non_local_cell_op(expr)):
                return RowLocality(False, reason=f"cell operator {op} is not row-local")
    first_record = program.header_rows == 1 or any(step.args.get("header") for step in program.steps)
    if first_record:
        for step in program.steps:
            if _takes_header(step.op) and not step.args.get("header"):
                return RowLocality(False, reason=f"step {step.op} may drop or repeat the first record")
    return RowLocality(True, first_record=first_record)


def is_row_local(program: Program) -> bool:
    return row_locality(program).row_local


def _takes_header(op: str) -> bool:
    return "header" in inspect.signature(registry.table(op).function).parameters


def _non_local_cell_op(expr: Expr) -> str | None:
    if expr.op not in ("col", "const"):
        try:
            if not registry.cell(expr.op).row_local:
                return expr.op
        except registry.OperatorError:
            return expr.op
    for child in expr.inputs:
        if found := _non_local_cell_op(child):
            return found
    return None
