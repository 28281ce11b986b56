"""Cell operators: functions from cell values (strings) to a cell value. See the package docstring.

Every operator is total: when its input does not have the expected shape it returns "" instead of raising,
so a learned script degrades cell by cell instead of crashing on one odd value.
"""
from __future__ import annotations

import datetime
import re
import time
from collections.abc import Callable
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
    InvalidOperation,
)
from typing import Any

# ---------------------------------------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------------------------------------


def concat(*parts: str) -> str:
    """The parts joined end to end."""
    return "".join(str(p) for p in parts)


def lower(text: str) -> str:
    return text.lower()


def upper(text: str) -> str:
    return text.upper()


def title(text: str) -> str:
    """Every word capitalised (first letter upper, the rest lower)."""
    return re.sub(r"[^\W_]+", lambda m: m.group(0)[:1].upper() + m.group(0)[1:].lower(), text)


def trim(text: str) -> str:
    return text.strip()


# Characters that end a field inside free text: list separators and closing brackets ("stop at ; or )").
_CLOSERS = ";,)]}>"

# Character classes a position can be anchored to. A one-character token name means that literal character.
_TOKEN_CLASSES: dict[str, Callable[[str], bool]] = {
    "digits": str.isdigit,
    "letters": str.isalpha,
    "upper": str.isupper,
    "lower": str.islower,
    "alnum": str.isalnum,
    "space": str.isspace,
    "nonspace": lambda char: not char.isspace(),
    "closer": lambda char: char in _CLOSERS,
}


def _in_token(char: str, token: str) -> bool:
    if len(token) == 1:
        return char == token
    return _TOKEN_CLASSES[token](char)


def _anchor_positions(text: str, after: str | None, before: str | None) -> list[int]:
    """Positions p where a run of `after` ends just before p and a run of `before` starts at p."""
    found = []
    n = len(text)
    for p in range(n + 1):
        if after is not None:
            if p == 0 or not _in_token(text[p - 1], after):
                continue
            if len(after) > 1 and p < n and _in_token(text[p], after):
                continue
        if before is not None:
            if p == n or not _in_token(text[p], before):
                continue
            if len(before) > 1 and p > 0 and _in_token(text[p - 1], before):
                continue
        found.append(p)
    return found


def _position(text: str, spec: dict[str, Any]) -> int | None:
    """A position in text: {"index": k} (k < 0 counts from the end) or the k-th anchor
    {"after": token, "before": token, "k": k} (k < 0 counts from the last anchor)."""
    if "index" in spec:
        k = spec["index"]
        p = k if k >= 0 else len(text) + 1 + k
        return p if 0 <= p <= len(text) else None
    found = _anchor_positions(text, spec.get("after"), spec.get("before"))
    k = spec["k"]
    i = k - 1 if k > 0 else len(found) + k
    return found[i] if 0 <= i < len(found) else None


def substring(text: str, start: dict[str, Any], end: dict[str, Any]) -> str:
    """The text between two positions (see _position), or "" when a position is missing."""
    a = _position(text, start)
    b = _position(text, end)
    if a is None or b is None or b < a:
        return ""
    return text[a:b]


def join_numbers(text: str, separator: str = "/") -> str:
    """The runs of digits in text joined by separator ("Word 10 Word 6 Word 2143" -> "10/6/2143")."""
    return separator.join(re.findall(r"\d+", text))


def lookup(text: str, table: dict[str, str], default: str = "") -> str:
    """The value mapped to text in a table learned from the examples, else default."""
    return table.get(text, default)


def if_matches(text: str, then_value: str, else_value: str, pattern: str = "") -> str:
    """then_value when the text contains a match of the regular expression, else else_value."""
    return then_value if re.search(pattern, text) else else_value


def when_date(text: str, value: str, formats: list[str]) -> str:
    """value when text reads as a date/time with one of the formats, else "" (no output for a non-date)."""
    return value if _parse_datetime(text, formats) is not None else ""


# ---------------------------------------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------------------------------------

_NUMBER_PATTERN = re.compile(r"-?(?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_ROUNDING = {
    "half_up": ROUND_HALF_UP,
    "half_even": ROUND_HALF_EVEN,
    "floor": ROUND_FLOOR,
    "ceil": ROUND_CEILING,
    "down": ROUND_DOWN,
    "up": ROUND_UP,
}


def _parse_number(text: str, k: int = 1) -> Decimal | None:
    """The k-th number written in text (thousands commas allowed), or None."""
    found = _NUMBER_PATTERN.findall(text)
    i = k - 1 if k > 0 else len(found) + k
    if not 0 <= i < len(found):
        return None
    try:
        return Decimal(found[i].replace(",", ""))
    except InvalidOperation:
        return None


def _group_thousands(digits: str, separator: str) -> str:
    groups: list[str] = []
    while len(digits) > 3:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    groups.insert(0, digits)
    return separator.join(groups)


def format_number(
    text: str,
    k: int = 1,
    scale: str = "1",
    step: str = "0",
    mode: str = "half_up",
    shift: str = "0",
    decimals: int | None = None,
    min_decimals: int = 0,
    trim_zeros: bool = False,
    int_digits: int = 0,
    thousands: str = "",
    point: str = ".",
    int_fill: str = "0",
    fraction_width: int = 0,
    indian_grouping: bool = False,
) -> str:
    """The k-th number of text, multiplied by scale, rounded to a multiple of step (by mode), plus shift,
    written with `decimals` fixed decimals (or else with the digits the arithmetic gives, without trailing zeros
    when trim_zeros, and at least min_decimals), the integer part padded with int_fill to int_digits and grouped
    by thousands (Indian lakh/crore grouping when indian_grouping), the fraction padded with spaces to
    fraction_width (aligned columns)."""
    value = _parse_number(text, k)
    if value is None:
        return ""
    value = value * Decimal(scale)
    if Decimal(step) != 0:
        value = (value / Decimal(step)).quantize(Decimal(1), rounding=_ROUNDING[mode]) * Decimal(step)
    value = value + Decimal(shift)
    if decimals is not None:
        value = value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
        written = f"{value:f}"
    else:
        written = f"{value:f}"
        if trim_zeros and "." in written:
            written = written.rstrip("0").rstrip(".")
        fraction = written.partition(".")[2]
        if len(fraction) < min_decimals:
            written = (written if fraction else written + ".") + "0" * (min_decimals - len(fraction))
    negative = written.startswith("-")
    whole, dot, fraction = written.lstrip("-").partition(".")
    if negative and set(whole + fraction) <= {"0"}:
        negative = False
    if int_fill == "0":
        whole = whole.zfill(int_digits)
    if thousands and indian_grouping and len(whole) > 3:
        whole = _group_pairs(whole[:-3], thousands) + thousands + whole[-3:]
    elif thousands:
        whole = _group_thousands(whole, thousands)
    whole = ("-" if negative else "") + whole
    if int_fill != "0":
        whole = whole.rjust(int_digits, int_fill)
    if fraction_width:
        return whole + point + fraction.ljust(fraction_width)
    return whole + (point + fraction if dot else "")


def format_scientific(
    text: str, decimals: int = 2, letter: str = "E", exponent_digits: int = 2, k: int = 1, scale: str = "1"
) -> str:
    """The k-th number of text times scale in scientific notation: a mantissa of one digit and `decimals` decimals
    (rounded half-up), then `letter`, the exponent's sign and at least `exponent_digits` digits: 0.0000417474 ->
    "4.17E-05"."""
    value = _parse_number(text, k)
    if value is None:
        return ""
    value = value * Decimal(scale)
    exponent = value.adjusted() if value else 0
    quantum = Decimal(1).scaleb(-decimals)
    try:
        mantissa = value.scaleb(-exponent).quantize(quantum, rounding=ROUND_HALF_UP)
        if abs(mantissa) >= 10:  # 9.999 rounded to 10.00: one more power of ten
            exponent += 1
            mantissa = value.scaleb(-exponent).quantize(quantum, rounding=ROUND_HALF_UP)
    except InvalidOperation:  # more decimals than the context's precision holds
        return ""
    sign = "-" if exponent < 0 else "+"
    return f"{mantissa:f}{letter}{sign}{abs(exponent):0{exponent_digits}d}"


def _group_pairs(digits: str, separator: str) -> str:
    groups: list[str] = []
    while len(digits) > 2:
        groups.insert(0, digits[-2:])
        digits = digits[:-2]
    groups.insert(0, digits)
    return separator.join(groups)


# ---------------------------------------------------------------------------------------------------------
# Dates and times
# ---------------------------------------------------------------------------------------------------------

_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


_DIGITS_ONLY_FORMATS = {"%H%M": 4, "%H%M%S": 6}
# Digit-only dates that lose their leading zero when stored as a number: "1211818" is 01211818 (1/21/1818)
# before it is 12/1/1818.
_ZERO_DROPPED_FORMATS = {"%m%d%Y": 8, "%d%m%Y": 8}


def _strptime_year_checked(written: str, fmt: str) -> datetime.datetime | None:
    try:
        moment = datetime.datetime.strptime(written, fmt)
    except ValueError:
        return None
    if ("%Y" in fmt or "%G" in fmt) and not 1000 <= moment.year <= 2999:
        return None  # "8142089" is 8/14/2089, not the year 8142
    return moment


def _strptime_nth_weekday(written: str, fmt: str) -> datetime.datetime | None:
    """A date named by its weekday's rank in the month: %N is that rank, "Sunday #1 March 2002" under
    "%A #%N %B %Y" is the first Sunday of March 2002 (the 3rd)."""
    if not any(d in fmt for d in ("%a", "%A")) or not any(d in fmt for d in ("%b", "%B", "%m")):
        return None
    try:
        parsed = time.strptime(written, fmt.replace("%N", "%d"))  # keeps the weekday it read in tm_wday
    except ValueError:
        return None
    rank = parsed.tm_mday
    if not 1 <= rank <= 5 or not 1000 <= parsed.tm_year <= 2999:
        return None
    first = datetime.date(parsed.tm_year, parsed.tm_mon, 1)
    day = 1 + (parsed.tm_wday - first.weekday()) % 7 + 7 * (rank - 1)
    try:
        return datetime.datetime(parsed.tm_year, parsed.tm_mon, day)
    except ValueError:  # no fifth such weekday in that month
        return None


def _parse_datetime(text: str, formats: list[str]) -> datetime.datetime | None:
    """The text read with the first strptime format that fits it, or None. Besides strptime's directives, %N is
    the rank of the weekday in its month (see _strptime_nth_weekday)."""
    text = text.strip()
    for fmt in formats:
        if "%N" in fmt:
            if (moment := _strptime_nth_weekday(text, fmt)) is not None:
                return moment
            continue
        written = text
        width = _DIGITS_ONLY_FORMATS.get(fmt)
        if width:  # "227" is 2:27 under %H%M (not 22:07), and "11" is not a time there
            if not (text.isdigit() and width - 1 <= len(text) <= width):
                continue
            written = text.zfill(width)
        padded_width = _ZERO_DROPPED_FORMATS.get(fmt)
        if padded_width and text.isdigit() and len(text) == padded_width - 1:
            moment = _strptime_year_checked(text.zfill(padded_width), fmt)
            if moment is not None:
                return moment
        moment = _strptime_year_checked(written, fmt)
        if moment is not None:
            return moment
    return None


def _hour12(hour: int) -> int:
    return hour % 12 or 12


def _date_field(moment: datetime.datetime, part: str) -> str:
    fields: dict[str, Callable[[datetime.datetime], str]] = {
        "yyyy": lambda m: f"{m.year:04d}",
        "yy": lambda m: f"{m.year % 100:02d}",
        "M": lambda m: str(m.month),
        "MM": lambda m: f"{m.month:02d}",
        "MMM": lambda m: _MONTHS[m.month - 1][:3],
        "MMMM": lambda m: _MONTHS[m.month - 1],
        "d": lambda m: str(m.day),
        "dd": lambda m: f"{m.day:02d}",
        "ddd": lambda m: _WEEKDAYS[m.weekday()][:3],
        "dddd": lambda m: _WEEKDAYS[m.weekday()],
        "H": lambda m: str(m.hour),
        "HH": lambda m: f"{m.hour:02d}",
        "h": lambda m: str(_hour12(m.hour)),
        "hh": lambda m: f"{_hour12(m.hour):02d}",
        "m": lambda m: str(m.minute),
        "mm": lambda m: f"{m.minute:02d}",
        "s": lambda m: str(m.second),
        "ss": lambda m: f"{m.second:02d}",
        "tt": lambda m: "AM" if m.hour < 12 else "PM",
        "q": lambda m: str((m.month - 1) // 3 + 1),
        "ww": lambda m: f"{m.isocalendar()[1]:02d}",
        "w": lambda m: str(m.isocalendar()[1]),
        "j": lambda m: str(m.timetuple().tm_yday),
        "week_of_month": lambda m: str((m.day - 1) // 7 + 1),
    }
    return fields[part](moment)


_FIELD_PATTERN = re.compile(r"\{(\w+)\}")


def _bucket_moment(
    moment: datetime.datetime, bucket_seconds: int, offset_seconds: int, mode: str, shift_seconds: int
) -> datetime.datetime:
    """The time of day rounded (floor, ceil or nearest) to a multiple of bucket_seconds (counted from
    offset_seconds after midnight),
    then moved by shift_seconds."""
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    seconds = (moment - midnight).total_seconds() - offset_seconds
    if mode == "nearest":
        seconds += bucket_seconds / 2
    elif mode == "ceil":
        seconds += bucket_seconds - 1e-6
    start = int(seconds // bucket_seconds) * bucket_seconds + offset_seconds
    return midnight + datetime.timedelta(seconds=start + shift_seconds)


def date_part(
    text: str,
    formats: list[str],
    part: str,
    bucket_seconds: int = 0,
    offset_seconds: int = 0,
    mode: str = "floor",
    shift_seconds: int = 0,
) -> str:
    """One field of the date/time in text (read with the first fitting format), e.g. part "MMM" -> "Jan".

    With bucket_seconds, the time of day is first rounded (mode floor, ceil or nearest) to a multiple of it, then
    moved by shift_seconds: the start (shift 0) or the end (shift = bucket) of a time range.
    A part with braces is a pattern of fields, e.g. "{h}:{mm}{tt}".
    Fields: yyyy yy M MM MMM MMMM d dd ddd dddd H HH h hh m mm s ss tt q ww w j week_of_month.
    """
    moment = _parse_datetime(text, formats)
    if moment is None:
        return ""
    if bucket_seconds:
        moment = _bucket_moment(moment, bucket_seconds, offset_seconds, mode, shift_seconds)
    if "{" in part:
        return _FIELD_PATTERN.sub(lambda m: _date_field(moment, m.group(1)), part)
    return _date_field(moment, part)


def time_range(
    text: str,
    formats: list[str],
    pattern: str,
    bucket_seconds: int,
    offset_seconds: int = 0,
    end_shift_seconds: int | None = None,
    separator: str = "-",
) -> str:
    """The time range (of bucket_seconds, starting offset_seconds after midnight) holding the time in text,
    e.g. "2PM-4PM": start and end written with the field pattern (see date_part), end = start + end_shift."""
    moment = _parse_datetime(text, formats)
    if moment is None:
        return ""
    end_shift = bucket_seconds if end_shift_seconds is None else end_shift_seconds
    start = _bucket_moment(moment, bucket_seconds, offset_seconds, "floor", 0)
    end = _bucket_moment(moment, bucket_seconds, offset_seconds, "floor", end_shift)
    def render(m: datetime.datetime) -> str:
        return _FIELD_PATTERN.sub(lambda f: _date_field(m, f.group(1)), pattern)
    return render(start) + separator + render(end)


def number_range(text: str, step: str, end_shift: str | None = None, separator: str = "-", k: int = 1) -> str:
    """The range of width step holding the k-th number of text, e.g. 47 -> "40-50" (end = start + end_shift)."""
    value = _parse_number(text, k)
    if value is None:
        return ""
    start = (value / Decimal(step)).quantize(Decimal(1), rounding=ROUND_FLOOR) * Decimal(step)
    end = start + Decimal(step if end_shift is None else end_shift)
    return f"{start:f}{separator}{end:f}"


# ---------------------------------------------------------------------------------------------------------
# Operators that instructions compile to (recast_engine.instructions): arithmetic, value maps, empty cells
# ---------------------------------------------------------------------------------------------------------


def _number_cell(text: str) -> Decimal | None:
    """The number a cell holds as a whole ("1,234.50", "$12", "-3"), or None."""
    cleaned = str(text).strip().replace(",", "").lstrip("$€£")
    if not cleaned:
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _plain_decimal(value: Decimal) -> str:
    """A Decimal without exponent or trailing zeros: 59.970 -> "59.97", 37.0 -> "37"."""
    if value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return format(value.normalize(), "f")


def arith(left: str, right: str, operator: str) -> str:
    """left operator right (one of + - * /) on the numbers the cells hold; "" when either is not a number."""
    op = operator
    a, b = _number_cell(left), _number_cell(right)
    if a is None or b is None:
        return ""
    try:
        if op == "+":
            value = a + b
        elif op == "-":
            value = a - b
        elif op == "*":
            value = a * b
        elif op == "/":
            if b == 0:
                return ""
            value = a / b
        else:
            return ""
    except InvalidOperation:
        return ""
    return _plain_decimal(value)


def map_values(text: str, table: dict[str, str]) -> str:
    """The value `table` maps text to; a value it does not list is kept as it is."""
    return table.get(text, text)


def fill_empty(text: str, value: str) -> str:
    """`value` for an empty (or blank) cell, else the cell."""
    return text if str(text).strip() else value
