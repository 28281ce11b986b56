"""Which cell operators have an exact pyarrow.compute equivalent, and its source text in a vectorized script.

`kernel_source(op, args, inputs)` returns the source of an expression computing the operator over whole Arrow
arrays, given the source of its inputs (string arrays, or string scalars for constants), or None when the operator
has no kernel or no exact one for these arguments: the script then calls the per-cell function for that part.
An operator unknown here (a new one) simply has no kernel.

Exactness is the rule, not speed: Python's str methods use full Unicode case mapping and whitespace, Arrow's
utf8 kernels do not, so the case and trim kernels are the ASCII ones, applied by `where_ascii` to batches whose
values are all ASCII (the script's helper calls the per-cell function otherwise).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from recast_engine.runtime.arith import _amount

# (the operator's arguments, its inputs' source, which inputs are arrays (else scalars), the name of the
# operator's per-cell function in the script) -> source, or None
KernelSource = Callable[[dict[str, Any], list[str], list[bool], str], str | None]


def _ascii(kernel: str) -> KernelSource:
    def source(args: dict[str, Any], inputs: list[str], is_array: list[bool], per_cell: str) -> str | None:
        if args or len(inputs) != 1 or not is_array[0]:
            return None
        return f"where_ascii({inputs[0]}, {kernel}, {per_cell})"

    return source


def _concat(args: dict[str, Any], inputs: list[str], is_array: list[bool], per_cell: str) -> str | None:
    if args or not inputs:
        return None
    if len(inputs) == 1:
        return inputs[0]
    return f'pc.binary_join_element_wise({", ".join(inputs)}, "")'


def _lookup(args: dict[str, Any], inputs: list[str], is_array: list[bool], per_cell: str) -> str | None:
    table, default = args.get("table"), args.get("default", "")
    if set(args) - {"table", "default"} or len(inputs) != 1 or not is_array[0] or not isinstance(table, dict):
        return None
    if not all(isinstance(v, str) for v in [*table, *table.values(), default]):
        return None
    return f"lookup_in({inputs[0]}, {table!r}, {default!r})"


def _substring(args: dict[str, Any], inputs: list[str], is_array: list[bool], per_cell: str) -> str | None:
    """Only positions by index: text[a:b] with a = k or len + 1 + k for k < 0, "" when out of range."""
    start, end = args.get("start"), args.get("end")
    if set(args) != {"start", "end"} or len(inputs) != 1 or not is_array[0]:
        return None
    if not all(isinstance(p, dict) and set(p) == {"index"} and type(p["index"]) is int for p in (start, end)):
        return None
    assert isinstance(start, dict) and isinstance(end, dict)
    return f"substring_by_index({inputs[0]}, {start['index']}, {end['index']})"


# Regular expressions whose meaning is the same under Python's re and RE2 on printable ASCII text without
# newlines: no groups with (?...), back references, Python-only escapes or {,n}.
_PORTABLE_PATTERN = re.compile(r"(?:[^\\(]|\\[dDwWsSbB.^$*+?()\[\]{}|\\/-]|\((?!\?))*")


def portable_pattern(pattern: str) -> bool:
    """Whether the pattern means the same under Python's re and RE2 (on printable ASCII text)."""
    if not _PORTABLE_PATTERN.fullmatch(pattern) or any(s in pattern for s in ("{,", "[:", "[[")):
        return False
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


def _if_matches(args: dict[str, Any], inputs: list[str], is_array: list[bool], per_cell: str) -> str | None:
    pattern = args.get("pattern", "")
    if set(args) - {"pattern"} or len(inputs) != 3 or not is_array[0] or not isinstance(pattern, str):
        return None
    if not portable_pattern(pattern):
        return None
    return f"if_matches_printable({', '.join(inputs)}, {pattern!r}, {per_cell})"


# Numbers written plainly: the kernels compute on them exactly, as integers at a common scale (int64, checked for
# overflow; within 12 + 6 digits, where Decimal's 28-digit context is exact too). Other values: per row.
_PLAIN_NUMBER = re.compile(r"-?[0-9]{1,12}(\.[0-9]{1,6})?")


def _plain_constant(value: Any) -> bool:
    return isinstance(value, str) and _PLAIN_NUMBER.fullmatch(value) is not None


def _partial(per_cell: str, args: dict[str, Any]) -> str:
    if not args:
        return per_cell
    keywords = ", ".join(f"{k}={v!r}" for k, v in args.items())
    return f"functools.partial({per_cell}, {keywords})"


def _arithmetic(writer: str) -> KernelSource:
    """combine / arith: left op right for + - * (a division keeps the per-cell function)."""

    def source(args: dict[str, Any], inputs: list[str], is_array: list[bool], per_cell: str) -> str | None:
        operator = args.get("operator")
        if set(args) != {"operator"} or operator not in ("+", "-", "*") or len(inputs) != 2 or not any(is_array):
            return None
        return (f"numeric({_partial(per_cell, args)}, [{', '.join(inputs)}], "
                f"lambda a, b: write_number(combine_fixed(a, b, {operator!r})), "
                f"negative_zero={writer == 'plain_decimal'})")

    return source


def _linear(args: dict[str, Any], inputs: list[str], is_array: list[bool], per_cell: str) -> str | None:
    weights, offset = args.get("weights"), args.get("offset", "0")
    if set(args) - {"weights", "offset"} or not isinstance(weights, list) or len(weights) != len(inputs):
        return None
    if not inputs or not any(is_array) or not all(_plain_constant(w) for w in [*weights, offset]):
        return None
    return (f"numeric({_partial(per_cell, args)}, [{', '.join(inputs)}], "
            f"lambda *values: write_number(linear_fixed(values, {weights!r}, {offset!r})))")


_FORMAT_DEFAULTS: dict[str, Any] = {
    "k": 1, "scale": "1", "step": "0", "mode": "half_up", "shift": "0", "decimals": None, "min_decimals": 0,
    "trim_zeros": False, "int_digits": 0, "thousands": "", "point": ".", "int_fill": "0", "fraction_width": 0,
    "indian_grouping": False,
}


def _format_keywords(args: dict[str, Any]) -> str | None:
    """format_fixed's keyword arguments for these format_number arguments, or None (no exact kernel): a step
    (rounding to a multiple) keeps the per-cell path."""
    if set(args) - set(_FORMAT_DEFAULTS):
        return None
    a = {**_FORMAT_DEFAULTS, **args}
    decimals = a["decimals"]
    if a["k"] not in (1, -1) or a["step"] != "0" or not _plain_constant(a["scale"]) or not _plain_constant(a["shift"]):
        return None
    if decimals is not None and (type(decimals) is not int or not 0 <= decimals <= 12):
        return None
    if not all(isinstance(a[k], str) for k in ("point", "thousands", "int_fill")) or len(a["int_fill"]) != 1:
        return None
    if a["indian_grouping"] and a["thousands"] or "\\" in a["thousands"] or re.search(r"\d", a["thousands"]):
        return None
    if not all(type(a[k]) is int and 0 <= a[k] <= 64 for k in ("min_decimals", "int_digits", "fraction_width")):
        return None
    options = {k: a[k] for k in ("scale", "shift", "decimals", "min_decimals", "trim_zeros", "int_digits",
                                 "thousands", "point", "int_fill", "fraction_width")}
    return ", ".join(f"{k}={v!r}" for k, v in options.items())


def _format_number(args: dict[str, Any], inputs: list[str], is_array: list[bool], per_cell: str) -> str | None:
    """format_number of one plainly written number: scaled, shifted, rounded half-up to `decimals` or written with
    the digits the arithmetic gives, padded and grouped."""
    keywords = _format_keywords(args)
    if keywords is None or len(inputs) != 1 or not is_array[0]:
        return None
    return (f"numeric({_partial(per_cell, args)}, [{inputs[0]}], "
            f"lambda value: format_fixed(value, {keywords}))")


FUSED = ("combine", "arith", "linear")


def fused_format_source(args: dict[str, Any], inner: str, inner_args: dict[str, Any], inputs: list[str],
                        is_array: list[bool], per_cell: str, inner_per_cell: str) -> str | None:
    """format_number(combine | arith | linear(...)) as one kernel: the arithmetic's exact result is formatted
    without being written and read again. Only where the text in between does not matter: a fixed number of
    decimals, or trailing zeros trimmed (its own decimals are those of the text, not of the exact result)."""
    keywords = _format_keywords(args)
    a = {**_FORMAT_DEFAULTS, **args}
    if keywords is None or a["decimals"] is None and not a["trim_zeros"] or not inputs or not any(is_array):
        return None
    if inner == "linear":
        weights, offset = inner_args.get("weights"), inner_args.get("offset", "0")
        if set(inner_args) - {"weights", "offset"} or not isinstance(weights, list) or len(weights) != len(inputs):
            return None
        if not all(_plain_constant(w) for w in [*weights, offset]):
            return None
        value = f"linear_fixed(values, {weights!r}, {offset!r})"
    else:
        operator = inner_args.get("operator")
        if set(inner_args) != {"operator"} or operator not in ("+", "-", "*") or len(inputs) != 2:
            return None
        value = f"combine_fixed(*values, {operator!r})"
    function = f"composed({_partial(per_cell, args)}, {_partial(inner_per_cell, inner_args)})"
    return f"numeric({function}, [{', '.join(inputs)}], lambda *values: format_fixed({value}, {keywords}))"


def _if_cell(args: dict[str, Any], inputs: list[str], is_array: list[bool], per_cell: str) -> str | None:
    """if_cell: the test by kernels (text tests exactly; number tests on plainly written numbers, the other rows
    by the per-cell function)."""
    test, value, as_, missing = (args.get(k, d) for k, d in (("test", None), ("value", ""), ("as_", "text"),
                                                                ("missing", "")))
    if set(args) - {"test", "value", "as_", "missing"} or len(inputs) != 3 or not is_array[0]:
        return None
    if not isinstance(value, str) or not isinstance(missing, str):
        return None
    text, then_value, else_value = inputs
    tests = {"empty": f"pc.invert(not_empty({text}))", "filled": f"not_empty({text})",
             "contains": f"pc.match_substring({text}, {value!r})", "starts": f"pc.starts_with({text}, {value!r})"}
    if test in tests:
        return f"pc.if_else({tests[test]}, {then_value}, {else_value})"
    comparisons = {"eq": "pc.equal", "ne": "pc.not_equal", "lt": "pc.less", "le": "pc.less_equal",
                   "gt": "pc.greater", "ge": "pc.greater_equal"}
    if test not in comparisons:
        return None
    if as_ != "number":
        return f"pc.if_else({comparisons[test]}({text}, {value!r}), {then_value}, {else_value})"
    number = _amount(value)
    if number is None or not _plain_constant(f"{number:f}"):
        return None
    return (f"if_number({text}, {then_value}, {else_value}, {test!r}, {f'{number:f}'!r}, {missing!r}, "
            f"{_partial(per_cell, args)})")


KERNELS: dict[str, KernelSource] = {
    "upper": _ascii("pc.ascii_upper"),
    "lower": _ascii("pc.ascii_lower"),
    "trim": _ascii("strip_ascii"),
    "concat": _concat,
    "lookup": _lookup,
    "substring": _substring,
    "if_matches": _if_matches,
    "combine": _arithmetic("written"),
    "arith": _arithmetic("plain_decimal"),
    "linear": _linear,
    "format_number": _format_number,
    "if_cell": _if_cell,
}


def kernel_source(op: str, args: dict[str, Any], inputs: list[str], is_array: list[bool], per_cell: str) -> str | None:
    mapping = KERNELS.get(op)
    return mapping(args, inputs, is_array, per_cell) if mapping else None


# The vectorized script's helpers for the numeric kernels (pasted into it after its own helpers).
NUMBER_HELPERS = r'''
PLAIN_NUMBER = r"^-?[0-9]{1,12}(\.[0-9]{1,6})?$"  # numbers the kernels compute on (exactly, as integers)


def composed(outer, inner):
    """outer(inner(*cells)): a per-cell expression of two operators, for the rows a fused kernel leaves."""
    return lambda *cells: outer(inner(*cells))


def as_column(value, rows):
    """A string column: the value itself, or a constant on every row."""
    if isinstance(value, pa.Scalar):
        return pa.array([value.as_py()] * rows, pa.string())
    return value


def numeric(function, columns, kernel, negative_zero=False):
    """kernel over the rows whose values are all plainly written numbers, "" where a value is empty, function
    (the per-cell operator) on the other rows; negative_zero: a zero from an input written with "-" (Decimal's
    -0) is left to function as well."""
    rows = next((len(c) for c in columns if not isinstance(c, pa.Scalar)), 1)
    columns = [as_column(c, rows) for c in columns]
    plain = functools.reduce(pc.and_, [pc.match_substring_regex(c, PLAIN_NUMBER) for c in columns])
    empty = functools.reduce(pc.or_, [pc.equal(c, "") for c in columns])
    by_row = pc.invert(pc.or_(plain, empty))
    result = pc.utf8_slice_codeunits(columns[0], 0, 0)
    if pc.any(plain).as_py():
        try:
            text = kernel(*[fixed(pc.if_else(plain, c, "0")) for c in columns])
            result = pc.if_else(plain, text, result)
            if negative_zero:
                signed = functools.reduce(pc.or_, [pc.starts_with(c, "-") for c in columns])
                by_row = pc.or_(by_row, pc.and_(pc.and_(plain, pc.equal(text, "0")), signed))
        except pa.ArrowInvalid:  # an overflow of the integers: every row by the per-cell function
            by_row = pc.invert(empty)
    if pc.any(by_row).as_py():
        chosen = pc.indices_nonzero(by_row)
        values = [pc.take(c, chosen).to_pylist() for c in columns]
        computed = pa.array([function(*row) for row in zip(*values)], pa.string())
        result = pc.replace_with_mask(result, by_row, computed)
    return result


def fixed(column):
    """A column of plainly written numbers as (integers at the column's largest scale, that scale, each value's
    own number of decimals: its Decimal exponent)."""
    point = pc.find_substring(column, ".")
    places = pc.if_else(pc.less(point, 0), 0, pc.subtract(pc.subtract(pc.utf8_length(column), point), 1))
    places = pc.cast(places, pa.int64())
    scale = pc.max(places).as_py() or 0
    units = pc.cast(pc.replace_substring(column, ".", ""), pa.int64())
    return pc.multiply_checked(units, pc.power(10, pc.subtract(scale, places))), scale, places


def if_number(text, then_value, else_value, test, value, missing, function):
    """if_cell with a number test: kernels on plainly written numbers, `missing` for an empty cell, function
    (the per-cell operator) on the other rows."""
    held = number_comparison(text, test, pa.scalar(value))
    result = pc.if_else(held, then_value, else_value)
    result = pc.if_else(pc.equal(text, ""), missing, result)
    undecided = pc.is_null(result)
    if pc.any(undecided).as_py():
        chosen = pc.indices_nonzero(undecided)
        columns = [pc.take(as_column(c, len(text)), chosen).to_pylist() for c in (text, then_value, else_value)]
        computed = pa.array([function(*row) for row in zip(*columns)], pa.string())
        result = pc.replace_with_mask(result, undecided, computed)
    return result


def constant_fixed(text):
    """A plainly written constant as (its integer, its scale, its decimals), scalars."""
    whole, _, fraction = text.partition(".")
    return pa.scalar(int(whole + fraction), pa.int64()), len(fraction), pa.scalar(len(fraction), pa.int64())


def rescaled(units, scale, to):
    return units if to == scale else pc.multiply_checked(units, 10 ** (to - scale))


def combine_fixed(a, b, operator):
    """a + b, a - b or a * b, exactly; the decimals each result has as a Decimal."""
    (units_a, scale_a, places_a), (units_b, scale_b, places_b) = a, b
    if operator == "*":
        return pc.multiply_checked(units_a, units_b), scale_a + scale_b, pc.add(places_a, places_b)
    scale = max(scale_a, scale_b)
    kernel = pc.add_checked if operator == "+" else pc.subtract_checked
    units = kernel(rescaled(units_a, scale_a, scale), rescaled(units_b, scale_b, scale))
    return units, scale, pc.max_element_wise(places_a, places_b)


def linear_fixed(values, weights, offset):
    """offset + sum(weight * value), exactly."""
    total = constant_fixed(offset)
    for value, weight in zip(values, weights):
        total = combine_fixed(total, combine_fixed(constant_fixed(weight), value, "*"), "+")
    return total


def digits_of(units, scale):
    """(negative, the integer part's digits, the fraction's `scale` digits) of integers at a scale."""
    negative = pc.less(units, 0)
    digits = pc.cast(pc.abs_checked(units), pa.string())
    if not scale:
        return negative, digits, pc.utf8_slice_codeunits(digits, 0, 0)
    digits = pc.utf8_lpad(digits, scale + 1, "0")
    return negative, pc.utf8_slice_codeunits(digits, 0, -scale), pc.utf8_slice_codeunits(digits, -scale)


DECIMAL_DIGITS = 18  # digits of a decimal64 (integers of more digits are written by digits_of)


def decimal_text(units, scale):
    """Integers at a scale written as "-123.45" (the sign of negative values only, `scale` decimals): Arrow's own
    decimal to text cast, of the integers' buffer read as decimal64 (no copy)."""
    bound, extremes = 10**DECIMAL_DIGITS - 1, pc.min_max(units).as_py()
    if units.null_count or extremes["max"] is not None and (extremes["max"] > bound or extremes["min"] < -bound):
        negative, whole, fraction = digits_of(units, scale)
        text = with_fraction(whole, ".", fraction)
        return pc.if_else(negative, pc.binary_join_element_wise("-", text, ""), text)
    if not scale:
        return pc.cast(units, pa.string())
    numbers = pa.Array.from_buffers(pa.decimal64(DECIMAL_DIGITS, scale), len(units), units.buffers(), 0, units.offset)
    return pc.cast(numbers, pa.string())


def with_fraction(whole, point, fraction):
    """whole, then point and the fraction when there is one."""
    joined = pc.binary_join_element_wise(whole, point, fraction, "")
    return pc.if_else(pc.equal(fraction, ""), whole, joined)


def write_number(value):
    """Numbers written in full without trailing zeros ("370.35", "-2", "0")."""
    units, scale, _ = value
    text = decimal_text(units, scale)
    if not scale:
        return text
    return pc.ascii_rtrim(pc.ascii_rtrim(text, characters="0"), characters=".")


def round_half_up(units, scale, decimals):
    """Integers at `scale` rounded half away from zero (Decimal's ROUND_HALF_UP) to `decimals`."""
    if decimals >= scale:
        return rescaled(units, scale, decimals)
    step = 10 ** (scale - decimals)
    magnitude = pc.divide(pc.add_checked(pc.abs_checked(units), step // 2), step)
    return pc.if_else(pc.less(units, 0), pc.negate(magnitude), magnitude)


def first_characters(text, counts):
    """text[:count] row by row (few distinct counts)."""
    out = text
    for count in pc.unique(counts).to_pylist():
        out = pc.if_else(pc.equal(counts, count), pc.utf8_slice_codeunits(text, 0, count), out)
    return out


def group_thousands(whole, separator, leading_zeros=True):
    """Digits grouped by three from the right. Without leading zeros (but "0" itself): the digits padded to
    whole groups with zeros, sliced and joined, the padding trimmed; with them, by regular expressions."""
    if leading_zeros:
        backwards = pc.replace_substring_regex(pc.utf8_reverse(whole), "([0-9]{3})", "\\1" + separator[::-1])
        return pc.utf8_reverse(pc.replace_substring_regex(backwards, re.escape(separator[::-1]) + "$", ""))
    width = -(-(pc.max(pc.binary_length(whole)).as_py() or 0) // 3) * 3
    if width <= 3:
        return whole
    padded = pc.ascii_lpad(whole, width, "0")
    groups = [pc.utf8_slice_codeunits(padded, k, k + 3) for k in range(0, width, 3)]
    trim = pc.ascii_ltrim if separator.isascii() else pc.utf8_ltrim
    grouped = trim(pc.binary_join_element_wise(*groups, separator), characters="0" + separator)
    return pc.if_else(pc.equal(grouped, ""), whole, grouped)


def format_fixed(value, scale, shift, decimals, min_decimals, trim_zeros, int_digits, thousands, point, int_fill,
                 fraction_width):
    """format_number (cells) of plainly written numbers, without a rounding step."""
    if scale != "1":
        value = combine_fixed(value, constant_fixed(scale), "*")
    if shift != "0":
        value = combine_fixed(value, constant_fixed(shift), "+")
    units, scale, places = value
    if point == "." and not (int_digits or thousands or fraction_width):
        if decimals is not None:
            return decimal_text(round_half_up(units, scale, decimals), decimals)
        if trim_zeros and scale <= min_decimals:
            # trimmed, then padded back to min_decimals: the digits at min_decimals
            return decimal_text(rescaled(units, scale, min_decimals), min_decimals)
    if decimals is not None:
        negative, whole, fraction = digits_of(round_half_up(units, scale, decimals), decimals)
    else:
        negative, whole, fraction = digits_of(units, scale)
        if trim_zeros:
            fraction = pc.utf8_rtrim(fraction, characters="0")
        else:
            fraction = first_characters(fraction, places)
        if min_decimals:
            fraction = pc.utf8_rpad(fraction, min_decimals, "0")
    if int_fill == "0" and int_digits:
        whole = pc.utf8_lpad(whole, int_digits, "0")
    if thousands:
        whole = group_thousands(whole, thousands, leading_zeros=int_fill == "0" and int_digits > 1)
    whole = pc.if_else(negative, pc.binary_join_element_wise("-", whole, ""), whole)
    if int_fill != "0" and int_digits:
        whole = pc.utf8_lpad(whole, int_digits, int_fill)
    if fraction_width:
        return pc.binary_join_element_wise(whole, point, pc.utf8_rpad(fraction, fraction_width, " "), "")
    return with_fraction(whole, point, fraction)
'''
