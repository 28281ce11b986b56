"""The operator registry: every public runtime function is declared, once, with arguments matching it."""
from __future__ import annotations

import inspect

import pytest
from pydantic_core import PydanticUndefined
from recast_engine import operators
from recast_engine.dsl import OutputColumn, Program, Step, call, col
from recast_engine.dsl.interpret import run
from recast_engine.render.script import render_script
from recast_engine.synthesis.table_proposals import Context, propose


def _public_functions() -> list[tuple[str, str]]:
    return [
        (module.__name__, name)
        for module in operators.runtime_modules()
        for name, fn in vars(module).items()
        if inspect.isfunction(fn) and fn.__module__ == module.__name__ and not name.startswith("_")
    ]


def test_the_runtime_has_public_functions_to_check() -> None:
    modules = {module for module, _ in _public_functions()}
    assert {"recast_engine.runtime.cells", "recast_engine.runtime.tables"} <= modules


@pytest.mark.parametrize(("module", "name"), _public_functions())
def test_every_public_runtime_function_is_an_operator_or_a_declared_helper(module: str, name: str) -> None:
    function = next(vars(m)[name] for m in operators.runtime_modules() if m.__name__ == module)
    declared = [op for op in operators.operators() if op.function is function]
    assert declared or function in operators.helpers(), f"{module}.{name} is neither an operator nor a helper"
    assert not (declared and function in operators.helpers())


@pytest.mark.parametrize("op", operators.operators(), ids=lambda op: f"{op.kind}:{op.name}")
def test_declared_arguments_are_the_functions_keyword_parameters_with_their_defaults(op: operators.Operator) -> None:
    parameters = inspect.signature(op.function).parameters
    fields = op.arguments.model_fields
    for name, field in fields.items():
        assert name in parameters, f"{op.name}: argument {name} is not a parameter of the function"
        default = parameters[name].default
        if default is inspect.Parameter.empty:
            assert field.is_required(), f"{op.name}: {name} has no default in the function"
        else:
            assert field.default == default and field.default is not PydanticUndefined, f"{op.name}: {name}"
    leading = [p for p in parameters.values() if p.name not in fields and p.kind is not p.VAR_KEYWORD]
    if op.kind == "table":
        assert [p.name for p in leading] == ["rows"], f"{op.name}: a table operator takes the rows, then arguments"
    else:
        assert leading, f"{op.name}: a cell operator takes at least one cell"
        assert all(p.default is inspect.Parameter.empty for p in leading), f"{op.name}: an input with a default"


def test_operator_names_are_unique_within_their_kind() -> None:
    keys = [(op.kind, op.name) for op in operators.operators()]
    assert len(keys) == len(set(keys))


def test_cell_inputs_are_the_parameters_before_the_arguments() -> None:
    assert operators.cell("lower").cell_inputs() == 1
    assert operators.cell("if_matches").cell_inputs() == 3
    assert operators.cell("when_date").cell_inputs() == 2
    assert operators.cell("concat").cell_inputs() is None


def test_the_search_order_starts_with_the_cheapest_table_operators() -> None:
    order = [p.__name__ for p in operators.proposers()]
    assert order[:6] == [
        "propose_transpose", "propose_fill_down", "propose_drop_rows", "propose_explode", "propose_subtitles",
        "propose_melt",
    ]
    assert len(order) == len(set(order))


GRIDS = [
    [["a", "b", "c"], ["1", "", "x;y"], ["", "2", "z"], ["3", "4", ""]],
    [["k", "v"], ["name", "ann"], ["age", "3"], ["name", "bob"], ["age", "4"]],
    [["id", "x_1", "x_2"], ["a", "1", "2"], ["b", "3", "4"]],
    [["#1", "p"], ["q", "r"], ["#2", "s"], ["t", "u"]],
]
EXPECTED = [
    [["a"]],
    [["name", "age"], ["ann", "3"], ["bob", "4"]],
    [["id", "var", "value"], ["a", "x_1", "1"], ["a", "x_2", "2"], ["b", "x_1", "3"], ["b", "x_2", "4"], ["c"]],
    [["#1", "p", "q", "r", "s"], ["#2", "s", "t", "u", "v"]],
]


@pytest.mark.parametrize("header", [False, True])
def test_proposers_propose_only_the_operators_declared_with_them(header: bool) -> None:
    owners = {op.name: op.proposer for op in operators.operators("table")}
    seen = set()
    for grid in GRIDS:
        for expected in EXPECTED:
            ctx = Context.build(expected, header)
            for proposer in operators.proposers():
                for step in proposer(grid, ctx):
                    assert owners.get(step.op) is proposer, f"{proposer.__name__} proposed {step.op}"
                    operators.table(step.op).check(step.args)
                    seen.add(step.op)
    assert len(seen) >= 10
    assert {s.op for s in propose(GRIDS[0], Context.build(EXPECTED[0], header), last=True)} <= set(owners)


def test_unknown_operators_and_bad_arguments_are_refused() -> None:
    with pytest.raises(operators.OperatorError):
        run(Program(steps=[Step(op="no_such_step")]), [["a"]])
    with pytest.raises(operators.OperatorError):
        run(Program(columns=[OutputColumn(value=call("_parse_number", col(0)))]), [["1"]])
    with pytest.raises(operators.OperatorError):
        render_script(Program(steps=[Step(op="fill_down", args={"columns": "all"})]))
    with pytest.raises(operators.OperatorError):
        render_script(Program(columns=[OutputColumn(value=call("lower", col(0), mode="x"))]))


def test_operators_live_in_the_runtime_package() -> None:
    def stray(rows: list[list[str]]) -> list[list[str]]:
        return rows

    with pytest.raises(ValueError, match="recast_engine.runtime"):
        operators.table_operator(stray)


def test_a_pick_or_tie_break_naming_neither_min_nor_max_is_refused_instead_of_read_as_min():
    pick = {"keys": [0], "column": 1, "which": "max", "header": True}
    program = Program(steps=[Step(op="keep_extremes", args=pick)], header_rows=1)
    render_script(program)
    for bad in ({**pick, "which": "maximum"}, {**pick, "tiebreak": {"column": 2, "which": "maximum"}},
                {**pick, "ties": "any"}):
        with pytest.raises(operators.OperatorError):
            render_script(Program(steps=[Step(op="keep_extremes", args=bad)], header_rows=1))
