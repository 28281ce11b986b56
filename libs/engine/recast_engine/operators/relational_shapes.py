"""The JSON shapes the relational operators take (recast_engine.runtime.relational): predicates, group tests,
aggregates and sort keys, as typed models.

Steps keep their arguments as JSON data, the form the runtime functions (and the scripts copied from them) read;
these models say what that data may hold, and the renderer checks every step against them. A value is read as
`as` says ("number", "date" with `formats`, else "text"), spelt `as` in the JSON because the runtime reads it so.
"""
from __future__ import annotations

from typing import Literal, Union

from pydantic import Field

from recast_engine.operators.registry import Arguments

ReadAs = Literal["number", "date", "text"]
Comparison = Literal["lt", "le", "gt", "ge", "eq", "ne"]
TextTest = Literal["contains", "starts", "ends"]
Aggregation = Literal["rows", "count", "count_distinct", "sum", "mean", "min", "max", "second_min", "second_max",
                      "first", "last", "concat"]


class _Read(Arguments):
    as_: ReadAs = Field("text", alias="as")
    formats: list[str] = Field(default_factory=list)


class Against(_Read):
    """A cell against a constant: {"column": 3, "test": "ge", "value": "100", "as": "number"}."""

    column: int = Field(ge=0)
    test: Comparison | TextTest
    value: str


class AgainstColumn(_Read):
    """A cell against another cell of its row: {"column": 3, "test": "lt", "other": 4, "as": "number"}."""

    column: int = Field(ge=0)
    test: Comparison
    other: int = Field(ge=0)


class InSet(Arguments):
    column: int = Field(ge=0)
    test: Literal["in"]
    values: list[str]


class Emptiness(Arguments):
    column: int = Field(ge=0)
    test: Literal["empty", "filled"]


class AllOf(Arguments):
    all: list[Predicate] = Field(min_length=1)


class AnyOf(Arguments):
    any: list[Predicate] = Field(min_length=1)


class Negation(Arguments):
    not_: Predicate = Field(alias="not")


Predicate = Union[Against, AgainstColumn, InSet, Emptiness, AllOf, AnyOf, Negation]  # noqa: UP007 - recursive alias


class RowCount(Arguments):
    """Groups by their row count: {"rows": "gt", "value": "1"}."""

    rows: Comparison
    value: str


class MostRows(Arguments):
    """The groups holding the most (fewest) rows: {"rows": "max"}."""

    rows: Literal["max", "min"]


class SomeRow(Arguments):
    some: Predicate


class EveryRow(Arguments):
    every: Predicate


GroupTest = Union[RowCount, MostRows, SomeRow, EveryRow]  # noqa: UP007 - one style with Predicate


class Aggregate(_Read):
    """One output cell per group: {"func": "max", "column": 2, "as": "date", "formats": [...]}."""

    func: Aggregation
    column: int = Field(0, ge=0)
    separator: str = ","


class Reading(_Read):
    """How a group key is read when the groups are sorted by it."""


class SortKey(_Read):
    column: int = Field(ge=0)
    descending: bool = False


for _model in (AllOf, AnyOf, Negation, SomeRow, EveryRow):
    _model.model_rebuild()
