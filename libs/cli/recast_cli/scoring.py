"""Benchmark scoring rules (pure): exact cell comparison and the no-literal rule for ATBench."""
from __future__ import annotations

import ast
import math
from collections import Counter

Row = list[str]


def grid_difference(actual: list[Row], expected: list[Row]) -> str:
    """"" when the grids are equal cell for cell, else a short description of the first difference."""
    if actual == expected:
        return ""
    if len(actual) != len(expected):
        return f"{len(actual)} rows, expected {len(expected)}"
    for i, (a, e) in enumerate(zip(actual, expected)):
        if a != e:
            if len(a) != len(e):
                return f"row {i + 1} has {len(a)} cells, expected {len(e)}"
            wrong = sum(1 for x, y in zip(a, e) if x != y)
            j = next(j for j, (x, y) in enumerate(zip(a, e)) if x != y)
            cells = sum(1 for ra, re in zip(actual, expected) for x, y in zip(ra, re) if x != y)
            return f"{cells} cells differ; first at row {i + 1} column {j + 1}: {a[j]!r} != {e[j]!r}" + (
                f" ({wrong} in that row)" if wrong > 1 else ""
            )
    return "grids differ"


def unordered_difference(actual: list[Row], expected: list[Row], header: bool) -> str:
    """"" when the grids hold the same data rows in any order (the header row, when there is one, still first)."""
    head = 1 if header else 0
    if actual[:head] != expected[:head]:
        return grid_difference(actual[:head], expected[:head]) or "header rows differ"
    got, want = Counter(map(tuple, actual[head:])), Counter(map(tuple, expected[head:]))
    if got == want:
        return ""
    missing, extra = want - got, got - want
    parts = [f"{len(actual)} rows, expected {len(expected)}"] if len(actual) != len(expected) else []
    if missing:
        parts.append(f"{sum(missing.values())} expected rows missing, e.g. {list(next(iter(missing)))}")
    if extra:
        parts.append(f"{sum(extra.values())} rows not expected, e.g. {list(next(iter(extra)))}")
    return "; ".join(parts) + " (rows compared in any order)"


def string_literals(script: str) -> set[str]:
    return {
        node.value
        for node in ast.walk(ast.parse(script))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def embedded_cells(script: str, expected: list[Row]) -> tuple[int, int]:
    """(distinct expected cells that appear as string literals in the script, distinct expected cells).

    The empty cell is left out: every script has "" somewhere, and it embeds no answer.
    """
    distinct = {cell for row in expected for cell in row if cell != ""}
    literals = string_literals(script)
    return len(distinct & literals), len(distinct)


def embeds_answers(script: str, expected: list[Row]) -> bool:
    """True when the script embeds more than a tenth of the expected output's distinct cells as literals."""
    embedded, distinct = embedded_cells(script, expected)
    return embedded > distinct / 10


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]
