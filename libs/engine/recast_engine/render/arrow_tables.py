"""Table steps of a vectorized script that run on Arrow record batches: group_rows by Arrow's own group_by.

A group_rows step whose aggregates Arrow computes exactly (rows, count, sum, mean, first, last) is computed per
record batch with `Table.group_by(...).aggregate(...)` (groups in order of first appearance), the partial results
combined per group across batches; the grouped rows (one per group, few) then go through the steps after it and
the output columns row by row, as the per-cell script computes them. Sums are exact: plainly written numbers are
summed as Arrow decimals at the batch's largest scale and written with the decimals of the group's terms, as the
per-cell function's Decimal sum writes them; a file with another kind of number in a summed column (currency
signs, thousands separators, parentheses) is converted row by row by the per-cell script.
"""
from __future__ import annotations

from typing import Any

from recast_engine.dsl.model import Step

GROUP_FUNCTIONS = frozenset({"rows", "count", "sum", "mean", "first", "last"})


def vectorized_grouping(step: Step) -> bool:
    """Whether the vectorized script runs this step through Arrow's group_by."""
    if step.op != "group_rows" or set(step.args) - {"keys", "aggregates", "header", "order"}:
        return False
    keys, aggregates = step.args.get("keys"), step.args.get("aggregates")
    if not isinstance(keys, list) or not keys or not all(type(k) is int and k >= 0 for k in keys):
        return False
    if step.args.get("order", "first") not in ("first", "sorted") or not isinstance(aggregates, list):
        return False
    return all(_vectorized_aggregate(a) for a in aggregates)


def _vectorized_aggregate(aggregate: Any) -> bool:
    if not isinstance(aggregate, dict) or aggregate.get("func") not in GROUP_FUNCTIONS:
        return False
    column = aggregate.get("column", 0)
    return type(column) is int and column >= 0


def grouping_source(step: Step) -> str:
    """The call starting the grouping of a vectorizable group_rows step."""
    aggregates = [{"func": a["func"], "column": a.get("column", 0)} for a in step.args["aggregates"]]
    return (f"GroupedRows(keys={step.args['keys']!r}, aggregates={aggregates!r}, "
            f"header={bool(step.args.get('header', False))}, order={step.args.get('order', 'first')!r})")


GROUP_HELPERS = r'''
SUMMED_NUMBER = r"^\s*-?[0-9]{1,18}(\.[0-9]{1,18})?\s*$"  # numbers summed as Arrow decimals (plainly written)


class GroupedRows:
    """group_rows over record batches: Arrow's group_by per batch, partial results combined per group."""

    def __init__(self, keys, aggregates, header, order):
        self.keys, self.aggregates, self.order = keys, aggregates, order
        self.head_pending, self.head = header, None
        self.groups = {}  # key cells -> one state per aggregate

    def add(self, batch):
        if self.head_pending and batch.num_rows:
            self.head = [column[0].as_py() for column in batch.columns]
            batch, self.head_pending = batch.slice(1), False
        if not batch.num_rows:
            return
        columns = {f"key{i}": input_column(batch, k) for i, k in enumerate(self.keys)}
        columns["row"] = pa.array(range(batch.num_rows), pa.int64())
        wanted = [([], "count_all"), ("row", "min")]
        for j, aggregate in enumerate(self.aggregates):
            func, values = aggregate["func"], input_column(batch, aggregate["column"])
            if func in ("first", "last"):
                columns[f"value{j}"] = values
                wanted.append((f"value{j}", func))
            elif func == "count":
                columns[f"value{j}"] = pc.cast(not_empty(values), pa.int64())
                wanted.append((f"value{j}", "sum"))
            elif func in ("sum", "mean"):
                numbers, places = summed_numbers(values)
                columns[f"value{j}"], columns[f"places{j}"] = numbers, places
                wanted += [(f"value{j}", "sum"), (f"value{j}", "count"), (f"places{j}", "max")]
        keys = [f"key{i}" for i in range(len(self.keys))]
        partial = pa.table(columns).group_by(keys, use_threads=False).aggregate(wanted).to_pydict()
        names = [name for name in partial if name not in keys]
        # the groups in order of their first row in the batch
        for position in sorted(range(len(partial["row_min"])), key=partial["row_min"].__getitem__):
            key = tuple(partial[k][position] for k in keys)
            self.merge(key, {name: partial[name][position] for name in names})

    def merge(self, key, partial):
        states = self.groups.get(key)
        if states is None:
            self.groups[key] = states = [None] * len(self.aggregates)
            states.append(0)
        states[-1] += partial["count_all"]
        for j, aggregate in enumerate(self.aggregates):
            func = aggregate["func"]
            if func == "first":
                states[j] = partial[f"value{j}_first"] if states[j] is None else states[j]
            elif func == "last":
                states[j] = partial[f"value{j}_last"]
            elif func == "count":
                states[j] = (states[j] or 0) + partial[f"value{j}_sum"]
            elif func in ("sum", "mean"):
                total, count, places = states[j] or (decimal.Decimal(0), 0, 0)
                if partial[f"value{j}_count"]:
                    with decimal.localcontext() as exact:
                        exact.prec = 80
                        total += partial[f"value{j}_sum"]
                    count += partial[f"value{j}_count"]
                    places = max(places, partial[f"places{j}_max"])
                states[j] = total, count, places

    def rows(self):
        """The grouped rows, as the per-cell group_rows gives them."""
        out = []
        if self.head is not None:
            names = [cell_of(self.head, k) for k in self.keys]
            names += [cell_of(self.head, a["column"]) if a["func"] not in ("rows", "count") else "count"
                      for a in self.aggregates]
            out.append(names)
        items = list(self.groups.items())
        if self.order == "sorted":
            items.sort(key=lambda item: item[0])
        for key, states in items:
            out.append(list(key) + [self.result(a, state, states[-1]) for a, state in zip(self.aggregates, states)])
        return out

    def result(self, aggregate, state, rows):
        func = aggregate["func"]
        if func == "rows":
            return str(rows)
        if func in ("first", "last", "count"):
            return str(state)
        total, count, places = state
        if not count:
            return ""
        with decimal.localcontext() as exact:
            exact.prec = 80
            total = total.quantize(decimal.Decimal(1).scaleb(-places))
        if len(total.as_tuple().digits) > decimal.getcontext().prec:
            raise RowsDiffer("a sum longer than the per-cell Decimal context holds")
        if func == "sum":
            text = f"{total:f}"
            return text[1:] if text.startswith("-") and not text.strip("-0.") else text
        text = f"{total / count:f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text


def cell_of(row, index):
    return row[index] if index < len(row) else ""


def summed_numbers(values):
    """(the numbers of a column as Arrow decimals at its largest scale, null where a cell is empty; each
    number's decimals); RowsDiffer when a cell holds another kind of number or text (per-cell path)."""
    filled = not_empty(values)
    plain = pc.match_substring_regex(values, SUMMED_NUMBER)
    if not pc.all(pc.or_(plain, pc.invert(filled))).as_py():
        raise RowsDiffer("a summed cell that is not a plainly written number")
    text = pc.if_else(plain, strip_ascii(values), None)
    point = pc.find_substring(text, ".")
    places = pc.if_else(pc.less(point, 0), 0, pc.subtract(pc.subtract(pc.utf8_length(text), point), 1))
    scale = pc.max(places).as_py() or 0
    return pc.cast(text, pa.decimal128(38, scale)), places
'''
