"""One column's profile, accumulated value by value in bounded memory.

While a column has at most `exact_bound` distinct values it only counts them (one dict update per cell), and
every statistic is computed exactly from those counts at the end. Past the bound the counts are replayed into
sketches (HyperLogLog, frequent items, KLL) and each further cell updates them directly.

Two profilers of the same column over two parts of a file merge (`merge`) into the profiler of both parts, and
save their state as a JSON-able model (`to_state()`, `from_state()`): exact counts add up (into sketches when the
sum overflows the bound), sketched columns merge every statistic and sketch.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from recast_engine.kinds import cell_kind, column_kind
from recast_engine.profiling.sketches import (
    Extremes,
    ExtremesState,
    FrequentItems,
    FrequentItemsState,
    HyperLogLog,
    HyperLogLogState,
    QuantileSketch,
    QuantileSketchState,
    RunningStats,
    RunningStatsState,
    exact_quantiles,
)
from recast_engine.profiling.spellings import (
    SHAPES_CACHED,
    date_fields,
    date_spelling,
    is_text_date,
    number_spelling,
    shape,
)

NULL_TOKENS = frozenset({"", "NULL", "null", "Null", "NA", "N/A", "n/a", "NaN", "nan", "None", "#N/A"})
QUANTILES = (0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0)
TOP_VALUES = 10
SAMPLE_VALUES = 5
SPELLINGS = 40  # distinct date / number spellings kept per column
CATEGORIES = 100  # a column with at most this many distinct values lists them all (drift checks them)
HISTOGRAM_BINS = 20
OUTLIER_EXAMPLES = 5
# shape (digits as 9) -> (kind, date spelling, number spelling), shared by all columns of the process
_SHAPES: dict[str, tuple[str, str | None, str | None]] = {}


def classify(text: str) -> tuple[str, str | None, str | None]:
    """Kind, date spelling and number spelling of a stripped, non-empty cell."""
    key = shape(text)
    known = _SHAPES.get(key)
    if known is not None:
        return known
    kind = cell_kind(key)
    if kind == "text" and is_text_date(key):
        kind = "date"
    found = (kind, date_spelling(key) if kind == "date" else None, None if kind == "date" else number_spelling(key))
    if len(_SHAPES) < SHAPES_CACHED:
        _SHAPES[key] = found
    return found


Date = tuple[int, int, int]


class DatesState(BaseModel):
    bounds: dict[str, list[Date]]
    first_over_12: bool
    second_over_12: bool


class _Dates:
    """Range of the dates of a column; year-last dates are read month-first unless a first field exceeds 12."""

    __slots__ = ("bounds", "first_over_12", "second_over_12")

    def __init__(self) -> None:
        # [min, max] of year-first dates, of year-last ones read month-first, and of those read day-first
        self.bounds: dict[str, list[tuple[int, int, int]]] = {"ymd": [], "mdy": [], "dmy": []}
        self.first_over_12 = False
        self.second_over_12 = False

    def add(self, fields: tuple[int, int, int], year_first: bool) -> None:
        if year_first:
            self._widen("ymd", fields)
            return
        year, a, b = fields
        self.first_over_12 |= a > 12
        self.second_over_12 |= b > 12
        self._widen("mdy", fields)
        self._widen("dmy", (year, b, a))

    def _widen(self, name: str, fields: tuple[int, int, int]) -> None:
        if not (1 <= fields[1] <= 12 and 1 <= fields[2] <= 31):
            return
        bounds = self.bounds[name]
        if not bounds:
            bounds.extend((fields, fields))
        elif fields < bounds[0]:
            bounds[0] = fields
        elif fields > bounds[1]:
            bounds[1] = fields

    def range(self) -> tuple[str, str] | None:
        day_first = self.first_over_12 and not self.second_over_12
        candidates = self.bounds["ymd"] + self.bounds["dmy" if day_first else "mdy"]
        if not candidates:
            return None
        low, high = min(candidates), max(candidates)
        return f"{low[0]:04d}-{low[1]:02d}-{low[2]:02d}", f"{high[0]:04d}-{high[1]:02d}-{high[2]:02d}"

    def merge(self, other: _Dates) -> None:
        for name, bounds in self.bounds.items():
            both = bounds + other.bounds[name]
            self.bounds[name] = [min(both), max(both)] if both else []
        self.first_over_12 |= other.first_over_12
        self.second_over_12 |= other.second_over_12

    def to_state(self) -> DatesState:
        return DatesState(bounds=self.bounds, first_over_12=self.first_over_12, second_over_12=self.second_over_12)

    @classmethod
    def from_state(cls, state: DatesState) -> _Dates:
        dates = cls()
        dates.bounds = {name: list(state.bounds.get(name, [])) for name in dates.bounds}
        dates.first_over_12, dates.second_over_12 = state.first_over_12, state.second_over_12
        return dates


class _Exact:
    """A column counted exactly: its distinct values, and its numbers as (value, count) pairs."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.numbers: list[tuple[float, int]] = []  # filled from the counts at the end


class _Sketched:
    """A column whose distinct values overflowed the exact bound: every cell updates the sketches."""

    def __init__(self) -> None:
        self.quantiles = QuantileSketch()
        self.distinct = HyperLogLog()
        self.frequent = FrequentItems(max(TOP_VALUES * 4, 64))


class SketchesState(BaseModel):
    quantiles: QuantileSketchState
    distinct: HyperLogLogState
    frequent: FrequentItemsState


class ColumnState(BaseModel):
    """A ColumnProfiler's state: exact counts (then the rest is still empty: cells are observed from the counts
    at the end), or sketches and every statistic observed so far."""

    index: int
    exact_bound: int
    counts: dict[str, int] | None = None  # in the order their first cell came
    sketches: SketchesState | None = None
    cells: int = 0
    samples: list[str] = []
    nulls: int = 0
    blanks: int = 0
    kinds: dict[str, int] = {}
    min_length: int | None = None
    max_length: int = 0
    stats: RunningStatsState = RunningStatsState()
    extremes: ExtremesState | None = None
    date_spellings: dict[str, int] = {}
    number_spellings: dict[str, int] = {}
    spelling_examples: dict[str, str] = {}
    dates: DatesState | None = None


def _add_capped(into: Counter[str], other: Counter[str], cap: int) -> None:
    """Add `other`'s counts, new keys only while fewer than `cap` are kept (as cell by cell)."""
    for key, count in other.items():
        if key in into or len(into) < cap:
            into[key] += count


class ColumnProfiler:
    def __init__(self, index: int, exact_bound: int = 20_000) -> None:
        self.index = index
        self.exact_bound = exact_bound
        self.cells = 0
        self.state: _Exact | _Sketched = _Exact()  # exact counts or sketches, never both
        self.samples: list[str] = []
        # filled from the counts at the end, or cell by cell once the counts overflowed
        self.nulls = self.blanks = 0
        self.kinds: Counter[str] = Counter()
        self.min_length: int | None = None
        self.max_length = 0
        self.stats = RunningStats()
        self.extremes = Extremes(OUTLIER_EXAMPLES)
        self.date_spellings: Counter[str] = Counter()
        self.number_spellings: Counter[str] = Counter()
        self.spelling_examples: dict[str, str] = {}  # the first value seen in each date or number spelling
        self.dates = _Dates()

    def add(self, value: str) -> None:
        state = self.state
        if isinstance(state, _Exact):  # cells are counted from the counts when they spill or at the end
            counts = state.counts
            counts[value] = counts.get(value, 0) + 1
            if len(counts) > self.exact_bound:
                self._spill(counts)
            return
        self.cells += 1
        self._observe(value, 1)
        if value not in NULL_TOKENS and value.strip():
            state.distinct.add(value)
            state.frequent.add(value)

    def add_many(self, values: Sequence[str]) -> None:
        """The cells of a batch of rows, in order: the same as add(value) for each."""
        state = self.state
        if isinstance(state, _Exact):
            counts = state.counts
            if len(counts) + len(values) <= self.exact_bound:  # cannot overflow: count them at C speed
                counts.update(values)
                return
            batch = Counter(values)
            if len(counts) + len(batch.keys() - counts.keys()) <= self.exact_bound:
                counts.update(batch)  # new values keep the order of their first cell
                return
            add = self.add  # this batch spills the counts: cell by cell until they do, then the sketches
            for i, value in enumerate(values):
                add(value)
                if not isinstance(self.state, _Exact):
                    self._sketch_cells(values[i + 1:])
                    return
            return
        self._sketch_cells(values)

    def _sketch_cells(self, values: Sequence[str]) -> None:
        """add(value) for each cell of a sketched column, with the numbers' updates inlined (the costly path:
        every cell of a many-valued column comes here). The same operations in the same order as add()."""
        state = self.state
        assert isinstance(state, _Sketched)
        distinct_add, frequent_add, quantile_add = state.distinct.add, state.frequent.add, state.quantiles.add
        observe, samples, kinds, extremes = self._observe, self.samples, self.kinds, self.extremes
        stats = self.stats
        n, mean, m2, low, high = stats.n, stats.mean, stats.m2, stats.low, stats.high
        nulls = blanks = 0
        for value in values:
            if value in NULL_TOKENS:
                nulls += 1
                continue
            text = value.strip()
            if not text:
                blanks += 1
                continue
            kind, _, number_shape = classify(text)
            if kind != "integer" and kind != "decimal":
                observe(value, 1)  # never touches the numbers' statistics held here
            else:
                if len(samples) < SAMPLE_VALUES and value[:80] not in samples:
                    samples.append(value[:80])
                length = len(value)
                if self.min_length is None or length < self.min_length:
                    self.min_length = length
                if length > self.max_length:
                    self.max_length = length
                kinds[kind] += 1
                number = float(text.replace(",", ".")) if kind == "decimal" else float(text)
                if math.isfinite(number):  # RunningStats.add(number) inlined
                    n += 1
                    delta = number - mean
                    mean += delta / n
                    m2 += delta * (number - mean)
                    if number < low:
                        low = number
                    if number > high:
                        high = number
                    quantile_add(number)
                    if extremes.keeps(number):
                        extremes.add(number, value)
                if number_shape is not None and (number_shape in self.number_spellings or
                                                 len(self.number_spellings) < SPELLINGS):
                    self.number_spellings[number_shape] += 1
                    self.spelling_examples.setdefault(number_shape, text[:100])
            distinct_add(value)
            frequent_add(value)
        stats.n, stats.mean, stats.m2, stats.low, stats.high = n, mean, m2, low, high
        self.cells += len(values)
        self.nulls += nulls
        self.blanks += blanks

    def merge(self, other: ColumnProfiler) -> None:
        """Take in the cells of `other` (the same column over the rows after this one's). `other` may be left
        changed."""
        mine, theirs = self.state, other.state
        if isinstance(mine, _Exact) and isinstance(theirs, _Exact):
            mine.counts.update(theirs.counts)
            if len(mine.counts) > self.exact_bound:
                self._spill(mine.counts)
            return
        if isinstance(mine, _Exact):
            self._spill(mine.counts)
        if isinstance(theirs, _Exact):
            other._spill(theirs.counts)
        sketches, others = self.state, other.state
        assert isinstance(sketches, _Sketched) and isinstance(others, _Sketched)
        sketches.quantiles.merge(others.quantiles)
        sketches.distinct.merge(others.distinct)
        sketches.frequent.merge(others.frequent)
        self.cells += other.cells
        self.nulls += other.nulls
        self.blanks += other.blanks
        for sample in other.samples:
            if len(self.samples) < SAMPLE_VALUES and sample not in self.samples:
                self.samples.append(sample)
        if other.min_length is not None and (self.min_length is None or other.min_length < self.min_length):
            self.min_length = other.min_length
        self.max_length = max(self.max_length, other.max_length)
        self.kinds.update(other.kinds)
        self.stats.merge(other.stats)
        self.extremes.merge(other.extremes)
        _add_capped(self.date_spellings, other.date_spellings, SPELLINGS)
        _add_capped(self.number_spellings, other.number_spellings, SPELLINGS)
        for spelling, example in other.spelling_examples.items():
            self.spelling_examples.setdefault(spelling, example)
        self.dates.merge(other.dates)

    def to_state(self) -> ColumnState:
        state = self.state
        if isinstance(state, _Exact):
            return ColumnState(index=self.index, exact_bound=self.exact_bound, counts=state.counts)
        return ColumnState(
            index=self.index, exact_bound=self.exact_bound,
            sketches=SketchesState(quantiles=state.quantiles.to_state(), distinct=state.distinct.to_state(),
                                   frequent=state.frequent.to_state()),
            cells=self.cells, samples=self.samples, nulls=self.nulls, blanks=self.blanks, kinds=self.kinds,
            min_length=self.min_length, max_length=self.max_length, stats=self.stats.to_state(),
            extremes=self.extremes.to_state(), date_spellings=self.date_spellings,
            number_spellings=self.number_spellings, spelling_examples=self.spelling_examples,
            dates=self.dates.to_state(),
        )

    @classmethod
    def from_state(cls, saved: ColumnState) -> ColumnProfiler:
        column = cls(saved.index, saved.exact_bound)
        if saved.counts is not None:
            exact = _Exact()
            exact.counts = Counter(saved.counts)
            column.state = exact
            return column
        if saved.sketches is None or saved.extremes is None or saved.dates is None:
            raise ValueError(f"column {saved.index}: a state without counts needs its sketches")
        sketched = column.state = _Sketched()
        sketched.quantiles = QuantileSketch.from_state(saved.sketches.quantiles)
        sketched.distinct = HyperLogLog.from_state(saved.sketches.distinct)
        sketched.frequent = FrequentItems.from_state(saved.sketches.frequent)
        column.cells, column.samples = saved.cells, list(saved.samples)
        column.nulls, column.blanks, column.kinds = saved.nulls, saved.blanks, Counter(saved.kinds)
        column.min_length, column.max_length = saved.min_length, saved.max_length
        column.stats = RunningStats.from_state(saved.stats)
        column.extremes = Extremes.from_state(saved.extremes)
        column.date_spellings = Counter(saved.date_spellings)
        column.number_spellings = Counter(saved.number_spellings)
        column.spelling_examples = dict(saved.spelling_examples)
        column.dates = _Dates.from_state(saved.dates)
        return column

    def _spill(self, counts: Counter[str]) -> None:
        """Replay the exact counts into the sketches; from now on every cell updates them."""
        sketches = self.state = _Sketched()
        self.cells += sum(counts.values())
        for value, count in counts.items():
            self._observe(value, count)
            if value not in NULL_TOKENS and value.strip():
                sketches.distinct.add(value)
                sketches.frequent.add(value, count)

    def _observe(self, value: str, count: int) -> None:
        if value in NULL_TOKENS:
            self.nulls += count
            return
        text = value.strip()
        if not text:
            self.blanks += count
            return
        if len(self.samples) < SAMPLE_VALUES and value[:80] not in self.samples:
            self.samples.append(value[:80])
        length = len(value)
        if self.min_length is None or length < self.min_length:
            self.min_length = length
        if length > self.max_length:
            self.max_length = length
        kind, date_shape, number_shape = classify(text)
        self.kinds[kind] += count
        if kind in ("integer", "decimal"):
            number = float(text.replace(",", ".")) if kind == "decimal" else float(text)
            if math.isfinite(number):
                self.stats.add(number, count)
                state = self.state
                if isinstance(state, _Exact):
                    state.numbers.append((number, count))
                else:
                    for _ in range(count):
                        state.quantiles.add(number)
                self.extremes.add(number, value)
        elif kind == "date" and date_shape is not None:
            if date_shape in self.date_spellings or len(self.date_spellings) < SPELLINGS:
                self.date_spellings[date_shape] += count
                self.spelling_examples.setdefault(date_shape, text[:100])
            fields = date_fields(text)
            if fields is not None:
                self.dates.add(fields, year_first=date_shape.startswith("YYYY") or "MON" in date_shape)
        if number_shape is not None and (number_shape in self.number_spellings or
                                         len(self.number_spellings) < SPELLINGS):
            self.number_spellings[number_shape] += count
            self.spelling_examples.setdefault(number_shape, text[:100])

    def result(self, data_rows: int, name: str | None) -> dict[str, Any]:
        state = self.state
        exact = isinstance(state, _Exact)
        if isinstance(state, _Exact):
            self.cells = sum(state.counts.values())
            for value, count in state.counts.items():
                self._observe(value, count)
        missing = max(0, data_rows - self.cells)
        filled = self.kinds.total()
        categories: list[str] | None = None
        if isinstance(state, _Exact):
            values = {v: c for v, c in state.counts.items() if v not in NULL_TOKENS and v.strip()}
            distinct = len(values)
            top = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_VALUES]
            categories = sorted(values) if distinct <= CATEGORIES else None
        else:
            distinct = state.distinct.estimate()
            top = state.frequent.top(TOP_VALUES)
        profile: dict[str, Any] = {
            "index": self.index,
            "name": name,
            "kind": column_kind(self.kinds),
            "kinds": dict(self.kinds),
            "cells": self.cells,
            "missing": missing,
            "nulls": self.nulls + missing,
            "blanks": self.blanks,
            "empty": self.nulls + self.blanks + missing,
            "filled": filled,
            "distinct": distinct,
            "distinct_exact": exact,
            "top_values": [{"value": v[:200], "count": c} for v, c in top],
            "top_values_exact": exact,
            "categories": categories,
            "min_length": self.min_length,
            "max_length": self.max_length,
            "samples": self.samples,
            "numeric": self._numeric(),
            "dates": self._dates(),
            "number_spellings": dict(self.number_spellings.most_common()),
            "spelling_examples": self.spelling_examples,
        }
        return profile

    def _numeric(self) -> dict[str, Any] | None:
        stats, state = self.stats, self.state
        if stats.n == 0:
            return None
        exact = isinstance(state, _Exact)
        if isinstance(state, _Exact):
            qs = exact_quantiles(state.numbers, QUANTILES)
        else:
            qs = state.quantiles.quantiles(QUANTILES)
            qs[0], qs[-1] = stats.low, stats.high
        quantiles = {str(q): v for q, v in zip(QUANTILES, qs, strict=True)}
        numeric: dict[str, Any] = {
            "count": stats.n,
            "min": stats.low,
            "max": stats.high,
            "mean": stats.mean,
            "std": stats.std,
            "quantiles": quantiles,
            "quantiles_exact": exact,
            "histogram": self._histogram(),
            "outliers": None,
        }
        q1, q3 = quantiles["0.25"], quantiles["0.75"]
        if stats.n >= 4 and q1 is not None and q3 is not None and q3 - q1 > 0:
            numeric["outliers"] = self._outliers(q1, q3)
        return numeric

    def _weighted_values(self) -> list[tuple[float, int]]:
        state = self.state
        if isinstance(state, _Exact):
            return state.numbers
        return [(x, 1 << h) for h, items in enumerate(state.quantiles.levels) for x in items]

    def _histogram(self) -> dict[str, Any]:
        low, high = self.stats.low, self.stats.high
        bins = HISTOGRAM_BINS if high > low else 1
        width = (high - low) / bins if high > low else 1.0
        counts = [0] * bins
        for x, c in self._weighted_values():
            counts[min(bins - 1, int((x - low) / width))] += c
        return {"edges": [low + i * width for i in range(bins)] + [high], "counts": counts,
                "exact": isinstance(self.state, _Exact)}

    def _outliers(self, q1: float, q3: float) -> dict[str, Any]:
        iqr = q3 - q1
        low, high = q1 - 1.5 * iqr, q3 + 1.5 * iqr
        state = self.state
        exact = isinstance(state, _Exact)
        if isinstance(state, _Exact):
            below = sum(c for x, c in state.numbers if x < low)
            above = sum(c for x, c in state.numbers if x > high)
        else:
            below = round(state.quantiles.rank_share(low, below=True) * self.stats.n)
            above = round(state.quantiles.rank_share(high, below=False) * self.stats.n)
        examples = [t for x, t in self.extremes.lowest() if x < low]
        examples += [t for x, t in self.extremes.highest() if x > high]
        return {"iqr": iqr, "low_fence": low, "high_fence": high, "below": below, "above": above,
                "count": below + above, "exact": exact, "examples": examples[: 2 * OUTLIER_EXAMPLES]}

    def _dates(self) -> dict[str, Any] | None:
        if not self.date_spellings:
            return None
        span = self.dates.range()
        return {
            "count": self.kinds.get("date", 0),
            "min": span[0] if span else None,
            "max": span[1] if span else None,
            "spellings": dict(self.date_spellings.most_common()),
        }
