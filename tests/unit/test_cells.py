"""The cell operators (DSL semantics) on hand-picked values."""
from recast_engine.runtime import cells


def test_substring_by_anchor_and_index():
    name = "Hone Albert"
    assert cells.substring(name, {"index": 0}, {"after": "letters", "k": 1}) == "Hone"
    assert cells.substring(name, {"before": "upper", "k": -1}, {"index": -1}) == "Albert"
    assert cells.substring(name, {"index": 0}, {"index": 2}) == "Ho"


def test_substring_missing_position_gives_empty():
    assert cells.substring("no digits", {"before": "digits", "k": 1}, {"after": "digits", "k": 1}) == ""


def test_concat_and_case():
    assert cells.concat(cells.upper("ab"), "-", cells.title("hello world")) == "AB-Hello World"


def test_format_number_rounding_and_grouping():
    assert cells.format_number("1652") == "1652"
    assert cells.format_number("1652", thousands=",") == "1,652"
    assert cells.format_number("0.0635", step="0.01", mode="up") == "0.07"
    assert cells.format_number("786", step="5", mode="ceil") == "790"
    assert cells.format_number("3.4", decimals=2, int_digits=2) == "03.40"
    assert cells.format_number("$2,345.5", decimals=0) == "2346"
    assert cells.format_number("95.00", trim_zeros=True) == "95"
    assert cells.format_number("abc") == ""


def test_number_range():
    assert cells.number_range("47", step="10") == "40-50"
    assert cells.number_range("82", step="10", end_shift="9") == "80-89"


def test_date_part_fields_and_patterns():
    formats = ["%d-%b-%Y %H:%M:%S"]
    text = "31-Jan-2031 05:54:18"
    assert cells.date_part(text, formats, "MMMM") == "January"
    assert cells.date_part(text, formats, "ddd") == "Fri"
    assert cells.date_part(text, formats, "{M}/{d}/{yyyy} {h}:{mm} {tt}") == "1/31/2031 5:54 AM"
    assert cells.date_part("not a date", formats, "yyyy") == ""


def test_time_buckets():
    formats = ["%H:%M:%S"]
    assert cells.date_part("18:25:57", formats, "{h}{tt}", bucket_seconds=7200) == "6PM"
    assert cells.date_part("21:44:00", formats, "{h}:{mm}", bucket_seconds=1800, mode="ceil") == "10:00"
    assert cells.time_range("23:34:17", formats, "{h}{tt}", bucket_seconds=7200) == "10PM-12AM"


def test_lookup_and_condition():
    assert cells.lookup("F", {"M": "0", "F": "1"}) == "1"
    assert cells.lookup("X", {"M": "0"}, default="?") == "?"
    assert cells.if_matches("a@b.com", "yes", "no", pattern="@") == "yes"
    assert cells.if_matches("ab", "yes", "no", pattern="@") == "no"


def test_format_scientific_rounds_the_mantissa_and_pads_the_exponent_like_printf():
    assert cells.format_scientific("4.17474E-05") == "4.17E-05"
    assert cells.format_scientific("9.999") == "1.00E+01"  # rounding carries into the exponent
    assert cells.format_scientific("-0.00123", decimals=1, letter="e") == "-1.2e-03"
    assert cells.format_scientific("0") == "0.00E+00"
    assert cells.format_scientific("n/a") == ""


def test_format_scientific_with_more_decimals_than_decimal_precision_gives_an_empty_cell():
    assert cells.format_scientific("1.5", decimals=40) == ""
