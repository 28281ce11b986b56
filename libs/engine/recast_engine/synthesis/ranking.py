"""Ranking of the candidate Programs the search found: the simplest, least memorizing program first.

`program_cost` orders the candidates (lower is better); `is_clean` and `only_copies` tell the search when it
may stop looking for alternatives.
"""
from __future__ import annotations

from typing import Any

from recast_engine.dsl import Expr, Program, Step
from recast_engine.hints import NO_HINTS, Hints
from recast_engine.synthesis.relational import (
    CONSTANT_COST,
    ignored_hints,
    relational_program_cost,
    relational_step_cost,
    step_constants,
)


def _expr_cost(expr: Expr | None, is_header: bool, input_cells: frozenset[str]) -> int:
    if expr is None or expr.op == "col":
        return 0
    if expr.op == "const":
        # a new header name ("var") is cheap; a literal copied from the input data is likely overfitting
        return 2 if is_header and expr.args["value"] not in input_cells else 6
    return 1 + expr.size() + 3 * _literals(expr)


def _literals(expr: Expr) -> int:
    """Data-like literals in an expression (lookup tables, constants): a sign of memorizing the example."""

    def count(value: Any) -> int:
        if isinstance(value, str):
            return 1 if value.strip() else 0
        if isinstance(value, dict):
            return sum(count(k) + count(v) for k, v in value.items())
        if isinstance(value, (list, tuple)):
            return sum(count(v) for v in value)
        return 0

    own = count(expr.args) if expr.op not in ("col",) else 0
    return own + sum(_literals(i) for i in expr.inputs)


def unhinted_constants(program: Program, hints: Hints) -> int:
    """Constants of the data the program's steps test that the user did not hint."""
    return sum(step_constants(s, hints) for s in program.steps)


def is_clean(program: Program, hints: Hints = NO_HINTS) -> bool:
    """No column memorizes the example (lookup tables, constant data values), no filter needs two constants (none
    at all that the user did not give, when the user gave constants)."""
    most = 0 if hints.constants else 1
    return all(step_constants(s, hints) <= most for s in program.steps) and all(
        _literals(c.value) <= 2
        and c.value.op != "lookup"
        and not (c.value.op == "const" and str(c.value.args.get("value", "")).strip())
        for c in program.columns
    )


def only_copies(program: Program) -> bool:
    return all(c.value.op == "col" for c in program.columns)


def step_cost(step: Step, hints: Hints = NO_HINTS) -> int:
    """A table step's share of a program's cost: structure plus its arguments (data constants cost more, hinted
    ones do not)."""
    return relational_step_cost(step, hints) or 3 + len(step.args)


def program_cost(
    program: Program, input_cells: frozenset[str] = frozenset(), hints: Hints = NO_HINTS
) -> tuple[int, int]:
    """Simplicity rank: literals and computed cells cost most, then steps and their arguments."""
    cells = sum(
        _expr_cost(c.value, False, input_cells) + _expr_cost(c.header, True, input_cells) for c in program.columns
    )
    steps = sum(step_cost(s, hints) for s in program.steps)
    reorder = sum(1 for j, c in enumerate(program.columns) if c.value.op != "col" or c.value.args["index"] != j)
    ignored = 2 * CONSTANT_COST * ignored_hints(program, hints) if not hints.empty else 0
    return cells * 4 + steps + reorder + relational_program_cost(program) + ignored, program.size()
