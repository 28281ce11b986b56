"""Whole-table synthesis: find the simplest Programs mapping an input grid to the expected grid.

The search enumerates sequences of table steps (breadth first: 0, 1, 2, then 3 steps), each step proposed with
structural parameters fitted to this pair (see table_proposals). After each sequence, when the intermediate
grid has as many rows as the expected output, every output column is explained by a cell expression learned
with `learn_column`; whole-grid identity and plain column copies are tried first.
"""
from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Literal

from recast_engine import operators
from recast_engine.dsl import Expr, OutputColumn, Program, Step, col, const
from recast_engine.dsl.guards import training_shape
from recast_engine.dsl.interpret import eval_expr, run
from recast_engine.hints import NO_HINTS, Hints
from recast_engine.kinds import looks_like_header
from recast_engine.synthesis import workclock
from recast_engine.synthesis.columns import learn_column
from recast_engine.synthesis.ranking import is_clean, only_copies, program_cost, step_cost, unhinted_constants
from recast_engine.synthesis.relational import step_constants
from recast_engine.synthesis.relational_trust import hinted_uses
from recast_engine.synthesis.table_proposals import Context, propose
from recast_engine.synthesis.trust import assess, memorizing, memorizing_steps

Row = list[str]

DEFAULT_SAMPLE_ROWS = 40
COLUMN_BUDGET = 1.0  # seconds learn_column may spend on one output column
LEARNING_SHARE = 0.6  # share of the timeout learn_column may use in total
LEARNING_FLOOR = 0.1  # share of the timeout each learning pass may use, however late it starts
MAX_LEARNING_ATTEMPTS = 8
COUNTEREXAMPLE_ROUNDS = 3  # a column learned on a prefix is learned again with the first row it got wrong
MAX_DEPTH = 3
MAX_NODES_PER_DEPTH = 400
COLLECT_EXTRA = 3  # candidates gathered beyond max_candidates so that ranking can pick the simplest


@dataclass
class SearchResult:
    programs: list[Program]  # candidates reproducing the (sampled) train pair, best first
    tried: list[str] = field(default_factory=list)  # what the search tried, for the failure message
    unexplained: list[str] = field(default_factory=list)  # output columns no program explained
    elapsed: float = 0.0
    # how far programs[0] is to be trusted on new data: trusted, ambiguous, memorizes (none: nothing found)
    confidence: str = "none"
    reason: str = ""  # why it is not trusted (empty when trusted)
    suggestion: str = ""  # what the user could add to settle it (one more row like X, an instruction)
    distinguishing_row: list[str] | None = None  # ambiguous: an input row on which the best candidates disagree
    candidate_outputs: list[list[str]] = field(default_factory=list)  # what each of them outputs for it
    work: int = 0  # work units the search counted (workclock): the same for the same pair on any machine


class _Timeout(Exception):
    pass


@dataclass
class _Search:
    expected: list[Row]
    deadline: float  # in work (workclock): the search stops there, the same on any machine
    exclude: frozenset[str]
    max_candidates: int
    sample_rows: int
    wall_deadline: float = float("inf")  # time.monotonic(): past it the search is aborted (the only wall-clock use)
    found: list[Program] = field(default_factory=list)
    finished: set[tuple[str, bool, bool]] = field(default_factory=set)  # (steps, header, learn) already completed
    # grids mostly explained by copies, for learn_column: (unexplained, steps count, steps, grid, header)
    near_misses: list[tuple[int, int, list[Step], list[Row], bool]] = field(default_factory=list)
    soft_deadline: float = 0.0  # once a clean candidate exists, stop collecting alternatives after this
    learning_until: float = 0.0  # learn_column may run until then (a share of the timeout)
    fingerprints: set[str] = field(default_factory=set)
    tried: list[str] = field(default_factory=list)
    best_unexplained: list[str] | None = None
    grid_in: list[Row] = field(default_factory=list)
    memorizes: dict[str, bool] = field(default_factory=dict)  # fingerprint -> trust.memorizing found something
    hints: Hints = NO_HINTS

    def has_clean(self) -> bool:
        return any(is_clean(p, self.hints) and self.sound(p) and not self.ignores_functions(p) for p in self.found)

    def settled(self, program: Program) -> bool:
        """Sound, and when the user gave constants, testing no constant of the data instead (a deeper program
        using the hinted ones is then worth searching for); likewise when the user named aggregation functions
        and the program keeps rows by their count or place without using any of them."""
        return (self.sound(program) and not (self.hints.constants and unhinted_constants(program, self.hints))
                and not self.ignores_functions(program))

    def ignores_functions(self, program: Program) -> bool:
        """The user named aggregation functions, and the program keeps the first rows (a count the example's
        output shows) using none of them: a deeper program using them (the groups holding the most rows) is
        worth searching for."""
        return (bool(self.hints.aggregations) and any(s.op == "head_rows" for s in program.steps)
                and not hinted_uses(program, self.hints)[1])

    def sound(self, program: Program) -> bool:
        """Whether the program does not merely line up with the rows shown (see trust.memorizing); cached."""
        fp = program.fingerprint()
        if fp not in self.memorizes:
            self.memorizes[fp] = _memorizes(program, self.grid_in, self.hints)
        return not self.memorizes[fp]

    def learning_deadline(self) -> float:
        return min(self.deadline, self.learning_until)

    def check_time(self) -> None:
        if workclock.now() > self.deadline or time.monotonic() > self.wall_deadline:
            raise _Timeout

    def done(self, since: int = 0) -> bool:
        return len(self.found) - since >= self.max_candidates + COLLECT_EXTRA

    def offer(self, program: Program, grid_in: list[Row]) -> None:
        fp = program.fingerprint()
        if fp in self.exclude or fp in self.fingerprints:
            return
        workclock.now(len(grid_in))  # running a candidate costs work in proportion to the rows
        try:
            ok = run(program, grid_in) == self.expected
        except Exception:  # noqa: BLE001 - a candidate that crashes is simply not a solution
            ok = False
        if ok:
            self.fingerprints.add(fp)
            self.found.append(program)


def _only_lookups(found: list[Program]) -> bool:
    """Nothing found yet, or only programs answering from a table of the example (a window step may explain it)."""
    return all(any(c.value.op == "lookup" for c in p.columns) for p in found)


def _apply(step: Step, grid: list[Row]) -> list[Row]:
    # operators never mutate their input rows, so intermediate grids may share them
    return list(operators.table(step.op).function(grid, **step.args))


def _column(grid: list[Row], j: int) -> tuple[str, ...]:
    return tuple(r[j] if j < len(r) else "" for r in grid)


def _describe_steps(steps: list[Step]) -> str:
    return " -> ".join(s.describe() for s in steps) or "no table step"


class _Interrupted(Exception):
    pass


@contextmanager
def _hard_limit(seconds: float) -> Iterator[None]:
    """Interrupt the block after `seconds` (SIGALRM, main thread only; elsewhere the block runs unbounded).

    learn_column is asked to honour its deadline, but a slow path inside it must not break ours.
    An interval timer already running (pytest-timeout, for one) is restored afterwards.
    """
    usable = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    if not usable:
        yield
        return

    def _raise(signum: int, frame: FrameType | None) -> None:
        raise _Interrupted

    started = time.monotonic()
    previous_delay, previous_interval = signal.getitimer(signal.ITIMER_REAL)
    previous_handler = signal.signal(signal.SIGALRM, _raise)
    limit = max(seconds, 0.01)
    if previous_delay:
        limit = min(limit, previous_delay)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if previous_delay:
            left = previous_delay - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001), previous_interval)


def _learn_value(
    rows: list[Row], outputs: list[str], deadline: float, sample: int, seconds: float, wall_deadline: float
) -> list[Expr]:
    """Expressions explaining outputs over rows, learned on a prefix and checked on every row.

    deadline and seconds are work (workclock); wall_deadline (time.monotonic) only aborts.
    """
    exprs: list[Expr] = []
    budget = min(deadline, workclock.now() + seconds)
    if workclock.now() >= budget or time.monotonic() >= wall_deadline:
        return exprs
    chosen = list(range(min(sample, len(rows))))
    try:
        with _hard_limit(wall_deadline - time.monotonic() + 0.05):
            for _ in range(COUNTEREXAMPLE_ROUNDS):
                counterexample = None
                for expr in learn_column([rows[i] for i in chosen], [outputs[i] for i in chosen], budget):
                    miss = _first_miss(expr, rows, outputs, len(chosen))
                    if miss is None:
                        return [expr]
                    counterexample = miss if counterexample is None else counterexample
                    if workclock.now() > budget:
                        break
                if counterexample is None or workclock.now() > budget:
                    break
                # the sample's prefix did not show this kind of row: learn again with it among the examples
                chosen.append(counterexample)
    except _Interrupted:
        pass
    return exprs


def _first_miss(expr: Expr, rows: list[Row], outputs: list[str], checked: int) -> int | None:
    """The first row whose output expr does not give (rows before `checked` were learned on)."""
    if len(rows) <= checked:
        return None
    for i, (r, o) in enumerate(zip(rows, outputs)):
        if str(eval_expr(expr, r)) != o:
            return i
    return None


def _explain_columns(
    search: _Search, grid: list[Row], header: bool, learn: bool = True, unchanged: bool = False
) -> tuple[list[OutputColumn] | None, list[str]]:
    """Output columns over `grid` (same row count as expected), or None and the columns left unexplained.

    Copies are matched first for every column; learn_column (costly) only runs when copies already explain
    most of the output, i.e. when this grid is plausibly the right intermediate table.
    """
    expected = search.expected
    width = max((len(r) for r in expected), default=0)
    grid_width = max((len(r) for r in grid), default=0)
    grid_columns: dict[tuple[str, ...], int] = {}
    body_columns: dict[tuple[str, ...], int] = {}
    for i in range(grid_width):
        grid_columns.setdefault(_column(grid, i), i)
        if header:
            body_columns.setdefault(_column(grid[1:], i), i)
    columns: list[OutputColumn | None] = []
    pending: list[int] = []
    for j in range(width):
        target = _column(expected, j)
        name = target[0] if header and target else ""
        if target in grid_columns:
            i = grid_columns[target]
            columns.append(OutputColumn(header=col(i) if header else None, value=col(i)))
        elif header and target[1:] in body_columns:
            i = body_columns[target[1:]]
            same = [k for k in range(grid_width) if grid[0][k:k + 1] == [name]]
            columns.append(OutputColumn(header=col(same[0]) if same else const(name), value=col(i)))
        else:
            columns.append(None)
            pending.append(j)
    same_header = header and bool(grid) and grid[0] == expected[0]
    # the input itself (no step) is always worth learning on: every output column may be computed from it
    if (len(pending) > max(2, width // 2) and not (learn and (same_header or unchanged))) or (pending and not learn):
        return None, [f"column {j + 1}" for j in pending]
    unexplained: list[str] = []
    for j in pending:
        search.check_time()
        target = _column(expected, j)
        name = target[0] if header else ""
        header_expr = None
        if header:
            same = [i for i in range(grid_width) if grid[0][i:i + 1] == [name]]
            header_expr = col(same[0]) if same else const(name)
        body, outputs = (grid[1:], list(target[1:])) if header else (grid, list(target))
        # the first near misses are the likeliest: give each pending column a fair share of the learning time
        share = (search.learning_deadline() - workclock.now()) / (len(pending) + 1)
        exprs = _learn_value(body, outputs, search.learning_deadline(), search.sample_rows, max(COLUMN_BUDGET, share),
                             search.wall_deadline)
        if not exprs:
            unexplained.append(f"column {j + 1}" + (f" ({name!r})" if name else ""))
            break
        columns[j] = OutputColumn(header=header_expr, value=exprs[0])
    if unexplained:
        return None, unexplained
    return [c for c in columns if c is not None], []


def _finish(
    search: _Search, steps: list[Step], grid: list[Row], grid_in: list[Row], header: bool, learn: bool = False
) -> None:
    """Try to complete a step sequence into Programs: identity, copies, then (when `learn`) learned cells.

    Without `learn`, a grid whose columns are mostly copies is kept as a near miss for the learning pass.
    """
    expected = search.expected
    key = (_describe_steps(steps), header, learn)
    if key in search.finished:
        return
    search.finished.add(key)
    if grid == expected:
        search.offer(Program(steps=list(steps), header_rows=1 if header else 0), grid_in)
        return
    if len(grid) != len(expected):
        return
    columns, unexplained = _explain_columns(search, grid, header, learn, unchanged=not steps)
    if columns is None:
        plausible = len(unexplained) <= max(2, len(expected[0]) // 2 if expected else 0)
        if not learn and (plausible or not steps or (header and grid[0] == expected[0])):
            search.near_misses.append((len(unexplained), len(steps), list(steps), grid, header))
        if search.best_unexplained is None or len(unexplained) < len(search.best_unexplained):
            search.best_unexplained = unexplained
        return
    program = Program(steps=list(steps), header_rows=1 if header else 0, columns=columns)
    search.offer(program, grid_in)


def _learning_pass(search: _Search, grid_in: list[Row]) -> None:
    """Learn cell expressions for the near misses, fewest unexplained columns and fewest steps first."""
    misses = sorted(search.near_misses, key=lambda m: (m[0], m[1]))
    search.near_misses = []
    # steps that line cells up by coincidence of the example memorize whatever cells complete them: learning
    # those cells only spends the time a deeper step sequence needs
    misses = [m for m in misses if not memorizing_steps(Program(steps=m[2], header_rows=int(m[4])), grid_in)]
    for _, _, steps, grid, header in misses[:MAX_LEARNING_ATTEMPTS]:
        search.check_time()
        _finish(search, steps, grid, grid_in, header, learn=True)
        if search.found:
            return


def _grid_key(grid: list[Row]) -> int:
    return hash((len(grid), tuple(tuple(r) for r in grid[:50]), tuple(tuple(r) for r in grid[-20:])))


def _search_depths(search: _Search, grid_in: list[Row], header: bool, max_depth: int) -> None:
    ctx = Context.build(search.expected, header, search.hints)
    found_before = len(search.found)
    frontier: list[tuple[list[Step], list[Row]]] = [([], grid_in)]
    seen = {_grid_key(grid_in): 0}  # grid -> cost of the cheapest step sequence reaching it
    _finish(search, [], grid_in, grid_in, header)
    for depth in range(1, max_depth + 1):
        next_frontier: list[tuple[list[Step], list[Row]]] = []
        for steps, grid in frontier:
            for step in propose(grid, ctx, last=depth == max_depth):
                search.check_time()
                try:
                    workclock.now(len(grid))
                    new_grid = _apply(step, grid)
                except Exception:  # noqa: BLE001, S112 - a step that does not fit this grid is skipped
                    continue
                key = _grid_key(new_grid)
                new_steps = steps + [step]
                cost = sum(step_cost(s, search.hints) for s in new_steps)
                if not new_grid or seen.get(key, cost + 1) <= cost:
                    continue
                seen[key] = cost
                search.tried.append(_describe_steps(new_steps))
                _finish(search, new_steps, new_grid, grid_in, header)
                if search.done(found_before) or (search.has_clean() and workclock.now() > search.soft_deadline):
                    return
                # a step that grows the table past the output's length rarely leads anywhere and is costly
                if len(new_grid) > max(len(search.expected) + 1, len(grid)):
                    continue
                if depth < max_depth and len(next_frontier) < MAX_NODES_PER_DEPTH:
                    next_frontier.append((new_steps, new_grid))
        if search.hints.constants:
            # the user's constants name the rows meant: step sequences testing them are explored first
            next_frontier.sort(key=lambda node: -_hinted(node[0], search.hints))
        elif search.hints.aggregations:
            # else the functions the user named: step sequences using them first (the groups holding the most rows)
            next_frontier.sort(key=lambda node: -_named_functions(node[0], search.hints))
        frontier = next_frontier


def _hinted(steps: list[Step], hints: Hints) -> int:
    """How many of the steps' tested constants the user hinted."""
    return sum(step_constants(s) - step_constants(s, hints) for s in steps)


def _named_functions(steps: list[Step], hints: Hints) -> int:
    """How many of the steps' aggregate and pick functions the user named."""
    return hinted_uses(Program(steps=steps), hints)[1]


def _header_modes(header: str, input_grid: list[Row], expected_grid: list[Row]) -> list[bool]:
    if header == "yes":
        return [True]
    if header == "no":
        return [False]
    if len(expected_grid) < 2:
        return [False]
    same_head = bool(input_grid and expected_grid) and bool(set(input_grid[0]) & set(expected_grid[0]))
    # a first row unlike the rest in both files (names over numbers or dates) is a header even when renamed
    both_look_like_headers = looks_like_header(input_grid) and looks_like_header(expected_grid)
    return [True, False] if same_head or both_look_like_headers else [False, True]


def learn(
    input_grid: list[Row],
    expected_grid: list[Row],
    header: Literal["auto", "yes", "no"] = "auto",
    timeout: float = 10.0,
    exclude: frozenset[str] = frozenset(),
    max_candidates: int = 5,
    sample_rows: int | None = None,
    hints: Hints | None = None,
) -> SearchResult:
    """Programs mapping input_grid to expected_grid, simplest first (never longer than `timeout` seconds).

    header: "yes"/"no" says whether the first row of both grids is a header row; "auto" tries both.
    exclude: fingerprints of programs that failed in the tester; they are skipped.
    sample_rows: cell expressions are learned on this many rows of the intermediate table (default 40),
    then every candidate is verified on all rows of the train pair before it is returned.
    hints: constants a filter may use and aggregation functions to consider, from the user (recast_engine.hints).
    """
    wall_start = time.monotonic()
    with workclock.counting() as work:
        result = _learn(input_grid, expected_grid, header, timeout, exclude, max_candidates, sample_rows, wall_start,
                        hints or NO_HINTS)
    result.programs = [training_shape(p, input_grid) for p in result.programs]  # for the script's warnings
    result.elapsed, result.work = time.monotonic() - wall_start, work.units
    return result


def _learn(
    input_grid: list[Row], expected_grid: list[Row], header: str, timeout: float, exclude: frozenset[str],
    max_candidates: int, sample_rows: int | None, wall_start: float, hints: Hints = NO_HINTS,
) -> SearchResult:
    start = workclock.now()
    search = _Search(
        expected=[list(r) for r in expected_grid],
        deadline=start + timeout * 0.95,
        wall_deadline=wall_start + timeout * 0.95,
        exclude=frozenset(exclude),
        max_candidates=max_candidates,
        sample_rows=sample_rows or DEFAULT_SAMPLE_ROWS,
        hints=hints,
    )
    search.soft_deadline = start + timeout * 0.2
    grid_in = search.grid_in = [list(r) for r in input_grid]
    modes = _header_modes(header, grid_in, search.expected)
    try:
        for depth in range(MAX_DEPTH + 1):
            for mode in modes:
                _search_depths(search, grid_in, mode, depth) if depth else _finish(search, [], grid_in, grid_in, mode)
            if _only_lookups(search.found) and depth >= 1:
                # learned cells after one step are likely, but a deeper structural program may still exist
                share = LEARNING_SHARE / 2 if depth == 1 else LEARNING_SHARE
                # a costly structural search (big reshapes) must not leave the learning pass no time at all
                search.learning_until = max(start + timeout * share, workclock.now() + timeout * LEARNING_FLOOR)
                _learning_pass(search, grid_in)
            if any(only_copies(p) and search.settled(p) for p in search.found) or (
                    depth >= 1 and search.has_clean()):
                break
    except _Timeout:
        search.tried.append(f"stopped at the {timeout:g}s timeout")
    input_cells = frozenset(c for r in grid_in[1:2000] for c in r)
    # a candidate that only fits the rows shown (a reshape lining cells up by coincidence) goes after those that
    # do not, however simple it looks
    search.found.sort(key=lambda p: (not search.sound(p), program_cost(p, input_cells, hints)))
    unexplained = [] if search.found else (search.best_unexplained or ["row count: no step sequence matched"])
    tried = search.tried[:50]
    result = SearchResult(search.found[:max_candidates], tried, unexplained)
    if search.found:
        _judge(result, search.found, input_cells, grid_in, search.expected, start + timeout, wall_start + timeout,
               hints)
    return result


def _memorizes(program: Program, grid_in: list[Row], hints: Hints = NO_HINTS) -> bool:
    try:
        return bool(memorizing(program, grid_in, hints))
    except Exception:  # noqa: BLE001 - a program failing on its own train input is left to the verifier
        return False


RELEARN_SECONDS = 0.5  # one column learned again on part of the rows, to check that it predicts the rest


def _judge(
    result: SearchResult, found: list[Program], input_cells: frozenset[str], grid_in: list[Row],
    expected: list[Row], deadline: float, wall_deadline: float, hints: Hints = NO_HINTS,
) -> None:
    """The confidence in the best program (see trust): trusted, ambiguous or memorizes, with reason and suggestion."""

    def relearn(rows: list[Row], outputs: list[str]) -> Expr | None:
        exprs = _learn_value(rows, outputs, deadline, len(rows), RELEARN_SECONDS, wall_deadline)
        return exprs[0] if exprs else None

    costs = [program_cost(p, input_cells, hints) for p in found]
    verdict = assess(found, costs, grid_in, expected, relearn=relearn, hints=hints)
    result.confidence, result.reason, result.suggestion = verdict.confidence, verdict.reason, verdict.suggestion
    result.distinguishing_row, result.candidate_outputs = verdict.distinguishing_row, verdict.candidate_outputs
