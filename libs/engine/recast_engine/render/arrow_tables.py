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

import re
from typing import Any

from recast_engine.dsl.model import Step
from recast_engine.runtime.relational import _number

_COMPARISONS = {"eq": "pc.equal", "ne": "pc.not_equal", "lt": "pc.less", "le": "pc.less_equal", "gt": "pc.greater",
                "ge": "pc.greater_equal"}
_PLAIN_CONSTANT = re.compile(r"-?[0-9]{1,12}(\.[0-9]{1,6})?")


def _column(index: Any) -> str | None:
    return f"input_column(batch, {index})" if type(index) is int and index >= 0 else None


def predicate_source(where: Any) -> str | None:
    """A filter_rows predicate as source of a mask over a batch: True / False where kernels decide it exactly,
    null where the row is left to the per-cell function (a date, a number written otherwise than plainly);
    None when the predicate has a shape this does not know."""
    if not isinstance(where, dict):
        return None
    for combinator, kernel in (("all", "pc.and_kleene"), ("any", "pc.or_kleene")):
        if combinator in where:
            parts = where[combinator]
            if set(where) != {combinator} or not isinstance(parts, list) or not parts:
                return None
            sources = [predicate_source(p) for p in parts]
            if any(s is None for s in sources):
                return None
            return f"functools.reduce({kernel}, [{', '.join(str(s) for s in sources)}])"
    if "not" in where:
        inner = predicate_source(where["not"]) if set(where) == {"not"} else None
        return None if inner is None else f"pc.invert({inner})"
    return _leaf_source(where)


def _leaf_source(where: dict[str, Any]) -> str | None:
    column, test = _column(where.get("column")), where.get("test")
    if column is None or set(where) - {"column", "test", "value", "values", "other", "as", "formats"}:
        return None
    if test == "empty":
        return f"pc.invert(not_empty({column}))"
    if test == "filled":
        return f"not_empty({column})"
    if test == "in":
        values = where.get("values")
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            return None
        return f"pc.is_in({column}, value_set=pa.array({values!r}, pa.string()))"
    value = where.get("value")
    if test in ("contains", "starts", "ends"):
        kernel = {"contains": "pc.match_substring", "starts": "pc.starts_with", "ends": "pc.ends_with"}[test]
        return f"{kernel}({column}, {value!r})" if isinstance(value, str) else None
    if test not in _COMPARISONS:
        return None
    as_ = where.get("as", "text")
    if "other" in where:
        right = _column(where["other"])
    else:
        right = f"pa.scalar({value!r})" if isinstance(value, str) else None
    if right is None:
        return None
    if as_ == "text":
        return f"{_COMPARISONS[test]}({column}, {right})"
    if as_ != "number":
        return f"undecided({column})"
    if "other" not in where:
        assert isinstance(value, str)
        number = _number(value)
        if number is None:  # no row passes a comparison with what is no number
            return f"pc.not_equal({column}, {column})"
        if not _PLAIN_CONSTANT.fullmatch(f"{number:f}"):
            return f"undecided({column})"
        right = f"pa.scalar({f'{number:f}'!r})"
    return f"number_comparison({column}, {test!r}, {right})"

GROUP_FUNCTIONS = frozenset({"rows", "count", "sum", "mean", "first", "last"})


def vectorized_grouping(step: Step) -> bool:
    """Whether the vectorized script runs this step through Arrow's group_by."""
    if step.op != "group_rows" or set(step.args) - {"keys", "aggregates", "header", "order", "sort_as"}:
        return False
    if not _readings(step.args.get("sort_as") or []):
        return False
    keys, aggregates = step.args.get("keys"), step.args.get("aggregates")
    if not isinstance(keys, list) or not keys or not all(type(k) is int and k >= 0 for k in keys):
        return False
    if step.args.get("order", "first") not in ("first", "sorted") or not isinstance(aggregates, list):
        return False
    return all(_vectorized_aggregate(a) for a in aggregates)


def _readings(sort_as: Any) -> bool:
    """Whether group_rows' sort_as is a list of readings the grouped rows can be sorted by."""
    if not isinstance(sort_as, list):
        return False
    for read in sort_as:
        if not isinstance(read, dict) or set(read) - {"as", "formats"} or read.get("as", "text") not in AS_KINDS:
            return False
        formats = read.get("formats", [])
        if not isinstance(formats, list) or not all(isinstance(f, str) for f in formats):
            return False
    return True


def _vectorized_aggregate(aggregate: Any) -> bool:
    if not isinstance(aggregate, dict) or aggregate.get("func") not in GROUP_FUNCTIONS:
        return False
    column = aggregate.get("column", 0)
    return type(column) is int and column >= 0


def vectorized_sorting(step: Step) -> bool:
    """Whether the vectorized script sorts this sort_by step with Arrow (stable, missing values last)."""
    keys = step.args.get("keys")
    if step.op != "sort_by" or set(step.args) - {"keys", "header"} or not isinstance(keys, list) or not keys:
        return False
    for key in keys:
        if not isinstance(key, dict) or set(key) - {"column", "as", "formats", "descending"}:
            return False
        if type(key.get("column")) is not int or key["column"] < 0 or key.get("as", "text") not in AS_KINDS:
            return False
        formats = key.get("formats", [])
        if not isinstance(formats, list) or not all(isinstance(f, str) for f in formats):
            return False
        if not isinstance(key.get("descending", False), bool):
            return False
    return True


AS_KINDS = ("text", "number", "date")


def collecting_source(step: Step, number: str, moment: str) -> str:
    """The call starting the step that collects the batches: a group_rows (GroupedRows) or a sort_by
    (SortedRows, reading numbers and dates with the per-cell script's own functions `number` and `moment`)."""
    if step.op == "sort_by":
        keys = [{"column": k["column"], "as": k.get("as", "text"), "formats": k.get("formats", []),
                 "descending": k.get("descending", False)} for k in step.args["keys"]]
        return (f"SortedRows(keys={keys!r}, header={bool(step.args.get('header', False))}, "
                f"number={number}, moment={moment})")
    return grouping_source(step, number, moment)


def grouping_source(step: Step, number: str, moment: str) -> str:
    """The call starting the grouping of a vectorizable group_rows step (its groups sorted by keys read with the
    per-cell script's `number` and `moment`)."""
    aggregates = [{"func": a["func"], "column": a.get("column", 0)} for a in step.args["aggregates"]]
    sort_as = [{"as": r.get("as", "text"), "formats": r.get("formats", [])} for r in step.args.get("sort_as") or []]
    return (f"GroupedRows(keys={step.args['keys']!r}, aggregates={aggregates!r}, "
            f"header={bool(step.args.get('header', False))}, order={step.args.get('order', 'first')!r}, "
            f"sort_as={sort_as!r}, number={number}, moment={moment})")


GROUP_HELPERS = r'''
def undecided(column):
    """A mask of nulls: every row is left to the per-cell function."""
    return pa.nulls(len(column), pa.bool_())


def number_comparison(left, test, right):
    """left test right as numbers (right: a column or a plainly written number): decided where both are plainly
    written numbers, False where one is empty (no number), null (per row) elsewhere."""
    rows = len(left)
    right = as_column(right, rows)
    plain = pc.and_(pc.match_substring_regex(left, PLAIN_NUMBER), pc.match_substring_regex(right, PLAIN_NUMBER))
    empty = pc.or_(pc.equal(left, ""), pc.equal(right, ""))
    units_left, scale_left, _ = fixed(pc.if_else(plain, left, "0"))
    units_right, scale_right, _ = fixed(pc.if_else(plain, right, "0"))
    scale = max(scale_left, scale_right)
    try:
        units_left = rescaled(units_left, scale_left, scale)
        units_right = rescaled(units_right, scale_right, scale)
    except pa.ArrowInvalid:
        return undecided(left)
    compare = {"eq": pc.equal, "ne": pc.not_equal, "lt": pc.less, "le": pc.less_equal, "gt": pc.greater,
               "ge": pc.greater_equal}[test]
    decided = pc.if_else(empty, False, compare(units_left, units_right))
    return pc.if_else(pc.or_(plain, empty), decided, pa.scalar(None, pa.bool_()))


def resolved(batch, mask, step_function, arguments):
    """The mask with its undecided rows (null) asked of the step's own function, row by row."""
    if isinstance(mask, pa.Scalar):
        mask = pa.array([mask.as_py()] * batch.num_rows, pa.bool_())
    undecided_rows = pc.is_null(mask)
    if pc.any(undecided_rows).as_py():
        chosen = pc.indices_nonzero(undecided_rows)
        columns = [pc.take(column, chosen).to_pylist() for column in batch.columns]
        passed = [any(True for _ in step_function([list(row)], **arguments)) for row in zip(*columns)]
        mask = pc.replace_with_mask(mask, undecided_rows, pa.array(passed, pa.bool_()))
    return mask


SUMMED_NUMBER = r"^\s*-?[0-9]{1,18}(\.[0-9]{1,18})?\s*$"  # numbers summed as Arrow decimals (plainly written)


class GroupedRows:
    """group_rows over record batches: Arrow's group_by per batch, partial results combined per group."""

    def __init__(self, keys, aggregates, header, order, sort_as, number, moment):
        self.keys, self.aggregates, self.order = keys, aggregates, order
        self.sort_as, self.number, self.moment = sort_as, number, moment
        self.head_pending, self.head = header, None
        self.groups = {}  # key cells -> one state per aggregate

    def add(self, batch):
        self.merge_all(self.partial(self.headless(batch)))

    def headless(self, batch):
        """The batch without the header row (kept) when it is still to come."""
        if self.head_pending and batch.num_rows:
            self.head = [column[0].as_py() for column in batch.columns]
            batch, self.head_pending = batch.slice(1), False
        return batch

    def partial(self, batch):
        """(key, partial results) per group of the batch, in order of their first row in it (no state changed:
        batches are aggregated in the conversion threads, merged in order)."""
        if not batch.num_rows:
            return []
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
        return [(tuple(partial[k][position] for k in keys), {name: partial[name][position] for name in names})
                for position in sorted(range(len(partial["row_min"])), key=partial["row_min"].__getitem__)]

    def merge_all(self, partial):
        for key, results in partial:
            self.merge(key, results)

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
            for k, read in reversed(list(enumerate(self.sort_as))):
                # stable sorts from the last key to the first; keys that do not read as the kind go last
                present = [item for item in items if self.reading(item[0][k], read) is not None]
                present.sort(key=lambda item: self.reading(item[0][k], read))
                items = present + [item for item in items if self.reading(item[0][k], read) is None]
        for key, states in items:
            out.append(list(key) + [self.result(a, state, states[-1]) for a, state in zip(self.aggregates, states)])
        return out

    def reading(self, cell, read):
        """A key cell as the value it sorts by (None: it does not read as that kind)."""
        if read["as"] == "number":
            return self.number(cell)
        if read["as"] == "date":
            return self.moment(cell.strip(), read["formats"])
        return cell

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
        quotient = total / count
        if len(quotient.normalize().as_tuple().digits) > 17:  # as runtime.relational._mean_text writes a mean
            quotient = decimal.Decimal(repr(float(quotient)))
        text = f"{quotient:f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text


MEMORY_BYTES = 1 << 28  # rows a sort holds in memory (Arrow bytes, about a third of its peak); beyond, runs spill
OUTPUT_ROWS = 1 << 16  # rows per record batch of a sort's output


def millionths(value):
    """A number (Decimal) as an integer count of millionths, None for None; RowsDiffer when that is not exact."""
    if value is None:
        return None
    scaled = value.scaleb(6)
    if scaled != scaled.to_integral_value() or not -(2**63) < scaled < 2**63:
        raise RowsDiffer("a sort key with more than six decimals or eighteen digits")
    return int(scaled)


class SortedRows:
    """sort_by over record batches: Arrow's stable sort_indices over key columns (missing values last) of the
    rows held in memory; past MEMORY_BYTES, each sorted run is written to a temporary Arrow file and the runs are
    merged batch by batch. Every row carries its input position ("seq"), the last sort key: ties keep input order
    across runs too."""

    def __init__(self, keys, header, number, moment):
        self.keys, self.number, self.moment = keys, number, moment
        self.head_pending, self.head = header, None
        self.held, self.held_bytes, self.runs, self.names, self.seen = [], 0, [], None, 0

    def add(self, batch):
        if self.head_pending and batch.num_rows:
            self.head, batch, self.head_pending = batch.slice(0, 1), batch.slice(1), False
        if not batch.num_rows:
            return
        self.names = batch.schema.names
        seq = pc.add(pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), batch.num_rows)), self.seen - 1)
        self.seen += batch.num_rows
        keyed = pa.RecordBatch.from_arrays(
            batch.columns + [self.key_column(batch, key) for key in self.keys] + [seq],
            names=self.names + [f"key{i}" for i in range(len(self.keys))] + ["seq"])
        self.held.append(keyed)
        self.held_bytes += keyed.nbytes
        if self.held_bytes > MEMORY_BYTES:
            self.spill()

    def key_column(self, batch, key):
        column = input_column(batch, key["column"])
        if key["as"] == "text":
            return column
        if key["as"] == "date":
            formats, moment = key["formats"], self.moment
            return per_value(lambda text: moment(text, formats), column, kind=pa.timestamp("us"),
                             key=("moment", tuple(formats)))
        # numbers as integers of millionths: exact for plainly written numbers (at most 12 + 6 digits)
        plain = pc.match_substring_regex(column, PLAIN_NUMBER)
        point = pc.find_substring(column, ".")
        places = pc.if_else(pc.and_(plain, pc.greater_equal(point, 0)),
                            pc.subtract(pc.subtract(pc.utf8_length(column), point), 1), 0)
        units = pc.cast(pc.replace_substring(pc.if_else(plain, column, "0"), ".", ""), pa.int64())
        numbers = pc.if_else(plain, pc.multiply(units, pc.cast(pc.power(10, pc.subtract(6, places)), pa.int64())),
                             pa.scalar(None, pa.int64()))
        others = pc.invert(plain)
        if pc.any(others).as_py():
            chosen = pc.indices_nonzero(others)
            values = [millionths(self.number(text)) for text in pc.take(column, chosen).to_pylist()]
            numbers = pc.replace_with_mask(numbers, others, pa.array(values, pa.int64()))
        return numbers

    def order(self, table):
        return pc.sort_indices(table, sort_keys=[(f"key{i}", "descending" if key["descending"] else "ascending")
                                                 for i, key in enumerate(self.keys)] + [("seq", "ascending")])

    def sorted(self, table):
        return table.take(self.order(table))  # missing values last

    def in_order(self, table, columns=None):
        """The table's rows sorted, as record batches taken a slice of the order at a time (no sorted copy)."""
        order = self.order(table)
        table = table if columns is None else table.select(columns)
        for start in range(0, len(order), OUTPUT_ROWS):
            yield from table.take(order.slice(start, OUTPUT_ROWS)).combine_chunks().to_batches()

    def spill(self):
        handle, path = tempfile.mkstemp(prefix="recast-sort-", suffix=".arrow")
        os.close(handle)
        self.runs.append(path)
        table = pa.Table.from_batches(self.held)
        with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            for batch in self.in_order(table):
                writer.write_batch(batch)
        self.held, self.held_bytes = [], 0

    def batches(self):
        """The header row (alone), then the sorted rows, as record batches."""
        if self.head is not None:
            yield self.head
        if not self.runs:
            if self.held:
                yield from self.in_order(pa.Table.from_batches(self.held), self.names)
            return
        if self.held:
            self.spill()
        try:
            yield from self.merged()
        finally:
            for path in self.runs:
                os.remove(path)

    def merged(self):
        """The sorted runs merged: the rows read so far are sorted together, and those up to the least of the
        last rows read of the runs not yet finished are final (every unread row of a run sorts after the run's
        last read row); that run reads its next batch, the others' rows wait for the next round."""
        files = [pa.OSFile(path, "rb") for path in self.runs]  # read, not mapped: RSS
        readers = [pa.ipc.open_file(file) for file in files]
        unread = {run: 0 for run in range(len(readers))}  # run -> its next batch, for runs with batches left
        waiting, last = [], {}  # rows read and not written; run -> seq of its last row read

        def read(run):
            batch = readers[run].get_batch(unread[run])
            unread[run] += 1
            if unread[run] == readers[run].num_record_batches:
                del unread[run]
            last[run] = batch.column(batch.num_columns - 1)[-1].as_py()
            waiting.append(batch)

        try:
            for run in list(unread):
                read(run)
            while waiting:
                table = pa.Table.from_batches(waiting)
                order = self.order(table)  # the rows are taken (copied) once: the final ones, or the waiting ones
                pending = [seq for run, seq in last.items() if run in unread]
                if not pending:
                    yield from self.taken(table, order)
                    return
                seqs = pc.take(table.column("seq"), order)
                cut = pc.indices_nonzero(pc.is_in(seqs, value_set=pa.array(pending, pa.int64())))[0].as_py() + 1
                yield from self.taken(table, order.slice(0, cut))
                rest = order.slice(cut)
                waiting = table.take(rest).combine_chunks().to_batches() if len(rest) else []
                bound = seqs[cut - 1].as_py()
                read(next(run for run, seq in last.items() if seq == bound))
        finally:
            for file in files:
                file.close()

    def taken(self, table, order):
        return table.select(self.names).take(order).to_batches(max_chunksize=OUTPUT_ROWS)

    def rows(self):
        for batch in self.batches():
            yield from (list(row) for row in zip(*[column.to_pylist() for column in batch.columns]))


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
