"""Declarations of the table operators of recast_engine.runtime.tables, their proposers and search order.

Ranks leave gaps so that a new operator can take a place between two existing ones.
"""
from __future__ import annotations

from typing import Literal

from recast_engine.operators.registry import Arguments, helper, table_operator
from recast_engine.runtime import tables
from recast_engine.synthesis import table_proposals as p


class DropEmptyRowsArgs(Arguments):
    column: int | None = None
    header: bool = False


class KeepRowsMatchingArgs(Arguments):
    column: int
    pattern: str
    header: bool = False


class FillDownArgs(Arguments):
    columns: list[int]
    header: bool = False


class ExplodeArgs(Arguments):
    column: int
    delimiter: str
    header: bool = False
    empty_as: str = ""


class SplitColumnArgs(Arguments):
    column: int
    delimiter: str
    maxsplit: int = 1


class SizeArgs(Arguments):
    size: int


class WrapRowsAtArgs(Arguments):
    column: int
    prefix: str
    strip_prefix: bool = False


class MeltArgs(Arguments):
    id_columns: list[int]
    value_columns: list[int]
    var_name: str = "var"
    value_name: str = "value"
    by: Literal["column", "row"] = "column"
    drop_empty: bool = False
    keep_header: bool = True


class WideToLongArgs(Arguments):
    id_columns: list[int]
    pattern: str
    var_name: str = "Var"
    sort_by_id: bool = True
    index_name: str | None = None


class SpreadSubtitlesArgs(Arguments):
    name: str = "Subtitle"
    header: bool = True
    column: int | None = None


class ColumnArgs(Arguments):
    column: int


class PivotRecordsArgs(Arguments):
    key_column: int = 0
    value_column: int = 1
    sort_keys: bool = True


class PivotArgs(Arguments):
    row_key: int
    column_key: int
    value: int
    corner: str = ""
    header: bool = False
    sort: bool = False


class UnfoldArgs(Arguments):
    key_columns: list[int]
    value_columns: list[int]


class FoldArgs(Arguments):
    id_count: int
    group_size: int
    drop_empty_groups: bool = False


class DivideArgs(Arguments):
    column: int
    width: int


class DivideByPatternArgs(Arguments):
    column: int
    pattern: str
    header: bool = False


class SortRowsArgs(Arguments):
    column: int
    header: bool = False
    descending: bool = False


class PandasFloatsArgs(Arguments):
    columns: list[int]
    header: bool = False


table_operator(tables.identity, row_local=True)
table_operator(tables.transpose, proposer=p.propose_transpose, rank=10)
table_operator(tables.fill_down, FillDownArgs, proposer=p.propose_fill_down, rank=20)
table_operator(tables.drop_empty_rows, DropEmptyRowsArgs, proposer=p.propose_drop_rows, rank=30, row_local=True)
table_operator(tables.explode, ExplodeArgs, proposer=p.propose_explode, rank=40, row_local=True)
table_operator(tables.spread_subtitles, SpreadSubtitlesArgs, proposer=p.propose_subtitles, rank=50)
table_operator(tables.melt, MeltArgs, proposer=p.propose_melt, rank=60)
table_operator(tables.wide_to_long, WideToLongArgs, proposer=p.propose_wide_to_long, rank=70)
table_operator(tables.pivot_records, PivotRecordsArgs, proposer=p.propose_pivots, rank=80)
table_operator(tables.pivot, PivotArgs, proposer=p.propose_pivots, rank=80)
table_operator(tables.split_column, SplitColumnArgs, proposer=p.propose_split, rank=90, row_local=True)
table_operator(tables.unfold, UnfoldArgs, proposer=p.propose_unfold, rank=100)
table_operator(tables.wrap_rows, SizeArgs, proposer=p.propose_wrap, rank=110)
table_operator(tables.transpose_blocks, SizeArgs, proposer=p.propose_wrap, rank=110)
table_operator(tables.wrap_rows_at, WrapRowsAtArgs, proposer=p.propose_wrap, rank=110)
table_operator(tables.fold, FoldArgs, proposer=p.propose_fold, rank=120)
table_operator(tables.spread_sections, ColumnArgs, proposer=p.propose_sections, rank=130)
table_operator(tables.divide, DivideArgs, proposer=p.propose_divide, rank=140)
table_operator(tables.divide_by_pattern, DivideByPatternArgs, proposer=p.propose_divide_by_pattern, rank=150)
table_operator(tables.keep_rows_matching, KeepRowsMatchingArgs, proposer=p.propose_filters, rank=160, row_local=True)
table_operator(tables.deduplicate, proposer=p.propose_filters, rank=160)
table_operator(tables.sort_rows, SortRowsArgs, proposer=p.propose_filters, rank=160)
table_operator(tables.pandas_floats, PandasFloatsArgs, proposer=p.propose_pandas_floats, rank=170, row_local=True)


# Operators that instructions compile to (recast_engine.instructions); the search does not propose them yet.


class KeepRowsWhereArgs(Arguments):
    column: int
    op: Literal["eq", "ne", "gt", "ge", "lt", "le", "contains"]
    value: str
    keep: bool = True
    header: bool = False


class SortRowsByArgs(Arguments):
    column: int
    descending: bool = False
    header: bool = False


class AggregateRowsArgs(Arguments):
    keys: list[int]
    function: Literal["sum", "count", "average", "min", "max"]
    column: int | None = None
    name: str = ""
    header: bool = False


table_operator(tables.keep_rows_where, KeepRowsWhereArgs, row_local=True)
table_operator(tables.sort_rows_by, SortRowsByArgs)
table_operator(tables.aggregate_rows, AggregateRowsArgs)

helper(tables.pandas_float_text)  # the proposer of pandas_floats predicts its output with it
