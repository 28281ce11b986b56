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


KERNELS: dict[str, KernelSource] = {
    "upper": _ascii("pc.ascii_upper"),
    "lower": _ascii("pc.ascii_lower"),
    "trim": _ascii("strip_ascii"),
    "concat": _concat,
    "lookup": _lookup,
    "substring": _substring,
    "if_matches": _if_matches,
}



def kernel_source(op: str, args: dict[str, Any], inputs: list[str], is_array: list[bool], per_cell: str) -> str | None:
    mapping = KERNELS.get(op)
    return mapping(args, inputs, is_array, per_cell) if mapping else None
