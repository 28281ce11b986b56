"""Trust: a learned result says whether it generalizes (trusted), memorizes the example, or is ambiguous."""
from recast_engine.dsl import OutputColumn, Program, Step, call, col, const
from recast_engine.synthesis import trust
from recast_engine.synthesis.search import learn


def learned(inp, out, **kw):
    result = learn(inp, out, timeout=10.0, **kw)
    if not result.programs:  # nothing fits: not trusted either, and the failure names the column
        reason, suggestion = trust.explain_failure(result.unexplained, inp, out)
        result.reason, result.suggestion = reason, suggestion
    return result


def test_fahrenheit_to_celsius_from_three_rows_is_the_exact_conversion_or_not_trusted() -> None:
    result = learned([["32"], ["212"], ["98.6"]], [["0.0"], ["100.0"], ["37.0"]])
    if result.confidence == "trusted":  # (x - 32) / 1.8 rounded to the output's one decimal, not a near fit
        from recast_engine.dsl.interpret import run

        assert run(result.programs[0], [["-40"], ["0"], ["451"], ["1000"]]) == [
            ["-40.0"], ["-17.8"], ["232.8"], ["537.8"]]
        return
    if result.confidence == "memorizes":
        assert "table of the example's answers" in result.reason and "input column 1" in result.reason
    assert result.suggestion


def test_price_times_quantity_learned_as_a_conditional_or_a_table_is_not_trusted() -> None:
    inp = [["price", "qty"], ["2.5", "4"], ["3", "10"], ["1.5", "2"]]
    out = [["total"], ["10.0"], ["30.0"], ["3.0"]]
    result = learned(inp, out)
    if result.confidence == "trusted":  # only once arithmetic is in the vocabulary: then it must be right
        from recast_engine.dsl.interpret import run

        assert run(result.programs[0], [["price", "qty"], ["4", "3"]]) == [["total"], ["12.0"]]
        return
    assert "'total'" in result.reason or "steps" in result.reason or "column 1" in result.reason
    assert result.suggestion


def test_group_by_sum_learned_as_unfold_and_lookup_is_not_trusted() -> None:
    inp = [["city", "sales"], ["Lyon", "10"], ["Paris", "5"], ["Lyon", "7"], ["Nice", "1"]]
    out = [["city", "total"], ["Lyon", "17"], ["Paris", "5"], ["Nice", "1"]]
    result = learned(inp, out)
    if result.confidence == "trusted":
        from recast_engine.dsl.interpret import run

        fresh = [["city", "sales"], ["Oslo", "2"], ["Oslo", "3"]]
        assert run(result.programs[0], fresh) == [["city", "total"], ["Oslo", "5"]]
        return
    assert "'total'" in result.reason or "unfold" in result.reason


def test_a_lookup_keyed_on_unique_ids_memorizes_and_says_which_column() -> None:
    inp = [["id", "name"], ["u17", "Ann"], ["u42", "Bob"], ["u99", "Cy"], ["u05", "Di"]]
    out = [["id", "segment"], ["u17", "gold"], ["u42", "silver"], ["u99", "gold"], ["u05", "bronze"]]
    result = learned(inp, out)
    assert result.confidence == "memorizes"
    assert "'segment'" in result.reason and "one row only" in result.reason


def test_a_lookup_whose_keys_repeat_is_a_mapping_and_is_trusted() -> None:
    inp = [["code"], ["F"], ["M"], ["F"], ["M"], ["F"], ["M"]]
    program = Program(header_rows=1, columns=[OutputColumn(
        header=const("sex"), value=call("lookup", col(0), table={"F": "female", "M": "male"}, default=""))])
    assert trust.memorizing(program, inp) == []


def test_a_conditional_that_singles_out_one_row_memorizes() -> None:
    inp = [["a"], ["x1"], ["y2"], ["z3"], ["w.4"]]
    program = Program(columns=[OutputColumn(value=call("if_matches", col(0), const("odd"), col(0), pattern=r"\."))])
    findings = trust.memorizing(program, inp)
    assert findings and "singles out one example row ('w.4')" in findings[0][0]


def test_a_conditional_whose_lone_row_gets_an_empty_cell_is_a_guard_not_a_guess() -> None:
    inp = [["12 Elm St"], ["7 Oak Rd"], ["45 Pine Ave"], ["Old Mill"]]
    number = call("substring", col(0), start={"index": 0}, end={"before": " ", "k": 1})
    program = Program(columns=[OutputColumn(value=call("if_matches", col(0), number, const(""), pattern=r"^\d"))])
    assert trust.memorizing(program, inp) == []
    guessed = program.model_copy(update={"columns": [OutputColumn(
        value=call("if_matches", col(0), number, const("none"), pattern=r"^\d"))]})
    assert trust.memorizing(guessed, inp)


def test_a_conditional_normalizing_one_row_into_the_form_the_others_already_have_is_trusted() -> None:
    inp = [["6/28/2137"], ["15.3.1902"], ["659/725/2010"], ["6/24/2137"]]
    to_slashes = call("date_part", col(0), formats=["%d.%m.%Y"], part="{M}/{d}/{yyyy}")
    program = Program(columns=[OutputColumn(value=call("if_matches", col(0), col(0), to_slashes, pattern="/"))])
    assert trust.memorizing(program, inp) == []
    # the lone row's output takes a form no other row shows: that rule is a guess from one case
    to_iso = call("date_part", col(0), formats=["%d.%m.%Y"], part="{yyyy}-{MM}-{dd}")
    other = Program(columns=[OutputColumn(value=call("if_matches", col(0), col(0), to_iso, pattern="/"))])
    assert trust.memorizing(other, inp)


def test_holding_out_a_row_keeps_the_only_row_of_its_kind_in_the_rows_learned_from() -> None:
    body = [["12 Elm St"], ["7 Oak Rd"], ["45 Pine Ave"], ["9 Bay Ct"], ["Old Mill"]]
    number = call("substring", col(0), start={"index": 0}, end={"before": " ", "k": 1})
    guarded = call("if_matches", col(0), number, const(""), pattern=r"^\d")
    assert trust._held_out_row(guarded, body) == 3
    assert trust._held_out_row(number, body) == 4


def test_a_constant_copying_a_data_cell_of_a_varying_column_memorizes() -> None:
    inp = [["alpha", "1"], ["beta", "2"], ["gamma", "3"]]
    program = Program(columns=[OutputColumn(value=const("beta"))])
    findings = trust.memorizing(program, inp)
    assert findings and "copied from row 2 of input column 1" in findings[0][0]


def test_wrapping_all_rows_of_the_example_into_one_only_fits_its_length() -> None:
    inp = [["a", "1"], ["b", "2"], ["c", "3"], ["d", "4"]]
    program = Program(steps=[Step(op="wrap_rows", args={"size": 4})])
    findings = trust.memorizing(program, inp)
    assert findings and "number of rows in the example" in findings[0][0]


def test_pairing_rows_of_a_table_that_all_look_alike_memorizes_but_a_one_value_list_does_not() -> None:
    records = [["id", "name"], ["1", "ann"], ["2", "bob"], ["3", "cy"], ["4", "di"], ["5", "ed"], ["6", "flo"]]
    program = Program(steps=[Step(op="wrap_rows", args={"size": 2})], header_rows=1)
    findings = trust.memorizing(program, records)
    assert findings and "look alike" in findings[0][0]
    lines = [["Name1"], ["Age1"], ["Name2"], ["Age2"], ["Name3"], ["Age3"]]
    assert trust.memorizing(program.model_copy(update={"header_rows": 0}), lines) == []


def test_a_chain_of_reshapes_over_a_plain_table_memorizes() -> None:
    table = [["k", "v"], ["1", "a"], ["2", "b"], ["1", "c"]]
    program = Program(steps=[Step(op="transpose"), Step(op="wrap_rows", args={"size": 2})])
    findings = trust.memorizing(program, table)
    assert findings and "transpose -> wrap_rows" in findings[-1][0]


def test_two_equally_simple_programs_that_disagree_on_recombined_rows_are_ambiguous() -> None:
    inp = [["a", "a"], ["b", "b"], ["c", "c"]]
    out = [["a"], ["b"], ["c"]]
    first = Program(columns=[OutputColumn(value=col(0))])
    second = Program(columns=[OutputColumn(value=col(1))])
    verdict = trust.assess([first, second], [(0, 1), (0, 1)], inp, out)
    assert verdict.confidence == "ambiguous"
    assert verdict.distinguishing_row is not None and len(verdict.candidate_outputs) == 2
    assert verdict.candidate_outputs[0] != verdict.candidate_outputs[1]
    assert str(verdict.distinguishing_row) in verdict.suggestion


def test_a_plain_column_reorder_is_trusted() -> None:
    inp = [["a", "b"], ["1", "x"], ["2", "y"], ["3", "z"]]
    result = learned(inp, [["b", "a"], ["x", "1"], ["y", "2"], ["z", "3"]])
    assert result.confidence == "trusted" and result.reason == ""


def test_fahrenheit_to_celsius_from_four_rows_is_trusted_because_the_refitted_constants_predict_the_held_out_row(
) -> None:
    inp = [["f"], ["32"], ["212"], ["98.6"], ["50"]]
    out = [["c"], ["0.0"], ["100.0"], ["37.0"], ["10.0"]]
    result = learned(inp, out)
    assert result.confidence == "trusted", result.reason
    from recast_engine.dsl.interpret import run

    assert run(result.programs[0], [["f"], ["-40"], ["77"], ["0"], ["1000"]]) == [
        ["c"], ["-40.0"], ["25.0"], ["-17.8"], ["537.8"]]


def test_an_affine_map_whose_constants_refitted_on_the_other_rows_miss_the_held_out_row_memorizes() -> None:
    linear = call("linear", col(0), weights=["0.556"], offset="-17.83")
    value = call("format_number", linear, step="0.1", min_decimals=1, trim_zeros=True)
    program = Program(header_rows=1, columns=[OutputColumn(header=const("c"), value=value)])
    # three close rows leave the slope loose ((x - 32) / 1.8 fits them): only the far row pins 0.556
    grid = [["f"], ["32"], ["33"], ["34"], ["1000"]]
    from recast_engine.dsl.interpret import run

    def relearn(rows: list[list[str]], outputs: list[str]) -> None:
        return None

    verdict = trust.assess([program], [(1, 1)], grid, run(program, grid), relearn=relearn)
    assert verdict.confidence == "memorizes" and "row 4" in verdict.reason


def test_normalizing_phones_is_trusted_only_when_a_new_file_of_61_lines_comes_out_whole_and_right() -> None:
    inp = [["name", "phone"], ["Ann", "(415) 123-4567"], ["Bob", "212.987.6543"], ["Cy", "+1 646 222 3333"],
           ["Di", "3104441212"], ["Ed", "(718) 555-0199"], ["Flo", "617 555 0142"]]
    out = [["name", "phone"], ["Ann", "415-123-4567"], ["Bob", "212-987-6543"], ["Cy", "646-222-3333"],
           ["Di", "310-444-1212"], ["Ed", "718-555-0199"], ["Flo", "617-555-0142"]]
    result = learned(inp, out)
    if result.confidence == "trusted":
        from recast_engine.dsl.interpret import run

        numbers = [(200 + i, 300 + i, 4000 + i) for i in range(60)]
        fresh = [["name", "phone"]] + [[f"P{i}", f"({a}) {b}.{c}"] for i, (a, b, c) in enumerate(numbers)]
        assert run(result.programs[0], fresh) == [["name", "phone"]] + [
            [f"P{i}", f"{a}-{b}-{c}"] for i, (a, b, c) in enumerate(numbers)]
        return
    assert "'phone'" in result.reason and result.suggestion


def test_an_example_of_one_row_whose_output_only_copies_cells_does_not_show_how_rows_combine() -> None:
    row = [["12345", "Account1", "keyword1", "Not in top 100", "35"]]
    result = learned(row, [["12345", "keyword1", "35"]], header="no")
    assert result.confidence == "ambiguous"
    assert "single row" in result.reason and "second row" in result.suggestion
    two_rows = row + [["12346", "Account2", "keyword3", "4", "1"]]
    assert learned(two_rows, [["12345", "keyword1", "35"], ["12346", "keyword3", "1"]], header="no").confidence == (
        "trusted")


def test_an_unfold_that_keeps_only_some_positions_of_each_group_memorizes_the_row_order() -> None:
    table = [["id", "city", "n"], ["1", "Lyon", "5"], ["1", "Nice", "7"], ["2", "Oslo", "3"], ["2", "Rome", "9"]]
    # the city of each id's first row: which row comes first is the example's order, not a rule
    program = Program(steps=[Step(op="unfold", args={"key_columns": [0], "value_columns": [1]})], header_rows=1,
                      columns=[OutputColumn(header=col(0), value=col(0)), OutputColumn(header=col(1), value=col(1))])
    findings = trust.memorizing(program, table)
    assert findings and "step unfold lines up the values of each group by position" in findings[-1][0]


def test_an_aggregate_over_groups_of_one_row_each_does_not_show_that_rows_are_combined() -> None:
    one_row = [["input1"], ["95.00"]]
    mean = Program(steps=[Step(op="add_window", args={"func": "mean", "column": 0, "keys": [], "header": True,
                                                      "name": "mean"})], header_rows=1,
                   columns=[OutputColumn(header=const("output"), value=col(1))])
    verdict = trust.assess([mean], [(0, 0)], one_row, [["output"], ["95"]])
    assert verdict.confidence == "ambiguous" and "each of the example's groups holds one row" in verdict.reason
    sales = [["city", "n"], ["Lyon", "2"], ["Lyon", "3"], ["Oslo", "4"], ["Oslo", "1"]]
    total = Program(steps=[Step(op="group_rows", args={"keys": [0], "aggregates": [{"func": "sum", "column": 1}],
                                                       "header": True})], header_rows=1)
    assert trust._unshown_grouping(total, sales) is None


def test_steps_joining_alike_records_by_position_memorize_whatever_cells_complete_them() -> None:
    grid = [["id", "who", "total"], ["1", "Joe", "5"], ["2", "Joe", "6"], ["3", "Ann", "6"], ["4", "Ann", "2"]]
    wrapped = Program(header_rows=1, steps=[Step(op="wrap_rows", args={"size": 2})])
    assert trust.memorizing_steps(wrapped, grid)
    kept = Program(header_rows=1, steps=[Step(op="filter_rows", args={"where": {"column": 1, "test": "eq",
                                                                                "value": "Joe"}, "header": True})])
    assert not trust.memorizing_steps(kept, grid)
