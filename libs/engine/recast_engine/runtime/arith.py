"""Arithmetic and conditional cell operators: numbers read from cells, combined, compared, banded.

Every operator is total: a cell that does not read as a number gives "" (never an exception). Numbers are
computed exactly with Decimal and written in full (`format_number` of the cells module rounds and formats them).
"""
from __future__ import annotations

import datetime
import re
from decimal import Decimal, InvalidOperation, localcontext
from typing import TypeVar

# An amount as people write it: sign, currency, thousands separators, parentheses for negatives.
_AMOUNT = re.compile(
    r"^\s*([-+(]?)\s*[$€£¥]?\s*([-+]?)\s*(\d[\d,. ']*\d|\d)?(\.\d+|,\d+)?\s*\)?\s*(?:[A-Za-z$€£¥%]{0,3})\s*$"
)


_Ordered = TypeVar("_Ordered", Decimal, str)  # numbers compare with numbers, text with text

_PLAIN = re.compile(r"[+-]?\d+(\.\d*)?|[+-]?\.\d+")


def _amount(text: str) -> Decimal | None:
    """The number written in text: "1,234.56", "-$1,197.67", "(45.00)", "1.234,56", "12 %" (or None)."""
    text = str(text).strip()
    if _PLAIN.fullmatch(text):
        return Decimal(text)
    return _amount_written(text) if text else None


def _amount_written(text: str) -> Decimal | None:
    m = _AMOUNT.match(text)
    if m is None or not (m.group(3) or m.group(4)):
        return None
    sign = "-" if (m.group(1) in ("-", "(") or m.group(2) == "-") else ""
    body = (m.group(3) or "") + (m.group(4) or "")
    body = body.replace(" ", "").replace("'", "")
    if "," in body and "." in body:
        # the separator written last is the decimal point
        if body.rfind(",") > body.rfind("."):
            body = body.replace(".", "").replace(",", ".")
        else:
            body = body.replace(",", "")
    elif "," in body:
        fraction = body.rpartition(",")[2]
        # "1,234" and "1,234,567" group thousands; "3,5" has a decimal comma
        body = body.replace(",", ".") if body.count(",") == 1 and len(fraction) != 3 else body.replace(",", "")
    elif body.count(".") > 1:
        body = body.replace(".", "")
    try:
        return Decimal(sign + body)
    except InvalidOperation:
        return None


def _written(value: Decimal) -> str:
    """A Decimal in plain notation, without an exponent and without trailing zeros after the point."""
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def amount(text: str) -> str:
    """The number written in text, in plain notation ("-$1,197.67" -> "-1197.67", "1.234,56" -> "1234.56")."""
    value = _amount(text)
    return "" if value is None else _written(value)


def linear(*values: str, weights: list[str], offset: str = "0", divisor: str = "1") -> str:
    """(sum(weight_i * value_i) + offset) / divisor over the numbers of the cells ("" when one is not a number);
    the divisor keeps a conversion such as (F - 32) / 1.8 exact where 0.5556 * F - 17.78 is not."""
    total = Decimal(offset)
    for text, weight in zip(values, weights):
        number = _amount(text)
        if number is None:
            return ""
        total += Decimal(weight) * number
    if divisor != "1":
        with localcontext() as ctx:
            ctx.prec = 34
            total = total / Decimal(divisor)
    return _written(total)


def combine(left: str, right: str, operator: str) -> str:
    """left operator right, the operator one of + - * / (a division by zero, like a non-number, gives "")."""
    a, b = _amount(left), _amount(right)
    if a is None or b is None:
        return ""
    with localcontext() as ctx:
        ctx.prec = 34
        if operator == "+":
            return _written(a + b)
        if operator == "-":
            return _written(a - b)
        if operator == "*":
            return _written(a * b)
        if operator == "/":
            return "" if b == 0 else _written(a / b)
    return ""


def _date(text: str, formats: list[str]) -> datetime.datetime | None:
    text = text.strip()
    for fmt in formats:
        try:
            return datetime.datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def date_difference(later: str, earlier: str, formats: list[str], unit: str = "days") -> str:
    """later - earlier in whole days, or whole years (birthdays passed), or months ("" when not dates)."""
    a, b = _date(later, formats), _date(earlier, formats)
    if a is None or b is None:
        return ""
    if unit == "days":
        return str((a.date() - b.date()).days)
    months = (a.year - b.year) * 12 + a.month - b.month - (1 if a.day < b.day else 0)
    if unit == "months":
        return str(months)
    return str(int(months / 12))


def _compare(number: _Ordered, test: str, value: _Ordered) -> bool:
    if test == "lt":
        return number < value
    if test == "le":
        return number <= value
    if test == "gt":
        return number > value
    if test == "ge":
        return number >= value
    if test == "eq":
        return number == value
    return number != value


def band(text: str, cuts: list[str], labels: list[str], missing: str = "") -> str:
    """The label of the band holding the number in text: labels[i] for cuts[i-1] <= x < cuts[i] (len(labels) ==
    len(cuts) + 1); `missing` when text is not a number."""
    number = _amount(text)
    if number is None:
        return missing
    for cut, label in zip(cuts, labels):
        if number < Decimal(cut):
            return label
    return labels[-1]


def digits(text: str) -> str:
    """Only the digits of text ("(555) 123-4567" -> "5551234567")."""
    return "".join(ch for ch in text if ch.isdigit())


def collapse_spaces(text: str) -> str:
    """Runs of white space as one space, none at either end."""
    return " ".join(text.split())


def _test_holds(text: str, test: str, value: str, as_: str) -> bool | None:
    """Whether text passes the test against value (None when a number or date test meets a non-number)."""
    if test == "empty":
        return not text.strip()
    if test == "filled":
        return bool(text.strip())
    if test == "contains":
        return value in text
    if test == "starts":
        return text.startswith(value)
    if as_ == "number":
        left, right = _amount(text), _amount(value)
        if left is None or right is None:
            return None
        return _compare(left, test, right)
    return _compare(text, test, value)


def if_cell(text: str, then_value: str, else_value: str, test: str, value: str = "", as_: str = "text",
            missing: str = "") -> str:
    """then_value when text passes the test (eq ne lt le gt ge against value, as a number or as text; empty,
    filled, contains, starts), else else_value; `missing` when a number test meets a cell that is no number."""
    held = _test_holds(text, test, value, as_)
    if held is None:
        return missing
    return then_value if held else else_value
