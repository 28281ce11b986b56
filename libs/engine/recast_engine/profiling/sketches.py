"""Bounded-memory summaries of a stream: moments, distinct counts, frequent items, quantiles, duplicates.

Each keeps a fixed amount of state however long the stream is, so a profile of a file of any size fits in
memory. Hashes are Python's own `hash` (fast, 64 bits): estimates are stable within a process, and may differ
slightly between two runs of the same file.

Each also merges with another of its kind (the summary of two streams one after the other) and saves its state
as a JSON-able model (`to_state()`, `from_state()`), so that parts of a file profiled apart make one summary. The
hashed ones (HyperLogLog, DuplicateCounter) merge only with states hashed alike: in one process, or in processes
with the same PYTHONHASHSEED.
"""
from __future__ import annotations

import base64
import heapq
import math
import random
import sys
from array import array
from collections import Counter
from collections.abc import Hashable, Iterable

from pydantic import BaseModel

_MASK64 = (1 << 64) - 1


def _pack(values: Iterable[int]) -> str:
    """Unsigned 64-bit integers as base64 (little-endian), for a compact JSON state."""
    packed = array("Q", values)
    if sys.byteorder == "big":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode()


def _unpack(text: str) -> array[int]:
    packed = array("Q")
    packed.frombytes(base64.b64decode(text))
    if sys.byteorder == "big":
        packed.byteswap()
    return packed


class RunningStatsState(BaseModel):
    n: int = 0
    mean: float = 0.0
    m2: float = 0.0
    low: float | None = None  # None: no value yet
    high: float | None = None


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

    def merge(self, other: RunningStats) -> None:
        """Chan et al.'s pairwise update: the two groups' means and squared deviations make the union's."""
        if other.n == 0:
            return
        n = self.n + other.n
        delta = other.mean - self.mean
        self.mean += delta * other.n / n
        self.m2 += other.m2 + delta * delta * self.n * other.n / n
        self.n = n
        self.low = min(self.low, other.low)
        self.high = max(self.high, other.high)

    def to_state(self) -> RunningStatsState:
        empty = self.n == 0
        return RunningStatsState(n=self.n, mean=self.mean, m2=self.m2, low=None if empty else self.low,
                                 high=None if empty else self.high)

    @classmethod
    def from_state(cls, state: RunningStatsState) -> RunningStats:
        stats = cls()
        stats.n, stats.mean, stats.m2 = state.n, state.mean, state.m2
        if state.low is not None and state.high is not None:
            stats.low, stats.high = state.low, state.high
        return stats


class HyperLogLogState(BaseModel):
    p: int
    registers: str  # base64


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

    def merge(self, other: HyperLogLog) -> None:
        """The union's registers are the larger of each pair."""
        if other.p != self.p:
            raise ValueError(f"cannot merge HyperLogLogs of 2**{self.p} and 2**{other.p} registers")
        self.registers = bytearray(map(max, self.registers, other.registers))

    def to_state(self) -> HyperLogLogState:
        return HyperLogLogState(p=self.p, registers=base64.b64encode(self.registers).decode())

    @classmethod
    def from_state(cls, state: HyperLogLogState) -> HyperLogLog:
        sketch = cls(state.p)
        registers = base64.b64decode(state.registers)
        if len(registers) != sketch.m:
            raise ValueError(f"a HyperLogLog of 2**{state.p} registers has {len(registers)}")
        sketch.registers = bytearray(registers)
        return sketch


def _mix(h: int) -> int:
    """Spread Python's hash over 64 bits (small ints hash to themselves)."""
    h = (h ^ (h >> 33)) * 0xFF51AFD7ED558CCD & _MASK64
    h = (h ^ (h >> 33)) * 0xC4CEB9FE1A85EC53 & _MASK64
    return h ^ (h >> 33)


class FrequentItemsState(BaseModel):
    capacity: int
    counts: dict[str, int]
    error: int


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

    def merge(self, other: FrequentItems) -> None:
        """Counters added up, then shrunk as one: the errors add up, and the shrink's cut adds to them."""
        counts = self.counts
        for item, count in other.counts.items():
            counts[item] = counts.get(item, 0) + count
        self.error += other.error
        if len(counts) > 2 * self.capacity:
            self._shrink()

    def to_state(self) -> FrequentItemsState:
        return FrequentItemsState(capacity=self.capacity, counts=self.counts, error=self.error)

    @classmethod
    def from_state(cls, state: FrequentItemsState) -> FrequentItems:
        sketch = cls(state.capacity)
        sketch.counts, sketch.error = dict(state.counts), state.error
        return sketch


class QuantileSketchState(BaseModel):
    k: int
    n: int
    levels: list[list[float]]  # level h: items of weight 2**h


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

    def merge(self, other: QuantileSketch) -> None:
        """Each level takes the other's items of the same weight; then the full levels are compacted."""
        for h, items in enumerate(other.levels):
            if h == len(self.levels):
                self.levels.append([])
            self.levels[h].extend(items)
        self.n += other.n
        self._level_capacities = self._capacities()
        self._compress()

    def to_state(self) -> QuantileSketchState:
        return QuantileSketchState(k=self.k, n=self.n, levels=self.levels)

    @classmethod
    def from_state(cls, state: QuantileSketchState) -> QuantileSketch:
        sketch = cls(state.k)
        sketch.levels = [list(items) for items in state.levels] or [[]]
        sketch.n = state.n
        sketch._level_capacities = sketch._capacities()
        sketch._first_capacity = sketch._level_capacities[0]
        return sketch

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


class ExtremesState(BaseModel):
    k: int
    lowest: list[tuple[float, str]]
    highest: list[tuple[float, str]]


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

    def merge(self, other: Extremes) -> None:
        for x, text in other.lowest() + other.highest():
            if self.keeps(x):
                self.add(x, text)

    def to_state(self) -> ExtremesState:
        return ExtremesState(k=self.k, lowest=self.lowest(), highest=self.highest())

    @classmethod
    def from_state(cls, state: ExtremesState) -> Extremes:
        extremes = cls(state.k)
        extremes._low = [(-x, text) for x, text in state.lowest]
        extremes._high = list(state.highest)
        heapq.heapify(extremes._low)
        heapq.heapify(extremes._high)
        return extremes


class DuplicateCounterState(BaseModel):
    bound: int
    level: int
    hashes: str  # base64 of the sampled rows' hashes (unsigned 64-bit, little-endian)
    counts: str  # base64 of how many times each was seen, alike


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

    def merge(self, other: DuplicateCounter) -> None:
        """Both samples cut to the sparser one's level, counted together, then sparser still while over the
        bound: exact when both were and the union's distinct rows stay within it."""
        level = max(self.level, other.level)
        mask = (1 << level) - 1
        if level > self.level:
            self.seen = Counter({h: c for h, c in self.seen.items() if not h & mask})
        self.seen.update({h: c for h, c in other.seen.items() if not h & mask} if level > other.level
                         else other.seen)
        self.level = level
        while len(self.seen) > self.bound:
            self.level += 1
            mask = (1 << self.level) - 1
            self.seen = Counter({h: c for h, c in self.seen.items() if not h & mask})

    def to_state(self) -> DuplicateCounterState:
        return DuplicateCounterState(bound=self.bound, level=self.level, hashes=_pack(self.seen.keys()),
                                     counts=_pack(self.seen.values()))

    @classmethod
    def from_state(cls, state: DuplicateCounterState) -> DuplicateCounter:
        counter = cls(state.bound)
        counter.level = state.level
        counter.seen = Counter(dict(zip(_unpack(state.hashes), _unpack(state.counts), strict=True)))
        return counter
