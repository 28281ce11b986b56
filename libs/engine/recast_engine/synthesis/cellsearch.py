"""Concatenation search (FlashFill style): explain every example output as a sequence of parts.

A part is a constant, a whole-value atom (a column, a date field, a formatted number, ...) or a substring of a
source between two learned positions. The search walks all examples at once: a state is one output position per
example, an edge is a part that produces the next characters of every example. Substring edges carry version
spaces (all position specs consistent with every example); the cheapest spec of each space is emitted.
The cheapest path (fewest parts, simplest positions, short constants) is the most likely to generalize.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from typing import Any

from recast_engine.dsl import Expr, call, const
from recast_engine.synthesis import workclock
from recast_engine.synthesis.strings import PositionSpace, literal_tokens, position_space, spec_cost, spec_to_json

PART_COST = 10.0
CONST_CHAR_COST = 1.2
# FlashFill's ranking: a number the input holds is extracted rather than written as a constant (a constant "2"
# learned from "$2475 / 2br" would give 2 for every row).
COPIED_NUMBER_PENALTY = 3.0
# Likewise a constant repeating letters and digits every example's input holds ("henrique" -> "henrique@x.com"
# from one example is the input plus "@x.com"): each such character costs this much more.
COPIED_CHAR_PENALTY = 1.0
COPIED_MIN_LENGTH = 3


class SearchTimeout(Exception):
    pass


@dataclass
class Atom:
    """An expression whose value on each example row is known."""

    expr: Expr
    values: tuple[str, ...]
    cost: float


@dataclass
class Source(Atom):
    """An atom whose substrings are parts too; position spaces are built on first use."""

    spaces: list[PositionSpace] | None = None

    def position_spaces(self) -> list[PositionSpace]:
        if self.spaces is None:
            literals = literal_tokens(list(self.values))
            self.spaces = [position_space(v, literals) for v in self.values]
        return self.spaces


@dataclass
class _Edge:
    cost: float
    expr: Expr
    target: tuple[int, ...]


def _lcp(a: str, i: int, b: str, j: int) -> int:
    n = 0
    while i + n < len(a) and j + n < len(b) and a[i + n] == b[j + n]:
        n += 1
    return n


@dataclass
class ConcatSearch:
    outputs: list[str]
    sources: list[Source]
    atoms: list[Atom]
    deadline: float
    memo: dict[tuple[int, ...], tuple[float, list[Expr] | None]] = field(default_factory=dict)
    _piece_memo: dict[str, bool] = field(default_factory=dict)
    ticks: int = 0

    def best(self) -> tuple[float, Expr] | None:
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 10000))
        try:
            start = tuple(0 for _ in self.outputs)
            cost, parts = self._solve(start)
        finally:
            sys.setrecursionlimit(limit)
        if parts is None:
            return None
        return cost, _join(parts)

    def _check_time(self) -> None:
        self.ticks += 1
        if self.ticks % 64 == 0 and workclock.now(64) > self.deadline:
            raise SearchTimeout

    def _solve(self, state: tuple[int, ...]) -> tuple[float, list[Expr] | None]:
        if all(p == len(o) for p, o in zip(state, self.outputs)):
            return 0.0, []
        if state in self.memo:
            return self.memo[state]
        self._check_time()
        self.memo[state] = (float("inf"), None)  # guards against cycles (there are none: edges consume)
        best: tuple[float, list[Expr] | None] = (float("inf"), None)
        for edge in self._edges(state):
            if edge.cost >= best[0]:
                continue
            rest_cost, rest = self._solve(edge.target)
            if rest is None:
                continue
            total = edge.cost + rest_cost
            if total < best[0]:
                best = (total, [edge.expr, *rest])
        self.memo[state] = best
        return best

    def _edges(self, state: tuple[int, ...]) -> list[_Edge]:
        outs = self.outputs
        edges: list[_Edge] = []
        # constants: the common prefix of every remaining output
        first = outs[0][state[0]:]
        common = len(first)
        for o, p in zip(outs[1:], state[1:]):
            common = min(common, _lcp(first, 0, o, p))
            if common == 0:
                break
        copied = self._copied_chars(first[:common])
        for n in range(1, common + 1):
            target = tuple(p + n for p in state)
            cost = PART_COST + CONST_CHAR_COST * n + COPIED_CHAR_PENALTY * copied[n]
            if self._is_copied_number(first[:n]):
                cost += COPIED_NUMBER_PENALTY
            edges.append(_Edge(cost, const(first[:n]), target))
        for atom in self.atoms:
            if all(v and o.startswith(v, p) for v, o, p in zip(atom.values, outs, state)):
                target = tuple(p + len(v) for p, v in zip(state, atom.values))
                edges.append(_Edge(PART_COST + atom.cost, atom.expr, target))
        for source in self.sources:
            edges.extend(self._substring_edges(source, state))
        edges.sort(key=lambda e: e.cost)
        return edges

    def _copied_chars(self, text: str) -> list[int]:
        """For each prefix length n of text, how many of its characters lie in a run of at least
        COPIED_MIN_LENGTH letters/digits (inside the prefix) that every example's input contains."""
        k = COPIED_MIN_LENGTH
        counts = [0] * (len(text) + 1)
        covered_to = 0  # characters before this index are counted
        for n in range(1, len(text) + 1):
            counts[n] = counts[n - 1]
            j = n - k
            if j >= 0 and text[j:n].isalnum() and self._in_every_input(text[j:n]):
                counts[n] += n - max(j, covered_to)
                covered_to = n
        return counts

    def _in_every_input(self, piece: str) -> bool:
        found = self._piece_memo.get(piece)
        if found is None:
            found = all(any(piece in source.values[i] for source in self.sources) for i in range(len(self.outputs)))
            self._piece_memo[piece] = found
        return found

    def _is_copied_number(self, text: str) -> bool:
        """A number that every example's input also holds as a whole number: more likely read than written."""
        if not text.isdigit():
            return False
        pattern = re.compile(r"(?<!\d)" + text + r"(?!\d)")
        return any(all(pattern.search(v) for v in source.values) for source in self.sources)

    def _substring_edges(self, source: Source, state: tuple[int, ...]) -> list[_Edge]:
        outs = self.outputs
        values = source.values
        if not all(p < len(o) and o[p] in v for v, o, p in zip(values, outs, state)):
            return []
        spaces = source.position_spaces()
        lcps: list[dict[int, int]] = [{} for _ in outs]

        def lcp(i: int, a: int) -> int:
            got = lcps[i].get(a)
            if got is None:
                got = lcps[i][a] = _lcp(values[i], a, outs[i], state[i])
            return got

        # start positions: group the specs of example 0 by the positions they give in every example
        starts: dict[tuple[int, ...], Spec] = {}
        v0 = values[0]
        o0c = outs[0][state[0]]
        for a0 in range(len(v0)):
            if v0[a0] != o0c:
                continue
            for spec in spaces[0].pos_specs.get(a0, []):
                tup = []
                for i, space in enumerate(spaces):
                    a = space.spec_pos.get(spec)
                    if a is None or lcp(i, a) == 0:
                        break
                    tup.append(a)
                else:
                    key = tuple(tup)
                    if key not in starts:
                        starts[key] = spec  # specs come cheapest first
        edges: list[_Edge] = []
        for a_tup, start_spec in starts.items():
            self._check_time()
            ends: dict[tuple[int, ...], Spec] = {}
            a0 = a_tup[0]
            for b0 in range(a0 + 1, a0 + lcp(0, a0) + 1):
                for spec in spaces[0].pos_specs.get(b0, []):
                    tup = []
                    for i, space in enumerate(spaces):
                        b = space.spec_pos.get(spec)
                        a = a_tup[i]
                        if b is None or not a < b <= a + lcp(i, a):
                            break
                        tup.append(b)
                    else:
                        key = tuple(tup)
                        if key not in ends:
                            ends[key] = spec
            for b_tup, end_spec in ends.items():
                target = tuple(p + b - a for p, a, b in zip(state, a_tup, b_tup))
                cost = PART_COST + source.cost + spec_cost(start_spec) + spec_cost(end_spec)
                cost += _mixed_cost(start_spec, end_spec)
                edges.append(_Edge(cost, _substring_expr(source.expr, start_spec, end_spec), target))
        return edges


Spec = tuple[Any, ...]  # a position, as in strings.Spec
# From an anchor to a fixed index inside the text (or back): right only while everything before the index keeps
# its length ("after the space up to character 6" is one letter of "Hone Albert", seven of "Milica Zujovic").
MIXED_POSITIONS_COST = 1.0


def _mixed_cost(start: Spec, end: Spec) -> float:
    def inner_index(spec: Spec) -> bool:
        return spec[0] == "index" and spec[1] not in (0, -1)

    if (inner_index(end) and start[0] != "index") or (inner_index(start) and end[0] != "index"):
        return MIXED_POSITIONS_COST
    return 0.0


def _substring_expr(source: Expr, start: Spec, end: Spec) -> Expr:
    if start == ("index", 0) and end == ("index", -1):
        return source
    return call("substring", source, start=spec_to_json(start), end=spec_to_json(end))


def _join(parts: list[Expr]) -> Expr:
    merged: list[Expr] = []
    for part in parts:
        if part.op == "const" and merged and merged[-1].op == "const":
            merged[-1] = const(merged[-1].args["value"] + part.args["value"])
        else:
            merged.append(part)
    if not merged:
        return const("")
    if len(merged) == 1:
        return merged[0]
    return call("concat", *merged)
