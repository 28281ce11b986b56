"""Typed constraints read from a job's instructions (see the package docstring for the grammar)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

__all__ = [
    "Aggregate", "Case", "ColumnRule", "ColumnStatement", "DateFormat", "Dedupe", "Drop", "FillColumn", "FillEmpty",
    "Filter", "Formula", "Instructions", "Mapping", "Rename", "Round", "Same", "Sort", "Trim",
]


class Same(BaseModel):
    kind: Literal["same"] = "same"

    def describe(self) -> str:
        return "same as input"


class Rename(BaseModel):
    kind: Literal["rename"] = "rename"
    to: str

    def describe(self) -> str:
        return f"rename to {self.to!r}"


class Drop(BaseModel):
    kind: Literal["drop"] = "drop"

    def describe(self) -> str:
        return "drop the column"


class Case(BaseModel):
    kind: Literal["case"] = "case"
    mode: Literal["upper", "lower", "title"]

    def describe(self) -> str:
        return f"{self.mode} case"


class Trim(BaseModel):
    kind: Literal["trim"] = "trim"

    def describe(self) -> str:
        return "trim spaces"


class DateFormat(BaseModel):
    kind: Literal["date_format"] = "date_format"
    written: str  # as the user wrote it, e.g. "DD/MM/YYYY"
    pattern: str  # the same as a runtime.cells.date_part pattern, e.g. "{dd}/{MM}/{yyyy}"

    def describe(self) -> str:
        return f"date as {self.written}"


class Round(BaseModel):
    kind: Literal["round"] = "round"
    decimals: int

    def describe(self) -> str:
        return f"round to {self.decimals} decimals"


class Formula(BaseModel):
    kind: Literal["formula"] = "formula"
    expression: str  # normalized: names, numbers, + - * / and parentheses, spaced
    columns: list[str]  # the column names it reads, in order of first use

    def describe(self) -> str:
        return f"= {self.expression}"


class Mapping(BaseModel):
    kind: Literal["map"] = "map"
    table: dict[str, str]  # other values are kept as they are

    def describe(self) -> str:
        return "map " + ", ".join(f"{k}={v}" for k, v in self.table.items())


class FillEmpty(BaseModel):
    kind: Literal["fill_empty"] = "fill_empty"
    value: str

    def describe(self) -> str:
        return f"fill empty cells with {self.value!r}"


ColumnAction = Annotated[
    Same | Rename | Drop | Case | Trim | DateFormat | Round | Formula | Mapping | FillEmpty,
    Field(discriminator="kind"),
]


class ColumnRule(BaseModel):
    """One entry of column_instructions: the column it names and the actions read from its text, in order."""

    column: str
    text: str
    actions: list[ColumnAction] = Field(default_factory=list)

    def output_name(self) -> str | None:
        """The name the column has in the output (None when dropped)."""
        name: str | None = self.column
        for action in self.actions:
            if isinstance(action, Drop):
                name = None
            elif isinstance(action, Rename):
                name = action.to
        return name

    def formula(self) -> Formula | None:
        return next((a for a in self.actions if isinstance(a, Formula)), None)

    def is_same(self) -> bool:
        return all(isinstance(a, Same) for a in self.actions)

    def describe(self) -> str:
        return f"{self.column}: " + "; ".join(a.describe() for a in self.actions)


Comparison = Literal["eq", "ne", "gt", "ge", "lt", "le", "contains"]
COMPARISON_WORDS = {"eq": "is", "ne": "is not", "gt": ">", "ge": ">=", "lt": "<", "le": "<=", "contains": "contains"}


class Filter(BaseModel):
    kind: Literal["filter"] = "filter"
    column: str
    op: Comparison
    value: str
    keep: bool = True  # False: the rows that match are removed

    def describe(self) -> str:
        verb = "keep only" if self.keep else "remove"
        return f"{verb} rows where {self.column} {COMPARISON_WORDS[self.op]} {self.value!r}"


class Sort(BaseModel):
    kind: Literal["sort"] = "sort"
    column: str
    descending: bool = False

    def describe(self) -> str:
        return f"sort by {self.column} {'descending' if self.descending else 'ascending'}"


class Dedupe(BaseModel):
    kind: Literal["dedupe"] = "dedupe"

    def describe(self) -> str:
        return "remove duplicate rows"


class FillColumn(BaseModel):
    kind: Literal["fill_column"] = "fill_column"
    column: str
    value: str

    def describe(self) -> str:
        return f"fill empty {self.column} with {self.value!r}"


class Aggregate(BaseModel):
    kind: Literal["aggregate"] = "aggregate"
    function: Literal["sum", "count", "average", "min", "max"]
    column: str | None  # None: count rows
    by: list[str]

    def describe(self) -> str:
        what = f"{self.function} of {self.column}" if self.column else "count of rows"
        return f"{what} per {', '.join(self.by)}"


class ColumnStatement(BaseModel):
    """A column instruction written in the general instructions ("rename a to b", "drop column c")."""

    kind: Literal["column"] = "column"
    rule: ColumnRule

    def describe(self) -> str:
        return self.rule.describe()


TableAction = Annotated[
    Filter | Sort | Dedupe | FillColumn | Aggregate | ColumnStatement, Field(discriminator="kind")
]


class Instructions(BaseModel):
    """Everything read from general_instructions and column_instructions, and what could not be read."""

    columns: list[ColumnRule] = Field(default_factory=list)
    table: list[TableAction] = Field(default_factory=list)
    not_understood: list[str] = Field(default_factory=list)

    @property
    def fully_understood(self) -> bool:
        return not self.not_understood

    @property
    def empty(self) -> bool:
        return not self.columns and not self.table and not self.not_understood

    def all_column_rules(self) -> list[ColumnRule]:
        """Column rules of column_instructions, then those written in the general instructions."""
        return self.columns + [t.rule for t in self.table if isinstance(t, ColumnStatement)]

    def rule_for(self, column: str) -> ColumnRule | None:
        wanted = column.strip().lower()
        return next((r for r in self.all_column_rules() if r.column.strip().lower() == wanted), None)

    def understood(self) -> list[str]:
        return [r.describe() for r in self.columns] + [t.describe() for t in self.table]
