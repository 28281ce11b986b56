"""How far a learned program is to be trusted on new data: trusted, ambiguous or memorizes.

A program that reproduces the example may still only work for the rows shown. Three checks on the best candidate:
- memorizing structures: a lookup keyed on values that (nearly) all appear once, a constant output copying a
  data cell of a varying input column, a conditional whose branch holds a single example row, a reshape whose
  size is the example's row count;
- validation inside the example: each computed column learned again on part of the rows must predict the others;
- ambiguity: another candidate about as simple gives a different output on a distinguishing input (the
  example's own rows with their cells recombined); that input row, each candidate's output and the row that
  would settle it are reported.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from recast_engine.dsl import Expr, Program, Step
from recast_engine.dsl.interpret import apply_steps, eval_expr, run
from recast_engine.hints import NO_HINTS, Hints
from recast_engine.synthesis.arithmetic import refit_linear
from recast_engine.synthesis.relational import memorizing_filters
from recast_engine.synthesis.relational_trust import contradicts_hints, relational_doubt

Row = list[str]
Confidence = Literal["trusted", "ambiguous", "memorizes"]

# reshapes whose size argument lines up whole blocks of rows: a size equal to the row count fits one example only
_SIZED_STEPS = {"wrap_rows": "size", "transpose_blocks": "size"}
# a candidate this much costlier than the best is not a serious rival (program_cost units)
RIVAL_COST_MARGIN = 4
MIN_ROWS_TO_VALIDATE = 4


@dataclass
class Assessment:
    confidence: Confidence
    reason: str = ""
    suggestion: str = ""
    # ambiguity: an input row on which candidates disagree, and what each of them outputs for it
    distinguishing_row: Row | None = None
    candidate_outputs: list[Row] = field(default_factory=list)


def assess(
    programs: list[Program],
    costs: list[tuple[int, int]],
    input_grid: list[Row],
    expected_grid: list[Row],
    relearn: Callable[[list[Row], list[str]], Expr | None] | None = None,
    hints: Hints = NO_HINTS,
) -> Assessment:
    """The confidence in programs[0] (candidates best first; costs their ranking keys, first item compared).

    relearn(rows, outputs) learns one column again on part of the rows (None: no such validation). hints: the
    user's constants and aggregation functions; a test against a hinted constant is not a guess.
    """
    best = programs[0]
    try:
        findings = memorizing(best, input_grid, hints)
    except Exception:  # noqa: BLE001 - a program failing on its own train input is left to the verifier
        findings = []
    if findings:
        reason, suggestion = findings[0]
        return Assessment("memorizes", reason, suggestion)
    if _one_case(best, input_grid):
        return Assessment(
            "ambiguous",
            "every example row has the same input and an output column is one constant: whether it changes with "
            "the input is a guess",
            "add rows with different input values and their expected output",
        )
    unshown = _unshown_grouping(best, input_grid)
    if unshown is not None:
        return Assessment("ambiguous", *unshown)
    if relearn is not None:
        failed = _held_out_failure(best, input_grid, relearn)
        if failed:
            return Assessment("memorizes", *failed)
    doubt = _safe_relational_doubt(best, input_grid, hints)
    if doubt is not None:
        return Assessment("ambiguous", doubt.reason, doubt.suggestion, doubt.row, doubt.outputs)
    rivals = [
        p for p, c in zip(programs[1:], costs[1:])
        if _cost_head(c) - _cost_head(costs[0]) <= RIVAL_COST_MARGIN and not _safe_memorizing(p, input_grid)
        and not contradicts_hints(p, best, hints)
    ]
    if rivals:
        ambiguous = _disagreement(best, rivals, input_grid)
        if ambiguous is not None:
            return ambiguous
    return Assessment("trusted")


def _safe_relational_doubt(program: Program, input_grid: list[Row], hints: Hints = NO_HINTS) -> Any:
    try:
        return relational_doubt(program, input_grid, hints)
    except Exception:  # noqa: BLE001 - a check that cannot run on this example raises no doubt
        return None


def _one_case(program: Program, input_grid: list[Row]) -> bool:
    """The example shows one distinct input row, and the program computes (not only copies) an output."""
    distinct = {tuple(r) for r in input_grid[program.header_rows:]}
    return len(distinct) < 2 and any(_constant_output(c.value) for c in program.columns)


def _unshown_grouping(program: Program, input_grid: list[Row]) -> tuple[str, str] | None:
    """(reason, suggestion) when the example does not show how rows combine: it holds one row that the program only
    copies from, or an aggregating step whose groups each hold a single row."""
    body = input_grid[program.header_rows:]
    copies_only = not program.steps and all(c.value.op == "col" for c in program.columns)
    if len(body) == 1 and copies_only:
        return (
            "the example has a single row and its output copies cells as they stand: whether the rows of a longer "
            "file are each kept the same way, or gathered with the rows that share a key, is not shown",
            "add a second row to the example (one sharing a key with the first, if such rows are to be combined)",
        )
    grid: list[Row] = [list(r) for r in input_grid]
    for step in program.steps:
        if step.op in _AGGREGATING:
            rows = grid[1:] if step.args.get("header") else grid
            sizes = Counter(tuple(_cell(r, k) for k in step.args.get("keys") or []) for r in rows)
            if rows and set(sizes.values()) == {1}:
                return (
                    f"step {step.op} computes over the rows that share a key, but each of the example's groups holds "
                    "one row: an aggregate of one row is that row's own value, so whether (and how) rows are "
                    "combined is not shown",
                    "add rows that share a key (two or more in a group) with their expected output",
                )
        grid = list(_table_step(step)(grid, **step.args))
    return None


# steps whose output cells combine the values of all rows sharing a key
_AGGREGATING = ("group_rows", "add_window")


def _constant_output(expr: Expr) -> bool:
    """A column whose non-empty output is one constant (as is, or kept empty for an empty input)."""
    if expr.op == "const":
        return bool(str(expr.args.get("value", "")).strip())
    if expr.op == "if_matches" and expr.args.get("pattern") == "^$" and len(expr.inputs) == 3:
        return _constant_output(expr.inputs[2])
    return False


def _cost_head(cost: tuple[int, ...] | list[int] | float) -> float:
    return float(cost[0] if isinstance(cost, (tuple, list)) else cost)


def _safe_memorizing(program: Program, grid: list[Row]) -> list[tuple[str, str]] | list[str]:
    try:
        return memorizing(program, grid)
    except Exception:  # noqa: BLE001
        return ["fails"]


# ---------------------------------------------------------------- memorizing structures


def _name(program: Program, j: int, grid: list[Row]) -> str:
    column = program.columns[j]
    label = f"output column {j + 1}"
    if program.header_rows and column.header is not None and grid:
        head = str(eval_expr(column.header, grid[0]))
        if head:
            label += f" ({head!r})"
    return label


def _input_label(c: int, head: Row | None | Literal[False]) -> str:
    """head False: the column is one of the table after the program's steps, not of the input."""
    if head is False:
        return f"column {c + 1} of the table after the steps"
    if head and c < len(head) and head[c]:
        return f"input column {c + 1} ({head[c]!r})"
    return f"input column {c + 1}"


def memorizing(program: Program, input_grid: list[Row], hints: Hints = NO_HINTS) -> list[tuple[str, str]]:
    """(reason, suggestion) for each part of the program that only works for the rows shown."""
    findings: list[tuple[str, str]] = []
    grid = list(apply_steps(program, [list(r) for r in input_grid]))
    head = grid[0] if program.header_rows and grid else None
    body = grid[program.header_rows:]
    data_cells = _varying_data_cells(input_grid[program.header_rows:])
    for j, column in enumerate(program.columns):
        label = _name(program, j, grid)
        for node, rows in _nodes_with_rows(column.value, body):
            found = _node_finding(node, rows, label, head if not program.steps else False, data_cells, len(body))
            if found:
                findings.append(found)
                break
    findings += memorizing_filters(program, input_grid, hints)
    return findings + _sized_reshapes(program, input_grid) + _reshape_chain(program, input_grid)


def memorizing_steps(program: Program, input_grid: list[Row]) -> bool:
    """Whether the program's steps alone line cells up by coincidence of the example (a reshape sized by its row
    count, records of one table joined by position, a chain of reshapes): whatever output columns complete them,
    the program memorizes."""
    try:
        return bool(_sized_reshapes(program, input_grid) or _reshape_chain(program, input_grid))
    except Exception:  # noqa: BLE001 - steps failing on their own example say nothing here
        return False


def _sized_reshapes(program: Program, input_grid: list[Row]) -> list[tuple[str, str]]:
    findings = []
    grid: list[Row] = [list(r) for r in input_grid]
    for step in program.steps:
        arg = _SIZED_STEPS.get(step.op)
        size = step.args.get(arg) if arg else None
        if isinstance(size, int) and size > 1 and not _one_cell_list(grid):
            if size in (len(grid), len(grid) - 1):
                findings.append((
                    f"step {step.op} groups rows by {size}, the number of rows in the example: it only fits "
                    "an input of exactly this length",
                    "add an example with more rows (two or more records) so the grouping shows",
                ))
            elif _alike_records(grid[program.header_rows:], size, program.header_rows):
                findings.append((
                    f"step {step.op} joins every {size} rows into one although the rows all look alike (records "
                    "of one table): the cells line up by coincidence of the example's order",
                    "if rows are filtered, grouped or matched by a key, add an instruction saying so, or more rows",
                ))
        grid = list(_table_step(step)(grid, **step.args))
    return findings


_RESHAPES = {"pivot", "pivot_records", "melt", "unfold", "fold", "transpose", "transpose_blocks", "wrap_rows"}


# reshapes that line cells up by their position in the input (a transpose, a melt or a pivot by key does not)
_POSITIONAL = {"unfold", "fold", "wrap_rows", "transpose_blocks", "pivot_records"}


def _reshape_chain(program: Program, input_grid: list[Row]) -> list[tuple[str, str]]:
    """Two or more reshapes applied to a plain table (a header, rows of one width, no gaps): on such input a
    chain of pivots, melts and unfolds that happens to line the cells up is a coincidence of the example."""
    chain = [s.op for s in program.steps if s.op in _RESHAPES]
    if not chain or not _plain_table(input_grid) or not set(chain) & _POSITIONAL:
        return []
    if chain == ["unfold"] and program.columns:
        grid = list(apply_steps(program, [list(r) for r in input_grid]))
        used = {j for c in program.columns for j in _columns_read(c.value)}
        width = max((len(r) for r in grid), default=0)
        if len(used) < width:
            return [(
                "step unfold lines up the values of each group by position and the output keeps only some of "
                "those positions: which value lands in a kept position depends on the example's row order",
                "if one row per group is picked (the first, the largest...) or values are combined, add an "
                "instruction saying so, or more rows per group",
            )]
    if len(chain) < 2:
        return []
    return [(
        f"the steps {' -> '.join(chain)} reshape a plain table several times to line its cells up with the "
        "example: the result depends on which rows the example happens to hold",
        "if rows are filtered, grouped, joined or sorted, add an instruction saying so, or more rows",
    )]


def _columns_read(expr: Expr) -> set[int]:
    found = {expr.args["index"]} if expr.op == "col" else set()
    for child in expr.inputs:
        found |= _columns_read(child)
    return found


def _plain_table(grid: list[Row]) -> bool:
    if len(grid) < 3:
        return False
    width = len(grid[0])
    return width >= 2 and all(len(r) == width and all(c.strip() for c in r) for r in grid)


def _table_step(step: Step) -> Callable[..., Iterable[Row]]:
    from recast_engine import operators

    return operators.table(step.op).function


def _one_cell_list(grid: list[Row]) -> bool:
    """A list of single values, one per line (records laid out one field per line are cut by position)."""
    return all(sum(1 for c in r if c.strip()) <= 1 for r in grid)


_NUMBER = re.compile(r"^[-+]?[\d.,]+$")


def _shape(row: Row) -> tuple[str, ...]:
    return tuple("" if not c.strip() else ("n" if _NUMBER.match(c.strip()) else "t") for c in row)


def _alike_records(body: list[Row], size: int, offset: int) -> bool:
    """Rows of several cells that have the same shapes (empty / number / text per cell) in every position of a
    block of `size`: records of one table, not the lines of one record (a one-cell list is laid out by position)."""
    if sum(1 for r in body if sum(1 for c in r if c.strip()) >= 2) * 2 < len(body):
        return False
    phases: list[set[tuple[str, ...]]] = [set() for _ in range(size)]
    for i, row in enumerate(body):
        phases[(i + offset) % size].add(_shape(row))
    filled = [p for p in phases if p]
    return len(filled) == size and all(p == filled[0] for p in filled)


def _cell(row: Row, i: int) -> str:
    return row[i] if i < len(row) else ""


def _varying_data_cells(body: list[Row]) -> dict[str, tuple[int, int]]:
    """Data cell -> (row, column) of its first occurrence, for columns holding more than one value."""
    width = max((len(r) for r in body), default=0)
    cells: dict[str, tuple[int, int]] = {}
    for c in range(width):
        values = [r[c] if c < len(r) else "" for r in body]
        if len(set(values)) < 2:
            continue
        for i, v in enumerate(values):
            if v.strip():
                cells.setdefault(v, (i, c))
    return cells


def _nodes_with_rows(expr: Expr, rows: list[Row]) -> Iterator[tuple[Expr, list[Row]]]:
    """Every node of expr with the rows whose value it decides (a conditional's branches see their rows only)."""
    yield expr, rows
    if expr.op == "if_matches" and len(expr.inputs) == 3:
        regex = re.compile(expr.args.get("pattern", ""))
        tested = [str(eval_expr(expr.inputs[0], r)) for r in rows]
        then_rows = [r for r, t in zip(rows, tested) if regex.search(t)]
        else_rows = [r for r, t in zip(rows, tested) if not regex.search(t)]
        yield from _nodes_with_rows(expr.inputs[0], rows)
        yield from _nodes_with_rows(expr.inputs[1], then_rows)
        yield from _nodes_with_rows(expr.inputs[2], else_rows)
        return
    for child in expr.inputs:
        yield from _nodes_with_rows(child, rows)


def _node_finding(
    node: Expr, rows: list[Row], label: str, head: Row | None | Literal[False], data_cells: dict[str, tuple[int, int]],
    total_rows: int,
) -> tuple[str, str] | None:
    if node.op == "lookup" and node.inputs:
        return _lookup_finding(node, rows, label, head)
    if node.op == "if_matches" and node.args.get("pattern") != "" and len(node.inputs) == 3:
        return _conditional_finding(node, rows, label, head)
    if node.op == "const" and total_rows > 1 and rows:
        value = str(node.args.get("value", ""))
        digits = sum(ch.isdigit() for ch in value)
        if digits >= 4 and value not in data_cells:
            source = next((cell for cell in data_cells if value in cell), None)
            if source is not None:
                i, c = data_cells[source]
                return (
                    f"{label} writes the constant {value!r}, digits copied from {source!r} (row {i + 1} of "
                    f"{_input_label(c, head)}): a new row gets the example's value",
                    f"add rows whose {label} shows where these digits come from",
                )
        if value.strip() and value in data_cells:
            i, c = data_cells[value]
            return (
                f"{label} is always {value!r}, a value copied from row {i + 1} of {_input_label(c, head)}: "
                "it does not follow from the input",
                f"add a row whose {label} is not {value!r}, or say where the value comes from",
            )
    return None


def _lookup_finding(
    node: Expr, rows: list[Row], label: str, head: Row | None | Literal[False]
) -> tuple[str, str] | None:
    table = node.args.get("table") or {}
    if not table:
        return None
    keys = Counter(str(eval_expr(node.inputs[0], r)) for r in rows)
    once = [k for k in table if keys.get(k, 0) <= 1]
    if 2 * len(once) <= len(table):
        return None
    key_expr = node.inputs[0]
    source = _input_label(key_expr.args["index"], head) if key_expr.op == "col" else key_expr.describe(brief=True)
    sample = ", ".join(f"{k!r} -> {v!r}" for k, v in list(table.items())[:3])
    return (
        f"{label} is a table of the example's answers keyed on {source} ({sample}"
        f"{', ...' if len(table) > 3 else ''}): {len(once)} of its {len(table)} keys appear in one row only, "
        "so a new value gets an empty cell",
        f"add rows whose {label} can be worked out from the input (values it has not seen), or an instruction "
        "that says how it is computed",
    )


def _conditional_finding(
    node: Expr, rows: list[Row], label: str, head: Row | None | Literal[False]
) -> tuple[str, str] | None:
    regex = re.compile(node.args["pattern"])
    tested = [str(eval_expr(node.inputs[0], r)) for r in rows]
    matched = sum(1 for t in tested if regex.search(t))
    single = min(matched, len(rows) - matched)
    if single > 1 or len(rows) < 2:
        return None
    # "empty input -> something" is a guard, not a rule from one case; one non-empty row under its own rule is
    if node.args["pattern"] == "^$" and matched == 1:
        return None
    if single == 1 and _settled_lone_branch(node, rows, tested, regex, matched == 1):
        return None
    lone = next(t for t in tested if bool(regex.search(t)) == (matched == 1))
    test = node.inputs[0]
    source = _input_label(test.args["index"], head) if test.op == "col" else test.describe(brief=True)
    return (
        f"{label} uses a condition (whether {source} matches {node.args['pattern']!r}) that singles out one "
        f"example row ({lone!r}): the rule for that row is a guess from one case",
        f"add more rows like {lone!r} (and like the others) so the rule for each kind shows",
    )


def _settled_lone_branch(
    node: Expr, rows: list[Row], tested: list[str], regex: re.Pattern[str], lone_matches: bool
) -> bool:
    """Whether the branch taken by one example row alone learns nothing from that row that the rest leave open:
    - it writes nothing (the empty constant): rows of that kind have no output, no transformation is guessed;
    - it computes from the input, the other branch copies its input as is (already in the target form) and the
      lone row's output has the shape every other output has: the form is shown by all rows, the condition only
      picks the rows not yet in it (a date or number written another way, normalized)."""
    lone_branch, other_branch = (node.inputs[1], node.inputs[2]) if lone_matches else (node.inputs[2], node.inputs[1])
    if lone_branch.op == "const":
        return not str(lone_branch.args.get("value", ""))
    other_rows = [r for r, t in zip(rows, tested) if bool(regex.search(t)) != lone_matches]
    lone_row = next(r for r, t in zip(rows, tested) if bool(regex.search(t)) == lone_matches)
    if other_branch.op != "col" or len(other_rows) < 2 or not _columns_read(lone_branch):
        return False
    shapes = {_token_shape(str(eval_expr(other_branch, r))) for r in other_rows}
    return len(shapes) == 1 and "" not in shapes and shapes == {_token_shape(str(eval_expr(lone_branch, lone_row)))}


_DIGIT_RUN, _LETTER_RUN = re.compile(r"\d+"), re.compile(r"[^\W\d_]+")


def _token_shape(text: str) -> str:
    """The text with each run of digits and each run of letters reduced to one symbol: '3/15/1902' -> '0/0/0'."""
    return _LETTER_RUN.sub("a", _DIGIT_RUN.sub("0", text.strip()))


# ---------------------------------------------------------------- validation inside the example


def _held_out_failure(
    program: Program, input_grid: list[Row], relearn: Callable[[list[Row], list[str]], Expr | None]
) -> tuple[str, str] | None:
    """A computed column that, learned again on all its rows but one, mispredicts the row held out."""
    grid = list(apply_steps(program, [list(r) for r in input_grid]))
    body = grid[program.header_rows:]
    if len(body) < MIN_ROWS_TO_VALIDATE:
        return None
    for j, column in enumerate(program.columns):
        if column.value.op in ("col", "const"):
            continue
        outputs = [str(eval_expr(column.value, r)) for r in body]
        if len(set(outputs)) < MIN_ROWS_TO_VALIDATE:
            continue
        # leave one out: learned from every other row, the rule must give the held-out row's output
        held = _held_out_row(column.value, body)
        rest = [r for i, r in enumerate(body) if i != held]
        rest_outputs = [o for i, o in enumerate(outputs) if i != held]
        # a fitted a*x + b is refitted (and snapped) on the other rows: the held-out row checks those constants
        refitted = refit_linear(column.value, rest, rest_outputs)
        learned = refitted or relearn(rest, rest_outputs)
        if learned is None:
            continue
        wrong = [held] if _safe_eval(learned, body[held]) != outputs[held] else []
        # a rule of the same shape with other arguments is refined by the extra row, not changed by it (the
        # refitted constants of an affine map are not: they must predict the held-out row)
        if wrong and (refitted is not None or _skeleton(learned) != _skeleton(column.value)):
            i = wrong[0]
            label = _name(program, j, grid)
            return (
                f"{label}: the rule learned from the other rows gives {_safe_eval(learned, body[i])!r} "
                f"for row {i + 1} where the example has {outputs[i]!r}; the rule changes with the rows shown",
                f"add more rows like row {i + 1} ({', '.join(body[i][:4])}), or an instruction for {label}",
            )
    return None


def _held_out_row(expr: Expr, body: list[Row]) -> int:
    """The row to hold out: the last one, unless a conditional sends it down a branch no other row takes. The
    rows left could not show that kind at all, so their rule missing it tests nothing (whether one row may
    stand for its kind is the conditional check's question); the last row sharing its branch is held out."""
    if expr.op != "if_matches" or len(expr.inputs) != 3:
        return len(body) - 1
    regex = re.compile(expr.args.get("pattern", ""))
    branch = [bool(regex.search(_safe_eval(expr.inputs[0], r))) for r in body]
    shared = [i for i, b in enumerate(branch) if branch.count(b) > 1]
    return shared[-1] if shared else len(body) - 1


def _skeleton(expr: Expr) -> tuple[Any, ...]:
    return (expr.op, tuple(_skeleton(i) for i in expr.inputs))


def _safe_eval(expr: Expr, row: Row) -> str:
    try:
        return str(eval_expr(expr, row))
    except Exception:  # noqa: BLE001
        return "<error>"


# ---------------------------------------------------------------- ambiguity


def distinguishing_inputs(input_grid: list[Row], header_rows: int) -> list[list[Row]]:
    """Inputs built from the example: its rows with each column's cells shifted to other rows."""
    head, body = input_grid[:header_rows], input_grid[header_rows:]
    n = len(body)
    if n < 2:
        return []
    width = max(len(r) for r in body)
    found = []
    for shift in (1, 2):
        if shift >= n:
            break
        mixed = [[body[(i + c * shift) % n][c] if c < len(body[(i + c * shift) % n]) else "" for c in range(width)]
                 for i in range(n)]
        found.append(head + mixed)
    return found


def _disagreement(best: Program, rivals: list[Program], input_grid: list[Row]) -> Assessment | None:
    for probe in distinguishing_inputs(input_grid, best.header_rows):
        mine = _safe_run(best, probe)
        if mine is None:
            continue
        for rival in rivals:
            theirs = _safe_run(rival, probe)
            if theirs is None or theirs == mine:
                continue
            row_local = len(mine) == len(theirs) == len(probe)
            i = next((k for k, (a, b) in enumerate(zip(mine, theirs)) if a != b), min(len(mine), len(theirs)))
            shown = probe[i] if row_local and i < len(probe) else None
            a = mine[i] if i < len(mine) else []
            b = theirs[i] if i < len(theirs) else []
            where = f"on an input row like {shown}" if shown else "on the example's rows recombined"
            return Assessment(
                "ambiguous",
                f"{1 + len(rivals)} programs reproduce the example but disagree {where}: the chosen one gives "
                f"{a}, another gives {b}",
                f"add a row like {shown} with its expected output" if shown
                else "add a few more example rows with different values",
                distinguishing_row=shown,
                candidate_outputs=[a, b],
            )
    return None


def _safe_run(program: Program, grid: list[Row]) -> list[Row] | None:
    try:
        return run(program, [list(r) for r in grid])
    except Exception:  # noqa: BLE001 - a candidate failing on a probe says nothing about the others
        return None


# ---------------------------------------------------------------- nothing found


def explain_failure(unexplained: list[str], input_grid: list[Row], expected_grid: list[Row]) -> tuple[str, str]:
    """(what could not be explained, what to try) when no program fits, in words a user can act on."""
    columns = [int(m.group(1)) - 1 for m in (re.match(r"column (\d+)", u) for u in unexplained) if m]
    if not columns:
        return (
            f"no table step explains how {len(input_grid)} input rows become {len(expected_grid)} output rows",
            "if rows are filtered, grouped, sorted or combined, add an instruction saying so, or more rows "
            "showing which input rows each output row comes from",
        )
    header = bool(input_grid and expected_grid) and bool(set(input_grid[0]) & set(expected_grid[0]))
    names = []
    for j in columns:
        name = expected_grid[0][j] if header and j < len(expected_grid[0]) else ""
        names.append(f"{j + 1}" + (f" ({name!r})" if name else ""))
    first = _first_unproduced_cell(columns[0], input_grid, expected_grid, 1 if header else 0)
    what = "output column" + ("s " if len(names) > 1 else " ") + ", ".join(names)
    reason = f"could not explain {what} from the input"
    if first is not None:
        i, value = first
        reason += f"; the first cell it could not produce is {value!r} (output row {i + 1})"
    return reason, (
        f"add more rows showing how output column {names[0]} is made (several different values), or an "
        "instruction describing it"
    )


def _first_unproduced_cell(
    j: int, input_grid: list[Row], expected_grid: list[Row], head: int
) -> tuple[int, str] | None:
    """The first non-empty cell of output column j that no input cell of its row holds as is."""
    same_rows = len(input_grid) == len(expected_grid)
    for i in range(head, len(expected_grid)):
        value = expected_grid[i][j] if j < len(expected_grid[i]) else ""
        if not value.strip():
            continue
        if same_rows and any(value in cell for cell in input_grid[i]):
            continue
        return i, value
    return None
