"""The vectorized script's guards: what a record batch's conversion could not do, by kernels.

It checks the nodes recast_engine.dsl.guards lists, in that order, as the per-cell script's `unconverted_<j>`
functions do with the runtime's guard functions: a lookup's non-empty key its table lacks, "" from a date or
number operator given non-empty input. A row counts once per output column and kind; its example value is the
first such node's inputs. Both scripts give the same summary.
"""
from __future__ import annotations

from collections.abc import Callable

from recast_engine.dsl.guards import checked_inputs, guarded_nodes
from recast_engine.dsl.model import Expr, Program
from recast_engine.render import script as per_cell


def batch_warnings_source(program: Program, compile_expr: Callable[[Expr], str]) -> str:
    """`batch_warnings(batch, columns)`: per (kind, output column) the count and first rows (index in the batch,
    value) of what the output columns `columns` of the batch could not convert."""
    checks: list[str] = []
    nodes: dict[str, str] = {}  # the source of each node computed for the checks -> its local name

    def computed(source: str) -> str:
        """A node's value, computed once (a node checked as an input of another is not computed again)."""
        if source.startswith(("input_column(", "pa.scalar(")):
            return source
        return nodes.setdefault(source, f"node_{len(nodes) + 1}")

    for j, c in enumerate(program.columns, 1):
        for node, kind in guarded_nodes(c.value):
            inputs = [computed(_node_source(e, c.value, j, compile_expr)) for e in checked_inputs(node, kind)]
            if kind == "unknown_key":
                check = f"({kind!r}, {j}, *missing_keys({inputs[0]}, {per_cell.literal(node.args['table'])}))"
            else:
                result = f"columns[{j - 1}]" if node is c.value else computed(_node_source(node, c.value, j,
                                                                                        compile_expr))
                check = f"({kind!r}, {j}, *empty_results({result}, [{', '.join(inputs)}]))"
            checks.append(per_cell._indent_continuation(check, "        "))
    lines = ["def batch_warnings(batch, columns):",
             '    """What the conversion of the batch could not do (see found_in_batch)."""']
    if not checks:
        return "\n".join([*lines, "    return {}"])
    lines += [f"    {name} = {per_cell._indent_continuation(source, '    ')}" for source, name in nodes.items()]
    return "\n".join([*lines, "    return found_in_batch([", *(f"        {c}," for c in checks), "    ])"])


# Operators that write "" for an input "" (whatever their arguments): a node feeding one at the top of a column is
# "" only on rows where the column is "", and matters to the checks only there.
EMPTY_FOR_EMPTY = frozenset({"format_number"})


def _node_source(node: Expr, top: Expr, column: int, compile_expr: Callable[[Expr], str]) -> str:
    """The source of a guarded node's value for the checks: on the rows where the column is "" only, when the node
    feeds the column's top operator and that writes "" for "" (the rest of the batch is not computed again)."""
    source = compile_expr(node)
    if top.op in EMPTY_FOR_EMPTY and len(top.inputs) == 1 and top.inputs[0] is node:
        return f"where_column_empty(columns[{column - 1}], batch, lambda batch: {source})"
    return source


GUARD_HELPERS = r'''
def where_column_empty(column, batch, compute):
    """compute(batch) on the rows where the output column is "", " " (not empty) on the others."""
    empty = pc.equal(column, "")
    others = pc.if_else(empty, "", " ")
    if not pc.any(empty).as_py():
        return others
    chosen = pc.indices_nonzero(empty)
    return pc.replace_with_mask(others, empty, as_column(compute(batch.take(chosen)), len(chosen)))


def missing_keys(key, table):
    """Rows whose non-empty key the lookup's table does not hold (its default written), and the key."""
    known = pc.is_in(key, value_set=pa.array(list(table), pa.string()))
    return pc.and_(pc.not_equal(key, ""), pc.invert(known)), [key]


def empty_results(result, inputs):
    """Rows where an operator gave "" for input that is not all empty, and the inputs."""
    filled = functools.reduce(pc.or_, [pc.not_equal(value, "") for value in inputs])
    return pc.and_(pc.equal(result, ""), filled), inputs


def found_in_batch(checks):
    """(kind, column, rows, inputs) per guarded node -> {(kind, column): (rows counted, the first rows as (index in
    the batch, value: the inputs of the first node of that kind on the row))}."""
    found = {}
    for kind, column, rows, inputs in checks:
        found.setdefault((kind, column), []).append((rows, inputs))
    summary = {}
    for key, nodes in found.items():
        rows = functools.reduce(pc.or_, [node_rows for node_rows, _ in nodes])
        count = pc.sum(pc.cast(rows, pa.int64())).as_py() or 0
        if not count:
            continue
        first = []
        for index in pc.indices_nonzero(rows)[:FIRST_ROWS].to_pylist():
            inputs = next(inputs for node_rows, inputs in nodes if node_rows[index].as_py())
            first.append((index, ", ".join(str(value[index].as_py()) for value in inputs)))
        summary[key] = count, first
    return summary


def note_batch(start, found):
    """Count a batch's warnings; its first row is output row `start`."""
    for (kind, column), (count, first) in found.items():
        WARNINGS.add(kind, column, count, [(start + index, value) for index, value in first])
'''
