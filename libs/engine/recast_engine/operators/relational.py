"""Declarations of the relational table operators of recast_engine.runtime.relational and their proposers."""
from __future__ import annotations

from typing import Literal

from recast_engine.operators.registry import Arguments, table_operator
from recast_engine.operators.relational_shapes import Aggregate, GroupTest, Predicate, ReadAs, Reading, SortKey
from recast_engine.runtime import relational
from recast_engine.synthesis import relational as p


class FilterRowsArgs(Arguments):
    where: Predicate
    header: bool = False


class SortByArgs(Arguments):
    keys: list[SortKey]
    header: bool = False


class HeadRowsArgs(Arguments):
    count: int
    header: bool = False


class GroupRowsArgs(Arguments):
    keys: list[int]
    aggregates: list[Aggregate]
    header: bool = False
    order: Literal["first", "sorted"] = "first"
    sort_as: list[Reading] | None = None


class TieBreak(Arguments):
    """Of the rows holding a group's extreme, those holding their min (max) of another column."""

    column: int
    which: Literal["min", "max"]
    as_: ReadAs = "number"
    formats: list[str] | None = None


class KeepExtremesArgs(Arguments):
    keys: list[int]
    column: int
    which: Literal["min", "max"] = "max"
    as_: ReadAs = "number"
    formats: list[str] | None = None
    ties: Literal["all", "first", "last"] = "all"
    header: bool = False
    tiebreak: TieBreak | None = None


class KeepTopArgs(Arguments):
    keys: list[int]
    column: int
    count: int
    descending: bool = True
    as_: ReadAs = "number"
    formats: list[str] | None = None
    header: bool = False


class KeepGroupsArgs(Arguments):
    keys: list[int]
    having: GroupTest
    header: bool = False


class KeepReferencedArgs(Arguments):
    column: int
    referenced: int
    keep: bool = True
    header: bool = False


class DistinctRowsArgs(Arguments):
    columns: list[int]
    keep: Literal["first", "last"] = "first"
    header: bool = False


class AddWindowArgs(Arguments):
    func: Literal["sum", "count", "mean", "max", "min", "running_sum", "row_number", "difference"]
    column: int = 0
    keys: list[int] | None = None
    header: bool = False
    name: str = ""
    where: Predicate | None = None


table_operator(relational.filter_rows, FilterRowsArgs, proposer=p.propose_filter, rank=155, row_local=True)
table_operator(relational.keep_extremes, KeepExtremesArgs, proposer=p.propose_extremes, rank=156)
table_operator(relational.keep_top, KeepTopArgs, proposer=p.propose_extremes, rank=156)
table_operator(relational.keep_groups, KeepGroupsArgs, proposer=p.propose_extremes, rank=156)
table_operator(relational.keep_referenced, KeepReferencedArgs, proposer=p.propose_extremes, rank=156)
table_operator(relational.distinct_rows, DistinctRowsArgs, proposer=p.propose_extremes, rank=156)
table_operator(relational.group_rows, GroupRowsArgs, proposer=p.propose_group, rank=157)
table_operator(relational.sort_by, SortByArgs, proposer=p.propose_sort, rank=161)
table_operator(relational.head_rows, HeadRowsArgs, proposer=p.propose_head, rank=162)
table_operator(relational.add_window, AddWindowArgs, proposer=p.propose_window, rank=175)
