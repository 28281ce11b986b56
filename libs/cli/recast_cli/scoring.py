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


def placeholder_answer(test_input: list[Row], test_expected: list[Row], train_expected: list[Row]) -> bool:
    """A test answer of one cell for an input of several rows, where the train answer has several columns: a
    note standing in for an answer the benchmark's source does not have (Foofah's "NOT AVAILABLE, SORRY")."""
    one_cell = len(test_expected) == 1 and len(test_expected[0]) == 1
    return one_cell and len(test_input) > 1 and max((len(r) for r in train_expected), default=0) > 1


def contradicting_column_order(actual: list[Row], expected: list[Row], train_expected: list[Row]) -> bool:
    """The output equals the test answer but for one fixed reordering of the columns, and the train answer lays
    its columns out in the output's order, not the test answer's: the two answers of the task contradict each
    other, and the script follows the one it was given."""
    width = len(expected[0]) if expected else 0
    if not actual or len(actual) != len(expected) or any(len(r) != width for r in [*actual, *expected]):
        return False
    column = [[r[k] for r in actual] for k in range(width)]
    wanted = [[r[j] for r in expected] for j in range(width)]
    order = _matching([[k for k in range(width) if column[k] == wanted[j]] for j in range(width)])
    if order is None or order == list(range(width)):
        return False
    if not train_expected or any(len(r) != width for r in train_expected):
        return False
    return [[r[k] for k in order] for r in train_expected] != train_expected


def _matching(options: list[list[int]]) -> list[int] | None:
    """One distinct choice per position among its options (augmenting paths), None when there is none."""
    owner: dict[int, int] = {}

    def place(j: int, seen: set[int]) -> bool:
        for k in options[j]:
            if k not in seen:
                seen.add(k)
                if k not in owner or place(owner[k], seen):
                    owner[k] = j
                    return True
        return False

    if not all(place(j, set()) for j in range(len(options))):
        return None
    chosen = {j: k for k, j in owner.items()}
    return [chosen[j] for j in range(len(options))]


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
