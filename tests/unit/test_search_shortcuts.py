"""The search's shortcuts give what the runtime functions they stand for give (same programs, less work)."""
from __future__ import annotations

import random

from recast_engine.runtime import cells
from recast_engine.runtime import relational as rt
from recast_engine.synthesis.columns import _WORD_CLASSES, _kth_run
from recast_engine.synthesis.dates import _DATE_PATTERNS, _TIME_PATTERNS, DATE_FIELDS, _date_part_of
from recast_engine.synthesis.relational import _SortValues


def test_sort_orders_over_values_read_once_are_the_runtimes_orders():
    rng = random.Random(0)
    cells_ = ["1", "2", "10", "-3", "x", "", "2020-01-02", "1999-12-31", "3.5", "(4)", "$7", "abc", "Abc"]
    for _ in range(3000):
        body = [[rng.choice(cells_) for _ in range(rng.randint(1, 3))] for _ in range(rng.randint(0, 8))]
        keys = []
        for _ in range(rng.randint(1, 2)):
            key = {"column": rng.randint(0, 2), "as": rng.choice(["number", "date", "text"]),
                   "descending": rng.random() < 0.5}
            if key["as"] == "date":
                key["formats"] = ["%Y-%m-%d"]
            keys.append(key)
        expected = [id(row) for row in rt._ordered(list(body), keys)]
        assert [id(body[i]) for i in _SortValues(body).ordered(keys)] == expected, (body, keys)


def test_the_kth_run_of_a_class_is_the_runtimes_substring():
    rng = random.Random(1)
    for _ in range(3000):
        text = "".join(rng.choice("ab CD12 3-x_é9 ") for _ in range(rng.randint(0, 12)))
        for cls in _WORD_CLASSES:
            starts, ends = cells._anchor_positions(text, None, cls), cells._anchor_positions(text, cls, None)
            for k in (1, 2, 3, -1, -2):
                expected = cells.substring(text, {"before": cls, "k": k}, {"after": cls, "k": k})
                assert _kth_run(text, starts, ends, k) == expected, (text, cls, k)


def test_a_date_part_of_a_moment_read_once_is_the_runtimes_date_part():
    formats = [["%Y-%m-%d"], ["%m/%d/%Y", "%d/%m/%Y"], ["%H:%M", "%Y-%m-%d %H:%M"], ["%b %d %Y"]]
    values = ["2020-01-02", "1/2/2020", "13/2/2020", "12:30", "2020-01-02 03:04", "Jan 05 2021", "x", "", "2020-13-01"]
    for read in formats:
        for value in values:
            for part in DATE_FIELDS + _TIME_PATTERNS + _DATE_PATTERNS:
                expected = cells.date_part(value, read, part)
                assert _date_part_of(cells._parse_datetime(value, read), part) == expected, (value, read, part)


def test_a_position_space_holds_every_anchor_the_runtime_finds_and_no_other():
    from recast_engine.synthesis.strings import literal_tokens, position_space, spec_to_json

    rng = random.Random(2)
    for _ in range(1500):
        text = "".join(rng.choice("abXY09 -_/.,;:()é\t") for _ in range(rng.randint(0, 12)))
        space = position_space(text, literal_tokens([text]))
        anchors = {s: p for s, p in space.spec_pos.items() if s[0] == "anchor"}
        for spec, p in anchors.items():
            assert cells._position(text, spec_to_json(spec)) == p, (text, spec)
        for (_, after, before, _k) in list(anchors):
            found = cells._anchor_positions(text, after, before)
            kept = [anchors[("anchor", after, before, i + 1)] for i in range(len(found))]
            assert kept == found, (text, after, before)
