"""Arithmetic atoms: numbers computed from a row's numeric cells, fitted to the output instead of enumerated.

For an output column whose cells are numbers this proposes, as sources of number_atoms (which then learns the
rounding and the written format):
- the amount a column holds when the plain number reading misses its sign or spelling ("-$1,197.67");
- x op y over pairs of numeric columns (+ - * /), kept only when close to the outputs;
- a*x + b on one numeric column, a and b fitted on the rows and snapped to well-known factors or short decimals
  within the rounding tolerance of the output's decimals (a long constant only the shown rows fit is a sign of
  memorizing, and is never proposed).
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator
from decimal import Decimal, localcontext

from recast_engine.dsl import Expr, call, col
from recast_engine.runtime.arith import _amount, _written, combine, linear
from recast_engine.runtime.cells import _parse_number
from recast_engine.synthesis.cellsearch import Atom
from recast_engine.synthesis.numbers import number_atoms

Row = list[str]

# Conversion factors people use (units, VAT rates, time), tried before plain short decimals.
KNOWN_FACTORS = [
    "0.45359237", "2.20462", "0.3048", "3.28084", "1.609344", "0.621371", "2.54", "0.393701", "0.0254",
    "28.349523125", "0.035274", "3.785411784", "0.264172", "4.184", "1.8", "1.1", "1.15", "1.19", "1.2",
    "1.21", "1.25", "0.9", "0.85", "0.8", "0.75", "60", "3600", "24", "7", "12", "365", "52", "1000", "100",
    "1024", "0.001", "0.01", "0.1", "10",
]
MAX_COLUMNS = 12
COMBINE_COST = 4.0
AMOUNT_COST = 1.5
LINEAR_COST = 4.0


def _decimals(text: str) -> int:
    text = text.strip()
    whole, dot, fraction = text.rpartition(".") if "." in text else (text, "", "")
    return len(fraction.rstrip()) if dot else 0


def _targets(outputs: list[str]) -> list[tuple[Decimal, Decimal]] | None:
    """(number, half a unit of its last written digit) of each output, or None when one is not a number."""
    found = []
    for out in outputs:
        value = _amount(out)
        if value is None:
            return None
        digits = _decimals(out.replace(",", "") if out.count(".") == 1 else out)
        found.append((value, Decimal(5).scaleb(-digits - 1)))
    return found


def _numeric_columns(rows: list[Row]) -> list[tuple[int, list[Decimal]]]:
    width = max(len(r) for r in rows)
    found = []
    for c in range(min(width, MAX_COLUMNS * 3)):
        values = [_amount(r[c]) if c < len(r) else None for r in rows]
        numbers = [v for v in values if v is not None]
        if len(numbers) == len(values):
            found.append((c, numbers))
    return found[: MAX_COLUMNS]


def _close(values: list[Decimal], targets: list[tuple[Decimal, Decimal]]) -> bool:
    """Every value within a (rounding) unit of its target, at some decimal scale."""
    for scale in (Decimal(1), Decimal(100), Decimal("0.01"), Decimal(1000), Decimal("0.001")):
        if all(abs(v * scale - t) <= 2 * e + Decimal("1e-9") for v, (t, e) in zip(values, targets)):
            return True
    return False


def arithmetic_atoms(rows: list[Row], outputs: list[str]) -> list[Atom]:
    targets = _targets(outputs)
    if targets is None or not rows:
        return []
    atoms: list[Atom] = []
    columns = _numeric_columns(rows)
    for source, values, cost in _sources(rows, columns, targets):
        texts = [str(v) for v in values]
        exact: Atom | None = None
        first: Atom | None = None
        for expr, got, format_cost in number_atoms(source, texts, outputs):
            atom = Atom(expr, got, cost + format_cost)
            if list(got) == outputs and (exact is None or atom.cost < exact.cost):
                exact = atom  # the whole output
            first = first or atom
        chosen = exact or first
        if chosen is not None:
            atoms.append(chosen)
    return atoms


def _sources(
    rows: list[Row], columns: list[tuple[int, list[Decimal]]], targets: list[tuple[Decimal, Decimal]]
) -> Iterator[tuple[Expr, list[str], float]]:
    for c, values in columns:
        plain = [_parse_number(r[c]) for r in rows]
        if plain != values:
            yield call("amount", col(c)), [_written(v) for v in values], AMOUNT_COST + 0.01 * c
    paired = False
    for (i, xs), (j, ys) in itertools.permutations(columns, 2):
        for op in "+-*/":
            if op in "+*" and i > j:
                continue
            got = [combine(str(x), str(y), op) for x, y in zip(xs, ys)]
            if not all(got):
                continue
            numbers = [Decimal(g) for g in got]
            if _close(numbers, targets):
                paired = True
                yield call("combine", col(i), col(j), operator=op), got, COMBINE_COST + 0.01 * (i + j)
    if not paired:
        yield from _nested(columns, targets)
    for c, xs in columns:
        fitted = _fit_affine(xs, targets)
        if fitted is None:
            continue
        args, cost = fitted
        weight, offset, divisor = args["weights"][0], str(args.get("offset", "0")), str(args.get("divisor", "1"))
        # fitted constants need rows beyond the two that determine them (3 rows fit 0.556x - 17.83)
        if len(xs) < 2 + (weight not in KNOWN_FACTORS and divisor == "1") + (offset != "0"):
            continue
        got = [linear(str(x), weights=[weight], offset=offset, divisor=divisor) for x in xs]
        yield call("linear", col(c), **args), got, LINEAR_COST + cost + 0.01 * c


MAX_NESTED_COLUMNS = 8


def _nested(
    columns: list[tuple[int, list[Decimal]]], targets: list[tuple[Decimal, Decimal]]
) -> Iterator[tuple[Expr, list[str], float]]:
    """(x op y) op z over three columns ("(max_stock - on_hand) * unit_cost"), when no pair fits."""
    columns = columns[:MAX_NESTED_COLUMNS]
    for (i, xs), (j, ys) in itertools.permutations(columns, 2):
        for inner in "+-*":
            if inner in "+*" and i > j:
                continue
            first = [combine(str(x), str(y), inner) for x, y in zip(xs, ys)]
            if not all(first):
                continue
            for k, zs in columns:
                if k in (i, j):
                    continue
                for outer in "*/+-":
                    got = [combine(f, str(z), outer) for f, z in zip(first, zs)]
                    if all(got) and _close([Decimal(g) for g in got], targets):
                        expr = call("combine", call("combine", col(i), col(j), operator=inner), col(k), operator=outer)
                        yield expr, got, 2 * COMBINE_COST + 0.01 * (i + j + k)


Affine = dict[str, list[str] | str]  # linear's arguments: weights, and offset / divisor when not 0 / 1


def _fit_affine(xs: list[Decimal], targets: list[tuple[Decimal, Decimal]]) -> tuple[Affine, float] | None:
    """linear's snapped arguments putting a*x + b, or (x + c) / d for a well-known d (Fahrenheit to Celsius is
    (x - 32) / 1.8: no short decimal a is exact), within every target's tolerance, and the constants' cost."""
    if len(xs) < 2 or len(set(xs)) < 2:
        return None
    i = min(range(len(xs)), key=lambda k: xs[k])
    j = max(range(len(xs)), key=lambda k: xs[k])
    dx = xs[j] - xs[i]
    (ti, ei), (tj, ej) = targets[i], targets[j]
    with localcontext() as ctx:
        ctx.prec = 40
        low, high = (tj - ej - ti - ei) / dx, (tj + ej - ti + ei) / dx
        fits = [f for f in (_fit_times(xs, targets, low, high), _fit_divided(xs, targets, low, high)) if f]
    return min(fits, key=lambda f: f[1]) if fits else None


def _fit_times(xs: list[Decimal], targets: list[tuple[Decimal, Decimal]], low: Decimal,
               high: Decimal) -> tuple[Affine, float] | None:
    for a, a_cost in _snapped(low, high):
        if a == 1:
            continue
        b_low = max(t - e - a * x for x, (t, e) in zip(xs, targets))
        b_high = min(t + e - a * x for x, (t, e) in zip(xs, targets))
        if b_low > b_high:
            continue
        for b, b_cost in _snapped(b_low, b_high, known=False):
            return {"weights": [_written(a)]} | ({"offset": _written(b)} if b else {}), a_cost + b_cost
    return None


DIVIDED_COST = 0.5  # (x + c) / d reads a little harder than a * x + b


def _fit_divided(xs: list[Decimal], targets: list[tuple[Decimal, Decimal]], low: Decimal,
                 high: Decimal) -> tuple[Affine, float] | None:
    for factor in KNOWN_FACTORS:
        d = Decimal(factor)
        if d <= 1 or not low <= 1 / d <= high:
            continue
        c_low = max((t - e) * d - x for x, (t, e) in zip(xs, targets))
        c_high = min((t + e) * d - x for x, (t, e) in zip(xs, targets))
        if c_low > c_high:
            continue
        for c, c_cost in _snapped(c_low, c_high, known=False):
            offset = {"offset": _written(c)} if c else {}
            return {"weights": ["1"]} | offset | {"divisor": factor}, 1.0 + c_cost + DIVIDED_COST
    return None


def _snapped(low: Decimal, high: Decimal, known: bool = True) -> Iterator[tuple[Decimal, float]]:
    """Clean constants in [low, high], the cleanest first: zero, well-known factors, then the shortest decimals."""
    if low <= 0 <= high:
        yield Decimal(0), 0.0
    if known:
        for factor in KNOWN_FACTORS:
            if low <= Decimal(factor) <= high:
                yield Decimal(factor), 1.0
    for digits in range(-3, 4):
        quantum = Decimal(1).scaleb(-digits)
        candidate = ((low + high) / 2).quantize(quantum) if digits >= 0 else (
            ((low + high) / 2 / quantum).quantize(Decimal(1)) * quantum)
        if low <= candidate <= high and candidate != 0:
            yield candidate, 1.5 + max(digits, 0) * 0.8
            return


def refit_linear(expr: Expr, rows: list[Row], outputs: list[str]) -> Expr | None:
    """expr with its linear(column) constants fitted again on these rows alone, snapped as when learning (None when
    expr has no such node or the rows fit no clean constants): a held-out row checks the refitted rule."""
    if expr.op == "linear" and expr.inputs and expr.inputs[0].op == "col":
        c = expr.inputs[0].args["index"]
        xs = [_amount(r[c]) if c < len(r) else None for r in rows]
        targets = _targets(outputs)
        if targets is None or any(x is None for x in xs):
            return None
        fitted = _fit_affine([x for x in xs if x is not None], targets)
        if fitted is None:
            return None
        args, _ = fitted
        kept = {k: v for k, v in expr.args.items() if k not in ("weights", "offset", "divisor")}
        return expr.model_copy(update={"args": kept | args})
    for k, child in enumerate(expr.inputs):
        refitted = refit_linear(child, rows, outputs)
        if refitted is not None:
            inputs = [*expr.inputs[:k], refitted, *expr.inputs[k + 1:]]
            return expr.model_copy(update={"inputs": inputs})
    return None
