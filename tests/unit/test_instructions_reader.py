"""The instruction reader: what users write becomes typed constraints; what it cannot read is reported."""
from __future__ import annotations

import pytest
from recast_engine.instructions import (
    Aggregate,
    Case,
    DateFormat,
    Dedupe,
    Drop,
    FillColumn,
    FillEmpty,
    Filter,
    Formula,
    Mapping,
    Rename,
    Round,
    Same,
    Sort,
    Trim,
    read_instructions,
)


def column_actions(text: str | None) -> list:
    result = read_instructions(None, {"c": text})
    assert result.not_understood == [], result.not_understood
    return result.columns[0].actions


@pytest.mark.parametrize("text", ["", None, "SAME AS INPUT", "same as input", "Keep as is", "keep it as is",
                                  "unchanged", "no change", "leave it alone", "copy"])
def test_empty_null_and_keep_phrasings_mean_same_as_input(text):
    assert column_actions(text) == [Same()]
    assert read_instructions(None, {"c": text}).columns[0].text == (text or "SAME AS INPUT")


@pytest.mark.parametrize("text, mode", [
    ("Convert to uppercase", "upper"), ("UPPER CASE", "upper"), ("all caps", "upper"), ("make it upper case", "upper"),
    ("lowercase", "lower"), ("convert to lower case", "lower"), ("Title Case", "title"),
    ("proper case", "title"), ("capitalize each word", "title"),
])
def test_case_instructions_read_in_any_case_and_common_synonyms(text, mode):
    assert column_actions(text) == [Case(mode=mode)]


@pytest.mark.parametrize("text, pattern", [
    ("YYYY-MM-DD", "{yyyy}-{MM}-{dd}"),
    ("DD/MM/YYYY", "{dd}/{MM}/{yyyy}"),
    ("format as Month D, YYYY", "{MMMM} {d}, {yyyy}"),
    ("convert to mm/dd/yy", "{MM}/{dd}/{yy}"),
    ("D Mon YYYY", "{d} {MMM} {yyyy}"),
])
def test_date_formats_written_with_tokens_become_date_patterns(text, pattern):
    (action,) = column_actions(text)
    assert isinstance(action, DateFormat) and action.pattern == pattern


def test_rename_drop_trim_round_fill_and_chained_clauses():
    assert column_actions("rename to client_name") == [Rename(to="client_name")]
    assert column_actions("Rename as 'Client Name'") == [Rename(to="Client Name")]
    assert column_actions("drop") == [Drop()] and column_actions("remove this column") == [Drop()]
    assert column_actions("trim whitespace") == [Trim()]
    assert column_actions("round to 2 decimals") == [Round(decimals=2)]
    assert column_actions("two decimal places") == [Round(decimals=2)]
    assert column_actions("round to whole number") == [Round(decimals=0)]
    assert column_actions("fill empty with N/A") == [FillEmpty(value="N/A")]
    assert column_actions("if blank use 'unknown'") == [FillEmpty(value="unknown")]
    assert column_actions("trim and uppercase") == [Trim(), Case(mode="upper")]
    assert column_actions("trim; then title case") == [Trim(), Case(mode="title")]


@pytest.mark.parametrize("text, expression, columns", [
    ("unit_price * quantity", "unit_price * quantity", ["unit_price", "quantity"]),
    ("= (temp_f - 32) * 5 / 9", "(temp_f - 32) * 5 / 9", ["temp_f"]),
    ("multiply price by qty", "price * qty", ["price", "qty"]),
    ("net plus tax", "net + tax", ["net", "tax"]),
    ("`unit price` * 1.2", "`unit price` * 1.2", ["unit price"]),
])
def test_formulas_over_columns_are_parsed_with_precedence(text, expression, columns):
    assert column_actions(text) == [Formula(expression=expression, columns=columns)]


def test_mappings_in_several_spellings_keep_their_order():
    assert column_actions("map A=Alpha, B=Beta") == [Mapping(table={"A": "Alpha", "B": "Beta"})]
    assert column_actions("P -> Paid; U -> Unpaid") == [Mapping(table={"P": "Paid", "U": "Unpaid"})]
    assert column_actions("replace Y with Yes") == [Mapping(table={"Y": "Yes"})]


def test_general_instructions_become_table_actions_in_the_order_written():
    result = read_instructions(
        "Keep only rows whose status is paid. Remove duplicates; sort by amount descending.\n"
        "Fill empty city with Unknown. amount > 100. Remove rows where qty is 0", None)
    assert result.not_understood == []
    assert result.table == [
        Filter(column="status", op="eq", value="paid"),
        Dedupe(),
        Sort(column="amount", descending=True),
        FillColumn(column="city", value="Unknown"),
        Filter(column="amount", op="gt", value="100"),
        Filter(column="qty", op="eq", value="0", keep=False),
    ]


@pytest.mark.parametrize("text, expected", [
    ("only rows where amount >= 1,000", Filter(column="amount", op="ge", value="1000")),
    ("keep rows where region is not empty", Filter(column="region", op="ne", value="")),
    ("exclude rows where name contains test", Filter(column="name", op="contains", value="test", keep=False)),
    ("where score is at least 50", Filter(column="score", op="ge", value="50")),
    ("sort by date, newest first", Sort(column="date", descending=True)),
    ("order by name ascending", Sort(column="name")),
    ("Sum of amount per region", Aggregate(function="sum", column="amount", by=["region"])),
    ("average price by category and brand", Aggregate(function="average", column="price", by=["category", "brand"])),
    ("count per region", Aggregate(function="count", column=None, by=["region"])),
    ("number of rows for each team", Aggregate(function="count", column=None, by=["team"])),
])
def test_filters_sorts_and_aggregates_read_their_synonyms(text, expected):
    result = read_instructions(text, None)
    assert result.not_understood == [] and result.table == [expected]


def test_two_actions_joined_by_and_are_both_read():
    result = read_instructions("remove duplicates and sort by name", None)
    assert result.table == [Dedupe(), Sort(column="name")]


def test_what_cannot_be_read_is_reported_with_its_column_never_dropped():
    result = read_instructions("Make it look professional. Sort by total.",
                               {"code": "uppercase", "notes": "summarize the text nicely"})
    assert result.not_understood == ["Make it look professional", "notes: 'summarize the text nicely'"]
    assert result.table == [Sort(column="total")]
    assert not result.fully_understood


def test_reading_is_deterministic_and_case_insensitive():
    a = read_instructions("KEEP ONLY ROWS WHERE Status IS Paid", {"X": "UPPERCASE"})
    b = read_instructions("keep only rows where Status is Paid", {"X": "uppercase"})
    assert a.table == b.table and a.columns[0].actions == b.columns[0].actions
