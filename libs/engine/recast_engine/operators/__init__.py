"""The DSL's operators, each declared once: its runtime function, its typed arguments and (tables) its proposer.

A program names operators by their function's name (`Expr.op` for cell operators, `Step.op` for table
operators); the interpreter, the renderer and the search find them here, never by `getattr` on a module.

How to add an operator
1. Write the function in a module of `recast_engine.runtime` (an existing one or a new one, e.g. `arith.py`):
   standard library only, no recast imports, helpers named with a leading underscore. The renderer copies its
   source (and the module-level helpers, constants and imports it reads) into learned scripts.
   Cell operator: `fn(*cell_values, **arguments) -> value`, total (return "" rather than raise on odd input).
   Table operator: `fn(rows, **arguments) -> rows` (prefer a generator: scripts stream).
2. Declare it in a module of this package (by convention named like the runtime module: `operators/arith.py`),
   one call per operator; every module here is imported on the first registry lookup, nothing else to edit:

       class RoundArgs(Arguments):          # the function's keyword arguments, same names and defaults
           decimals: int = 0

       cell_operator(arith.round_to, RoundArgs)
       table_operator(filters.keep_top, KeepTopArgs, proposer=propose_keep_top, rank=165)

   `proposer(grid, ctx)` (a function in a module of recast_engine.synthesis) yields the Steps worth trying
   on `grid`; `rank` is its place in the search order (see operators/tables.py for the current ranks:
   cheap, common operators first). A public runtime function that is not an operator is declared with
   `helper(fn)`. tests/unit/test_operators.py fails on an undeclared public function or on arguments that do
   not match the function's signature.
"""
from recast_engine.operators.registry import (
    Arguments,
    NoArguments,
    Operator,
    OperatorError,
    cell,
    cell_operator,
    helper,
    helpers,
    load,
    operators,
    proposers,
    runtime_modules,
    table,
    table_operator,
)

__all__ = [
    "Arguments", "NoArguments", "Operator", "OperatorError", "cell", "cell_operator", "helper", "helpers",
    "load", "operators", "proposers", "runtime_modules", "table", "table_operator",
]
