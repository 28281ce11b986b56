from recast_engine.dsl.model import (
    Expr,
    OutputColumn,
    Program,
    Step,
    call,
    candidate_fingerprint,
    col,
    const,
    script_fingerprint,
)

__all__ = [
    "Expr", "OutputColumn", "Program", "Step", "call", "candidate_fingerprint", "col", "const",
    "script_fingerprint",
]
