"""Render a Program as a standalone, readable Python script (pure: text in, text out).

The script copies the source of exactly the runtime functions the program uses (plus the module-level helpers,
constants and imports they need), composes the cell expressions in `convert_row`, and streams the input through
csv.reader -> table steps -> csv.writer, so row-local programs run in bounded memory on files of any size.
Its semantics are those of recast_engine.dsl.interpret.run_program.
"""
from __future__ import annotations

import ast
import inspect
import keyword
import math
import textwrap
from types import ModuleType
from typing import Any

from recast_engine import dialect, operators
from recast_engine.dsl.guards import checked_inputs, guarded_nodes
from recast_engine.dsl.model import Expr, Program
from recast_engine.render.closure import Definitions, collect_definitions, rename
from recast_engine.runtime import guards

# Names the script itself defines or imports; a runtime name equal to one of these is renamed in the copy.
_SCRIPT_NAMES = frozenset(
    {"csv", "io", "sys", "codecs", "functools", "_ReplayedHead", "HEADER_ROWS", "read_cell", "convert_header",
     "convert_row", "convert", "main", "detect_encoding", "text_codec", "detect_delimiter", "WARNINGS",
     "INPUT_WIDTH", "INPUT_HEADER_LINE", "check_row"}
)
_SCRIPT_PREFIXES = ("output_column_", "unconverted_")
# what every script copies from runtime.guards (the counter), and what a script with guarded columns adds
_COUNTER = frozenset({"WarningCounter"})
_CELL_GUARDS = frozenset({"problems", "unknown_key", "unparsed"})
_CACHE_SIZE = 65536
_LINE_WIDTH = 100
DEFAULT_BACKEND = "auto"  # the vectorized script (render.arrow) where it applies, else the per-cell one


def render_script(program: Program, *, title: str = "", backend: str = DEFAULT_BACKEND) -> str:
    """The script; OperatorError (a KeyError) for an unknown operator or arguments its declaration refuses.

    backend: "cell" (csv rows, one call per cell), "arrow" (record batches and pyarrow.compute kernels, see
    render.arrow) or "auto" (arrow when the program is vectorizable)."""
    for step in program.steps:
        operators.table(step.op).check(step.args)
    for expr in _cell_exprs(program):
        operators.cell(expr.op).check(expr.args)
    if backend != "cell":
        from recast_engine.render.arrow import render_vectorized, vectorizable

        if backend == "arrow" or (backend == "auto" and vectorizable(program)):
            return render_vectorized(program, title=title)
    sections, cell_names, table_names = copied_operators(program)
    parts = [
        _header(program, title),
        _imports(sections, functools_needed=any(_is_computed(c.value) for c in program.columns)),
        *(_section_text(s) for s in sections if s.statements),
        _conversion(program, cell_names, table_names),
        _DIALECT,
        _MAIN,
    ]
    return "\n\n\n".join(p.strip("\n") for p in parts if p.strip()) + "\n"


def copied_operators(program: Program) -> tuple[list[Definitions], dict[str, str], dict[str, str]]:
    """The runtime source the script copies (one section per module) and the name each cell operator and each
    table operator of the program has in the script (renamed on a clash with another definition)."""
    used = [operators.cell(op) for op in sorted(_cell_ops(program))]
    used += [operators.table(op) for op in sorted({s.op for s in program.steps})]
    guarding = _COUNTER | (_CELL_GUARDS if any(guarded_nodes(c.value) for c in program.columns) else frozenset())
    sections, names = _resolve_conflicts([*_sections(used), collect_definitions(guards, set(guarding))])
    renamed = {n for n in guarding if names.get((guards.__name__, n), n) != n}
    if renamed:
        raise ValueError(f"a runtime definition takes the guards' names {sorted(renamed)}")
    cell_names = {op.name: names[(op.module.__name__, op.function.__name__)] for op in used if op.kind == "cell"}
    table_names = {op.name: names[(op.module.__name__, op.function.__name__)] for op in used if op.kind == "table"}
    return sections, cell_names, table_names


def _sections(used: list[operators.Operator]) -> list[Definitions]:
    """One section per runtime module, in the registry's module order: the definitions the operators need."""
    roots: dict[str, set[str]] = {}
    modules: dict[str, ModuleType] = {}
    for op in operators.operators():
        modules.setdefault(op.module.__name__, op.module)
    for op in used:
        roots.setdefault(op.module.__name__, set()).add(op.function.__name__)
    return [collect_definitions(modules[name], roots[name]) for name in modules if name in roots]


def _cell_exprs(program: Program) -> list[Expr]:
    """Every operator call among the program's cell expressions."""
    found: list[Expr] = []

    def walk(e: Expr) -> None:
        if e.op not in ("col", "const"):
            found.append(e)
        for i in e.inputs:
            walk(i)

    for c in program.columns:
        walk(c.value)
        if c.header is not None:
            walk(c.header)
    return found


def _cell_ops(program: Program) -> set[str]:
    return {e.op for e in _cell_exprs(program)}


def _resolve_conflicts(sections: list[Definitions]) -> tuple[list[Definitions], dict[tuple[str, str], str]]:
    """Rename top-level names that collide with the script's own names or between runtime modules."""
    taken: dict[str, str] = {}  # emitted name -> statement source (identical definitions may be shared)
    names: dict[tuple[str, str], str] = {}
    resolved = []
    for section in sections:
        sources = {n: s.source for s in section.statements for n in s.binds}
        sources.update({n: ast.unparse(i) for i in section.imports for n in _import_names(i)})
        mapping = {}
        for name, source in sources.items():
            clash = _reserved(name) or (name in taken and taken[name] != source)
            emitted = name
            if clash:
                suffix = section.module_name.rsplit(".", 1)[-1]
                emitted = f"{name}_{suffix}"
                n = 2
                while emitted in taken or _reserved(emitted) or emitted in sources:
                    emitted, n = f"{name}_{suffix}{n}", n + 1
                mapping[name] = emitted
            taken[emitted] = source
            names[(section.module_name, name)] = emitted
        resolved.append(rename(section, mapping))
    return resolved, names


def _reserved(name: str) -> bool:
    return name in _SCRIPT_NAMES or name.startswith(_SCRIPT_PREFIXES)


def _import_names(node: ast.stmt) -> set[str]:
    assert isinstance(node, (ast.Import, ast.ImportFrom))
    return {(a.asname or a.name).split(".")[0] for a in node.names}


def _header(program: Program, title: str) -> str:
    lines = ["#!/usr/bin/env python3", '"""' + _docstring_safe(title or "CSV conversion learned by Recast.")]
    lines += ["", "Usage: python this_script.py INPUT.csv OUTPUT.csv", "", "Plan:"]
    for line in program.describe():
        lines += textwrap.wrap(
            _docstring_safe(line), _LINE_WIDTH, initial_indent="  ", subsequent_indent="      ",
            break_long_words=False, break_on_hyphens=False,
        )
    if program.header_rows:
        lines.append("  the first row is a header row")
    if program.notes:
        lines += ["", "Notes:"]
        for note in program.notes:
            lines += textwrap.wrap(
                _docstring_safe(note), _LINE_WIDTH, initial_indent="  - ", subsequent_indent="    ",
                break_long_words=False, break_on_hyphens=False,
            )
    lines.append('"""')
    return "\n".join(lines)


def _docstring_safe(text: str) -> str:
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _comment_safe(text: str) -> str:
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _imports(sections: list[Definitions], *, functools_needed: bool) -> str:
    plain = {"import codecs", "import csv", "import io", "import sys", *(["import functools"] * functools_needed)}
    from_imports: list[str] = []
    for section in sections:
        for imp in section.imports:
            text = ast.unparse(imp)
            if isinstance(imp, ast.Import):
                plain.add(text)
            elif text not in from_imports:
                from_imports.append(text)
    lines = ["from __future__ import annotations", "", *sorted(plain)]
    lines += [_wrap_import(t) for t in sorted(from_imports)]
    return "\n".join(lines)


def _wrap_import(text: str) -> str:
    if len(text) <= _LINE_WIDTH:
        return text
    head, names = text.split(" import ", 1)
    return f"{head} import (\n" + "".join(f"    {n.strip()},\n" for n in names.split(",")) + ")"


def _section_text(section: Definitions) -> str:
    banner = f"# ---- copied from {section.module_name} ----"
    return banner + "\n\n" + "\n\n\n".join(s.source for s in section.statements)


def _conversion(program: Program, cell_names: dict[str, str], table_names: dict[str, str]) -> str:
    str_safe = not program.steps  # without table steps every cell read is already a str
    out = [f"HEADER_ROWS = {program.header_rows}",
           "# the train input's rows had this many cells; its header line (None: not checked)",
           f"INPUT_WIDTH = {program.input_width!r}", f"INPUT_HEADER_LINE = {literal(program.input_header_line)}",
           "WARNINGS = WarningCounter(INPUT_WIDTH, INPUT_HEADER_LINE)  # what the conversion could not do"]
    checks: list[str] = []
    if program.columns:
        indices = output_columns_read(program)
        # Short rows read as "" past their end: pad them once (fast, plain row[i]); negative indices need the
        # original row length, so then every read goes through read_cell.
        width = max(indices) + 1 if indices and min(indices) >= 0 else 0
        if width:
            reads = {i: f"row[{i}]" for i in indices}
        else:
            reads = {i: f"read_cell(row, {i})" for i in indices}
            out.append(
                '\n\ndef read_cell(row, index):\n    """row[index], or "" when the row is shorter."""\n'
                '    return row[index] if index < len(row) else ""'
            )
        headers = [
            _as_text(c.header, cell_names, str_safe=False, params=reads) if c.header else '""'
            for c in program.columns
        ]
        values = []
        for j, c in enumerate(program.columns, 1):
            if _is_computed(c.value):
                definition, call = _cached_column(j, c.value, cell_names, reads)
                out.append(definition)
                values.append(call)
            else:
                values.append(_as_text(c.value, cell_names, str_safe=str_safe, params=reads))
            if guarded_nodes(c.value):
                definition, call = _unconverted_column(j, c.value, cell_names, reads)
                out.append(definition)
                written = _written_when_unconverted(c.value)
                first = "" if written is None else f"out[{j - 1}] == {literal(written)} and "
                checks.append(f"if {first}(found := {call}):\n    WARNINGS.note_cell(number, {j}, found)")
        out.append(_row_function("convert_header", "The output header row, from the input header row.", headers,
                                 width))
        out.append(_row_function("convert_row", "One output row from one input row.", values, width))
        if checks:
            out.append(_check_function(checks, width))
    body = ['def convert(rows):', '    """The output rows, from the input rows (a stream)."""',
            "    rows = WARNINGS.watch(rows)  # rows of another width, another header"]
    for i, step in enumerate(program.steps, 1):
        call = _indent_continuation(_call_text(table_names[step.op], ["rows"], step.args, 11), "    ")
        body.append(f"    # step {i}: {step.op}")
        body.append(f"    rows = {call}")
    if not program.columns:
        body.append("    yield from rows")
    else:
        body += row_loop(bool(checks))
    out.append("\n\n" + "\n".join(body))
    return "\n".join(out)


def row_loop(checked: bool) -> list[str]:
    """The lines of `convert` that turn rows into output rows (the header first), counting what the conversion
    could not do when `checked` (check_row)."""
    lines = ["    rows = iter(rows)", "    if HEADER_ROWS:", "        head = next(rows, None)",
             "        yield WARNINGS.named(convert_header(head or []))"]
    if not checked:
        return lines + ["    for row in rows:", "        yield convert_row(row)"]
    return lines + ["    for number, row in enumerate(rows, HEADER_ROWS + 1):", "        out = convert_row(row)",
                    "        check_row(number, row, out)", "        yield out"]


def _written_when_unconverted(expr: Expr) -> str | None:
    """What output column `expr` always writes when it could not convert a row (its only guarded node is the
    whole column: "" from a date or number operator, a lookup's default), or None (no such sign)."""
    nodes = guarded_nodes(expr)
    if len(nodes) != 1 or nodes[0][0] is not expr:
        return None
    if nodes[0][1] == "unknown_key":
        default = expr.args.get("default", "")
        return default if isinstance(default, str) else None
    return ""


def has_checks(program: Program) -> bool:
    return any(guarded_nodes(c.value) for c in program.columns)


def _check_function(checks: list[str], width: int) -> str:
    lines = ["\n\ndef check_row(number, row, out):",
             '    """Count what the conversion of this row (output row `number`, written `out`) could not do."""']
    if width:
        lines.append(f"    if len(row) < {width}:")
        lines.append(f'        row = row + [""] * ({width} - len(row))  # missing cells read as ""')
    lines += ["    " + _indent_continuation(check, "    ") for check in checks]
    return "\n".join(lines)


def _unconverted_column(j: int, expr: Expr, cell_names: dict[str, str], reads: dict[int, str]) -> tuple[str, str]:
    """A function naming what output column j could not convert from the input cells it reads ((kind, value)
    pairs, none when it could: runtime.guards), and its call in check_row."""
    used = sorted(_columns_read(expr))
    params = {i: f"column_{i}" if i >= 0 else f"column_minus_{-i}" for i in used}
    calls = []
    for node, kind in guarded_nodes(expr):
        inputs = [_expr_text(e, cell_names, 8, params) for e in checked_inputs(node, kind)]
        if kind == "unknown_key":
            calls.append(_call_text("unknown_key", inputs, {"table": node.args["table"]}, 8))
        else:
            # the column's own (cached) function when the node is the whole column
            result = (f"output_column_{j}({', '.join(params.values())})" if node is expr
                      else _expr_text(node, cell_names, 8, params))
            calls.append(_call_text("unparsed", [repr(kind), result, *inputs], {}, 8))
    body = _indent_continuation(_call_text("problems", calls, {}, 11), "    ")
    definition = (
        f"\n\n@functools.lru_cache(maxsize={_CACHE_SIZE})\n"
        f"def unconverted_{j}({', '.join(params.values())}):\n"
        f'    """What output column {j} could not convert (kind, value), from the cells it reads."""\n'
        f"    return {body}"
    )
    return definition, f"unconverted_{j}({', '.join(reads[i] for i in used)})"


def _row_function(name: str, doc: str, items: list[str], width: int) -> str:
    lines = [f"\n\ndef {name}(row):", f'    """{doc}"""']
    if width and any("row[" in item for item in items):
        lines.append(f"    if len(row) < {width}:")
        lines.append(f'        row = row + [""] * ({width} - len(row))  # missing cells read as ""')
    lines.append("    return [")
    for j, item in enumerate(items, 1):
        item = _indent_continuation(item, "        ")
        lines.append(f"        {item},  # column {j}")
    lines.append("    ]")
    return "\n".join(lines)


def _indent_continuation(text: str, indent: str) -> str:
    return text.replace("\n", "\n" + indent)


def _is_computed(expr: Expr) -> bool:
    return expr.op not in ("col", "const")


def output_columns_read(program: Program) -> set[int]:
    """The input columns the program's output columns (values and headers) read."""
    return set().union(*(_columns_read(c.value) | _columns_read(c.header) for c in program.columns))


def _columns_read(expr: Expr | None) -> set[int]:
    if expr is None:
        return set()
    if expr.op == "col":
        return {int(expr.args["index"])}
    return set().union(*(_columns_read(e) for e in expr.inputs)) if expr.inputs else set()


def _cached_column(j: int, expr: Expr, cell_names: dict[str, str], reads: dict[int, str]) -> tuple[str, str]:
    """A function computing output column j from the input cells it reads, and its call in convert_row.

    Cell operators are pure functions of their inputs and real columns repeat values (dates, categories), so
    a bounded cache saves recomputing them; memory stays bounded whatever the file size.
    """
    used = sorted(_columns_read(expr))
    params = {i: f"column_{i}" if i >= 0 else f"column_minus_{-i}" for i in used}
    body = _indent_continuation(_as_text(expr, cell_names, str_safe=False, params=params, indent=11), "    ")
    inputs = ", ".join(f"input column {i}" for i in used) or "no input"
    definition = (
        f"\n\n@functools.lru_cache(maxsize={_CACHE_SIZE})\n"
        f"def output_column_{j}({', '.join(params.values())}):\n"
        f'    """Output column {j}, from {inputs}."""\n'
        f"    return {body}"
    )
    call = f"output_column_{j}({', '.join(reads[i] for i in used)})"
    return definition, call


def _as_text(
    expr: Expr, cell_names: dict[str, str], *, str_safe: bool, params: dict[int, str], indent: int = 8
) -> str:
    """The expression as Python source, converted to str exactly like the interpreter does."""
    text = _expr_text(expr, cell_names, indent, params)
    if expr.op == "const" and isinstance(expr.args.get("value"), str):
        return text
    if expr.op == "col" and str_safe:
        return text
    return f"str({text})"


def _expr_text(expr: Expr, cell_names: dict[str, str], indent: int, params: dict[int, str]) -> str:
    """Source of a cell expression; reading column i is the source params[i]."""
    if expr.op == "col":
        return params[int(expr.args["index"])]
    if expr.op == "const":
        return literal(expr.args["value"])
    inputs = [_expr_text(e, cell_names, indent + 4, params) for e in expr.inputs]
    return _call_text(cell_names[expr.op], inputs, expr.args, indent)


def _call_text(fn: str, positional: list[str], kwargs: dict[str, Any], indent: int = 4) -> str:
    args = list(positional)
    odd = {}
    for key, value in kwargs.items():
        if key.isidentifier() and not keyword.iskeyword(key):
            args.append(f"{key}={literal(value)}")
        else:
            odd[key] = value
    if odd:
        args.append(f"**{literal(odd)}")
    flat = f"{fn}({', '.join(args)})"
    if len(flat) + indent <= _LINE_WIDTH and "\n" not in flat:
        return flat
    pad = " " * 4
    inner = ",\n".join(pad + a.replace("\n", "\n" + pad) for a in args)
    return f"{fn}(\n{inner},\n)"


def literal(value: Any) -> str:
    """Python source evaluating to `value` (JSON-like data)."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    raise TypeError(f"cannot render {type(value).__name__} {value!r} as a literal")


# The input's encoding and delimiter are detected as the gateway detects them (recast_engine.dialect).
_DIALECT = "# ---- copied from recast_engine.dialect ----\n\n" + "\n\n".join(
    inspect.getsource(f) for f in (dialect.detect_encoding, dialect.text_codec, dialect.detect_delimiter))

_MAIN = '''
class _ReplayedHead(io.RawIOBase):
    """The bytes already read from a stream, then the rest of the stream."""

    def __init__(self, head, rest):
        self.head, self.offset, self.rest = head, 0, rest

    def readable(self):
        return True

    def readinto(self, buffer):
        if self.offset < len(self.head):
            count = min(len(buffer), len(self.head) - self.offset)
            buffer[:count] = self.head[self.offset:self.offset + count]
            self.offset += count
            return count
        return self.rest.readinto(buffer)


def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python " + sys.argv[0] + " INPUT.csv OUTPUT.csv", file=sys.stderr)
        return 2
    csv.field_size_limit(2**31 - 1)
    # UTF-8 (with or without BOM), UTF-16 with BOM, cp1252 or Latin-1; separated by , ; tab or |
    # the input is read once (it may be a pipe): its first MiB decides the dialect, then is read again from memory
    with open(args[0], "rb") as raw:
        head = raw.read(1 << 20)
        more = raw.read(1)
        encoding = detect_encoding(head, not more)
        delimiter = detect_delimiter(head.decode(text_codec(encoding), "ignore"), not more)
        replayed = io.BufferedReader(_ReplayedHead(head + more, raw))
        with io.TextIOWrapper(replayed, encoding=text_codec(encoding), newline="") as source, \\
                open(args[1], "w", newline="", encoding="utf-8") as target:
            # a cell holding a CR or LF is quoted: the writer quotes every character of its terminator ("\\r\\n"),
            # and each row it writes ends in "\\n" (write() gets one whole row, the terminator last)
            csv.writer(type("LF", (), {"write": staticmethod(lambda row: target.write(row[:-2] + "\\n"))})(),
                       lineterminator="\\r\\n").writerows(convert(csv.reader(source, delimiter=delimiter)))
    WARNINGS.report(sys.stderr)  # one line: {"recast_warnings": {...}} (what the conversion could not do)
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''
