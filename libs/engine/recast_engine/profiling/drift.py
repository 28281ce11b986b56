"""Drift: how a new input's profile differs from the profile of the input a conversion was learned on.

Each difference is a warning a user can act on: a column that appeared or vanished, a value of a categorical
(lookup-like) column the training file never had, a date or number spelled in a way the training file never
spelled it (so the learned script was never shown how to read it), a column far emptier than in training, or
numbers far outside the training range.
"""
from __future__ import annotations

from typing import Any, Protocol

from recast_engine.profiling.script_reads import ColumnReads, column_reads

Profile = dict[str, Any]  # a file's profile as stored (JSON), see recast_engine.profiling
ColumnProfile = dict[str, Any]  # one of its column_profiles (ColumnProfiler.result)

EXAMPLES = 5
NULL_RATE_GAIN = 0.10  # a null share this much higher than in training (and at least twice as high) is drift
RANGE_SLACK = 1.0  # numbers more than this many training ranges beyond the training min or max are drift


class Warn(Protocol):
    def __call__(self, kind: str, column: ColumnProfile, message: str, examples: list[str] | None = None) -> None: ...


def _label(column: ColumnProfile) -> str:
    return str(column["name"]) if column.get("name") else f"column {column['index'] + 1}"


def _pairs(train: Profile, run: Profile) -> tuple[list[tuple[ColumnProfile, ColumnProfile]], list[ColumnProfile],
                                                list[ColumnProfile]]:
    """Matched (train, run) columns, and the columns only in training, only in the run."""
    old, new = train["column_profiles"], run["column_profiles"]
    if train.get("header") and run.get("header"):
        by_name = {c["name"]: c for c in new}
        pairs = [(c, by_name[c["name"]]) for c in old if c["name"] in by_name]
        known = {c["name"] for c in old}
        return pairs, [c for c in old if c["name"] not in by_name], [c for c in new if c["name"] not in known]
    width = min(len(old), len(new))
    return list(zip(old[:width], new[:width], strict=True)), old[width:], new[width:]


def categorical(column: ColumnProfile, data_rows: int) -> bool:
    """A column whose training values repeat: its values are categories (a mapping may depend on them)."""
    values: list[str] | None = column.get("categories")
    if not values:
        return False
    return column["kind"] == "text" and len(values) <= max(1, data_rows // 2)


def _unsigned(spelling: str) -> str:
    return spelling.lstrip("+-")


def drift(train: Profile, run: Profile, program: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The warnings, as dicts of kind, column, message and examples.

    With the program the script was rendered from, lookups and date and number readings are checked against
    what the script really reads; without it, against what the train input held."""
    reads = column_reads(program)
    warnings: list[dict[str, Any]] = []

    def warn(kind: str, column: ColumnProfile, message: str, examples: list[str] | None = None) -> None:
        warnings.append({"kind": kind, "column": _label(column), "message": message,
                         "examples": [e[:200] for e in (examples or [])][:EXAMPLES]})

    pairs, missing, added = _pairs(train, run)
    for column in missing:
        warn("missing_column", column, f"{_label(column)} was in the training input but is missing")
    for column in added:
        warn("new_column", column, f"{_label(column)} is new: the training input had no such column",
             [t["value"] for t in column["top_values"]])
    for old, new in pairs:
        read = reads.get(new["index"])  # the script reads a column by its position in the file it gets
        if read is not None and read.lookup_keys is not None:
            _unmapped_values(old, new, read.lookup_keys, warn)
        else:
            _unseen_values(old, new, train["data_rows"], warn)
        if read is not None and (read.date_formats or read.numbers):
            _unread_spellings(old, new, read, warn)
        else:
            _spellings(old, new, warn)
        _null_rate(old, new, train["data_rows"], run["data_rows"], warn)
        _range(old, new, warn)
    return warnings


def _unseen_values(old: ColumnProfile, new: ColumnProfile, train_rows: int, warn: Warn) -> None:
    if not categorical(old, train_rows):
        return
    known = set(old["categories"])
    seen = new["categories"] if new.get("categories") is not None else [t["value"] for t in new["top_values"]]
    unseen = [v for v in seen if v not in known]
    if unseen:
        more = "" if new.get("categories") is not None else " (among its most frequent values)"
        warn("unseen_value", old, f"{_label(old)} has {len(unseen)} value(s) never seen in training{more}: a mapping "
             f"learned from the training values cannot know them", unseen)


def _values(column: ColumnProfile) -> tuple[list[str], str]:
    if column.get("categories") is not None:
        return column["categories"], ""
    return [t["value"] for t in column["top_values"]], " (among its most frequent values)"


def _unmapped_values(old: ColumnProfile, new: ColumnProfile, lookup_keys: set[str], warn: Warn) -> None:
    values, more = _values(new)
    unmapped = [v for v in values if v not in lookup_keys and v.strip()]
    if unmapped:
        warn("unseen_value", old, f"{_label(old)} has {len(unmapped)} value(s){more} the script's lookup table has "
             "no entry for: they get its default", unmapped)


def _unread_spellings(old: ColumnProfile, new: ColumnProfile, read: ColumnReads, warn: Warn) -> None:
    examples = new.get("spelling_examples") or {}
    if read.date_formats:
        spellings = (new.get("dates") or {}).get("spellings") or {}
        unread = [s for s in spellings if s in examples and not read.reads_date(examples[s])]
        if unread:
            warn("date_spelling", old, f"{_label(old)} has dates spelled {', '.join(unread)} that the script does "
                 f"not read (it reads {', '.join(read.date_formats)})", [examples[s] for s in unread])
    if read.numbers:
        unread = [s for s in new.get("number_spellings") or {} if s in examples and not read.reads_number(examples[s])]
        if unread:
            warn("number_spelling", old, f"{_label(old)} has numbers spelled {', '.join(unread)} that the script "
                 "does not read", [examples[s] for s in unread])


def _spellings(old: ColumnProfile, new: ColumnProfile, warn: Warn) -> None:
    old_dates = (old.get("dates") or {}).get("spellings") or {}
    new_dates = (new.get("dates") or {}).get("spellings") or {}
    if old_dates:
        fresh = [s for s in new_dates if s not in old_dates]
        if fresh:
            warn("date_spelling", old, f"{_label(old)} has dates spelled {', '.join(fresh)}; training only had "
                 f"{', '.join(old_dates)}, so the script may not read them", fresh)
    if old["kind"] in ("integer", "decimal") and old.get("number_spellings"):
        known = {_unsigned(s) for s in old["number_spellings"]}
        fresh = [s for s in new.get("number_spellings") or {} if _unsigned(s) not in known]
        if fresh:
            warn("number_spelling", old, f"{_label(old)} has numbers spelled {', '.join(fresh)} (9 = digits); "
                 f"training only had {', '.join(sorted(known))}, so the script may not read them", fresh)


def _null_rate(old: ColumnProfile, new: ColumnProfile, train_rows: int, run_rows: int, warn: Warn) -> None:
    if not train_rows or not run_rows:
        return
    before, after = old["nulls"] / train_rows, new["nulls"] / run_rows
    if after >= before + NULL_RATE_GAIN and after >= 2 * before:
        warn("null_rate", old, f"{_label(old)} is empty in {after:.0%} of the rows (training: {before:.0%})")


def _range(old: ColumnProfile, new: ColumnProfile, warn: Warn) -> None:
    a, b = old.get("numeric"), new.get("numeric")
    if not a or not b:
        return
    span = a["max"] - a["min"] or max(1.0, abs(a["max"]))
    low, high = a["min"] - RANGE_SLACK * span, a["max"] + RANGE_SLACK * span
    outside = [str(x) for x in (b["min"], b["max"]) if x < low or x > high]
    if outside:
        warn("numeric_range", old, f"{_label(old)} ranges {b['min']:g} to {b['max']:g}, far outside training "
             f"({a['min']:g} to {a['max']:g})", outside)
