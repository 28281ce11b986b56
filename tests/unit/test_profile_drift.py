"""Drift between a train input's profile and a new input's, and the self-contained HTML report."""
from __future__ import annotations

import re

from recast_engine.profiling import profile_bytes
from recast_engine.profiling.drift import drift
from recast_engine.profiling.report import render_report

TRAIN = b"id,tier,joined,amount\n" + b"".join(
    f"{i},{('gold', 'silver', 'bronze')[i % 3]},2024-0{1 + i % 9}-1{i % 10},{10 + i}.50\n".encode() for i in range(30))


def kinds(new: bytes) -> dict[str, dict]:
    warnings = drift(profile_bytes(TRAIN), profile_bytes(new, "yes"))
    return {w["kind"]: w for w in warnings}


def test_the_same_kind_of_file_has_no_drift():
    same = b"id,tier,joined,amount\n31,gold,2024-02-13,40.50\n32,bronze,2024-07-01,12.50\n"
    assert drift(profile_bytes(TRAIN), profile_bytes(same, "yes")) == []


def test_new_and_missing_columns_are_named():
    found = kinds(b"id,tier,amount,region\n1,gold,3.50,EU\n2,silver,4.50,US\n")
    assert found["missing_column"]["column"] == "joined"
    assert found["new_column"]["column"] == "region" and found["new_column"]["examples"] == ["EU", "US"]


def test_a_category_never_seen_in_training_is_reported_with_examples():
    found = kinds(b"id,tier,joined,amount\n1,platinum,2024-01-10,3.50\n2,gold,2024-01-11,4.50\n")
    assert found["unseen_value"]["column"] == "tier" and found["unseen_value"]["examples"] == ["platinum"]


def test_dates_and_numbers_in_new_spellings_are_reported():
    found = kinds(b"id,tier,joined,amount\n1,gold,10/01/2024,\"1,234.50\"\n2,gold,Jan 5 2024,-4.50\n")
    assert set(found["date_spelling"]["examples"]) == {"NN/NN/YYYY", "MON NN YYYY"}
    assert found["number_spelling"]["examples"] == ["9,9.9"]  # a sign alone is no new spelling


def test_null_rates_and_numbers_far_outside_training_are_reported():
    rows = b"".join(f"{i},gold,,{i * 1000}.50\n".encode() for i in range(10))
    found = kinds(b"id,tier,joined,amount\n" + rows)
    assert found["null_rate"]["column"] == "joined"
    assert found["numeric_range"]["column"] == "amount" and found["numeric_range"]["examples"] == ["9000.5"]


def test_the_report_draws_charts_inline_and_loads_nothing():
    page = render_report("Job x", [("Train input", profile_bytes(TRAIN))],
                         [{"kind": "unseen_value", "message": "tier <has> new values", "examples": ["<b>"]}])
    assert page.startswith("<!doctype html>") and page.count("<svg") >= 5
    assert "tier &lt;has&gt; new values" in page and "<b>&lt;b&gt;" not in page
    assert not re.search(r"<script|<link|\ssrc=|\shref=|@import", page)


def program_reading_columns() -> dict:
    """A program that maps column 2 through a lookup table, reads column 3 as a date and column 4 as a number."""
    from recast_engine.dsl.model import OutputColumn, Program, call, col

    return Program(header_rows=1, columns=[
        OutputColumn(value=call("lookup", col(1), table={"gold": "G", "silver": "S", "bronze": "B"})),
        OutputColumn(value=call("date_part", col(2), formats=["%Y-%m-%d", "%d/%m/%Y"], part="yyyy")),
        OutputColumn(value=call("format_number", col(3), decimals=1)),
    ]).model_dump(mode="json")


def program_drift(new: bytes) -> dict[str, dict]:
    warnings = drift(profile_bytes(TRAIN), profile_bytes(new, "yes"), program_reading_columns())
    return {w["kind"]: w for w in warnings}


def test_with_the_program_only_spellings_the_script_cannot_read_are_reported():
    # 10/01/2024 is a new spelling but the script reads it (%d/%m/%Y); "Jan 5 2024" it cannot read
    found = program_drift(b"id,tier,joined,amount\n1,gold,10/01/2024,3.50\n2,gold,Jan 5 2024,4.50\n")
    assert found["date_spelling"]["examples"] == ["Jan 5 2024"]
    assert "does not read" in found["date_spelling"]["message"]
    assert "number_spelling" not in found


def test_with_the_program_a_value_missing_from_its_lookup_table_is_reported():
    found = program_drift(b"id,tier,joined,amount\n1,platinum,2024-01-10,3.50\n2,gold,2024-01-11,4.50\n")
    assert found["unseen_value"]["examples"] == ["platinum"] and "lookup table" in found["unseen_value"]["message"]


def test_a_program_with_table_steps_falls_back_to_the_train_input():
    from recast_engine.profiling.script_reads import column_reads

    program = program_reading_columns() | {"steps": [{"op": "drop_empty_rows", "args": {}}]}
    assert column_reads(program) == {}
    reads = column_reads(program_reading_columns())
    assert reads[1].lookup_keys == {"gold", "silver", "bronze"} and reads[2].date_formats and reads[3].numbers
