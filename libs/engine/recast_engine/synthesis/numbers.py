"""Number atoms: a number read from a column, scaled, rounded and written in a learned format.

The parameter grid is searched in two stages: first the numeric value (scale, rounding step, mode, shift) must
equal a number written in every output, then only those values are tried with the formats.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from recast_engine.dsl import Expr, call
from recast_engine.runtime.cells import _ROUNDING, _parse_number, format_number, format_scientific, number_range
from recast_engine.synthesis import workclock

_SCALES = ["1", "0.1", "0.01", "0.001", "0.000001", "0.000000001", "10", "100", "1000"]
_STEPS = ["0", "1", "0.1", "0.01", "0.001", "0.0001", "0.00001", "0.000001", "0.0000001", "0.5", "0.05", "0.25",
          "5", "10", "50", "100", "1000", "0.2", "2", "20", "25"]
_MODES = ["half_up", "floor", "ceil", "down", "up", "half_even"]
_OUTPUT_NUMBER = re.compile(r"-?\d[\d,.]*")
_SCIENTIFIC = re.compile(r"-?\d(?:\.(?P<decimals>\d{1,15}))?(?P<letter>[Ee])[+-](?P<exponent>\d{1,4})")


def _written_numbers(text: str) -> set[Decimal]:
    found: set[Decimal] = set()
    for token in _OUTPUT_NUMBER.findall(text):
        token = token.rstrip(".,")
        variants = {token, token.replace(",", ""), token.replace(".", "").replace(",", ".")}
        for start in range(len(token)):  # a number may be glued to other digits in the output
            variants.add(token[start:].replace(",", ""))
        for v in variants:
            try:
                found.add(Decimal(v))
            except InvalidOperation:
                pass
    return found


def _shifts(step: str) -> list[str]:
    if Decimal(step) == 0:
        return ["0"]
    shifts = ["0", step]
    if Decimal(step) >= 2 and Decimal(step) == Decimal(step).to_integral_value():
        shifts.append(str(Decimal(step) - 1))
    return shifts


def _value_cost(scale: str, step: str, mode: str, shift: str) -> float:
    cost = 2.5
    if scale != "1":
        cost += 1.5
    if step != "0":
        cost += 1.0 + (0.0 if step.strip("0.") == "1" else 0.4)
        if shift != "0":  # a range: its start is the value rounded down
            cost += {"half_up": 0.3, "floor": 0.0, "ceil": 0.4, "down": 0.2, "up": 0.5, "half_even": 0.5}[mode]
        else:
            cost += {"half_up": 0.0, "floor": 0.2, "ceil": 0.3, "down": 0.3, "up": 0.4, "half_even": 0.5}[mode]
    if shift != "0":
        cost += 1.5 + (0.3 if shift != step else 0.0)
    return cost


def _formats() -> Iterator[tuple[dict[str, Any], float]]:
    for decimals in [None, 0, 1, 2, 3, 4, 5, 6, 7]:
        for min_decimals, trim in ([(0, False), (0, True), (1, True), (2, True), (3, True), (4, True)]
                                   if decimals is None else [(0, False)]):
            for int_digits in [0, 2, 3, 4, 5]:
                for thousands, point in [("", "."), (",", "."), (".", ","), ("", ","), ("indian", ".")]:
                    args: dict[str, Any] = {}
                    cost = 0.0
                    if decimals is not None:
                        args["decimals"] = decimals
                        cost += 0.5
                    if min_decimals:
                        args["min_decimals"] = min_decimals
                        cost += 0.8
                    if trim:
                        args["trim_zeros"] = True
                        cost += 0.2
                    if int_digits:
                        args["int_digits"] = int_digits
                        cost += 1.0
                    if thousands == "indian":
                        args["thousands"] = ","
                        args["indian_grouping"] = True
                        cost += 1.5
                    elif thousands:
                        args["thousands"] = thousands
                        cost += 0.5
                    if point != ".":
                        args["point"] = point
                        cost += 1.0
                    yield args, cost


def _spaced_formats() -> Iterator[tuple[dict[str, Any], float]]:
    """Column-aligned numbers: integer part right-aligned with spaces, fraction left-aligned."""
    for decimals in [None, 0, 1, 2, 3, 4]:
        for int_digits in [0, 2, 3, 4, 5, 6]:
            for fraction_width in [0, 1, 2, 3, 4, 5]:
                if not int_digits and not fraction_width:
                    continue
                args: dict[str, Any] = {}
                cost = 1.5
                if decimals is not None:
                    args["decimals"] = decimals
                    cost += 0.5
                if int_digits:
                    args.update(int_digits=int_digits, int_fill=" ")
                    cost += 1.0
                if fraction_width:
                    args["fraction_width"] = fraction_width
                    cost += 1.0
                yield args, cost


_FORMATS = list(_formats())
_SPACED_FORMATS = list(_spaced_formats())


def number_atoms(source: Expr, values: list[str], outputs: list[str]) -> Iterator[tuple[Expr, tuple[str, ...], float]]:
    written = [_written_numbers(o) for o in outputs]
    if not all(written):
        return
    workclock.now(150 * len(values))  # fitting number formats to every row is costly work (see workclock)
    for k in (1, 2, -1):
        parsed = [_parse_number(v, k) for v in values]
        numbers = [n for n in parsed if n is not None]
        if len(numbers) < len(parsed):
            continue
        if k == -1 and parsed == [_parse_number(v, 1) for v in values]:
            continue
        seen: dict[tuple[Decimal, ...], tuple[dict[str, Any], float]] = {}
        for scale in _SCALES:
            scaled = [n * Decimal(scale) for n in numbers]
            for step in _STEPS:
                for mode in (_MODES if step != "0" else ["half_up"]):
                    shifts = _shifts(step)
                    if step == "0":
                        rounded = scaled
                    else:
                        q = Decimal(step)
                        if scaled:  # the first row must hold a result already: most settings end here, cheaply
                            first = (scaled[0] / q).quantize(Decimal(1), rounding=_ROUNDING[mode]) * q
                            shifts = [shift for shift in shifts if first + Decimal(shift) in written[0]]
                            if not shifts:
                                continue
                        rounded = [(x / q).quantize(Decimal(1), rounding=_ROUNDING[mode]) * q for x in scaled]
                    for shift in shifts:
                        result = [r + Decimal(shift) for r in rounded]
                        if not all(r in w for r, w in zip(result, written)):
                            continue
                        key = tuple(result)
                        cost = _value_cost(scale, step, mode, shift) + (0.5 if k != 1 else 0.0)
                        if key not in seen or seen[key][1] > cost:
                            args: dict[str, Any] = {"k": k} if k != 1 else {}
                            if scale != "1":
                                args["scale"] = scale
                            if step != "0":
                                args["step"] = step
                                if mode != "half_up":
                                    args["mode"] = mode
                            if shift != "0":
                                args["shift"] = shift
                            seen[key] = (args, cost)
        # the cheapest way to write each distinct result: "decimals=1" (round to one decimal) before "at least one
        # decimal, in full", which the enumeration meets first and which agrees with it on rounded examples
        cheapest: dict[tuple[str, ...], tuple[Expr, float]] = {}
        for args, cost in sorted(seen.values(), key=lambda x: x[1]):
            step_decimals = max(0, -int(Decimal(args.get("step", "1")).as_tuple().exponent))
            spaced = any(" " in o for o in outputs)
            for fmt, fmt_cost in _FORMATS + (_SPACED_FORMATS if spaced else []):
                full = {**args, **fmt}
                if step_decimals and fmt.get("decimals") == step_decimals:
                    fmt_cost -= 0.5  # a value rounded to 0.1 is written with one decimal
                if values and not ((head := format_number(values[0], **full)) and head in outputs[0]):
                    continue  # the first row already rules it out (as the test below would)
                got = tuple(format_number(v, **full) for v in values)
                if got in cheapest and cheapest[got][1] <= cost + fmt_cost:
                    continue
                if not all(g and g in o for g, o in zip(got, outputs)):
                    continue
                if ("int_fill" in fmt or "fraction_width" in fmt) and _same_spacing(got):
                    continue  # the same spaces around every value are a constant, not column alignment
                cheapest[got] = (call("format_number", source, **full), cost + fmt_cost)
        for got, (expr, total) in sorted(cheapest.items(), key=lambda item: item[1][1]):
            yield expr, got, total


def _same_spacing(written: tuple[str, ...]) -> bool:
    return len({(len(w) - len(w.lstrip(" ")), len(w) - len(w.rstrip(" "))) for w in written}) == 1


_RANGE_STEPS = ["1", "2", "3", "4", "5", "6", "10", "12", "15", "20", "25", "30", "50", "100", "1000", "0.5", "0.1"]
_SEPARATORS = ["-", " - ", " to ", "–"]


def range_atoms(source: Expr, values: list[str], outputs: list[str]) -> Iterator[tuple[Expr, tuple[str, ...], float]]:
    """number_range atoms: "40-50" style ranges of a learned width."""
    for k in (1, 2):
        if any(_parse_number(v, k) is None for v in values):
            continue
        for step in _RANGE_STEPS:
            shifts = [None] + ([str(Decimal(step) - 1)] if Decimal(step) >= 2 else [])
            for end_shift in shifts:
                for separator in _SEPARATORS:
                    if not all(separator in o for o in outputs):
                        continue  # every value parses, so every range is written with the separator
                    args: dict[str, Any] = {"step": step}
                    if end_shift is not None:
                        args["end_shift"] = end_shift
                    if separator != "-":
                        args["separator"] = separator
                    if k != 1:
                        args["k"] = k
                    got = tuple(number_range(v, **args) for v in values)
                    if all(g in o for g, o in zip(got, outputs)):
                        yield call("number_range", source, **args), got, 3.0 + (0.5 if end_shift else 0) + (k - 1) * 0.5


def scientific_atoms(
    source: Expr, values: list[str], outputs: list[str]
) -> Iterator[tuple[Expr, tuple[str, ...], float]]:
    """format_scientific atoms, when every output is one number in scientific notation ("4.17E-05"): the
    mantissa's decimals, the letter and the exponent's digits are read off the outputs."""
    shapes = [_SCIENTIFIC.fullmatch(o) for o in outputs]
    if not outputs or not all(shapes):
        return
    decimals = {len(m["decimals"] or "") for m in shapes if m}
    letters = {m["letter"] for m in shapes if m}
    if len(decimals) != 1 or len(letters) != 1:
        return
    digits = min(len(m["exponent"]) for m in shapes if m)
    args: dict[str, Any] = {"decimals": decimals.pop(), "letter": letters.pop(), "exponent_digits": digits}
    for k in (1, 2):
        for scale in _SCALES:  # a unit converted on the way (microlitres written as litres)
            got = tuple(format_scientific(v, k=k, scale=scale, **args) for v in values)
            if all(g == o for g, o in zip(got, outputs)):
                extra = {**({"k": k} if k != 1 else {}), **({"scale": scale} if scale != "1" else {})}
                cost = 2.0 + (k - 1) * 0.5 + (1.0 if scale != "1" else 0.0)
                yield call("format_scientific", source, **args, **extra), got, cost
                return
