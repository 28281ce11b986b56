"""The operator registry: which runtime functions are DSL operators, their typed arguments and their proposers.

See the package docstring (recast_engine.operators) for how to declare an operator.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

if TYPE_CHECKING:
    from recast_engine.dsl.model import Step
    from recast_engine.synthesis.table_proposals import Context

Row = list[str]
Kind = Literal["cell", "table"]
Proposer = Callable[[list[Row], "Context"], Iterable["Step"]]
F = TypeVar("F", bound=Callable[..., Any])

RUNTIME_PACKAGE = "recast_engine.runtime"
GUARDS = (None, "unknown_key", "unparsed_date", "unparsed_number")


class Arguments(BaseModel):
    """Base of an operator's arguments: the keyword arguments of its runtime function, as JSON data.

    Fields are named like the function's parameters and carry the same defaults (a unit test checks it).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoArguments(Arguments):
    """An operator without keyword arguments."""


class OperatorError(KeyError):
    """An unknown operator, or arguments its declaration does not accept."""


@dataclass(frozen=True)
class Operator:
    name: str  # the op name programs use (Expr.op, Step.op): the runtime function's name
    kind: Kind
    function: Callable[..., Any]
    arguments: type[Arguments]
    proposer: Proposer | None = None  # table operators: proposes this operator's steps for a grid
    rank: float | None = None  # table operators with a proposer: place in the search order (lower first)
    # each output row comes from one input row alone, whatever the rows around it: a file split on record
    # boundaries converts chunk by chunk (recast_engine.dsl.locality); every cell operator is
    row_local: bool = False
    guard: str | None = None  # cell operators: the kind of warning a script counts for it (runtime.guards)

    @property
    def module(self) -> ModuleType:
        """The runtime module whose source the renderer copies the function from."""
        return sys.modules[self.function.__module__]

    def check(self, args: dict[str, Any]) -> Arguments:
        """The arguments as their typed model; OperatorError when the declaration does not accept them."""
        try:
            return self.arguments.model_validate(args)
        except ValidationError as e:
            raise OperatorError(f"bad arguments for {self.kind} operator {self.name!r}: {e}") from e

    def cell_inputs(self) -> int | None:
        """Cell operators: how many cell values they take before the arguments (None: any number)."""
        count = 0
        for p in inspect.signature(self.function).parameters.values():
            if p.kind is p.VAR_POSITIONAL:
                return None
            if p.name not in self.arguments.model_fields and p.kind is not p.VAR_KEYWORD:
                count += 1
        return count


_operators: dict[tuple[Kind, str], Operator] = {}
_helpers: set[Callable[..., Any]] = set()
_loaded = False
_proposers: list[Proposer] | None = None


def _declare(operator: Operator) -> Operator:
    global _proposers
    function = operator.function
    if not function.__module__.startswith(RUNTIME_PACKAGE + "."):
        raise ValueError(f"{operator.name}: operators are functions of {RUNTIME_PACKAGE} (the renderer copies them)")
    if operator.name.startswith("_") or not operator.name.isidentifier():
        raise ValueError(f"{operator.name!r}: an operator's name is a public identifier")
    key = (operator.kind, operator.name)
    if key in _operators and _operators[key].function is not function:
        raise ValueError(f"{operator.kind} operator {operator.name!r} is declared twice")
    if (operator.proposer is None) != (operator.rank is None):
        raise ValueError(f"{operator.name}: a proposer needs a rank in the search order, and a rank a proposer")
    _operators[key] = operator
    _proposers = None
    return operator


def cell_operator(
    function: Callable[..., Any], arguments: type[Arguments] = NoArguments, *, guard: str | None = None
) -> Operator:
    """Declare a cell operator: `function(*cell_values, **arguments) -> value`.

    guard: what a learned script counts as not converted (recast_engine.runtime.guards): "unknown_key" (a
    lookup: its first input is a key its `table` does not hold), or "unparsed_date" / "unparsed_number" (it gave
    "" for non-empty input)."""
    if guard not in GUARDS:
        raise ValueError(f"{function.__name__}: unknown guard {guard!r}")
    return _declare(Operator(function.__name__, "cell", function, arguments, row_local=True, guard=guard))


def table_operator(
    function: Callable[..., Any],
    arguments: type[Arguments] = NoArguments,
    *,
    proposer: Proposer | None = None,
    rank: float | None = None,
    row_local: bool = False,
) -> Operator:
    """Declare a table operator: `function(rows, **arguments) -> rows`, proposed by `proposer` at `rank`.

    Several operators may share one proposer (it yields steps of each); it runs once, at the lowest rank.
    `row_local`: it keeps, drops, changes or repeats each row by that row alone (the first row aside, when it
    takes a `header` argument), so that it may run on a file's chunks apart.
    """
    return _declare(Operator(function.__name__, "table", function, arguments, proposer, rank, row_local))


def helper(function: F) -> F:
    """Declare a public runtime function that is not an operator (a helper other modules import)."""
    _helpers.add(function)
    return function


def load() -> None:
    """Import every declaration module of this package (once): declaring is importing.

    Lookups load on first use; the interpreter loads at import, so that no search pays for it."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    package = importlib.import_module("recast_engine.operators")
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name != "registry" and not info.name.startswith("_"):
            importlib.import_module(f"{package.__name__}.{info.name}")


def operator(kind: Kind, name: str) -> Operator:
    load()
    found = _operators.get((kind, name))
    if found is None:
        raise OperatorError(f"unknown {kind} operator {name!r}")
    return found


def cell(name: str) -> Operator:
    return operator("cell", name)


def table(name: str) -> Operator:
    return operator("table", name)


def operators(kind: Kind | None = None) -> list[Operator]:
    """Every declared operator (of one kind), in declaration order."""
    load()
    return [op for op in _operators.values() if kind is None or op.kind == kind]


def helpers() -> set[Callable[..., Any]]:
    load()
    return set(_helpers)


def runtime_modules() -> list[ModuleType]:
    """Every module of the runtime package (where operator functions live)."""
    package = importlib.import_module(RUNTIME_PACKAGE)
    return [
        importlib.import_module(f"{RUNTIME_PACKAGE}.{info.name}")
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name)
    ]


def proposers() -> list[Proposer]:
    """The table proposers in search order: by rank (a shared proposer at its lowest), then declaration order."""
    global _proposers
    load()
    if _proposers is None:
        first: dict[Proposer, float] = {}
        for op in _operators.values():
            if op.proposer is not None and op.rank is not None:
                first[op.proposer] = min(first.get(op.proposer, op.rank), op.rank)
        _proposers = sorted(first, key=lambda p: first[p])
    return list(_proposers)

