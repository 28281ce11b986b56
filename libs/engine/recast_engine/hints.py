"""Hints a user may give with a learn request: the constants a filter or threshold may use, and the aggregation
functions worth considering (as PATSQL's users give them).

An example often leaves a constant open: any cut between the largest dropped and the smallest kept value keeps
the same rows, and a value that one example row holds may be a class of rows or that row. A hinted constant that
separates the rows settles it: the search tries hinted constants before those taken from the data, ranks them as
cheaper, and the trust check does not doubt a test against one. Aggregation hints put those functions first and
leave out readings with other functions. Hints never add a program the example contradicts.
"""
from __future__ import annotations

import datetime
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from recast_engine.runtime import relational as rt

__all__ = ["AGGREGATION_NAMES", "Aggregation", "Hints"]

Aggregation = Literal["count", "count_distinct", "sum", "mean", "min", "max"]
# the names users write, as the engine's aggregate functions
AGGREGATION_NAMES: dict[str, Aggregation] = {
    "count": "count", "count_distinct": "count_distinct", "count-distinct": "count_distinct",
    "countdistinct": "count_distinct", "sum": "sum", "total": "sum", "avg": "mean", "average": "mean",
    "mean": "mean", "min": "min", "minimum": "min", "max": "max", "maximum": "max",
}
# the engine's aggregates each hinted function stands for ("count" counts rows, or a column's filled cells)
_COVERS: dict[str, tuple[str, ...]] = {"count": ("count", "rows"), "count_distinct": ("count_distinct",),
                                       "min": ("min", "second_min"), "max": ("max", "second_max")}
ISO_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d")
MAX_CONSTANTS = 20


class Hints(BaseModel):
    model_config = ConfigDict(frozen=True)

    constants: list[str] = Field(default_factory=list, max_length=MAX_CONSTANTS,
                                 description="Values a filter or threshold may use, e.g. '2013-02-01', '100'")
    aggregations: list[Aggregation] = Field(
        default_factory=list, description="Aggregation functions to consider: count, count_distinct, sum, "
        "avg (mean), min, max; none: all")

    @field_validator("constants")
    @classmethod
    def _filled(cls, values: list[str]) -> list[str]:
        return list(dict.fromkeys(v for v in values if v.strip()))

    @field_validator("aggregations", mode="before")
    @classmethod
    def _named(cls, values: Any) -> Any:
        if not isinstance(values, list):
            return values
        named = []
        for value in values:
            key = str(value).strip().lower().replace(" ", "_")
            if key not in AGGREGATION_NAMES:
                raise ValueError(f"unknown aggregation {value!r}: one of count, count_distinct, sum, avg, min, max")
            named.append(AGGREGATION_NAMES[key])
        return list(dict.fromkeys(named))

    @property
    def empty(self) -> bool:
        return not self.constants and not self.aggregations

    def constant_as(self, as_: str, formats: list[str]) -> list[str]:
        """The hinted constants readable as a value of this kind, written like the column (dates in its format)."""
        found = []
        for constant in self.constants:
            written = _written_as(constant, as_, formats)
            if written is not None:
                found.append(written)
        return found

    def hinted(self, value: Any, as_: str = "text", formats: list[str] | None = None) -> bool:
        """Whether a predicate's constant is one of the hinted ones (read as a number or date when it tests so)."""
        if not isinstance(value, str):
            return False
        if value in self.constants:
            return True
        wanted = rt._value(value, as_, formats or []) if as_ in ("number", "date") else None
        if wanted is None:
            return False
        return any(_read(c, as_, formats or []) == wanted for c in self.constants)

    def tests_hinted(self, atom: Mapping[str, Any]) -> bool:
        """Whether a predicate atom ({"value", "as", "formats"}) compares with a hinted constant."""
        return self.hinted(atom.get("value"), atom.get("as", "text"), atom.get("formats"))

    def allows(self, func: str) -> bool:
        """Whether an aggregate function is among the hinted ones (every one is, without aggregation hints)."""
        if not self.aggregations:
            return True
        return any(func in _COVERS.get(a, (a,)) for a in self.aggregations)

    def first(self, funcs: tuple[str, ...]) -> tuple[str, ...]:
        """The functions in order, hinted ones first."""
        return tuple(sorted(funcs, key=lambda f: not (self.aggregations and self.allows(f))))


NO_HINTS = Hints()


def _read(constant: str, as_: str, formats: list[str]) -> Decimal | datetime.datetime | None:
    if as_ == "number":
        return rt._number(constant)
    if as_ == "date":
        return rt._moment(constant, formats) or rt._moment(constant, list(ISO_FORMATS))
    return None


def _written_as(constant: str, as_: str, formats: list[str]) -> str | None:
    if as_ == "text":
        return constant
    if as_ == "number":
        return constant.strip() if rt._number(constant) is not None else None
    if rt._moment(constant, formats) is not None:
        return constant.strip()
    moment = rt._moment(constant, list(ISO_FORMATS))
    if moment is None or not formats:
        return None
    text = moment.strftime(formats[0])
    return text if rt._moment(text, formats) == moment else None
