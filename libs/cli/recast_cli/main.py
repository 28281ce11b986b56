"""`recast`: learn a CSV conversion from one example pair, and apply a learned script to new files.

    recast learn TRAIN_INPUT TRAIN_EXPECTED -o SCRIPT [--header auto|yes|no] [--timeout S] [--verbose]
    recast apply SCRIPT INPUT -o OUTPUT [--timeout S] [--memory MB]

The engine runs in-process; no servers are needed. `learn` exits 0 only when it trusts the script to generalize,
3 when it wrote a script it does not trust (ambiguous, or it memorizes the example: the reason says which part),
1 when nothing fits, 2 for unusable files or arguments.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from recast_engine.verify.runner import run_learned_script

from recast_cli.choose import choose_script
from recast_cli.csvio import CsvError, read_grid

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
    learn.add_argument("train_input", type=Path, metavar="TRAIN_INPUT")
    learn.add_argument("train_expected", type=Path, metavar="TRAIN_EXPECTED")
    learn.add_argument("-o", "--output", type=Path, required=True, metavar="SCRIPT", help="where to write it")
    learn.add_argument("--header", choices=["auto", "yes", "no"], default="auto", help="first row is a header")
    learn.add_argument("--timeout", type=_positive_float, default=30.0, metavar="S", help="search time limit")
    learn.add_argument("-v", "--verbose", action="store_true", help="also print what the search tried")

    apply = sub.add_parser("apply", help="run a learned script on a CSV file (sandboxed)")
    apply.add_argument("script", type=Path, metavar="SCRIPT")
    apply.add_argument("input", type=Path, metavar="INPUT")
    apply.add_argument("-o", "--output", type=Path, required=True, metavar="OUTPUT")
    apply.add_argument("--timeout", type=_positive_float, default=300.0, metavar="S", help="wall time limit")
    apply.add_argument("--memory", type=int, default=2048, metavar="MB", help="memory limit")
    return parser


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def learn_command(args: argparse.Namespace) -> int:
    from recast_engine.synthesis.search import learn
    from recast_engine.synthesis.trust import explain_failure

    try:
        input_grid = read_grid(args.train_input, what="train input")
        expected_grid = read_grid(args.train_expected, what="expected output")
    except CsvError as e:
        return _fail(str(e), EXIT_USAGE)
    result = learn(input_grid, expected_grid, header=args.header, timeout=args.timeout)
    title = f"Converts CSV files like {args.train_input.name} into CSV files like {args.train_expected.name}."
    chosen, rejected = choose_script(result.programs, input_grid, expected_grid, title=title)
    if chosen is None:
        lines = [f"no conversion found in {result.elapsed:.1f}s"]
        if result.programs:
            lines.append("the candidates found do not reproduce the expected output when run as scripts")
        else:
            reason, suggestion = explain_failure(result.unexplained, input_grid, expected_grid)
            lines += [reason, f"try: {suggestion}"]
        if args.verbose:
            if result.tried:
                lines.append("tried: " + "; ".join(result.tried))
            lines += rejected
        return _fail("\n".join(lines), EXIT_NOT_FOUND)
    try:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(chosen.script, encoding="utf-8")
    except OSError as e:
        return _fail(f"cannot write {args.output}: {e.strerror}", EXIT_USAGE)
    confidence, reason, suggestion = result.confidence, result.reason, result.suggestion
    if chosen.program is not result.programs[0]:
        confidence, reason = "ambiguous", "the best candidate's script does not reproduce the expected output"
        suggestion = "add more example rows"
    if confidence == "trusted":
        print(f"wrote {args.output} ({result.elapsed:.1f}s)")
    else:
        print(f"wrote {args.output} ({result.elapsed:.1f}s), but it is NOT trusted ({confidence})")
    for line in chosen.program.describe():
        print(f"  {line}")
    if confidence == "trusted":
        return EXIT_OK
    return _fail(f"{'ambiguous' if confidence == 'ambiguous' else 'it memorizes the example'}: {reason}\n"
                 f"try: {suggestion}", EXIT_NOT_TRUSTED)


def apply_command(args: argparse.Namespace) -> int:
    for path, what in ((args.script, "script"), (args.input, "input")):
        if not path.is_file():
            return _fail(f"{what} {path} does not exist or is not a file", EXIT_USAGE)
    try:
        args.output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        return _fail(f"cannot create {args.output.parent}: {e.strerror}", EXIT_USAGE)
    outcome = run_learned_script(
        args.script, args.input, args.output, timeout_seconds=args.timeout, memory_mb=args.memory
    )
    if not outcome.ok:
        detail = f"\n{outcome.stderr_tail.rstrip()}" if outcome.stderr_tail.strip() else ""
        return _fail(f"the script failed: {outcome.reason}{detail}", EXIT_NOT_FOUND)
    print(f"wrote {args.output} ({outcome.wall_seconds:.1f}s, peak {outcome.peak_rss_mb:.0f} MB)")
    return EXIT_OK


def _fail(message: str, code: int) -> int:
    print(f"recast: {message}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "learn":
        return learn_command(args)
    return apply_command(args)


if __name__ == "__main__":
    sys.exit(main())
