"""Instructions steer the by-example search, and the example checks the instructions (pure).

`guided_learn` wraps `synthesis.search.learn`:
1. The table actions (filters, dedupe, sort, aggregate) become the program's first steps: the search only
   explains the columns of the rows they leave. When they leave another number of rows than the example has,
   that is a contradiction and the search runs on the pair alone.
2. A column with an instruction gets the instruction's expression whenever every example row agrees with it,
   even when the search found something else that fits (an uppercase instruction on examples that are already
   upper case: upper(), not a copy; a formula over an unlucky linear fit; a mapping that keeps unlisted values
   over a lookup table). Rows that disagree are reported as contradictions and the example wins.
3. When every output column has an instruction (or is a same-named input column) and the result reproduces the
   example, that program is the only candidate: the search is not needed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from recast_engine.dsl import OutputColumn, Program, col, const
from recast_engine.dsl.guards import training_shape
from recast_engine.dsl.interpret import eval_expr, run
from recast_engine.hints import Hints
from recast_engine.instructions.compile import Columns, CompileError, column_expr, table_steps
from recast_engine.instructions.model import ColumnRule, FillColumn, Filter, Instructions
from recast_engine.synthesis.search import SearchResult, learn

Row = list[str]
SHOWN_ROWS = 5


@dataclass
class GuidedResult:
    search: SearchResult  # programs best first (the instruction-shaped ones lead)
    contradictions: list[str] = field(default_factory=list)  # "column x: 'uppercase' disagrees with rows 2, 5"
    applied: list[str] = field(default_factory=list)  # what the instructions pinned, in words


def _rows_text(rows: list[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:SHOWN_ROWS])
    return shown + (f" and {len(rows) - SHOWN_ROWS} more" if len(rows) > SHOWN_ROWS else "")


def _rule_for_output(rules: list[ColumnRule], name: str) -> ColumnRule | None:
    wanted = name.strip().lower()
    return next((r for r in rules if (r.output_name() or "").strip().lower() == wanted), None)


def _instruction_columns(
    instructions: Instructions, grid_mid: list[Row], expected: list[Row], columns: Columns
) -> tuple[dict[int, OutputColumn], list[str], list[str]]:
    """Output columns (by position) whose instruction every example row agrees with; contradictions; notes."""
    rules = instructions.all_column_rules()
    fills = {t.column.strip().lower(): t.value for t in instructions.table if isinstance(t, FillColumn)}
    pinned: dict[int, OutputColumn] = {}
    contradictions: list[str] = []
    applied: list[str] = []
    body = grid_mid[1:]
    for j, name in enumerate(expected[0]):
        rule = _rule_for_output(rules, name)
        source_name = rule.column if rule else name
        fill = fills.get(name.strip().lower())
        if rule is None and fill is None:
            continue  # no instruction for this column: the search explains it
        source = columns.index(source_name) if columns.has(source_name) else None
        try:
            values = [r[source] if source is not None and source < len(r) else "" for r in body[:200]]
            expr = column_expr(rule, source, columns, values, fill)
        except CompileError as exc:
            contradictions.append(f"column {name}: {exc}")
            continue
        wrong = [i + 2 for i, (row, want) in enumerate(zip(body, expected[1:], strict=False))
                 if str(eval_expr(expr, row)) != (want[j] if j < len(want) else "")]
        what = rule.text if rule else f"fill empty with {fill!r}"
        if wrong:
            rows = f"row{'s' if len(wrong) > 1 else ''} {_rows_text(wrong)}"
            contradictions.append(
                f"column {name}: the instruction {what!r} disagrees with the example in {rows}"
                " (the example was followed)"
            )
            continue
        pinned[j] = OutputColumn(header=const(name), value=expr)
        applied.append(f"column {name}: {what}")
    return pinned, contradictions, applied


def _filter_contradictions(instructions: Instructions, expected: list[Row]) -> list[str]:
    """Example rows that a filter instruction would have removed (its column shown in the output as is)."""
    from recast_engine.runtime.tables import _matches

    found = []
    head = Columns([c.strip() for c in expected[0]])
    renamed = {(r.output_name() or "").strip().lower() for r in instructions.all_column_rules() if not r.is_same()}
    for action in instructions.table:
        if not isinstance(action, Filter) or not head.has(action.column) or action.column.lower() in renamed:
            continue
        j = head.index(action.column)
        wrong = [i + 2 for i, row in enumerate(expected[1:])
                 if _matches(row[j] if j < len(row) else "", action.op, action.value) != action.keep]
        if wrong:
            rows = f"row{'s' if len(wrong) > 1 else ''} {_rows_text(wrong)}"
            found.append(f"the instruction ({action.describe()}) would remove {rows} of the example"
                         " (the example was followed)")
    return found


def _spliced(program: Program, pinned: dict[int, OutputColumn], free: list[int], width_in: int) -> Program | None:
    """A program learned for the free output columns, with the pinned columns put back in their places; None when
    its steps reshape the rows (the pinned expressions read the input's columns)."""
    if program.steps or program.header_rows != 1:
        return None
    learned = program.columns or [OutputColumn(header=col(k), value=col(k)) for k in range(width_in)]
    if len(learned) != len(free):
        return None
    by_position = dict(zip(free, learned, strict=True)) | pinned
    return program.model_copy(update={"columns": [by_position[j] for j in range(len(free) + len(pinned))]})


def guided_learn(
    input_grid: list[Row],
    expected_grid: list[Row],
    instructions: Instructions,
    header: Literal["auto", "yes", "no"] = "auto",
    timeout: float = 10.0,
    exclude: frozenset[str] = frozenset(),
    max_candidates: int = 5,
    hints: Hints | None = None,
) -> GuidedResult:
    """`learn` shaped by the instructions (and the user's hints, passed to the search); the contradictions name
    the example rows that disagree (numbered as in the file, the header being row 1)."""
    plain = instructions.empty or header == "no" or not input_grid or not expected_grid
    if plain or not (instructions.columns or instructions.table):
        return GuidedResult(learn(input_grid, expected_grid, header=header, timeout=timeout, exclude=exclude,
                                  max_candidates=max_candidates, hints=hints))
    expected = [list(r) for r in expected_grid]
    columns = Columns([c.strip() for c in input_grid[0]])
    contradictions = _filter_contradictions(instructions, expected)
    if contradictions:
        instructions = Instructions(columns=instructions.columns,
                                    table=[t for t in instructions.table if not isinstance(t, Filter)])
    try:
        steps, names = table_steps(instructions, columns)
        grid_mid = run(Program(steps=steps), [list(r) for r in input_grid]) if steps else [list(r) for r in input_grid]
    except CompileError as exc:
        contradictions.append(f"the table instructions do not fit the input: {exc}")
        steps, names, grid_mid = [], columns.names, [list(r) for r in input_grid]
    if steps and len(grid_mid) != len(expected):
        described = "; ".join(t.describe() for t in instructions.table)
        contradictions.append(
            f"the instructions ({described}) leave {len(grid_mid) - 1} rows, the example has {len(expected) - 1}"
            " (the example was followed)"
        )
        steps, names, grid_mid = [], columns.names, [list(r) for r in input_grid]
    after = Columns(names)
    pinned: dict[int, OutputColumn] = {}
    column_contradictions: list[str] = []
    applied: list[str] = []
    if len(grid_mid) == len(expected):  # rows line up: each column instruction is checked row by row
        pinned, column_contradictions, applied = _instruction_columns(instructions, grid_mid, expected, after)
    contradictions += column_contradictions
    if steps:
        applied = [t.describe() for t in instructions.table if t.kind in ("filter", "dedupe", "sort", "aggregate")] \
            + applied

    def reproduces(program: Program) -> bool:
        try:
            return run(program, [list(r) for r in input_grid]) == expected
        except Exception:  # noqa: BLE001 - a candidate that crashes does not reproduce anything
            return False

    # Every output column pinned (or a same-named copy): the instructions alone make the program.
    complete = dict(pinned)
    for j, name in enumerate(expected[0]):
        if j not in complete and after.has(name):
            source = after.index(name)
            if all((r[source] if source < len(r) else "") == (w[j] if j < len(w) else "")
                   for r, w in zip(grid_mid[1:], expected[1:], strict=False)):
                complete[j] = OutputColumn(header=const(name), value=column_expr(None, source, after))
    if steps or pinned:
        if len(complete) == len(expected[0]):
            program = Program(steps=steps, header_rows=1, columns=[complete[j] for j in range(len(expected[0]))],
                              notes=["shaped by the instructions:"] + [f"  {a}" for a in applied])
            if program.fingerprint() not in exclude and reproduces(program):
                # the user's instructions pin every column and the example agrees: nothing is left to guess
                program = training_shape(program, input_grid)
                return GuidedResult(SearchResult([program], confidence="trusted"), contradictions, applied)

    notes = ["shaped by the instructions:"] + [f"  {a}" for a in applied]
    width = len(expected[0])
    free = [j for j in range(width) if j not in pinned]
    # The search explains only the columns no instruction pinned (instructions name columns: a header row).
    target = [[row[j] if j < len(row) else "" for j in free] for row in expected] if pinned else expected
    if not free:
        return GuidedResult(SearchResult([], unexplained=["the instructed columns do not reproduce the example"]),
                            contradictions, applied)
    result = learn(grid_mid, target, header="yes", timeout=timeout, exclude=exclude, max_candidates=max_candidates,
                   hints=hints)
    shaped: list[Program] = []
    for program in result.programs:
        candidate = _spliced(program, pinned, free, len(grid_mid[0]) if grid_mid else 0) if pinned else program
        if candidate is None:
            continue
        candidate = candidate.model_copy(update={"steps": steps + candidate.steps, "notes": candidate.notes + notes})
        if candidate.fingerprint() not in exclude and reproduces(candidate):
            shaped.append(candidate)
    if steps and not shaped:
        described = "; ".join(t.describe() for t in instructions.table if t.kind not in ("column", "fill_column"))
        columns_only = Instructions(
            columns=instructions.columns, table=[t for t in instructions.table if t.kind in ("column", "fill_column")]
        )
        fallback = guided_learn(input_grid, expected_grid, columns_only, header=header, timeout=timeout,
                                exclude=exclude, max_candidates=max_candidates, hints=hints)
        fallback.contradictions[:0] = contradictions + [
            f"the rows the instructions ({described}) leave do not give the example's rows (the example was followed)"
        ]
        return fallback
    result.programs = [training_shape(p, input_grid) for p in shaped]
    return GuidedResult(result, contradictions, applied)
