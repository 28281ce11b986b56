"""`recast`: learn a CSV conversion from one example pair, and apply a learned script to new files.

    recast learn TRAIN_INPUT TRAIN_EXPECTED -o SCRIPT [--header auto|yes|no] [--timeout S] [--verbose] [--json]
                 [--constant V ...] [--aggregation count|count_distinct|sum|avg|min|max ...]
    recast apply SCRIPT INPUT -o OUTPUT [--timeout S] [--memory MB] [--json]

`-` stands for standard input (one of the train files, or apply's INPUT) or standard output (-o -: then the
messages go to stderr). --json prints one JSON object with the result on stdout instead of the messages. On a
terminal a progress line shows the time spent (and for apply, the output written); --no-progress hides it.
--constant names a value a filter or threshold may use (repeatable: a hint that settles what the example leaves
open); --aggregation an aggregation function to consider (repeatable).

The engine runs in-process; no servers are needed. `learn` exits 0 only when it trusts the script to generalize,
3 when it wrote a script it does not trust (ambiguous, or it memorizes the example: the reason says which part),
1 when nothing fits, 2 for unusable files or arguments.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from recast_engine.verify.runner import run_learned_script
from recast_engine.verify.warnings import read_summary

from recast_cli.choose import choose_script
from recast_cli.csvio import CsvError, read_export_grid
from recast_cli.streams import (
    file_to_stdout,
    is_stdio,
    print_json,
    progress,
    scratch,
    stdin_to_file,
    wants_progress,
    written,
)

EXIT_OK = 0
EXIT_NOT_FOUND = 1  # no conversion found / the script failed
EXIT_USAGE = 2  # bad arguments or unusable files
EXIT_NOT_TRUSTED = 3  # a script was written, but it may only work for the rows shown


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("recast")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="recast", description="Learn a CSV-to-CSV conversion from one example pair and run it."
    )
    parser.add_argument("--version", action="version", version=f"recast {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    learn = sub.add_parser("learn", help="learn a conversion script from an input CSV and its expected output")
    learn.add_argument("train_input", type=Path, metavar="TRAIN_INPUT", help="a CSV file, or - for stdin")
    learn.add_argument("train_expected", type=Path, metavar="TRAIN_EXPECTED", help="a CSV file, or - for stdin")
    learn.add_argument("-o", "--output", type=Path, required=True, metavar="SCRIPT",
                       help="where to write it (- for stdout)")
    learn.add_argument("--header", choices=["auto", "yes", "no"], default="auto", help="first row is a header")
    learn.add_argument("--timeout", type=_positive_float, default=30.0, metavar="S", help="search time limit")
    learn.add_argument("-v", "--verbose", action="store_true", help="also print what the search tried")
    learn.add_argument("--backend", choices=["cell", "arrow", "auto"], default=None,
                       help="script kind: cell (csv rows), arrow (pyarrow batches), auto (arrow when it can)")
    learn.add_argument("--constant", action="append", default=[], metavar="V",
                       help="a value a filter or threshold may use, e.g. 2013-02-01 (repeatable)")
    learn.add_argument("--aggregation", action="append", default=[], metavar="F",
                       help="an aggregation function to consider: count, count_distinct, sum, avg, min, max "
                            "(repeatable; none given: all)")

    apply = sub.add_parser("apply", help="run a learned script on a CSV file (sandboxed)")
    apply.add_argument("script", type=Path, metavar="SCRIPT")
    apply.add_argument("input", type=Path, metavar="INPUT", help="a CSV file, or - for stdin")
    apply.add_argument("-o", "--output", type=Path, required=True, metavar="OUTPUT", help="a file, or - for stdout")
    apply.add_argument("--timeout", type=_positive_float, default=300.0, metavar="S", help="wall time limit")
    apply.add_argument("--memory", type=int, default=2048, metavar="MB", help="memory limit")
    for command in (learn, apply):
        command.add_argument("--json", action="store_true", help="print the result as one JSON object on stdout")
        command.add_argument("--no-progress", action="store_true", help="no progress line on the terminal")
    return parser


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def learn_command(args: argparse.Namespace, result: dict[str, Any]) -> int:
    if is_stdio(args.train_input) and is_stdio(args.train_expected):
        return _fail("only one of TRAIN_INPUT and TRAIN_EXPECTED can be - (standard input)", EXIT_USAGE, result)
    with scratch() as folder:
        train_input = stdin_to_file(folder, "input.csv") if is_stdio(args.train_input) else args.train_input
        train_expected = stdin_to_file(folder, "expected.csv") if is_stdio(args.train_expected) else args.train_expected
        return _learn(args, result, train_input, train_expected)


def _learn(args: argparse.Namespace, result: dict[str, Any], train_input: Path, train_expected: Path) -> int:
    from pydantic import ValidationError
    from recast_engine.hints import Hints
    from recast_engine.synthesis.search import learn
    from recast_engine.synthesis.trust import explain_failure

    try:
        hints = Hints(constants=args.constant, aggregations=args.aggregation)
    except ValidationError as e:
        return _fail("bad hint: " + "; ".join(str(err["msg"]) for err in e.errors()), EXIT_USAGE, result)
    try:
        input_grid = read_export_grid(train_input, what="train input")
        expected_grid = read_export_grid(train_expected, what="expected output")
    except CsvError as e:
        return _fail(str(e), EXIT_USAGE, result)
    with progress("learning", wants_progress(args.no_progress, args.json), limit=args.timeout):
        learned = learn(input_grid, expected_grid, header=args.header, timeout=args.timeout,
                        hints=None if hints.empty else hints)
    result["elapsed_seconds"] = round(learned.elapsed, 3)
    title = f"Converts CSV files like {_name(args.train_input)} into CSV files like {_name(args.train_expected)}."
    chosen, rejected = choose_script(learned.programs, input_grid, expected_grid, title=title,
                                     backend=args.backend)
    if chosen is None:
        lines = [f"no conversion found in {learned.elapsed:.1f}s"]
        if learned.programs:
            lines.append("the candidates found do not reproduce the expected output when run as scripts")
        else:
            reason, suggestion = explain_failure(learned.unexplained, input_grid, expected_grid)
            lines += [reason, f"try: {suggestion}"]
            result.update(reason=reason, suggestion=suggestion)
        if args.verbose:
            if learned.tried:
                lines.append("tried: " + "; ".join(learned.tried))
            lines += rejected
        return _fail("\n".join(lines), EXIT_NOT_FOUND, result)
    try:
        if is_stdio(args.output):
            if args.json:
                result["script_text"] = chosen.script
            else:
                sys.stdout.write(chosen.script)
                sys.stdout.flush()
        else:
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(chosen.script, encoding="utf-8")
    except OSError as e:
        return _fail(f"cannot write {args.output}: {e.strerror}", EXIT_USAGE, result)
    confidence, reason, suggestion = learned.confidence, learned.reason, learned.suggestion
    if chosen.program is not learned.programs[0]:
        confidence, reason = "ambiguous", "the best candidate's script does not reproduce the expected output"
        suggestion = "add more example rows"
    steps = list(chosen.program.describe())
    result.update(script=str(args.output), confidence=confidence, trusted=confidence == "trusted", reason=reason,
                  suggestion=suggestion, steps=steps)
    where = "stdout" if is_stdio(args.output) else args.output
    if confidence == "trusted":
        _say(args, f"wrote {where} ({learned.elapsed:.1f}s)")
    else:
        _say(args, f"wrote {where} ({learned.elapsed:.1f}s), but it is NOT trusted ({confidence})")
    for line in steps:
        _say(args, f"  {line}")
    if confidence == "trusted":
        return EXIT_OK
    return _fail(f"{'ambiguous' if confidence == 'ambiguous' else 'it memorizes the example'}: {reason}\n"
                 f"try: {suggestion}", EXIT_NOT_TRUSTED, result)


def apply_command(args: argparse.Namespace, result: dict[str, Any]) -> int:
    if not args.script.is_file():
        return _fail(f"script {args.script} does not exist or is not a file", EXIT_USAGE, result)
    if not is_stdio(args.input) and not args.input.is_file():
        return _fail(f"input {args.input} does not exist or is not a file", EXIT_USAGE, result)
    with scratch() as folder:
        source = stdin_to_file(folder, "input.csv") if is_stdio(args.input) else args.input
        target = folder / "output.csv" if is_stdio(args.output) else args.output
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            return _fail(f"cannot create {target.parent}: {e.strerror}", EXIT_USAGE, result)
        with progress("applying", wants_progress(args.no_progress, args.json), limit=args.timeout,
                      detail=written(target)):
            outcome = run_learned_script(
                args.script, source, target, timeout_seconds=args.timeout, memory_mb=args.memory
            )
        result.update(output=str(args.output), wall_seconds=round(outcome.wall_seconds, 3),
                      peak_rss_mb=round(outcome.peak_rss_mb, 1))
        if not outcome.ok:
            detail = f"\n{outcome.stderr_tail.rstrip()}" if outcome.stderr_tail.strip() else ""
            return _fail(f"the script failed: {outcome.reason}{detail}", EXIT_NOT_FOUND, result)
        result["output_bytes"] = target.stat().st_size
        if is_stdio(args.output):
            file_to_stdout(target)
    where = "stdout" if is_stdio(args.output) else args.output
    _say(args, f"wrote {where} ({outcome.wall_seconds:.1f}s, peak {outcome.peak_rss_mb:.0f} MB)")
    warnings = read_summary(outcome.summary_line)
    if warnings is not None:
        result["warnings"] = warnings.model_dump(mode="json")
        for warning in warnings.warnings:
            _say(args, f"warning: {warning.describe()}")
    return EXIT_OK


def _name(path: Path) -> str:
    return "stdin" if is_stdio(path) else path.name


def _say(args: argparse.Namespace, text: str) -> None:
    """A message for a person: stdout, or stderr when stdout carries the data (-o -); none with --json."""
    if not args.json:
        print(text, file=sys.stderr if is_stdio(args.output) else sys.stdout)


def _fail(message: str, code: int, result: dict[str, Any] | None = None) -> int:
    print(f"recast: {message}", file=sys.stderr)
    if result is not None:
        result["error"] = message
    return code


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: dict[str, Any] = {"command": args.command}
    code = learn_command(args, result) if args.command == "learn" else apply_command(args, result)
    if args.json:  # on stdout, unless the converted CSV went there (apply -o -): then on stderr
        print_json({**result, "exit_code": code}, sys.stderr if args.command == "apply" and is_stdio(args.output)
                   else sys.stdout)
    return code


if __name__ == "__main__":
    sys.exit(main())
