"""Declarations of the arithmetic and conditional cell operators of recast_engine.runtime.arith."""
from __future__ import annotations

from recast_engine.operators.registry import Arguments, cell_operator
from recast_engine.runtime import arith


class LinearArgs(Arguments):
    weights: list[str]
    offset: str = "0"
    divisor: str = "1"


class CombineArgs(Arguments):
    operator: str


class DateDifferenceArgs(Arguments):
    formats: list[str]
    unit: str = "days"


class BandArgs(Arguments):
    cuts: list[str]
    labels: list[str]
    missing: str = ""


cell_operator(arith.amount, guard="unparsed_number")
cell_operator(arith.linear, LinearArgs, guard="unparsed_number")  # inputs: the cells weighted in order
cell_operator(arith.combine, CombineArgs, guard="unparsed_number")  # inputs: left, right
cell_operator(arith.date_difference, DateDifferenceArgs, guard="unparsed_date")  # inputs: later, earlier
cell_operator(arith.band, BandArgs)
cell_operator(arith.digits)
cell_operator(arith.collapse_spaces)


class IfCellArgs(Arguments):
    test: str
    value: str = ""
    as_: str = "text"
    missing: str = ""


cell_operator(arith.if_cell, IfCellArgs)  # inputs: the tested cell, then the two branches
