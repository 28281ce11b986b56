"""Date and time atoms: learn how a column's dates are written, then offer each field as an atom.

The formats are learned from the example values (which strptime formats read them; day-first and month-first
readings are both offered when the examples do not decide); the rest of the library follows as a fallback so
that new spellings in later files still parse.
"""
from __future__ import annotations

import datetime
import difflib
import functools
import itertools
import re
from collections.abc import Iterator

from recast_engine.dsl import Expr, call
from recast_engine.runtime.cells import (
    _FIELD_PATTERN,
    _bucket_moment,
    _date_field,
    _parse_datetime,
    date_part,
)
from recast_engine.synthesis import workclock

_DATES_MONTH_FIRST = ["%m/%d/%Y", "%m-%d-%Y", "%m/%d/%y", "%m.%d.%Y", "%m%d%Y"]
_DATES_DAY_FIRST = ["%d/%m/%Y", "%d-%m-%Y", "%d/%m/%y", "%d.%m.%Y", "%d.%m.%y", "%d%m%Y"]
_DATES_NEUTRAL = [
    "%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y--%m--%d",
    "%d-%b-%Y", "%d %b %Y", "%d %B %Y", "%b %d %Y", "%B %d %Y", "%b %d, %Y", "%B %d, %Y",
    "%d. %B %Y", "%d. %b %Y", "%d-%B-%Y", "%A, %B %d, %Y", "%a, %d %b %Y", "%Y %j",
    "%d %b %y", "%b %Y", "%B %Y", "%b-%Y", "%Y",
]
# Dates named by a weekday: its rank in the month (%N, see the runtime) or its ISO week. Their words and marks
# make them unmistakable, so they (and a year with its day number, "1846 231") are always kept as fallbacks of a
# full date.
_DATES_BY_WEEKDAY = ["%A #%N %B %Y", "%a #%N %b %Y", "%b %Y %a %N", "%B %Y %A %N", "%a wk %V in %G"]
_UNMISTAKABLE = _DATES_BY_WEEKDAY + ["%Y %j"]
_TIMES = ["%H:%M:%S", "%H:%M", "%I:%M:%S %p", "%I:%M %p", "%I:%M:%S%p", "%I:%M%p", "%I %p", "%I%p",
          "%H:%M:%S %p", "%H:%M %p", "%H%M"]
_DAYS_WITHOUT_YEAR = ["%m/%d", "%d/%m", "%b %d", "%d %b", "%m-%d"]
_DATE_TIME_JOINERS = [" ", "T", " @ ", ", "]


def _separator(fmt: str) -> str:
    return re.sub(r"%.", "", fmt)[:1]


_ALL_SEPARATORS = frozenset(_separator(f) for f in _DATES_DAY_FIRST)


@functools.lru_cache(maxsize=None)
def _library(day_first: frozenset[str]) -> list[str]:
    """The formats to try, in order; numeric dates written with a separator in day_first are read day first."""
    ahead = [f for f in _DATES_DAY_FIRST if _separator(f) in day_first]
    dated = ahead + _DATES_MONTH_FIRST + [f for f in _DATES_DAY_FIRST if f not in ahead]
    dates = _DATES_NEUTRAL[:5] + dated + _DATES_NEUTRAL[5:]
    combined = [d + j + t for d in dates[:-5] for j in _DATE_TIME_JOINERS for t in _TIMES[:4]]
    zulu = [d + "T" + t + "Z" for d in ["%Y-%m-%d"] for t in _TIMES[:2]]
    zulu += ["%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S%z",
             "%a %b %d %H:%M:%S %Y", "%a %b %d %Y", "%A %d %B %Y", "%d %B, %Y", "%A, %d %B %Y"]
    time_first = [t + " " + d for t in _TIMES[:2] for d in _DAYS_WITHOUT_YEAR]
    return dates + _DATES_BY_WEEKDAY + _TIMES + combined + zulu + _DAYS_WITHOUT_YEAR + time_first + ["%M:%S", "%H"]


def learn_formats(values: list[str], day_first: bool | frozenset[str]) -> list[str] | None:
    workclock.now(20 * len(values))  # counted even when the memo below answers: the same work on every run
    formats = _learn_formats_memo(tuple(values), day_first)
    return None if formats is None else list(formats)


@functools.lru_cache(maxsize=256)
def _learn_formats_memo(values: tuple[str, ...], day_first: bool | frozenset[str]) -> list[str] | None:
    return _learn_formats(list(values), day_first)


def _learn_formats(values: list[str], day_first: bool | frozenset[str]) -> list[str] | None:
    """The formats that read every value, those reading the most values first (so that one reading is used
    consistently: "0:00" and "40:00" are both minutes:seconds), then same-kind fallbacks; None if a value fails.
    day_first: numeric dates are read day first (True), month first (False), or day first only when written
    with one of the given separators."""
    if isinstance(day_first, bool):
        day_first = _ALL_SEPARATORS if day_first else frozenset()
    library = _library(day_first)
    used: dict[str, int] = {}
    for value in values:
        text = value.strip()
        if not any(ch.isdigit() for ch in text):
            return None
        readers = _readers(text, day_first)
        if not readers:
            return None
        for fmt in readers:
            used[fmt] = used.get(fmt, 0) + 1
    # "%H ... %p" reads "0:00 AM" but ignores PM: only for values no 12-hour format reads
    ranked = sorted(used, key=lambda f: ("%H" in f and "%p" in f, -used[f], library.index(f)))
    first: list[str] = []
    for value in values:  # keep only formats that are the first reader of some value
        reader = next(f for f in ranked if _reads(value.strip(), f))
        if reader not in first:
            first.append(reader)
    first.sort(key=ranked.index)
    fallbacks = [f for f in library if f not in first and _is_fallback(f, first)]
    same_fields = {_fields_of(u) for u in first}
    variants = [f for f in fallbacks if _fields_of(f) in same_fields]
    variants.sort(key=lambda f: (min(_spelling_distance(f, u) for u in first), library.index(f)))
    extensions = [f for f in fallbacks if _fields_of(f) not in same_fields]
    kept = variants[:MAX_VARIANTS]
    kept += [f for f in variants[MAX_VARIANTS:] if f in _UNMISTAKABLE]
    return first + kept + extensions[:MAX_EXTENSIONS]


# Enough for the usual variants (April for Apr, 2-digit years, other separators, a time that later comes with
# a date), short enough to read in a learned script.
MAX_VARIANTS = 45
MAX_EXTENSIONS = 4


def _spelling_distance(a: str, b: str) -> int:
    """How differently two formats are written: directives and separators changed, in order."""
    ta, tb = _TOKENS.findall(a), _TOKENS.findall(b)
    matcher = difflib.SequenceMatcher(a=ta, b=tb, autojunk=False)
    return len(ta) + len(tb) - 2 * sum(block.size for block in matcher.get_matching_blocks())


_TOKENS = re.compile(r"%.|[^%\w]")


_NAMED_DIRECTIVES = ("%b", "%B", "%a", "%A", "%p")


@functools.lru_cache(maxsize=None)
def _format_shape(fmt: str) -> tuple[frozenset[str], bool]:
    literals = frozenset(re.sub(r"%.", "", fmt))
    return literals, any(d in fmt for d in _NAMED_DIRECTIVES)


def _could_read(text: str, fmt: str) -> bool:
    """A cheap test before strptime (whose pattern cache is small): the format's literal characters occur in
    the text, and letters in the text need a month/day name or AM/PM directive."""
    literals, named = _format_shape(fmt)
    if not literals <= set(text):
        return False
    return named or not any(ch.isalpha() and ch not in literals for ch in text)


def _is_fallback(fmt: str, used: list[str]) -> bool:
    """Fallback formats for unseen spellings: ones with the same fields (day, month, year, hour, ...) as a seen
    one, or extending a seen one (a time that later comes with a date); a bare year is not read as a full date."""
    fields = _fields_of(fmt)
    return any(fields == _fields_of(u) or u in fmt for u in used)


@functools.lru_cache(maxsize=1 << 14)
def _readers(text: str, day_first: frozenset[str]) -> tuple[str, ...]:
    """The formats of the library that read the (stripped) text, in library order. Remembered: every learning pass
    and held-out relearn tries the same cells again (a tuple: every caller gets the same cached object)."""
    return tuple(f for f in _library(day_first) if _could_read(text, f) and _reads(text, f))


@functools.lru_cache(maxsize=1 << 16)
def _reads(text: str, fmt: str) -> bool:
    """Whether strptime (with our extensions) reads the text with this one format. Remembered: every learning
    pass and every held-out relearn tries the same cells with the same formats again."""
    return _parse_datetime(text, [fmt]) is not None


@functools.lru_cache(maxsize=None)
def _fields_of(fmt: str) -> tuple[bool, ...]:
    return tuple(any(d in fmt for d in group) for group in (
        ("%d", "%j", "%N", "%V"), ("%m", "%b", "%B", "%j", "%V"), ("%Y", "%y", "%G"), ("%H", "%I"), ("%M",), ("%S",)))


DATE_FIELDS = ["yyyy", "yy", "M", "MM", "MMM", "MMMM", "d", "dd", "ddd", "dddd", "H", "HH", "h", "hh", "m", "mm",
               "s", "ss", "tt", "q", "ww", "w", "j", "week_of_month"]
_FIELD_COST = {f: 1.0 for f in DATE_FIELDS}
_FIELD_COST.update({"j": 2.0, "w": 2.0, "ww": 2.0, "week_of_month": 3.0, "q": 1.5, "yy": 1.2})
_TIME_FIELDS = ["H", "HH", "h", "hh", "m", "mm", "s", "ss", "tt"]
# whole times and dates as one part, so that e.g. hour and AM/PM always come from the same moment
_TIME_PATTERNS = ["{h}:{mm}{tt}", "{h}:{mm} {tt}", "{h}{tt}", "{h} {tt}", "{h}:{mm}:{ss}{tt}", "{h}:{mm}:{ss} {tt}",
                  "{H}:{mm}", "{HH}:{mm}", "{H}:{mm}:{ss}", "{HH}:{mm}:{ss}", "{m}:{ss}", "{hh}:{mm} {tt}",
                  "{hh}:{mm}{tt}"]
_DATE_PATTERNS = ["{M}/{d}/{yyyy}", "{d}/{M}/{yyyy}", "{MM}/{dd}/{yyyy}", "{dd}/{MM}/{yyyy}", "{yyyy}-{MM}-{dd}",
                  "{d} {MMM} {yyyy}", "{MMMM} {d}, {yyyy}", "{MMM} {d}, {yyyy}", "{d} {MMMM} {yyyy}",
                  "{yyyy}/{M}/{d}", "{MMMM} {dd} {yyyy}", "{MMM} {yyyy}", "{MMMM} {yyyy}"]

_MIN = 60
_BUCKETS = [15 * _MIN, 20 * _MIN, 30 * _MIN, 60 * _MIN, 90 * _MIN, 120 * _MIN, 180 * _MIN, 240 * _MIN]


def date_atoms(
    source: Expr, values: list[str], outputs: list[str], written: list[str] | None = None
) -> Iterator[tuple[Expr, tuple[str, ...], float]]:
    """(expression, values, cost) of every date field of the source that occurs in every output.

    written: the source's values on more rows than the examples (starting with them), whose outputs are not
    known: how the dates are written (one "6.21.2059" makes "10.8.2089" October 8) is learned from all of them
    when they all read as dates."""
    seen_formats: list[list[str]] = []
    for day_first, extra in _day_orders(written or values):
        formats = _learn_formats_cached(tuple(written), day_first) if written else None
        if formats is None:
            formats = learn_formats(values, day_first)
        if formats is None or any(_same_readings(formats, f, values) for f in seen_formats):
            continue
        seen_formats.append(formats)
        padded = any(_ZERO_PADDED.search(v) for v in values + outputs)  # the input or the output pads numbers
        dates_alone = with_dates_alone(formats, values)
        moments = {id(read): [_parse_datetime(v, read) for v in values] for read in (formats, dates_alone)}
        for part in DATE_FIELDS + _TIME_PATTERNS + _DATE_PATTERNS:
            read = formats if _uses_time(part) else dates_alone
            got = tuple(_date_part_of(m, part) for m in moments[id(read)])  # date_part(v, read, part), read once
            if all(g and g in o for g, o in zip(got, outputs)):
                whole = all(g == o for g, o in zip(got, outputs))
                cost = _FIELD_COST.get(part, 1.5) + extra + _padding_cost(part, padded and not whole)
                yield call("date_part", source, formats=read, part=part), got, cost
        yield from _bucket_atoms(source, values, formats, outputs, extra, padded)


def _date_part_of(moment: datetime.datetime | None, part: str) -> str:
    """What runtime.cells.date_part (without a bucket) gives for a value it reads as this moment."""
    if moment is None:
        return ""
    if "{" in part:
        return _FIELD_PATTERN.sub(lambda m: _date_field(moment, m.group(1)), part)
    return _date_field(moment, part)


def _learn_formats_cached(values: tuple[str, ...], day_first: bool | frozenset[str]) -> list[str] | None:
    return learn_formats(list(values), day_first)


def _day_orders(values: list[str]) -> Iterator[tuple[bool | frozenset[str], float]]:
    """Month first, day first, then (when the numeric dates come with several separators) day first for some
    separators only: "8/7/2237" can be day first where "6.30.2220" is month first. With their extra cost."""
    yield False, 0.0
    yield True, 0.3
    written = sorted({_separator(f) for f in _DATES_DAY_FIRST + _DATES_MONTH_FIRST
                      if any(_could_read(v.strip(), f) and _parse_datetime(v, [f]) for v in values)})
    if not 2 <= len(written) <= MAX_MIXED_SEPARATORS:
        return
    for chosen in itertools.product((False, True), repeat=len(written)):
        if any(chosen) and not all(chosen):
            yield frozenset(s for s, c in zip(written, chosen) if c), 0.5


MAX_MIXED_SEPARATORS = 3


def with_dates_alone(formats: list[str], values: list[str]) -> list[str]:
    """The formats, each date-and-time one that reads an example followed by its date alone: a part made of date
    fields only reads a date written later without its time ("3 Nov 1904" after "22 Apr 1953 11:34")."""
    found: list[str] = []
    for fmt in formats:
        found.append(fmt)
        if not any(_parse_datetime(v, [fmt]) for v in values):
            continue
        for joiner in _DATE_TIME_JOINERS:
            for written in _TIMES:
                date = fmt[: -len(joiner + written)]
                if fmt.endswith(joiner + written) and _fields_of(date)[:3] == (True, True, True):
                    found.append(date)
    return list(dict.fromkeys(found))


def _uses_time(part: str) -> bool:
    fields = _FIELD_PATTERN.findall(part) if "{" in part else [part]
    return any(f in _TIME_FIELDS for f in fields)


_ZERO_PADDED = re.compile(r"(?<!\d)0\d")
_PADDED_FIELDS = re.compile(r"MM|dd|HH|hh|mm|ss")


def _padding_cost(part: str, input_padded: bool) -> float:
    """Written like the input: zero-padded fields when the input pads its numbers, plain ones otherwise."""
    if part in ("MMM", "MMMM", "ddd", "dddd"):
        return 0.0
    padded_fields = len(_PADDED_FIELDS.findall(part.replace("MMM", "")))
    return (-0.05 if input_padded else 0.05) * padded_fields


def _hour_or_minute_written(moments: list[datetime.datetime], outputs: list[str]) -> bool:
    return any(all(_date_field(m, f) in o for m, o in zip(moments, outputs)) for f in ("h", "H", "m"))


def _render(moment: datetime.datetime, part: str) -> str:
    workclock.now()  # rendering candidate date fields is most of the cost of learning a date column
    if "{" in part:
        return _FIELD_PATTERN.sub(lambda m: _date_field(moment, m.group(1)), part)
    return _date_field(moment, part)


def numeric_fields(source: Expr, values: list[str]) -> Iterator[tuple[Expr, tuple[str, ...]]]:
    """The numeric fields of the dates (minute, hour, ...) as values other operators can take further."""
    formats = learn_formats(values, False)
    if formats is None:
        return
    for part in ("m", "H", "s", "d", "M", "h"):
        yield call("date_part", source, formats=formats, part=part), tuple(date_part(v, formats, part) for v in values)


def _same_readings(a: list[str], b: list[str], values: list[str]) -> bool:
    return all(_parse_datetime(v, a) == _parse_datetime(v, b) for v in values)


def _bucket_atoms(
    source: Expr, values: list[str], formats: list[str], outputs: list[str], extra: float, padded: bool
) -> Iterator[tuple[Expr, tuple[str, ...], float]]:
    if not any(("%H" in f or "%I" in f or "%M" in f) for f in formats[:1]):
        return
    parsed = [_parse_datetime(v, formats) for v in values]
    moments = [m for m in parsed if m is not None]
    if len(moments) < len(parsed):  # the formats were learned from these values: every one reads
        return
    plain = tuple(moments)
    seen: set[tuple[datetime.datetime, ...]] = set()
    for bucket in _BUCKETS:
        for offset in range(0, bucket, 15 * _MIN):
            shifts = {0, bucket, bucket - _MIN, bucket - 1, bucket - 10 * _MIN}
            # cheapest first, so that of two roundings giving the same times the simpler is kept
            roundings = sorted(((m, s) for m in _MODE_COST for s in shifts),
                               key=lambda ms: _shift_cost(ms[0], ms[1], bucket))
            for mode, shift in roundings:
                shifted = [_bucket_moment(m, bucket, offset, mode, shift) for m in moments]
                key = tuple(shifted)
                if key in seen or key == plain or not _hour_or_minute_written(shifted, outputs):
                    continue
                seen.add(key)
                for part in _TIME_FIELDS + _TIME_PATTERNS:
                    got = tuple(_render(m, part) for m in shifted)
                    if not all(g in o for g, o in zip(got, outputs)):
                        continue
                    args = dict(formats=formats, part=part, bucket_seconds=bucket)
                    if offset:
                        args["offset_seconds"] = offset
                    if mode != "floor":
                        args["mode"] = mode
                    if shift:
                        args["shift_seconds"] = shift
                    cost = 3.0 + extra + (0.5 if offset else 0) + _shift_cost(mode, shift, bucket) + bucket / 1e5
                    cost += _padding_cost(part, padded)
                    yield call("date_part", source, **args), got, cost
    yield from _range_atoms(source, moments, formats, outputs, extra, padded)


_MODE_COST = {"floor": 0.0, "nearest": 0.2, "ceil": 0.4}


def _shift_cost(mode: str, shift: int, bucket: int) -> float:
    """Rounding up is simpler than rounding down and moving to the bucket's end (they differ on a boundary)."""
    return _MODE_COST[mode] + (0.5 if shift else 0) + (0.5 if shift not in (0, bucket) else 0)


_RANGE_SEPARATORS = ["-", " - ", " and ", " to "]


def _range_atoms(
    source: Expr, moments: list[datetime.datetime], formats: list[str], outputs: list[str], extra: float,
    padded: bool,
) -> Iterator[tuple[Expr, tuple[str, ...], float]]:
    """time_range atoms: start and end of the bucket written with one pattern, as one part."""
    for bucket in _BUCKETS:
        for offset in range(0, bucket, 15 * _MIN):
            starts = [_bucket_moment(m, bucket, offset, "floor", 0) for m in moments]
            for pattern in _TIME_PATTERNS + [f"{{{f}}}" for f in ("H", "HH", "h", "m", "mm")]:
                rendered = [_render(m, pattern) for m in starts]
                if not all(r in o for r, o in zip(rendered, outputs)):
                    continue
                for end_shift in sorted({bucket, bucket - _MIN, bucket - 1, bucket - 10 * _MIN, bucket - 30 * _MIN}):
                    if end_shift <= 0:
                        continue
                    ends = [_render(_bucket_moment(m, bucket, offset, "floor", end_shift), pattern) for m in moments]
                    for separator in _RANGE_SEPARATORS:
                        got = tuple(r + separator + e for r, e in zip(rendered, ends))
                        if not all(g in o for g, o in zip(got, outputs)):
                            continue
                        args = dict(formats=formats, pattern=pattern, bucket_seconds=bucket)
                        if offset:
                            args["offset_seconds"] = offset
                        if end_shift != bucket:
                            args["end_shift_seconds"] = end_shift
                        if separator != "-":
                            args["separator"] = separator
                        cost = 3.0 + extra + (0.5 if offset else 0) + (0.5 if end_shift != bucket else 0) + bucket / 1e5
                        cost += _padding_cost(pattern, padded)
                        yield call("time_range", source, **args), got, cost
