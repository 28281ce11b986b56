"""Bounded-memory summaries of a stream: moments, distinct counts, frequent items, quantiles, duplicates.

Each keeps a fixed amount of state however long the stream is, so a profile of a file of any size fits in
memory. Hashes are Python's own `hash` (fast, 64 bits): estimates are stable within a process, and may differ
slightly between two runs of the same file.
"""
from __future__ import annotations

import heapq
import math
import random
from collections import Counter
from collections.abc import Hashable, Iterable

_MASK64 = (1 << 64) - 1


class RunningStats:
    """Count, mean and variance by Welford's update, with groups merged by Chan's formula."""

    __slots__ = ("n", "mean", "m2", "low", "high")

    def __init__(self) -> None:
        self.n = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.low = math.inf
        self.high = -math.inf

    def add(self, x: float, weight: int = 1) -> None:
        if weight == 1:
            self.n += 1
            delta = x - self.mean
            self.mean += delta / self.n
            self.m2 += delta * (x - self.mean)
        else:  # `weight` copies of x: a group of mean x and no spread
            n = self.n + weight
            delta = x - self.mean
            self.mean += delta * weight / n
            self.m2 += delta * delta * self.n * weight / n
            self.n = n
        if x < self.low:
            self.low = x
        if x > self.high:
            self.high = x

    @property
    def std(self) -> float | None:
        """The sample standard deviation (n - 1 in the denominator, as pandas and numpy's ddof=1)."""
        return math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else None


class HyperLogLog:
    """Distinct count estimate in 2**p one-byte registers (standard error about 1.04 / sqrt(2**p))."""

    __slots__ = ("p", "m", "registers")

    def __init__(self, p: int = 14) -> None:
        self.p = p
        self.m = 1 << p
        self.registers = bytearray(self.m)

    def add(self, item: Hashable) -> None:
        h = hash(item) & _MASK64  # str hashes are SipHash: already well mixed
        index = h >> (64 - self.p)
        rest = h & ((1 << (64 - self.p)) - 1)
        rank = (64 - self.p) - rest.bit_length() + 1
        if rank > self.registers[index]:
            self.registers[index] = rank

    def estimate(self) -> int:
        m = self.m
        alpha = 0.7213 / (1 + 1.079 / m)
        raw = alpha * m * m / sum(2.0 ** -r for r in self.registers)
        zeros = self.registers.count(0)
        if raw <= 2.5 * m and zeros:
            return round(m * math.log(m / zeros))  # linear counting for small cardinalities
        return round(raw)


def _mix(h: int) -> int:
    """Spread Python's hash over 64 bits (small ints hash to themselves)."""
    h = (h ^ (h >> 33)) * 0xFF51AFD7ED558CCD & _MASK64
    h = (h ^ (h >> 33)) * 0xC4CEB9FE1A85EC53 & _MASK64
    return h ^ (h >> 33)


class FrequentItems:
    """Misra-Gries frequent items with batched decrements: at most 2 * capacity counters.

    A reported count is a lower bound, short of the true one by at most `error` (= decrements so far, which is
    at most n / capacity); every item more frequent than n / capacity is kept.
    """

    __slots__ = ("capacity", "counts", "error")

    def __init__(self, capacity: int = 64) -> None:
        self.capacity = capacity
        self.counts: dict[str, int] = {}
        self.error = 0

    def add(self, item: str, weight: int = 1) -> None:
        counts = self.counts
        counts[item] = counts.get(item, 0) + weight
        if len(counts) > 2 * self.capacity:
            self._shrink()

    def _shrink(self) -> None:
        cut = sorted(self.counts.values(), reverse=True)[self.capacity]
        self.error += cut
        self.counts = {k: c - cut for k, c in self.counts.items() if c > cut}

    def top(self, k: int) -> list[tuple[str, int]]:
        return sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:k]


class QuantileSketch:
    """A KLL sketch: compactors of capacity about k; a quantile's rank error is about 1.7 / k of n."""

    __slots__ = ("k", "levels", "n", "_rng", "_first_capacity", "_level_capacities")

    def __init__(self, k: int = 400, seed: int = 7) -> None:
        self.k = k
        self.levels: list[list[float]] = [[]]
        self.n = 0
        self._rng = random.Random(seed)
        self._first_capacity = self._capacity(0)
        self._level_capacities = self._capacities()  # they depend on the number of levels only

    def _capacity(self, level: int) -> int:
        depth = len(self.levels) - level - 1
        return max(8, int(self.k * (2 / 3) ** depth))

    def add(self, x: float) -> None:
        first = self.levels[0]
        first.append(x)
        self.n += 1
        if len(first) >= self._first_capacity:
            self._compress()

    def extend(self, values: Iterable[float]) -> None:
        for x in values:
            self.add(x)

    def _compress(self) -> None:
        """Compact every level that is full, from the bottom up (a compaction may fill the level above)."""
        capacities = self._level_capacities
        h = 0
        while h < len(self.levels):
            items = self.levels[h]
            if len(items) >= capacities[h]:
                if h + 1 == len(self.levels):
                    self.levels.append([])
                    capacities = self._level_capacities = self._capacities()
                items.sort()
                offset = self._rng.getrandbits(1)
                self.levels[h + 1].extend(items[offset::2])
                self.levels[h] = []
            h += 1
        self._first_capacity = capacities[0]

    def _capacities(self) -> list[int]:
        return [self._capacity(h) for h in range(len(self.levels))]

    def quantiles(self, qs: Iterable[float]) -> list[float | None]:
        weighted = sorted((x, 1 << h) for h, items in enumerate(self.levels) for x in items)
        if not weighted:
            return [None for _ in qs]
        total = sum(w for _, w in weighted)
        out: list[float | None] = []
        for q in qs:
            target, seen = q * total, 0
            chosen = weighted[-1][0]
            for x, w in weighted:
                seen += w
                if seen >= target:
                    chosen = x
                    break
            out.append(chosen)
        return out

    def rank_share(self, x: float, below: bool) -> float:
        """The share of items < x (below) or > x (not below)."""
        total = seen = 0
        for h, items in enumerate(self.levels):
            w = 1 << h
            total += w * len(items)
            seen += w * sum(1 for v in items if (v < x if below else v > x))
        return seen / total if total else 0.0


def exact_quantiles(counts: Iterable[tuple[float, int]], qs: Iterable[float]) -> list[float | None]:
    """Quantiles of weighted values by linear interpolation between order statistics (pandas' default)."""
    values = sorted(counts)
    n = sum(c for _, c in values)
    if n == 0:
        return [None for _ in qs]
    out: list[float | None] = []
    for q in qs:
        pos = q * (n - 1)
        lo = math.floor(pos)
        frac = pos - lo
        a = _order_statistic(values, lo)
        b = _order_statistic(values, min(lo + 1, n - 1))
        out.append(a + (b - a) * frac)
    return out


def _order_statistic(values: list[tuple[float, int]], i: int) -> float:
    seen = 0
    for x, c in values:
        seen += c
        if i < seen:
            return x
    return values[-1][0]


class Extremes:
    """The few smallest and largest values of a stream (for outlier examples)."""

    __slots__ = ("k", "_low", "_high")

    def __init__(self, k: int = 5) -> None:
        self.k = k
        self._low: list[tuple[float, str]] = []  # max-heap by negated value
        self._high: list[tuple[float, str]] = []

    def add(self, x: float, text: str) -> None:
        if len(self._high) < self.k:
            heapq.heappush(self._high, (x, text))
        elif x > self._high[0][0]:
            heapq.heapreplace(self._high, (x, text))
        if len(self._low) < self.k:
            heapq.heappush(self._low, (-x, text))
        elif -x > self._low[0][0]:
            heapq.heapreplace(self._low, (-x, text))

    def keeps(self, x: float) -> bool:
        """Whether add(x, ...) would change what is kept."""
        k = self.k
        return len(self._high) < k or len(self._low) < k or x > self._high[0][0] or -x > self._low[0][0]

    def lowest(self) -> list[tuple[float, str]]:
        return sorted((-x, t) for x, t in self._low)

    def highest(self) -> list[tuple[float, str]]:
        return sorted(self._high, reverse=True)


class DuplicateCounter:
    """Duplicate rows by distinct sampling: exact while at most `bound` distinct rows were seen; past that only
    rows whose hash falls in a 1 / 2**level sample are kept and the count is scaled up (an unbiased estimate)."""

    __slots__ = ("bound", "level", "seen")

    def __init__(self, bound: int = 400_000) -> None:
        self.bound = bound
        self.level = 0
        self.seen: Counter[int] = Counter()

    def add_many(self, rows: list[tuple[str, ...]]) -> None:
        """Rows in order: the same as add(row) for each."""
        if self.level == 0 and len(self.seen) + len(rows) <= self.bound:  # cannot reach the bound: count at C speed
            self.seen.update(map(_mix, map(hash, rows)))
            return
        for row in rows:
            self.add(row)

    def add(self, row: tuple[str, ...]) -> None:
        h = _mix(hash(row))
        if h & ((1 << self.level) - 1):
            return
        seen = self.seen
        seen[h] = seen.get(h, 0) + 1
        if len(seen) > self.bound:
            self.level += 1
            mask = (1 << self.level) - 1
            self.seen = Counter({k: c for k, c in seen.items() if not k & mask})

    @property
    def exact(self) -> bool:
        return self.level == 0

    def duplicates(self) -> int:
        return sum(c - 1 for c in self.seen.values()) << self.level

    def distinct(self) -> int:
        return len(self.seen) << self.level
