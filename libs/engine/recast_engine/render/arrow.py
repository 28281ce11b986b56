"""Render a Program as a vectorized script: pyarrow record batches in, pyarrow.compute kernels, CSV text out.

The script is the per-cell script (recast_engine.render.script) plus a faster path for the same conversion:

- the input is read in record batches (`pyarrow.csv.open_csv`, streaming, every column a string, no nulls);
- each output column is one expression over whole columns: a `pyarrow.compute` kernel where an operator has an
  exact one (arrow_kernels), else the per-cell function called once per distinct value of the batch (cached
  across batches);
- each batch is written as CSV text built by kernels, quoted exactly as csv.writer quotes;
- a file that Arrow's reader does not read as csv.reader does (rows of different lengths, an unterminated quote,
  an empty file) is converted again from the start, row by row, by the per-cell path;
- a file under VECTORIZE_FROM_BYTES (a train input, a small inference) is converted row by row without importing
  pyarrow at all: the import alone costs more CPU (~0.2 s) than converting such a file row by row, and the
  tester pays it on every attempt. The render check forces the vectorized path (`vectorize_from_bytes=0`).

Output bytes equal the per-cell script's. Programs with table steps or negative column indices (which depend on
each row's own length) are not vectorized: `vectorizable` says so and the renderer keeps the per-cell script.
"""
from __future__ import annotations

import ast
import functools

from recast_engine.dsl.model import Expr, Program, Step
from recast_engine.render import script as per_cell
from recast_engine.render.arrow_guards import GUARD_HELPERS, batch_warnings_source
from recast_engine.render.arrow_kernels import (
    FUSED,
    NUMBER_HELPERS,
    fused_format_source,
    kernel_source,
    portable_pattern,
)
from recast_engine.render.arrow_tables import (
    GROUP_HELPERS,
    collecting_source,
    predicate_source,
    vectorized_grouping,
    vectorized_sorting,
)
from recast_engine.render.closure import Definitions

BACKENDS = ("cell", "arrow", "auto")
# inputs smaller than this are converted row by row: importing pyarrow (~0.2 s of CPU) costs more than converting
# a file of up to about a MiB that way (measured on a date-formatting conversion: 0.9 MB in 0.4 s row by row)
VECTORIZE_FROM_BYTES = 1 << 20


def _plan(program: Program) -> tuple[int, Step | None] | None:
    """(how many leading steps are row filters the batches go through, the group_rows step after them that Arrow
    computes, or None: then no step follows the filters); None when the program is not vectorized."""
    filters = 0
    while filters < len(program.steps) and _filter_source(program.steps[filters]):
        filters += 1
    if filters == len(program.steps):
        return filters, None
    step = program.steps[filters]
    return (filters, step) if vectorized_grouping(step) or vectorized_sorting(step) else None


def vectorizable(program: Program) -> bool:
    """Whether the vectorized script can run this program: row filters (ONE_CELL_FILTERS), then output columns
    read by non-negative index, or a group_rows step Arrow computes (arrow_tables) and whatever follows it."""
    plan = _plan(program)
    if plan is None:
        return False
    indices = per_cell.output_columns_read(program)
    if plan[1] is None and not all(i >= 0 for i in indices):
        return False
    copied = set().union(*(section.bound_names() for section in per_cell.copied_operators(program)[0]))
    return not clashing(copied)


def clashing(names: set[str]) -> set[str]:
    """The names a runtime definition copied into the script shares with the vectorized script's own (which
    would replace it): such a program keeps the per-cell script."""
    return {n for n in names if n in _own_names() or n.startswith("value_")}


@functools.cache
def _own_names() -> frozenset[str]:
    tree = ast.parse(_HELPERS + NUMBER_HELPERS + GROUP_HELPERS + GUARD_HELPERS + _MAIN)
    bound = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    bound |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    return frozenset(bound | {"output_columns", "keep_rows", "STEPS", "main_by_row", "pa", "pc", "pa_csv", "io",
                              "VECTORIZE_FROM_BYTES",
                              "start_grouping", "convert_grouped", "decimal", "heapq", "tempfile", "collections",
                              "concurrent",
                              "AFTER_GROUPING_BY_BATCH", "batch_warnings", "INPUT_COLUMNS"})


def kernel_coverage(program: Program) -> tuple[int, int]:
    """(output columns computed by kernels only, output columns) of the vectorized rendering."""
    compiler = _Compiler({op: op for op in per_cell._cell_ops(program)})
    kernels = 0
    for c in program.columns:
        compiler.fallbacks.clear()
        compiler.compile(c.value, top=True)
        kernels += not compiler.fallbacks
    return kernels, len(program.columns)


def render_vectorized(program: Program, *, title: str = "",
                      vectorize_from_bytes: int = VECTORIZE_FROM_BYTES) -> str:
    """The vectorized script; it converts inputs under `vectorize_from_bytes` row by row (0: none)."""
    if not vectorizable(program):
        raise ValueError("only programs of output columns reading columns by non-negative index are vectorized")
    text = per_cell.render_script(program, title=title, backend="cell")
    cell_names = _cell_names(text, program)
    compiler = _Compiler(cell_names)
    columns = [compiler.compile(c.value, top=True) for c in program.columns]
    head, _, rest = text.partition("\n\n\n")
    docstring_end = head.rindex('"""')
    head = head[:docstring_end] + _DOC_NOTE + head[docstring_end:]
    body, _, main_by_row = rest.rpartition("\n\n\ndef main(")
    main_by_row = "def main_by_row(" + main_by_row.partition('\n\n\nif __name__ == "__main__":')[0]
    imports, _, definitions = body.partition("\n\n\n")
    imports = _with_imports(imports, {"import collections", "import decimal",
                                      "import functools", "import heapq", "import io", "import os", "import re",
                                      "import tempfile"})
    sections, _, table_names = per_cell.copied_operators(program)
    vector = [_threshold(vectorize_from_bytes), _HELPERS.strip("\n"), NUMBER_HELPERS.strip("\n"),
              GROUP_HELPERS.strip("\n"), GUARD_HELPERS.strip("\n"), _steps_function(program, table_names),
              _grouping_functions(program, table_names, sections)]
    warnings = batch_warnings_source(program, compiler.compile)
    vector += [f.strip("\n") for f in compiler.functions]
    vector.append(warnings)
    if program.columns:
        lines = ["def output_columns(batch):", '    """The output columns of one record batch (arrays, or scalars for '
                 'constants)."""', "    return ["]
        for j, source in enumerate(columns, 1):
            lines.append(f"        {per_cell._indent_continuation(source, '        ')},  # column {j}")
        lines.append("    ]")
        vector.append("\n".join(lines))
    else:
        vector.append(_AS_THEY_STAND.strip("\n"))
    parts = [head, imports, definitions, main_by_row, "# ---- vectorized conversion ----", *vector,
             _MAIN.strip("\n")]
    return "\n\n\n".join(p.strip("\n") for p in parts if p.strip()) + "\n"


# The output of a program without output columns: the rows as they stand after its steps.
_AS_THEY_STAND = r'''
def convert_header(row):
    """The header row as it stands."""
    return row


def output_columns(batch):
    """The rows of the batch as they stand."""
    blank = functools.reduce(pc.and_, [pc.equal(column, "") for column in batch.columns])
    if pc.any(blank).as_py():  # an empty line (a row of no cells) reads as a row of empty cells
        raise RowsDiffer("a row of empty cells, or an empty line")
    return list(batch.columns)
'''


# Row filters whose decision reads the cell in `column` only (and passes the first row when `header`): the
# vectorized script asks the step's own function, once per distinct value, whether a row holding it survives.
ONE_CELL_FILTERS = {"keep_rows_where", "keep_rows_matching", "drop_empty_rows"}


def _filter_source(step: Step, table_names: dict[str, str] | None = None) -> str | None:
    """The mask of the rows a filter step keeps, as source over a batch (None: not a filter we vectorize)."""
    column = step.args.get("column")
    if column is not None and (type(column) is not int or column < 0):
        return None
    if step.op == "drop_empty_rows" and set(step.args) <= {"column", "header"}:
        if column is None:
            return "not_empty_row(batch)"
        return f"not_empty(input_column(batch, {column}))"
    if step.op == "keep_rows_matching" and set(step.args) <= {"column", "pattern", "header"} and column is not None:
        pattern = step.args.get("pattern")
        if not isinstance(pattern, str):
            return None
        return f"fully_matching(input_column(batch, {column}), {pattern!r}, portable={portable_pattern(pattern)})"
    if step.op == "filter_rows" and set(step.args) <= {"where", "header"}:
        mask = predicate_source(step.args.get("where"))
        if mask is None:
            return None
        where = per_cell.literal({"where": step.args["where"]})
        return f"resolved(batch, {mask}, {(table_names or {}).get(step.op, step.op)}, {where})"
    if step.op in ONE_CELL_FILTERS and column is not None:
        function = (table_names or {}).get(step.op, step.op)
        arguments = {k: v for k, v in step.args.items() if k != "header"}
        return f"survives(input_column(batch, {column}), {function}, {per_cell.literal(arguments)}, {column})"
    return None


def _steps_function(program: Program, table_names: dict[str, str]) -> str:
    filters = program.steps[:_filter_count(program)]
    read = input_columns(program)
    lines = [f"STEPS = {len(filters)}",
             f"INPUT_COLUMNS = {read!r}  # the input columns the conversion reads (None: all of them)",
             "", "", "def keep_rows(batch, seen):",
             '    """The rows of the batch the row filters keep (a mask per step)."""']
    for k, step in enumerate(filters):
        lines.append(f"    # step {k + 1}: {per_cell._comment_safe(step.describe(brief=True))}")
        lines.append(f"    batch = keep(batch, {_filter_source(step, table_names)}, seen, {k}, "
                     f"header={bool(step.args.get('header', False))})")
    lines.append("    return batch")
    return "\n".join(lines)


def input_columns(program: Program) -> list[int] | None:
    """The input columns the vectorized conversion reads, the first always (None: every column, or whole rows go
    through a per-cell function): the others are not converted from the CSV text."""
    plan = _plan(program)
    assert plan is not None
    filters, grouping = plan
    read = {0}
    for step in program.steps[:filters]:
        column = step.args.get("column")
        if step.op == "filter_rows" or type(column) is not int:
            return None  # undecided rows go whole through the step's own function
        read.add(column)
    if grouping is None and not program.columns:
        return None  # the rows as they stand
    if grouping is None:
        read |= per_cell.output_columns_read(program)
    elif grouping.op == "group_rows":
        read |= set(grouping.args["keys"]) | {a.get("column", 0) for a in grouping.args["aggregates"]}
    else:
        return None
    return sorted(read)


def _filter_count(program: Program) -> int:
    plan = _plan(program)
    assert plan is not None
    return plan[0]


def _copied_name(sections: list[Definitions], module: str, name: str) -> str:
    """The name a runtime definition has in the script (renamed on a clash: name_<module>...)."""
    for section in sections:
        if section.module_name.rsplit(".", 1)[-1] == module:
            bound = section.bound_names()
            if name in bound:
                return name
            return min((n for n in bound if n.startswith(f"{name}_{module}")), key=len)
    raise KeyError(name)


def _grouping_functions(program: Program, table_names: dict[str, str], sections: list[Definitions]) -> str:
    """start_grouping (the group_rows or sort_by step the batches go into, or None), whether the output columns
    are computed on its batches (AFTER_GROUPING_BY_BATCH) and convert_grouped (its rows through the steps after it
    and the output columns, row by row)."""
    plan = _plan(program)
    assert plan is not None
    filters, grouping = plan
    lines = ["def start_grouping():", '    """The step the batches go into (None: the batches are converted as they '
             'come)."""']
    if grouping is None:
        lines.append("    return None")
        return "\n".join(lines)
    by_batch = grouping.op == "sort_by" and len(program.steps) == filters + 1
    if grouping.op == "sort_by" or grouping.args.get("sort_as"):
        source = collecting_source(grouping, _copied_name(sections, "relational", "_number"),
                                   _copied_name(sections, "relational", "_moment"))
    else:
        source = collecting_source(grouping, "None", "None")
    lines.append(f"    # step {filters + 1}: {per_cell._comment_safe(grouping.describe(brief=True))}")
    lines.append(f"    return {per_cell._indent_continuation(source, '    ')}")
    lines[:0] = [f"AFTER_GROUPING_BY_BATCH = {by_batch}", "", ""]
    lines += ["", "", "def convert_grouped(rows):",
              '    """The grouped rows through the steps after the grouping and the output columns, row by row."""']
    for k, step in enumerate(program.steps[filters + 1:], filters + 2):
        call = per_cell._indent_continuation(per_cell._call_text(table_names[step.op], ["rows"], step.args, 11),
                                             "    ")
        lines.append(f"    # step {k}: {step.op}")
        lines.append(f"    rows = {call}")
    if not program.columns:
        lines.append("    yield from rows")
    else:
        lines += per_cell.row_loop(per_cell.has_checks(program))
    return "\n".join(lines)


def _threshold(vectorize_from_bytes: int) -> str:
    return ("# Inputs smaller than this are converted row by row (main_by_row): importing pyarrow alone costs more\n"
            "# CPU than converting them that way.\n"
            f"VECTORIZE_FROM_BYTES = {vectorize_from_bytes:_}")


def _with_imports(block: str, needed: set[str]) -> str:
    """The per-cell script's import block with `needed` standard modules, and pyarrow's names, which main binds
    (import_pyarrow) only when it converts a file by record batches."""
    lines = block.split("\n")
    plain = sorted({line for line in lines if line.startswith("import ")} | needed)
    first = next(i for i, line in enumerate(lines) if line.startswith("import "))
    rest = [line for line in lines[first:] if not line.startswith("import ")]
    pyarrow = ["# pyarrow, and the threads converting its batches: imported by main() for a large input only",
               "concurrent = pa = pc = pa_csv = None  # (import_pyarrow)"]
    return "\n".join(lines[:first] + plain + rest + [""] + pyarrow)


def _cell_names(text: str, program: Program) -> dict[str, str]:
    """The name each cell operator's function has in the rendered per-cell script (renamed on a clash)."""
    return per_cell.copied_operators(program)[1]


class _Compiler:
    """Cell expressions as source over a batch: kernels where exact, per-value calls of per-cell code elsewhere."""

    def __init__(self, cell_names: dict[str, str]):
        self.cell_names = cell_names
        self.functions: list[str] = []
        self.fallbacks: list[Expr] = []

    def compile(self, expr: Expr, *, top: bool = False) -> str:
        source = self._kernel(expr, top)
        return source if source is not None else self._per_value(expr)

    def _kernel(self, expr: Expr, top: bool) -> str | None:
        """Source computing expr with kernels only (its inputs too, except concat's parts), or None."""
        if expr.op == "col":
            return f"input_column(batch, {int(expr.args['index'])})"
        if expr.op == "const":
            value = expr.args["value"]
            if isinstance(value, str):
                return f"pa.scalar({value!r})"
            return f"pa.scalar({str(value)!r})" if top else None
        if expr.op == "format_number" and len(expr.inputs) == 1 and expr.inputs[0].op in FUSED:
            inner = expr.inputs[0]
            parts = [self._kernel(e, False) for e in inner.inputs]
            if all(p is not None for p in parts):
                fused = fused_format_source(
                    expr.args, inner.op, inner.args, [str(p) for p in parts], [e.op != "const" for e in inner.inputs],
                    self.cell_names.get(expr.op, expr.op), self.cell_names.get(inner.op, inner.op))
                if fused is not None:
                    return fused
        if expr.op == "concat":
            # concat writes str() of every part: any part may be computed per value
            inputs = [self.compile(e, top=True) for e in expr.inputs]
        else:
            kernels = [self._kernel(e, False) for e in expr.inputs]
            inputs = [k for k in kernels if k is not None]
            if len(inputs) < len(kernels):
                return None
        is_array = [not (e.op == "const") for e in expr.inputs]
        name = self.cell_names.get(expr.op, expr.op)
        return kernel_source(expr.op, expr.args, inputs, is_array, name)

    def _per_value(self, expr: Expr) -> str:
        """A cached function of the input columns expr reads, called once per distinct value (per_value)."""
        self.fallbacks.append(expr)
        number = len(self.functions) + 1
        used = sorted(per_cell._columns_read(expr))
        params = {i: f"column_{i}" for i in used}
        body = per_cell._as_text(expr, self.cell_names, str_safe=False, params=params, indent=11)
        body = per_cell._indent_continuation(body, "    ")
        inputs = ", ".join(f"input column {i}" for i in used) or "no input"
        self.functions.append(
            f"@functools.lru_cache(maxsize={per_cell._CACHE_SIZE})\n"
            f"def value_{number}({', '.join(params.values())}):\n"
            f'    """{_doc(expr)}: per value, from {inputs} (no exact kernel)."""\n'
            f"    return {body}"
        )
        arrays = "".join(f", input_column(batch, {i})" for i in used)
        return f"per_value(value_{number}{arrays})"


def _doc(expr: Expr) -> str:
    text = per_cell._docstring_safe(expr.describe(brief=True))
    return text if len(text) <= 48 else text[:45] + "..."


_DOC_NOTE = """
Vectorized (pyarrow): the input is read in record batches and each output column is computed over whole columns,
by pyarrow.compute kernels where they give exactly the per-cell result, else by the per-cell function once per
distinct value. A file whose rows differ in length is converted row by row (main_by_row), with the same result,
and so is a file under VECTORIZE_FROM_BYTES, without importing pyarrow.
"""

_HELPERS = r'''
def import_pyarrow():
    """Bind pa, pc, pa_csv and concurrent.futures: the modules only the vectorized conversion uses."""
    global concurrent, pa, pc, pa_csv
    import concurrent.futures
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv


# The per-cell script writes rows with csv.writer(lineterminator="\r\n"), each row then ending in "\n":
# a field holding the delimiter, the quote character, a CR or a LF is quoted (asked of this Python's csv).
def _quoting_characters():
    return "".join(char for char in ',"\r\n' if csv_line([char, ""]).startswith(b'"'))


def csv_line(row):
    """One row as the per-cell script writes it."""
    line = io.StringIO()
    csv.writer(line, lineterminator="\r\n").writerow(row)
    return line.getvalue()[:-2].encode("utf-8") + b"\n"


QUOTED_CHARACTERS = _quoting_characters()
NEEDS_QUOTES = "[" + re.escape(QUOTED_CHARACTERS) + "]"
ASCII_WHITESPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"  # what str.strip() removes from ASCII text
PRINTABLE_ASCII = "^[ -~]*$"
BLOCK_BYTES = 1 << 22  # bytes of CSV per record batch
THREADS = 2  # record batches converted at once
MEMO_SIZE = 65536  # distinct values whose per-value results are kept
MEMOS = {}  # function -> (values, their results)


class RowsDiffer(Exception):
    """The file is one that Arrow's CSV reader and csv.reader read differently."""


def input_column(batch, index):
    """Column `index` of the batch; "" past the last column (as a short row reads)."""
    if index < batch.num_columns:
        return batch.column(index)
    return pc.utf8_slice_codeunits(batch.column(0), 0, 0)


def per_value(function, *columns, kind=None, key=None):
    """function over the rows' values (of type kind, a string by default). Over one column: once per distinct
    value, the results kept across batches (up to MEMO_SIZE values) and looked up by a kernel; over several:
    once per row."""
    kind = pa.string() if kind is None else kind
    if not columns:
        return pa.scalar(function(), kind)
    if len(columns) > 1:
        values = [column.to_pylist() for column in columns]
        return pa.array([function(*row) for row in zip(*values)], kind)
    column = columns[0]
    known, results = MEMOS.get(key or function, (pa.array([], pa.string()), pa.array([], kind)))
    position = pc.index_in(column, value_set=known)
    missing = pc.is_null(position)
    if pc.any(missing).as_py():
        new = pc.unique(column.filter(missing))
        computed = pa.array([function(value) for value in new.to_pylist()], kind)
        if len(known) + len(new) > MEMO_SIZE:
            known, results = new, computed
        else:
            known, results = pa.concat_arrays([known, new]), pa.concat_arrays([results, computed])
        MEMOS[key or function] = known, results
        position = pc.index_in(column, value_set=known)
    return pc.take(results, position)


def keep(batch, mask, seen, step, header):
    """The rows where mask holds; with header, the first row the step sees passes whatever the mask."""
    if batch.num_rows and not seen[step]:
        seen[step] = True
        if header:
            mask = pc.or_(mask, pa.array([True] + [False] * (batch.num_rows - 1)))
    return batch.filter(mask)


def not_empty(column):
    """Values that are not empty once stripped of whitespace."""
    if pc.all(pc.string_is_ascii(column)).as_py() is not False:
        return pc.not_equal(strip_ascii(column), "")
    return per_value(lambda value: bool(value.strip()), column, kind=pa.bool_(), key="not_empty")


def survives(column, step_function, arguments, index):
    """Whether a row holding each value in column `index` passes the step: its own function (a filter that
    reads that cell only), once per distinct value."""

    def passes(value):
        return any(True for _ in step_function([[""] * index + [value]], **arguments))

    key = (step_function, index, repr(arguments))
    return per_value(passes, column, kind=pa.bool_(), key=key)


def not_empty_row(batch):
    """Rows with a cell that is not empty once stripped."""
    masks = [not_empty(column) for column in batch.columns]
    return functools.reduce(pc.or_, masks)


def fully_matching(column, pattern, portable):
    """Values the regular expression matches whole: RE2 on printable ASCII values when the pattern
    means the same there, else Python's re once per distinct value."""
    if portable and pc.all(pc.match_substring_regex(column, PRINTABLE_ASCII)).as_py() is not False:
        return pc.match_substring_regex(column, "^(?:" + pattern + ")$")
    regex = re.compile(pattern)

    def matching(value):
        return regex.fullmatch(value) is not None

    return per_value(matching, column, kind=pa.bool_(), key=("fully_matching", pattern))


def where_ascii(column, kernel, function):
    """kernel(column) when every value is ASCII (there the ASCII kernels are exact), else function per
    value."""
    if pc.all(pc.string_is_ascii(column)).as_py() is not False:
        return kernel(column)
    return per_value(function, column)


def strip_ascii(column):
    return pc.ascii_trim(column, characters=ASCII_WHITESPACE)


def lookup_in(column, table, default):
    """table[value], else default."""
    position = pc.index_in(column, value_set=pa.array(list(table), pa.string()))
    return pc.fill_null(pc.take(pa.array(list(table.values()), pa.string()), position), default)


def substring_by_index(column, start, end):
    """text[a:b] with a = start (len + 1 + start when negative) and b likewise; "" when a position is
    out of range or b < a (substring with {"index": k} positions)."""
    length = pc.utf8_length(column)
    shortest, longest = 0, None
    for k in (start, end):
        shortest = max(shortest, k if k >= 0 else -1 - k)
    if start >= 0 and end >= 0 and end < start or start < 0 and end < 0 and end < start:
        return pc.utf8_slice_codeunits(column, 0, 0)
    if start >= 0 > end:
        shortest = max(shortest, start - 1 - end)
    if start < 0 <= end:
        longest = end - 1 - start
    if start == -1:
        sliced = pc.utf8_slice_codeunits(column, 0, 0)
    else:
        stop = end if end >= 0 else (None if end == -1 else end + 1)
        sliced = pc.utf8_slice_codeunits(column, start if start >= 0 else start + 1, stop)
    valid = pc.greater_equal(length, shortest)
    if longest is not None:
        valid = pc.and_(valid, pc.less_equal(length, longest))
    return pc.if_else(valid, sliced, "")


def if_matches_printable(column, then_value, else_value, pattern, function):
    """then_value where the value contains a match of pattern, else else_value: RE2 on printable ASCII
    values (where it means what Python's re means for these patterns), else function per row."""
    if pc.all(pc.match_substring_regex(column, PRINTABLE_ASCII)).as_py() is not False:
        return pc.if_else(pc.match_substring_regex(column, pattern), then_value, else_value)
    rows = [column]
    for value in (then_value, else_value):
        if isinstance(value, pa.Scalar):
            value = pa.array([value.as_py()] * len(column), pa.string())
        rows.append(value)
    return per_value(lambda text, a, b: function(text, a, b, pattern=pattern), *rows)


def csv_text(columns, blank):
    """The rows as CSV text, one line each ending with "\n", quoted as csv.writer quotes them: Arrow's CSV writer
    where no field needs quotes (its text is then the same), else lines joined by kernels."""
    fields, quoting = [], False
    for value in columns:
        present = quoted_characters_in(value)
        if len(columns) == 1:
            # a row of one empty field is written ""
            needs = pc.or_(pc.match_substring_regex(value, NEEDS_QUOTES), pc.equal(value, ""))
        elif len(present) == 1:
            needs = pc.match_substring(value, present)
        elif present:
            needs = pc.match_substring_regex(value, NEEDS_QUOTES)
        else:
            needs = None
        if needs is not None and pc.any(needs).as_py():
            escaped = pc.replace_substring(value, '"', '""') if '"' in present else value
            quoted = pc.binary_join_element_wise('"', escaped, '"', "")
            value, quoting = pc.if_else(needs, quoted, value), True
        fields.append(value)
    if not quoting and len(fields) > 1 and all(isinstance(f, pa.StringArray) for f in fields):
        text = pa.BufferOutputStream()
        names = [f"c{i}" for i in range(len(fields))]
        unquoted = pa_csv.WriteOptions(include_header=False, quoting_style="none", eol="\n")
        pa_csv.write_csv(pa.RecordBatch.from_arrays(fields, names=names), text, unquoted)
        return text.getvalue()
    fields[-1] = pc.binary_join_element_wise(fields[-1], "\n", "")
    line = pc.binary_join_element_wise(*fields, ",")
    if isinstance(line, pa.Scalar):  # constants only: the same line on every row
        line = pc.binary_join_element_wise(blank, line, "")
    return line


def quoted_characters_in(value):
    """The characters csv.writer quotes that a value of the column holds (a search of the raw bytes)."""
    if isinstance(value, pa.Scalar):
        return "".join(char for char in QUOTED_CHARACTERS if char in value.as_py())
    chunks = value.chunks if isinstance(value, pa.ChunkedArray) else [value]
    data = [(chunk.buffers()[2] or pa.py_buffer(b"")).to_pybytes() for chunk in chunks]
    return "".join(char for char in QUOTED_CHARACTERS if any(d.find(char.encode()) >= 0 for d in data))


def write_text(target, lines):
    """Write CSV text (a buffer, or a string array's characters as they lie in its data buffer: no Python
    strings)."""
    if isinstance(lines, pa.Buffer):
        target.write(lines)
        return
    if len(lines) == 0:
        return
    if isinstance(lines, pa.ChunkedArray):
        for chunk in lines.chunks:
            write_text(target, chunk)
        return
    _, offsets, data = lines.buffers()
    offsets = memoryview(offsets).cast("b").cast("i")  # int32 offsets of a string array
    target.write(memoryview(data)[offsets[lines.offset] : offsets[lines.offset + len(lines)]])


def batch_text(batch):
    """The output rows of a batch as CSV text, and what their conversion could not do (batch_warnings)."""
    columns = output_columns(batch)
    return csv_text(columns, pc.utf8_slice_codeunits(batch.column(0), 0, 0)), batch_warnings(batch, columns)


def converted_batch(batch, filtering):
    """(output rows, batch_text) of a batch; filtering: the batch goes through the row filters first (each has
    seen its first row)."""
    if filtering:
        batch = keep_rows(batch, [True] * STEPS)
    return batch.num_rows, batch_text(batch) if batch.num_rows else None


def write_converted(target, rows, converted):
    """Write a converted batch (batch_text) of `rows` output rows, the next in order, and count its warnings."""
    if converted is None:
        return
    text, found = converted
    note_batch(HEADER_ROWS + 1 + WARNINGS.converted, found)
    WARNINGS.converted += rows
    write_text(target, text)


def write_batches(target, batches, header_pending, seen=None):
    """Write the output rows of the batches in order (the first row through convert_header while header_pending),
    converting up to THREADS batches at once: pyarrow.compute releases the GIL. seen: the batches have still to go
    through the row filters (keep_rows, its state): here until the header is written and every filter has seen its
    first row, then in the conversion threads. Whether the header is still pending."""
    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        pending = collections.deque()
        for batch in batches:
            filtering = seen is not None and all(seen) and not header_pending
            if seen is not None and not filtering:
                batch = keep_rows(batch, seen)
            if header_pending and batch.num_rows:
                header = convert_header([column[0].as_py() for column in batch.columns])
                target.write(csv_line(WARNINGS.named(header)))
                batch, header_pending = batch.slice(1), 0
            if batch.num_rows:
                pending.append(pool.submit(converted_batch, batch, filtering))
            if len(pending) > THREADS:
                write_converted(target, *pending.popleft().result())
        for converted in pending:
            write_converted(target, *converted.result())
    return header_pending


def grouped_in_threads(grouping, batches, seen):
    """The batches through the row filters into a GroupedRows, aggregated up to THREADS batches at once and merged
    in order (the filters in the threads too once the header has passed and each has seen its first row)."""

    def partial(batch, filtering):
        return grouping.partial(keep_rows(batch, [True] * STEPS) if filtering else batch)

    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        pending = collections.deque()
        for batch in batches:
            filtering = all(seen) and not grouping.head_pending
            if not filtering:
                batch = grouping.headless(keep_rows(batch, seen))
            pending.append(pool.submit(partial, batch, filtering))
            if len(pending) > THREADS:
                grouping.merge_all(pending.popleft().result())
        for result in pending:
            grouping.merge_all(result.result())


def input_batches(source, width):
    """The file's record batches, every column a string column; the columns the conversion does not read
    (INPUT_COLUMNS) are left unconverted, null."""
    names = [f"f{i}" for i in range(width)]  # as autogenerate_column_names names them
    read = names if INPUT_COLUMNS is None else [names[i] for i in INPUT_COLUMNS if i < width]

    def reader(block_bytes, columns=()):  # no columns: all of them
        return pa_csv.open_csv(
            source,
            read_options=pa_csv.ReadOptions(autogenerate_column_names=True, block_size=block_bytes),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(
                strings_can_be_null=False, quoted_strings_can_be_null=False, null_values=[],
                column_types={name: pa.string() for name in columns}, include_columns=list(columns),
            ),
        )

    if len(reader(1 << 16).schema) != width:
        raise RowsDiffer("the first row reads differently")
    for batch in reader(BLOCK_BYTES, read):
        if len(read) < width:
            columns = [batch.column(name) if name in read else pa.nulls(batch.num_rows) for name in names]
            batch = pa.RecordBatch.from_arrays(columns, names=names)
        yield batch


def convert_batches(source, target):
    """The vectorized conversion of file `source` into the binary file `target`."""
    with open(source, "rb") as raw:
        head = raw.read(1 << 20)
        complete = not raw.read(1)
    encoding = detect_encoding(head, complete)
    if encoding not in ("utf-8", "utf-8-sig") or detect_delimiter(head.decode(encoding, "ignore"), complete) != ",":
        raise RowsDiffer("another encoding or delimiter than UTF-8 and commas")
    with open(source, newline="", encoding="utf-8-sig") as text:
        first = next(csv.reader(text), [])
    width = len(first)
    if not width:
        raise RowsDiffer("an empty file or an empty first row")
    if INPUT_WIDTH is not None and width != INPUT_WIDTH:
        raise RowsDiffer("rows of another width than the train input's (counted row by row)")
    WARNINGS.check_header(first)
    header_pending = HEADER_ROWS
    seen = [False] * STEPS
    grouping = start_grouping()

    batches = input_batches(source, width)
    if grouping is None:
        header_pending = write_batches(target, batches, header_pending, seen)
    else:
        if isinstance(grouping, GroupedRows):
            grouped_in_threads(grouping, batches, seen)
        else:
            for batch in batches:
                grouping.add(keep_rows(batch, seen))
        if not AFTER_GROUPING_BY_BATCH:
            for row in convert_grouped(grouping.rows()):
                target.write(csv_line(row))
            return
        header_pending = write_batches(target, grouping.batches(), header_pending)
    if header_pending:  # no row left: the header of an empty row, as the per-cell script writes it
        target.write(csv_line(WARNINGS.named(convert_header([]))))
'''

_MAIN = '''
def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or not os.path.isfile(args[0]):
        return main_by_row(args)  # usage; or a pipe, which cannot be read twice (a first look, a restart)
    if os.path.getsize(args[0]) < VECTORIZE_FROM_BYTES:
        return main_by_row(args)  # a small file: done row by row sooner than pyarrow is imported
    import_pyarrow()
    csv.field_size_limit(2**31 - 1)
    try:
        with open(args[1], "wb") as target:
            convert_batches(args[0], target)
    except (pa.ArrowInvalid, RowsDiffer):
        # rows of different lengths, an unterminated quote, an empty file: start again, row by row
        WARNINGS.clear()
        return main_by_row(args)
    WARNINGS.report(sys.stderr)  # one line: {"recast_warnings": {...}} (what the conversion could not do)
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''
