"""Cell-level synthesis: learn one output column as an expression over an input row.

learn_column explains the outputs as a concatenation of parts (constants, substrings of columns or of their
upper/lower/title-cased forms, date fields, formatted numbers), found by the search in cellsearch on a few
example rows and checked on all of them; a row it gets wrong is added to the examples and the search runs again
(counterexample-guided). Rows whose output is empty are left to the operators' "" on unfit input (or to a
guard: "empty when the date column is not a date"). When no single concatenation fits, a conditional on a simple
predicate of one column (contains a digit, a "@", a word...) splits the rows into two learned branches. A constant
look-up table is the last resort.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from recast_engine.dsl import Expr, call, col, const
from recast_engine.dsl.interpret import eval_expr
from recast_engine.runtime import cells
from recast_engine.runtime.arith import digits
from recast_engine.synthesis import workclock
from recast_engine.synthesis.arithmetic import arithmetic_atoms
from recast_engine.synthesis.cellsearch import Atom, ConcatSearch, SearchTimeout, Source
from recast_engine.synthesis.conditionals import categorical, code_table
from recast_engine.synthesis.dates import date_atoms, numeric_fields
from recast_engine.synthesis.numbers import number_atoms, range_atoms, scientific_atoms

Row = list[str]

FIRST_EXAMPLES = 5
MAX_SOURCE_LENGTH = 2000  # longer cells are copied whole, not cut (their position spaces would be too large)
MAX_ROUNDS = 6


def learn_column(rows: list[Row], outputs: list[str], deadline: float) -> Iterator[Expr]:
    """Yield expressions e with eval(e, rows[i]) == outputs[i] for every i, simplest first.

    `deadline` is a workclock.now() value (work, see workclock); stop yielding when it has passed.
    """
    if not rows:
        return
    yielded: set[str] = set()
    for expr in categorical(rows, outputs):
        yielded.add(expr.model_dump_json())
        yield expr
    for expr in _learn(rows, outputs, deadline):
        key = expr.model_dump_json()
        if key not in yielded:
            yielded.add(key)
            yield expr
    table = code_table(rows, outputs) or _lookup_table(rows, outputs)
    if table is not None and workclock.now() < deadline:
        expr = table
        if expr.model_dump_json() not in yielded:
            yield expr


def _fits(expr: Expr, rows: list[Row], outputs: list[str]) -> int | None:
    """The index of the first row expr gets wrong, or None when it fits every row."""
    for i, (row, out) in enumerate(zip(rows, outputs)):
        try:
            got = str(eval_expr(expr, row))
        except Exception:  # an operator failing on an odd value counts as a wrong answer
            return i
        if got != out:
            return i
    return None


def _first_examples(outputs: list[str]) -> list[int]:
    chosen: list[int] = []
    seen_outputs: set[str] = set()
    for i, out in enumerate(outputs):
        if out and out not in seen_outputs:
            chosen.append(i)
            seen_outputs.add(out)
        if len(chosen) >= FIRST_EXAMPLES:
            break
    return chosen


def _learn(rows: list[Row], outputs: list[str], deadline: float) -> Iterator[Expr]:
    plain = _learn_plain(rows, outputs, deadline)
    if plain is not None:
        yield _keep_missing_missing(plain[1], rows)
        return
    branched = _learn_conditional(rows, outputs, deadline)
    if branched is not None:
        yield branched


def _keep_missing_missing(expr: Expr, rows: list[Row]) -> Expr:
    """A constant learned from rows that all have a value: an empty input row (never seen) stays empty."""
    if expr.op != "const" or not expr.args["value"]:
        return expr
    for c in range(max(len(r) for r in rows)):
        if all(c < len(r) and r[c] for r in rows):
            return call("if_matches", col(c), const(""), expr, pattern="^$")
    return expr


def _learn_plain(rows: list[Row], outputs: list[str], deadline: float) -> tuple[float, Expr] | None:
    """The cheapest concatenation fitting every row, learned on a few rows plus counterexamples."""
    if all(o == "" for o in outputs):
        return 0.0, const("")
    examples = _first_examples(outputs)
    context = [row for row, out in zip(rows, outputs) if out]  # rows left empty may hold non-dates
    for _ in range(MAX_ROUNDS):
        if workclock.now() > deadline:
            return None
        found = _search([rows[i] for i in examples], [outputs[i] for i in examples], deadline, context)
        if found is None:
            return None
        wrong = _fits(found[1], rows, outputs)
        if wrong is None:
            return found
        if not outputs[wrong]:
            for fixed in (_date_guard(found[1]), _dates_as_written(found[1], rows, outputs)):
                if fixed is not None and _fits(fixed, rows, outputs) is None:
                    return found[0] + 2.0, fixed
            return None  # an empty output the program does not produce: needs a conditional
        if wrong in examples:
            return None
        examples.append(wrong)
    return None


def _date_guard(expr: Expr) -> Expr | None:
    """expr made empty where its date column does not read as a date (the outputs left empty for non-dates)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        if node.op == "date_part" and node.inputs and node.inputs[0].op == "col":
            return call("when_date", node.inputs[0], expr, formats=node.args["formats"])
        stack.extend(node.inputs)
    return None


def _dates_as_written(expr: Expr, rows: list[Row], outputs: list[str]) -> Expr | None:
    """expr with each date column read only in the spellings that read its rows with an output: the rows left
    empty may be dates written otherwise ("15 August 1740" left empty, "3 Nov 1904" read)."""
    changed = False

    def walk(node: Expr) -> Expr:
        nonlocal changed
        args = node.args
        if node.op in ("date_part", "time_range") and node.inputs and node.inputs[0].op == "col":
            c = node.inputs[0].args["index"]
            formats = args["formats"]
            kept: set[str] = set()
            for row, out in zip(rows, outputs):
                value = row[c] if c < len(row) else ""
                reader = next((f for f in formats if cells._parse_datetime(value, [f])), None) if out else None
                if reader is not None:
                    kept.add(reader)
            strict = [f for f in formats if f in kept]
            if strict and strict != formats:
                args, changed = {**args, "formats": strict}, True
        return Expr(op=node.op, args=args, inputs=[walk(i) for i in node.inputs])

    strict_expr = walk(expr)
    return strict_expr if changed else None


_PREDICATE_CLASSES = {"digits": r"\d", "letters": r"[^\W\d_]", "upper": "[A-Z]", "lower": "[a-z]", "space": r"\s"}
CONDITION_COST = 15.0


def _predicates(rows: list[Row]) -> Iterator[tuple[int, str]]:
    width = max(len(r) for r in rows)
    for c in range(width):
        values = [r[c] if c < len(r) else "" for r in rows]
        yield c, "^$"
        for pattern in _PREDICATE_CLASSES.values():
            yield c, pattern
            yield c, "^" + pattern
            yield c, pattern + "$"
        for char in sorted({ch for v in values for ch in v if not ch.isalnum() and not ch.isspace()}):
            yield c, re.escape(char)
        yield from ((c, rf"\b{re.escape(word)}\b") for word in _splitting_words(values))


def _splitting_words(values: list[str], limit: int = 8) -> list[str]:
    """Words found in some values but not all, the most frequent first."""
    counts: dict[str, int] = {}
    for v in values:
        for word in set(re.findall(r"[^\W\d_]{2,}", v)):
            counts[word] = counts.get(word, 0) + 1
    splitting = [w for w, n in counts.items() if n < len(values)]
    return sorted(splitting, key=lambda w: (-counts[w], w))[:limit]


def _learn_conditional(rows: list[Row], outputs: list[str], deadline: float) -> Expr | None:
    """if_matches(column, then, else) on the cheapest predicate (contains a character class or literal, starts
    with a class, is empty) splitting the rows into two groups that each have a plain program."""
    best: tuple[float, Expr] | None = None
    tried: set[tuple[bool, ...]] = set()
    for c, pattern in _predicates(rows):
        if workclock.now() > deadline:
            break
        regex = re.compile(pattern)
        split = tuple(bool(regex.search(r[c] if c < len(r) else "")) for r in rows)
        if all(split) or not any(split) or split in tried:
            continue
        tried.add(split)
        then_rows = [i for i, t in enumerate(split) if t]
        else_rows = [i for i, t in enumerate(split) if not t]
        then_found = _learn_plain([rows[i] for i in then_rows], [outputs[i] for i in then_rows], deadline)
        if then_found is None:
            continue
        else_found = _learn_plain([rows[i] for i in else_rows], [outputs[i] for i in else_rows], deadline)
        if else_found is None:
            continue
        cost = CONDITION_COST + then_found[0] + else_found[0] + 0.5 * len(pattern)
        if best is None or cost < best[0]:
            expr = call("if_matches", col(c), then_found[1], else_found[1], pattern=pattern)
            best = (cost, expr)
    return None if best is None else best[1]


def _search(
    rows: list[Row], outputs: list[str], deadline: float, context: list[Row] | None = None
) -> tuple[float, Expr] | None:
    sources, atoms = _parts(rows, outputs, context)
    try:
        return ConcatSearch(outputs, sources, atoms, deadline).best()
    except SearchTimeout:
        return None


def _parts(rows: list[Row], outputs: list[str], context: list[Row] | None = None) -> tuple[list[Source], list[Atom]]:
    """Sources (whose substrings are parts) and whole-value atoms over the example rows. The context rows (all
    the rows, outputs unknown to the search) show how the column's dates are written."""
    width = max(len(r) for r in rows)
    sources: list[Source] = []
    atoms: list[Atom] = []
    for c in range(width):
        values = tuple(r[c] if c < len(r) else "" for r in rows)
        column_sources = _case_sources(c, values)
        tokens = _token_sources(c, column_sources)
        sources += column_sources + tokens + _digit_sources(c, values)
        atoms += column_sources
        written = _context_values(c, values, context)
        atoms += _value_atoms(c, values, tokens, outputs, written)
    atoms += arithmetic_atoms(rows, outputs)
    atoms = [a for a in atoms if all(v and v in o for v, o in zip(a.values, outputs))]
    sources = [s for s in sources if any(s.values) and max(map(len, s.values)) <= MAX_SOURCE_LENGTH]
    return sources, _cheapest_per_values(atoms)


_CASE_FUNCTIONS = {"lower": cells.lower, "upper": cells.upper, "title": cells.title}


def _case_sources(c: int, values: tuple[str, ...]) -> list[Source]:
    """The column and its upper/lower/title-cased forms (when they differ)."""
    found = [Source(col(c), values, 0.01 * c)]
    for name, change in _CASE_FUNCTIONS.items():
        changed = tuple(change(v) for v in values)
        if changed != values:
            found.append(Source(call(name, col(c)), changed, 1.5 + 0.01 * c))
    return found


def _digit_sources(c: int, values: tuple[str, ...]) -> list[Source]:
    """The column's digits alone, when they come with varying punctuation (phones typed in many ways)."""
    kept = tuple(digits(v) for v in values)
    shapes = {re.sub(r"\d", "", v) for v in values}
    if len(shapes) > 1 and all(len(k) >= 7 for k in kept):
        return [Source(call("digits", col(c)), kept, 2.0 + 0.01 * c)]
    return []


MAX_CONTEXT_VALUES = 100


def _context_values(c: int, values: tuple[str, ...], context: list[Row] | None) -> list[str]:
    """The example values, then the column's other distinct non-empty values (a bounded number)."""
    found = dict.fromkeys(values)
    for row in context or []:
        if len(found) >= len(values) + MAX_CONTEXT_VALUES:
            break
        if c < len(row) and row[c].strip():
            found.setdefault(row[c])
    return list(found)


def _value_atoms(
    c: int, values: tuple[str, ...], tokens: list[Source], outputs: list[str], written: list[str] | None = None
) -> list[Atom]:
    """Dates (of the column, of its words, of its numbers joined), formatted numbers and ranges."""
    found: list[Atom] = []

    def add(generated: Iterable[tuple[Expr, tuple[str, ...], float]], extra: float) -> None:
        found.extend(Atom(expr, got, cost + extra + 0.01 * c) for expr, got, cost in generated)

    for token in tokens:
        if token.expr.args["start"].get("before") == "nonspace" and token.expr.inputs[0].op == "col":
            add(date_atoms(token.expr, list(token.values), outputs), token.cost)
    if not all(v.strip() for v in values):
        return found
    add(date_atoms(col(c), list(values), outputs, written), 0.0)
    add(number_atoms(col(c), list(values), outputs), 0.0)
    add(range_atoms(col(c), list(values), outputs), 0.0)
    add(scientific_atoms(col(c), list(values), outputs), 0.0)
    joined = tuple(cells.join_numbers(v) for v in values)
    if joined != values and all(j.count("/") == 2 for j in joined):
        add(date_atoms(call("join_numbers", col(c)), list(joined), outputs), 2.0)
    for field, field_values in numeric_fields(col(c), list(values)):
        add(range_atoms(field, list(field_values), outputs), 1.0)
    return found


_WORD_CLASSES = ("letters", "digits", "alnum", "nonspace")


def _token_sources(c: int, case_sources: list[Source]) -> list[Source]:
    """The k-th run of letters / digits / alphanumerics / non-spaces of the column (and of its case-changed
    forms), so that positions can be counted inside one word ("the first two letters of the second word")."""
    found: list[Source] = []
    for base in case_sources:
        for cls in _WORD_CLASSES:
            # where the runs of cls start and end in each value, found once for every k
            runs = [(v, cells._anchor_positions(v, None, cls), cells._anchor_positions(v, cls, None))
                    for v in base.values]
            for k in (1, 2, 3, -1, -2):
                start, end = {"before": cls, "k": k}, {"after": cls, "k": k}
                got = tuple(_kth_run(v, starts, ends, k) for v, starts, ends in runs)
                if all(got) and got != base.values:
                    expr = call("substring", base.expr, start=start, end=end)
                    found.append(Source(expr, got, base.cost + 2.0 + 0.3 * (abs(k) - 1) + 0.2 * (k < 0)))
    return found


def _kth_run(text: str, starts: list[int], ends: list[int], k: int) -> str:
    """cells.substring(text, {"before": cls, "k": k}, {"after": cls, "k": k}), given where the runs of cls start
    and end in text."""
    a, b = _kth(starts, k), _kth(ends, k)
    if a is None or b is None or b < a:
        return ""
    return text[a:b]


def _kth(found: list[int], k: int) -> int | None:
    i = k - 1 if k > 0 else len(found) + k
    return found[i] if 0 <= i < len(found) else None


def _cheapest_per_values(atoms: list[Atom]) -> list[Atom]:
    best: dict[tuple[str, ...], Atom] = {}
    for atom in atoms:
        kept = best.get(atom.values)
        if kept is None or atom.cost < kept.cost:
            best[atom.values] = atom
    return list(best.values())


def _lookup_table(rows: list[Row], outputs: list[str]) -> Expr | None:
    """A constant map from one column's values to the outputs, when some column determines them."""
    width = max(len(r) for r in rows)
    for c in range(width):
        table: dict[str, str] = {}
        consistent = True
        for row, out in zip(rows, outputs):
            key = row[c] if c < len(row) else ""
            if table.setdefault(key, out) != out:
                consistent = False
                break
        if consistent:
            return call("lookup", col(c), table=table, default="")
    return None
