"""Positions inside strings, as version spaces: every position spec that lands on a given index.

A spec is a hashable tuple:
    ("index", k)                       k >= 0 from the start, k < 0 from the end (-1 = the end)
    ("anchor", after, before, k)       the k-th place (k < 0: from the last) where a run of token `after` ends
                                       and a run of token `before` starts (either may be None)
Tokens are the character classes of recast_engine.runtime.cells or single literal characters.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from recast_engine.runtime.cells import _TOKEN_CLASSES, _in_token

Spec = tuple[Any, ...]  # ("index", k) or ("anchor", after, before, k)

CLASS_TOKENS = tuple(_TOKEN_CLASSES)


MAX_LITERAL_TOKENS = 12  # anchors on the most frequent punctuation only: the space of positions grows as its square


def literal_tokens(texts: list[str]) -> list[str]:
    counts: dict[str, int] = {}
    for text in texts:
        for char in text:
            if not char.isalnum():
                counts[char] = counts.get(char, 0) + 1
    return sorted(counts, key=lambda c: (-counts[c], c))[:MAX_LITERAL_TOKENS]


def spec_to_json(spec: Spec) -> dict[str, Any]:
    if spec[0] == "index":
        return {"index": spec[1]}
    _, after, before, k = spec
    out: dict[str, Any] = {}
    if after is not None:
        out["after"] = after
    if before is not None:
        out["before"] = before
    out["k"] = k
    return out


def spec_cost(spec: Spec) -> float:
    """Lower is more likely to generalize: ends of the string, then anchors on character classes."""
    if spec[0] == "index":
        k = spec[1]
        if k in (0, -1):
            return 0.0
        return float(3.0 + 0.05 * min(abs(k), 40) + (0.02 if k < 0 else 0.0))
    _, after, before, k = spec
    cost = 1.0
    for tok in (after, before):
        if tok is None:
            continue
        if tok == "closer":
            cost += 0.45  # a field ends at whichever separator comes first, not only at the one the examples show
        else:
            cost += 0.6 if len(tok) > 1 else 0.5
        if tok in ("alnum",):
            cost += 0.15
        if tok in ("upper", "lower"):
            cost += 0.1
    if after is not None and before is not None:
        cost += 0.3  # two anchors are more specific than one
    cost += 0.4 * (abs(k) - 1) + (0.05 if k < 0 else 0.0)
    return float(cost)


@dataclass
class PositionSpace:
    """For one string: spec -> position, and position -> specs (cheapest first)."""

    text: str
    spec_pos: dict[Spec, int] = field(default_factory=dict)
    pos_specs: dict[int, list[Spec]] = field(default_factory=dict)


def position_space(text: str, literals: list[str]) -> PositionSpace:
    space = PositionSpace(text)
    n = len(text)
    for p in range(n + 1):
        space.spec_pos[("index", p)] = p
        space.spec_pos[("index", p - n - 1)] = p
    present_literals = [c for c in literals if c in text]
    present_classes = [t for t in CLASS_TOKENS if any(_TOKEN_CLASSES[t](c) for c in text)]
    tokens: list[str | None] = [None, *present_classes, *present_literals]
    # Where a run of each token may end (after) and start (before): the anchors of a pair are the positions in both,
    # what _anchor_positions(text, after, before) finds, computed once per token instead of once per pair.
    ends: dict[str | None, set[int] | None] = {None: None}
    starts: dict[str | None, set[int] | None] = {None: None}
    for token in present_classes + present_literals:
        inside = [_in_token(char, token) for char in text]
        run = len(token) > 1  # a class anchors at the edges of a run; a literal character at each occurrence
        ends[token] = {p for p in range(1, n + 1) if inside[p - 1] and not (run and p < n and inside[p])}
        starts[token] = {p for p in range(n) if inside[p] and not (run and p > 0 and inside[p - 1])}
    for after in tokens:
        for before in tokens:
            if after is None and before is None:
                continue
            a, b = ends[after], starts[before]
            both = b if a is None else a if b is None else a & b
            found = sorted(both) if both is not None else []
            m = len(found)
            for i, p in enumerate(found):
                space.spec_pos[("anchor", after, before, i + 1)] = p
                space.spec_pos[("anchor", after, before, i - m)] = p
    for spec, p in space.spec_pos.items():
        space.pos_specs.setdefault(p, []).append(spec)
    for specs in space.pos_specs.values():
        specs.sort(key=_spec_order)
    return space


@lru_cache(maxsize=1 << 16)
def _spec_order(spec: Spec) -> tuple[float, str]:
    """The order of the specs landing on one position: cheapest first, ties by their repr."""
    return spec_cost(spec), repr(spec)
