"""How dates and numbers are written: a spelling names the shape of a value, not the value.

"2024-01-31" and "1999-12-01" share the spelling "YYYY-NN-NN"; "1,234.50" is "9,9.9" and "$12" is "$9". A file
that brings a spelling its training file never had is a file the learned script may not read.
"""
from __future__ import annotations

import re

_DIGITS = re.compile(r"\d+")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_WORD = re.compile(r"\b(" + "|".join(_MONTHS) + r")[a-z]*\.?", re.IGNORECASE)
_NUMBER_LIKE = re.compile(r"^[^\d\s]{0,3}\s?[-+(]?\d[\d,.' ]*\)?\s?[^\d\s]{0,3}$")
_DATE_PARTS = re.compile(r"^(\d{1,4})[-/.](\d{1,2})[-/.](\d{1,4})")
_TEXT_DATE = re.compile(
    r"^(?:[A-Za-z]+,?\s+)?(?:(\d{1,2})\s+(MON)|(MON)\s+(\d{1,2}),?)\s+(\d{4})$"
)


def date_spelling(value: str) -> str:
    """The shape of a date: 4-digit runs are YYYY, other digit runs NN, month names MON."""
    text = _MONTH_WORD.sub("MON", value.strip())

    def digits(match: re.Match[str]) -> str:
        return "YYYY" if len(match.group()) == 4 else "NN"

    return _DIGITS.sub(digits, text)


def is_text_date(value: str) -> bool:
    """A date written with a month name ("Jan 5, 2024", "5 March 2024")."""
    return _TEXT_DATE.match(_MONTH_WORD.sub("MON", value.strip())) is not None


def date_fields(value: str) -> tuple[int, int, int] | None:
    """(year, a, b) of a numeric date: year first "Y-a-b", or year last "a/b/Y" (a, b in the order written).

    Two-digit years are read 2000-2069 and 1970-1999. None when it is not one of those shapes."""
    match = _DATE_PARTS.match(value.strip())
    if match:
        first, second, third = match.groups()
        if len(first) == 4:
            return int(first), int(second), int(third)
        if len(third) in (2, 4):
            year = int(third)
            if len(third) == 2:
                year += 2000 if year < 70 else 1900
            return year, int(first), int(second)
        return None
    text = _MONTH_WORD.sub(lambda m: f"MON{_MONTHS.index(m.group(1).lower()[:3]) + 1}", value.strip())
    match = re.match(r"^(?:[A-Za-z]+,?\s+)?(?:(\d{1,2})\s+MON(\d+)|MON(\d+)\s+(\d{1,2}),?)\s+(\d{4})$", text)
    if match:
        day1, month1, month2, day2, year_text = match.groups()
        month, day = (month1, day1) if month1 else (month2, day2)
        return int(year_text), int(month), int(day)
    return None


_TO_NINES = str.maketrans("0123456789", "9999999999")
SHAPES_CACHED = 20_000


def shape(text: str) -> str:
    """The text with every ASCII digit as 9: kinds and spellings depend on nothing else, so they are cached by it."""
    return text.translate(_TO_NINES)


def number_spelling(value: str) -> str | None:
    """The shape of a written number, digit runs as 9 ("1,234.50" -> "9,9.9", "12%" -> "9%"), else None."""
    text = value.strip()
    if not text or not _NUMBER_LIKE.match(text):
        return None
    return _DIGITS.sub("9", text)
