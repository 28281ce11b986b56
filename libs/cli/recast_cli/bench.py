"""`make bench`: learn every benchmark task from its train pair, run the rendered script, score it.

    python -m recast_cli.bench [--suite prose] [--limit N] [--jobs 2] [--timeout 20] [--report bench-report.json]
                               [--no-inference] [--inference-mb 1024]

Scoring (DESIGN.md): exact cells read with the csv module on the test pair (data rows as a multiset when meta.json
says "unordered"); ATBench tasks (no test pair) on the train pair, unsolved when the script embeds more than a
tenth of the expected output's distinct cells as string literals; so are tasks whose test answer is a one-cell
note for a missing answer. A test answer that holds the output's cells in another column order than the train
answer contradicts the train answer: the script following the train answer is right. The exact rendered script is
what is run and
scored (as a subprocess). A task is solved when its script is right AND the engine trusted it; precision is the
share of trusted scripts that are right.

Hints: a suite whose meta.json files give `constants` and `aggregation_functions` (the hints PATSQL's evaluation
gives its users, e.g. sql) is learned twice, without them (its own line) and with them (the line `<suite>+hints`),
so that the figure without hints stays visible; --no-hints skips the second run.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, replace
from multiprocessing.connection import wait
from pathlib import Path

from recast_engine.render.script import render_script
from recast_engine.verify.runner import run_plain

from recast_cli.choose import choose_script
from recast_cli.csvio import CsvError, read_grid
from recast_cli.scoring import (
    contradicting_column_order,
    embedded_cells,
    grid_difference,
    percentile,
    placeholder_answer,
    unordered_difference,
)
from recast_cli.speed_bench import print_speed, run_speed_bench, vectorized_differs

# ../shared/benchmarks beside the repository (CI clones it there); RECAST_BENCHMARKS overrides.
DEFAULT_ROOT = Path(
    os.environ.get("RECAST_BENCHMARKS", Path(__file__).resolve().parents[3].parent / "shared" / "benchmarks")
)
SUITES = ("prose", "foofah", "atbench", "realworld", "sql")
CONFIDENCES = ("trusted", "ambiguous", "memorizes", "none")
SCRIPT_TIMEOUT = 60.0


@dataclass
class Task:
    suite: str
    name: str
    folder: Path
    header: bool
    unordered: bool = False
    hints: dict | None = None  # recast_engine.hints.Hints fields, for the suite's hinted run

    @property
    def has_test_pair(self) -> bool:
        return (self.folder / "test_input.csv").is_file() and (self.folder / "test_expected.csv").is_file()


HINTED = "+hints"  # the suffix of a suite's line learned with meta.json's hints
_TYPED_CONSTANT = re.compile(r"^(.*):(Str|Int|Double|Date)$")  # PATSQL writes '05:Str' for the text "05"


def meta_hints(meta: dict) -> dict | None:
    """The hints a task's meta.json gives (None when it gives none): constants without PATSQL's type suffix."""
    if "constants" not in meta and "aggregation_functions" not in meta:
        return None
    constants = [_TYPED_CONSTANT.sub(r"\1", str(c)) for c in meta.get("constants") or []]
    return {"constants": constants, "aggregations": list(meta.get("aggregation_functions") or [])}


@dataclass
class TaskResult:
    suite: str
    name: str
    solved: bool
    learn_seconds: float
    reason: str
    timed_out: bool = False
    found: bool = False  # the search returned a program
    render_mismatch: bool = False  # the script's output differs from the reference interpreter's
    vectorized_mismatch: bool | None = None  # the vectorized script's bytes differ (None: not vectorizable)
    program: list[str] | None = None
    confidence: str = "none"  # the engine's: trusted / ambiguous / memorizes, none when nothing was found
    right: bool = False  # the script is right on the scored pair (whatever the engine's confidence)
    trust_reason: str = ""
    program_json: dict | None = None  # the chosen Program, so that its confidence can be re-assessed offline


def discover(root: Path, suites: list[str]) -> list[Task]:
    tasks = []
    for suite in suites:
        for meta_path in sorted((root / suite).rglob("meta.json")):
            meta = json.loads(meta_path.read_text())
            name = meta.get("name") or str(meta_path.parent.relative_to(root / suite))
            tasks.append(Task(meta.get("suite", suite), name, meta_path.parent, bool(meta.get("header")),
                              bool(meta.get("unordered")), meta_hints(meta)))
    return tasks


def hinted_runs(tasks: list[Task]) -> list[Task]:
    """Each task of a suite that gives hints, again, as a task of the suite's hinted line (every task of the suite,
    those without hints too, so that both lines count the same tasks)."""
    suites = {t.suite for t in tasks if t.hints is not None}
    return [replace(t, suite=t.suite + HINTED) for t in tasks if t.suite in suites]


def _plain(task: Task) -> Task:
    return replace(task, hints=None)


def run_task(task: Task, timeout: float, header_mode: str) -> TaskResult:
    """Learn, render, run and score one task (runs in a child process)."""
    from recast_engine.dsl.interpret import run
    from recast_engine.hints import Hints
    from recast_engine.synthesis.search import learn

    confidence, trust_reason = "none", ""
    vectorized = None
    kept_json = None

    def result(right: bool, seconds: float, reason: str, **kw) -> TaskResult:
        solved = right and confidence == "trusted"
        if right and not solved:
            reason = f"right but {confidence}: {trust_reason}"[:300]
        if "program" in kw and kept_json is not None:
            kw["program_json"] = kept_json
        return TaskResult(task.suite, task.name, solved, round(seconds, 3), reason, right=right,
                          confidence=confidence, trust_reason=trust_reason[:300],
                          vectorized_mismatch=vectorized, **kw)

    try:
        train_in = read_grid(task.folder / "train_input.csv", what="train input")
        train_out = read_grid(task.folder / "train_expected.csv", what="train expected")
        on_train = not task.has_test_pair
        if task.has_test_pair:
            score_in_path = task.folder / "test_input.csv"
            score_out = read_grid(task.folder / "test_expected.csv", what="test expected")
            # a note in place of the test answer: scored like a task without a test pair
            on_train = placeholder_answer(read_grid(score_in_path, what="test input"), score_out, train_out)
        if on_train:
            score_in_path, score_out = task.folder / "train_input.csv", train_out
        score_in = read_grid(score_in_path, what="scored input")
    except CsvError as e:
        return result(False, 0.0, f"bad task files: {e}")

    header = header_mode if header_mode != "meta" else ("yes" if task.header else "no")
    start = time.monotonic()
    try:
        hints = Hints.model_validate(task.hints) if task.hints else None
        search = learn(train_in, train_out, header=header, timeout=timeout, hints=hints)
    except Exception as e:  # noqa: BLE001 - a crashing engine scores the task unsolved, the bench goes on
        seconds = time.monotonic() - start
        return result(False, seconds, f"learn raised {type(e).__name__}: {e}"[:300])
    seconds = time.monotonic() - start
    timed_out = seconds >= timeout * 0.95
    if not search.programs:
        why = "no program found"
        if search.unexplained:
            why += " (unexplained: " + "; ".join(search.unexplained)[:200] + ")"
        return result(False, seconds, why, timed_out=timed_out)

    # what `recast learn` keeps: the first candidate whose script reproduces the train pair
    chosen, rejected = choose_script(search.programs, train_in, train_out, title=f"{task.suite} {task.name}")
    if chosen is not None:
        confidence, trust_reason = search.confidence, search.reason
        if chosen.program is not search.programs[0]:
            confidence, trust_reason = "ambiguous", "the best candidate's script does not reproduce the train pair"
    if chosen is None:
        return result(False, seconds, "no candidate's script reproduces the train pair: " + "; ".join(rejected)[:200],
                      found=True, timed_out=timed_out, program=search.programs[0].describe())
    program, script = chosen.program, chosen.script
    kept_json = program.model_dump(mode="json")
    described = program.describe()

    with tempfile.TemporaryDirectory(prefix="recast-bench-") as tmp:
        script_path = Path(tmp) / "script.py"
        script_path.write_text(script, encoding="utf-8")
        output_path = Path(tmp) / "output.csv"
        outcome = run_plain(script_path, score_in_path, output_path, timeout_seconds=SCRIPT_TIMEOUT)
        if not outcome.ok:
            tail = outcome.stderr_tail.strip().splitlines()[-1:] or [""]
            return result(False, seconds, f"script failed: {outcome.reason}: {tail[0]}"[:300], found=True,
                          timed_out=timed_out, program=described)
        try:
            actual = read_grid(output_path, what="script output") if output_path.stat().st_size else []
        except CsvError as e:
            return result(False, seconds, str(e), found=True, timed_out=timed_out, program=described)
        # the render check over both backends: the per-cell script's bytes against the vectorized script's
        per_cell_path = Path(tmp) / "per_cell.csv"
        per_cell_script = Path(tmp) / "per_cell.py"
        per_cell_script.write_text(render_script(program, title=f"{task.suite} {task.name}", backend="cell"),
                                   encoding="utf-8")
        per_cell_ok = run_plain(per_cell_script, score_in_path, per_cell_path, timeout_seconds=SCRIPT_TIMEOUT).ok
        vectorized = vectorized_differs(program, score_in_path, per_cell_path, title=f"{task.suite} {task.name}")
        if vectorized is not None and not per_cell_ok:
            vectorized = True

    try:
        mismatch = run(program, [list(r) for r in score_in]) != actual
    except Exception:  # noqa: BLE001
        mismatch = False  # the interpreter itself fails on this input: nothing to compare the render with
    if task.unordered:
        difference = unordered_difference(actual, score_out, task.header)
    else:
        difference = grid_difference(actual, score_out)
    solved_reason = "solved"
    if difference and not task.unordered and contradicting_column_order(actual, score_out, train_out):
        difference, solved_reason = "", "solved (the test answer orders its columns unlike the train answer)"
    if difference:
        pair = "train" if on_train else "test"
        return result(False, seconds, f"wrong {pair} output: {difference}"[:300], found=True,
                      timed_out=timed_out, render_mismatch=mismatch, program=described)
    if on_train:
        embedded, distinct = embedded_cells(script, score_out)
        if embedded > distinct / 10:
            return result(False, seconds, f"embeds {embedded} of {distinct} distinct expected cells as literals",
                          found=True, timed_out=timed_out, render_mismatch=mismatch, program=described)
    return result(True, seconds, solved_reason, found=True, timed_out=timed_out, render_mismatch=mismatch,
                  program=described)


def _child(conn, task: Task, timeout: float, header_mode: str) -> None:
    os.setpgrp()  # so a hard timeout can kill the script subprocess too
    try:
        outcome = run_task(task, timeout, header_mode)
    except BaseException as e:  # noqa: BLE001 - the parent must always get a result
        outcome = TaskResult(task.suite, task.name, False, 0.0,
                             f"bench error {type(e).__name__}: {e}; {traceback.format_exc(limit=2)}"[:400])
    conn.send(asdict(outcome))
    conn.close()


def run_all(tasks: list[Task], *, timeout: float, jobs: int, header_mode: str, progress=None) -> list[TaskResult]:
    """Each task in its own forked process (at most `jobs` at once), killed when far past its time limit."""
    context = multiprocessing.get_context("fork")
    hard_limit = timeout * 2 + SCRIPT_TIMEOUT + 30
    pending = list(enumerate(tasks))
    running: dict = {}  # conn -> (index, process, started)
    results: dict[int, TaskResult] = {}
    while pending or running:
        while pending and len(running) < jobs:
            index, task = pending.pop(0)
            parent_conn, child_conn = context.Pipe(duplex=False)
            process = context.Process(target=_child, args=(child_conn, task, timeout, header_mode), daemon=True)
            process.start()
            child_conn.close()
            running[parent_conn] = (index, process, time.monotonic())
        for conn in wait(list(running), timeout=1.0):
            index, process, started = running.pop(conn)
            try:
                results[index] = TaskResult(**conn.recv())
            except EOFError:
                task = tasks[index]
                results[index] = TaskResult(task.suite, task.name, False, round(time.monotonic() - started, 3),
                                            f"worker died (exit code {process.exitcode})")
            process.join()
            if progress:
                progress(results[index])
        now = time.monotonic()
        for conn, (index, process, started) in list(running.items()):
            if now - started > hard_limit:
                _kill_group(process)
                running.pop(conn)
                task = tasks[index]
                results[index] = TaskResult(task.suite, task.name, False, round(now - started, 3),
                                            f"killed after {hard_limit:.0f}s", timed_out=True)
                if progress:
                    progress(results[index])
    return [results[i] for i in range(len(tasks))]


def _kill_group(process) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.join(5)


def summarize(results: list[TaskResult]) -> list[dict]:
    rows = []
    for suite in sorted({r.suite for r in results}, key=lambda s: ((SUITES + (s,)).index(s.removesuffix(HINTED)),
                                                                 s.endswith(HINTED))):
        mine = [r for r in results if r.suite == suite]
        seconds = [r.learn_seconds for r in mine]
        solved = sum(r.solved for r in mine)
        trusted = sum(r.confidence == "trusted" for r in mine)
        rows.append({
            "suite": suite,
            "tasks": len(mine),
            "solved": solved,
            "solved_share": round(solved / len(mine), 4),
            **{c: sum(r.confidence == c for r in mine) for c in CONFIDENCES},
            "precision": round(solved / trusted, 4) if trusted else 1.0,
            "right": sum(r.right for r in mine),
            "right_untrusted": sum(r.right and r.confidence != "trusted" for r in mine),
            "found": sum(r.found for r in mine),
            "median_learn_seconds": round(percentile(seconds, 50), 3),
            "p95_learn_seconds": round(percentile(seconds, 95), 3),
            "timeouts": sum(r.timed_out for r in mine),
            "render_mismatches": sum(r.render_mismatch for r in mine),
            "vectorized_mismatches": sum(bool(r.vectorized_mismatch) for r in mine),
            "vectorized_checked": sum(r.vectorized_mismatch is not None for r in mine),
        })
    return rows


def print_summary(rows: list[dict], out=sys.stdout) -> None:
    print(f"{'suite':<10}{'tasks':>6}{'trusted':>8}{'ambig':>6}{'memo':>6}{'none':>6}{'solved':>8}{'recall':>8}"
          f"{'precision':>10}{'right':>7}{'median s':>10}{'p95 s':>8}{'timeouts':>10}", file=out)
    for r in rows:
        print(f"{r['suite']:<10}{r['tasks']:>6}{r['trusted']:>8}{r['ambiguous']:>6}{r['memorizes']:>6}{r['none']:>6}"
              f"{r['solved']:>8}{r['solved_share']:>8.1%}{r['precision']:>10.1%}{r['right']:>7}"
              f"{r['median_learn_seconds']:>10.2f}{r['p95_learn_seconds']:>8.2f}{r['timeouts']:>10}", file=out)
        if r["render_mismatches"]:
            print(f"  warning: {r['render_mismatches']} scripts disagree with the reference interpreter", file=out)
        if r["suite"].endswith(HINTED):
            print(f"  ({r['suite']}: the same tasks learned with meta.json's constants and aggregation functions as "
                  "hints; the line above has none)", file=out)
        if r.get("vectorized_mismatches"):
            print(f"  warning: {r['vectorized_mismatches']} of {r['vectorized_checked']} vectorized scripts write "
                  "other bytes than the per-cell ones", file=out)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m recast_cli.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="benchmark folder")
    parser.add_argument("--suite", action="append", choices=SUITES, help="only these suites (repeatable)")
    parser.add_argument("--limit", type=int, default=0, help="at most N tasks per suite")
    parser.add_argument("--jobs", type=int, default=2, help="tasks run in parallel")
    parser.add_argument("--timeout", type=float, default=20.0, help="learning time limit per task, seconds")
    parser.add_argument("--header", choices=["meta", "auto"], default="meta",
                        help="header flag passed to learn: from meta.json (as a user would say) or auto")
    parser.add_argument("--report", type=Path, help="write a JSON report here")
    parser.add_argument("--no-inference", action="store_true", help="skip the large-file inference benchmark")
    parser.add_argument("--inference-mb", type=int, default=1024, help="size of the inference input, MB")
    parser.add_argument("--speed-mb", type=int, default=1024,
                        help="size of the speed bench's input, MB (smaller for a quick run)")
    parser.add_argument("--speed-per-cell", action="store_true",
                        help="the speed bench also runs the per-cell scripts (slow: minutes per conversion at 1 GB)")
    parser.add_argument("--speed-repeat", type=int, default=1,
                        help="rounds of DuckDB and the vectorized script in turn; the best of each counts")
    parser.add_argument("--speed-case", action="append",
                        help="only this speed bench conversion (repeatable): row-local, 'select + rename', "
                             "'filter + arithmetic', group-by, sort")
    parser.add_argument("--no-speed", action="store_true", help="skip the speed bench (recast_cli.speed_bench)")
    parser.add_argument("--no-profile", action="store_true", help="skip the profiler bench (recast_cli.profile_bench)")
    parser.add_argument("--profile-mb", type=int, default=1024, help="size of the profiled CSV, MB")
    parser.add_argument("--no-hints", action="store_true",
                        help="skip the second run, with meta.json's hints, of suites that give them (sql)")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per task")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    suites = args.suite or list(SUITES)
    tasks = discover(args.root, suites)
    if args.limit:
        tasks = [t for s in suites for t in [t for t in tasks if t.suite == s][: args.limit]]
    tasks = [_plain(t) for t in tasks] + ([] if args.no_hints else hinted_runs(tasks))
    report: dict = {"timeout_seconds": args.timeout, "jobs": args.jobs, "header": args.header}
    if tasks:
        done = [0]

        def progress(r: TaskResult) -> None:
            done[0] += 1
            if args.verbose:
                mark = "ok " if r.solved else ("!! " if r.confidence == "trusted" else "-- ")
                print(f"{mark}{r.suite}/{r.name} {r.learn_seconds:.2f}s {r.reason}", file=sys.stderr)
            elif done[0] % 25 == 0 or done[0] == len(tasks):
                print(f"  {done[0]}/{len(tasks)} tasks", file=sys.stderr)

        print(f"learning {len(tasks)} tasks ({args.jobs} jobs, {args.timeout:g}s each)", file=sys.stderr)
        results = run_all(tasks, timeout=args.timeout, jobs=args.jobs, header_mode=args.header, progress=progress)
        summary = summarize(results)
        print_summary(summary)
        report["suites"] = summary
        report["tasks"] = [asdict(r) for r in results]
    else:
        print(f"no tasks found under {args.root}", file=sys.stderr)
    if not args.no_inference:
        from recast_cli.inference_bench import print_inference, run_inference_bench

        figures = run_inference_bench(args.inference_mb)
        print_inference(figures)
        report["inference"] = figures
    if not args.no_speed:
        report["speed"] = run_speed_bench(args.speed_mb, per_cell=args.speed_per_cell, repeat=args.speed_repeat,
                                          conversions=args.speed_case)
        print_speed(report["speed"])
    if not args.no_profile:
        from recast_cli.profile_bench import print_profile_bench, run_profile_bench

        report["profile"] = run_profile_bench(args.profile_mb)
        print_profile_bench(report["profile"])
    if args.report:
        args.report.write_text(json.dumps(report, indent=1) + "\n")
        print(f"report: {args.report}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
