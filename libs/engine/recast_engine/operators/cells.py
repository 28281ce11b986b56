"""Declarations of the cell operators of recast_engine.runtime.cells (inputs: the cells before the arguments)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from recast_engine.operators.registry import Arguments, cell_operator
from recast_engine.runtime import cells


class SubstringArgs(Arguments):
    start: dict[str, Any]  # {"index": k} or {"after": token, "before": token, "k": k}
    end: dict[str, Any]


class JoinNumbersArgs(Arguments):
    separator: str = "/"


class LookupArgs(Arguments):
    table: dict[str, str]
    default: str = ""


class IfMatchesArgs(Arguments):
    pattern: str = ""


class WhenDateArgs(Arguments):
    formats: list[str]


class FormatNumberArgs(Arguments):
    k: int = 1
    scale: str = "1"
    step: str = "0"
    mode: str = "half_up"
    shift: str = "0"
    decimals: int | None = None
    min_decimals: int = 0
    trim_zeros: bool = False
    int_digits: int = 0
    thousands: str = ""
    point: str = "."
    int_fill: str = "0"
    fraction_width: int = 0
    indian_grouping: bool = False


class DatePartArgs(Arguments):
    formats: list[str]
    part: str
    bucket_seconds: int = 0
    offset_seconds: int = 0
    mode: str = "floor"
    shift_seconds: int = 0


class TimeRangeArgs(Arguments):
    formats: list[str]
    pattern: str
    bucket_seconds: int
    offset_seconds: int = 0
    end_shift_seconds: int | None = None
    separator: str = "-"


class FormatScientificArgs(Arguments):
    decimals: int = Field(default=2, ge=0, le=15)
    letter: Literal["E", "e"] = "E"
    exponent_digits: int = Field(default=2, ge=1, le=4)
    k: int = 1
    scale: str = "1"


class NumberRangeArgs(Arguments):
    step: str
    end_shift: str | None = None
    separator: str = "-"
    k: int = 1


cell_operator(cells.concat)
cell_operator(cells.lower)
cell_operator(cells.upper)
cell_operator(cells.title)
cell_operator(cells.trim)
cell_operator(cells.substring, SubstringArgs)
cell_operator(cells.join_numbers, JoinNumbersArgs)
cell_operator(cells.lookup, LookupArgs, guard="unknown_key")
cell_operator(cells.if_matches, IfMatchesArgs)  # inputs: the tested text, then the two branches
cell_operator(cells.when_date, WhenDateArgs)  # inputs: the tested text, then the value
cell_operator(cells.format_number, FormatNumberArgs, guard="unparsed_number")
cell_operator(cells.date_part, DatePartArgs, guard="unparsed_date")
cell_operator(cells.time_range, TimeRangeArgs, guard="unparsed_date")
cell_operator(cells.number_range, NumberRangeArgs, guard="unparsed_number")
cell_operator(cells.format_scientific, FormatScientificArgs, guard="unparsed_number")


# Operators that instructions compile to (recast_engine.instructions); the search does not propose them yet.


class ArithArgs(Arguments):
    operator: Literal["+", "-", "*", "/"]


class MapValuesArgs(Arguments):
    table: dict[str, str]


class FillEmptyArgs(Arguments):
    value: str


cell_operator(cells.arith, ArithArgs, guard="unparsed_number")  # inputs: the left and the right cell
cell_operator(cells.map_values, MapValuesArgs)
cell_operator(cells.fill_empty, FillEmptyArgs)
