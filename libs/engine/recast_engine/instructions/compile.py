"""Compile understood instructions into a Program over the input's header row (pure).

Table actions become steps in the order written (filters, fill, dedupe, sort), an aggregate last; column rules
become output columns. Names are matched to the input header without regard to case or surrounding spaces.
"""
from __future__ import annotations

from dataclasses import dataclass

from recast_engine.dsl import Expr, OutputColumn, Program, Step, call, col, const
from recast_engine.dsl.interpret import run
from recast_engine.instructions.formula import Node, parse_formula
from recast_engine.instructions.model import (
    Aggregate,
    Case,
    ColumnRule,
    DateFormat,
    Dedupe,
    FillColumn,
    FillEmpty,
    Filter,
    Instructions,
    Mapping,
    Round,
    Sort,
    Trim,
)

Row = list[str]

# Input date spellings tried for a date instruction, in order (the first that reads every value wins).
DATE_FORMATS = [
    "%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%d/%m/%Y", "%m/%d/%y", "%d/%m/%y", "%d.%m.%Y", "%m-%d-%Y", "%d-%m-%Y",
    "%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y", "%B %d %Y", "%b %d %Y", "%Y%m%d", "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M",
]


class CompileError(ValueError):
    """The instructions cannot become a program over this input (a column it names does not exist...)."""


def _key(name: str) -> str:
    return name.strip().lower()


@dataclass
class Columns:
    """The header of a grid, looked up by name."""

    names: list[str]

    def index(self, name: str, what: str = "column") -> int:
        for i, candidate in enumerate(self.names):
            if _key(candidate) == _key(name):
                return i
        raise CompileError(f"{what} {name!r} is not in the input (its columns: {', '.join(self.names)})")

    def has(self, name: str) -> bool:
        return any(_key(c) == _key(name) for c in self.names)


def _formula_expr(node: Node, columns: Columns) -> Expr:
    if node.kind == "num":
        return const(node.value)
    if node.kind == "col":
        return col(columns.index(node.value, "formula column"))
    left, right = node.left, node.right
    assert left is not None  # an operator node has its operands
    if node.kind == "neg":
        return call("arith", const("0"), _formula_expr(left, columns), operator="-")
    assert right is not None
    return call("arith", _formula_expr(left, columns), _formula_expr(right, columns), operator=node.kind)


def date_formats_for(values: list[str]) -> list[str]:
    """The spellings that read every non-empty value (all of DATE_FORMATS when none does)."""
    from recast_engine.runtime.cells import _parse_datetime

    filled = [v for v in values if v.strip()]
    fitting = [f for f in DATE_FORMATS if filled and all(_parse_datetime(v, [f]) for v in filled)]
    return fitting or list(DATE_FORMATS)


def column_expr(rule: ColumnRule | None, source: int | None, columns: Columns,
                column_values: list[str] | None = None, fill: str | None = None) -> Expr:
    """The cell expression a column rule gives to the input column `source` (None: a formula column)."""
    formula = rule.formula() if rule else None
    if formula is not None:
        expr = _formula_expr(parse_formula(formula.expression), columns)
    elif source is None:
        raise CompileError(f"column {rule.column if rule else '?'!r} is not in the input and has no formula")
    else:
        expr = col(source)
    if fill is not None:
        expr = call("fill_empty", expr, value=fill)
    for action in rule.actions if rule else []:
        if isinstance(action, Case):
            expr = call(action.mode, expr)
        elif isinstance(action, Trim):
            expr = call("trim", expr)
        elif isinstance(action, DateFormat):
            expr = call("date_part", expr, formats=date_formats_for(column_values or []), part=action.pattern)
        elif isinstance(action, Round):
            expr = call("format_number", expr, decimals=action.decimals)
        elif isinstance(action, Mapping):
            expr = call("map_values", expr, table=dict(action.table))
        elif isinstance(action, FillEmpty):
            expr = call("fill_empty", expr, value=action.value)
    return expr


def table_steps(instructions: Instructions, columns: Columns) -> tuple[list[Step], list[str]]:
    """Steps of the table actions and the header after them (an aggregate changes it)."""
    steps: list[Step] = []
    names = list(columns.names)
    aggregates = [t for t in instructions.table if isinstance(t, Aggregate)]
    for action in instructions.table:
        if isinstance(action, Filter):
            steps.append(Step(op="keep_rows_where", args=dict(
                column=columns.index(action.column), op=action.op, value=action.value, keep=action.keep, header=True
            )))
        elif isinstance(action, Dedupe):
            steps.append(Step(op="deduplicate"))
        elif isinstance(action, Sort) and not aggregates:
            steps.append(Step(op="sort_rows_by", args=dict(
                column=columns.index(action.column), descending=action.descending, header=True
            )))
    if len(aggregates) > 1:
        raise CompileError("only one aggregate (sum / count / average ... per ...) can be compiled")
    if aggregates:
        agg = aggregates[0]
        keys = [columns.index(b, "group column") for b in agg.by]
        value = columns.index(agg.column) if agg.column else None
        name = columns.names[value] if value is not None else "count"
        steps.append(Step(op="aggregate_rows", args=dict(
            keys=keys, function=agg.function, column=value, name=name, header=True
        )))
        names = [columns.names[k] for k in keys] + [name]
        after = Columns(names)
        for action in instructions.table:  # a sort after an aggregate orders the groups
            if isinstance(action, Sort):
                steps.append(Step(op="sort_rows_by", args=dict(
                    column=after.index(action.column), descending=action.descending, header=True
                )))
    return steps, names


def _fills(instructions: Instructions) -> dict[str, str]:
    return {_key(t.column): t.value for t in instructions.table if isinstance(t, FillColumn)}


def _values(grid: list[Row] | None, index: int) -> list[str]:
    return [r[index] if index < len(r) else "" for r in (grid or [])[1:201]]


def compile_program(
    instructions: Instructions, input_grid: list[Row], output_header: list[str] | None = None
) -> Program:
    """The Program the instructions describe on input_grid (its first row is the header).

    With output_header (an example's), output columns are those names; otherwise the input's columns in order,
    dropped and renamed by the rules, then the new (formula) columns of column_instructions.
    Raises CompileError for what cannot be compiled (unread instructions, unknown columns).
    """
    if instructions.not_understood:
        raise CompileError("not understood: " + "; ".join(instructions.not_understood))
    if not input_grid:
        raise CompileError("the input is empty")
    columns = Columns([c.strip() for c in input_grid[0]])
    steps, names = table_steps(instructions, columns)
    after = Columns(names)
    grid_after = input_grid if names == columns.names else None
    fills = _fills(instructions)
    for name in fills:
        columns.index(name)
    rules = instructions.all_column_rules()
    for rule in rules:
        if rule.formula() is None and not after.has(rule.column):
            after.index(rule.column)  # raises: the rule names a column the input does not have

    def output(rule: ColumnRule | None, source: int | None, name: str) -> OutputColumn:
        values = _values(grid_after, source) if source is not None else []
        expr = column_expr(rule, source, after, values, fills.get(_key(name)))
        return OutputColumn(header=const(name), value=expr)

    out: list[OutputColumn] = []
    if output_header is not None:
        for name in output_header:
            named = next((r for r in rules if _key(r.output_name() or "") == _key(name)), None)
            source_name = named.column if named else name
            source = after.index(source_name) if after.has(source_name) else None
            if named is None and source is None:
                raise CompileError(f"output column {name!r} has no instruction and no input column of that name")
            out.append(output(named, source, name))
    else:
        for i, name in enumerate(after.names):
            found = next((r for r in rules if _key(r.column) == _key(name)), None)
            out_name = found.output_name() if found is not None else name
            if out_name is None:  # dropped
                continue
            out.append(output(found, i, out_name))
        for rule in rules:
            formula_name = rule.output_name()
            if rule.formula() is not None and not after.has(rule.column) and formula_name:
                out.append(output(rule, None, formula_name))
    if not out:
        raise CompileError("the instructions leave no output column")
    notes = ["built from the instructions:"] + [f"  {line}" for line in instructions.understood()]
    return Program(steps=steps, header_rows=1, columns=out, notes=notes)


def check_program(program: Program, input_grid: list[Row]) -> list[Row]:
    """Run the program on the input (it must run and give rows); its output, or CompileError."""
    try:
        output = run(program, input_grid)
    except Exception as exc:  # noqa: BLE001 - any failure means the instructions do not fit this input
        raise CompileError(f"the program built from the instructions fails on the input: {exc}") from None
    if not output:
        raise CompileError("the program built from the instructions gives no output")
    return output

