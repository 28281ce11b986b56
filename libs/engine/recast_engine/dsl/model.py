"""The program model shared by the planner (search) and the coder (rendering).

A Program is data, not code: JSON that names operators (functions of `recast_engine.runtime` declared in
`recast_engine.operators`) and their literal arguments.

    grid      = csv rows of the input, header row included when there is one
    for step in steps:            grid = <table op>(grid, **step.args)          (an iterable of rows)
    header    = [eval(c.header, grid[0]) for c in columns]                       when header_rows == 1
    each row  = [eval(c.value, row) for c in columns]                            for the remaining rows

Expr is a cell expression over one row (a list of strings):
    {"op": "col", "args": {"index": 2}}                     -> row[2] ("" when the row is shorter)
    {"op": "const", "args": {"value": "x"}}                 -> "x"
    {"op": "<fn>", "args": {...}, "inputs": [Expr, ...]}    -> <cell op fn>(*inputs, **args)

`columns` empty means: emit the grid rows unchanged (and the header row, when header_rows == 1, as is).
The coder renders exactly these semantics; the interpreter below is the reference used by the search.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, Field

PROGRAM_VERSION = 1


class Expr(BaseModel):
    op: str
    args: dict[str, Any] = Field(default_factory=dict)
    inputs: list[Expr] = Field(default_factory=list)

    def size(self) -> int:
        return 1 + sum(i.size() for i in self.inputs)

    def describe(self, brief: bool = False) -> str:
        """The expression as a call; `brief` shortens long list arguments (the script holds them whole)."""
        if self.op == "col":
            return f"column {self.args['index']}"
        if self.op == "const":
            return repr(self.args["value"])
        parts = [i.describe(brief) for i in self.inputs] + [f"{k}={_show(v, brief)}" for k, v in self.args.items()]
        return f"{self.op}({', '.join(parts)})"


BRIEF_LIST_ITEMS = 4


def _show(value: Any, brief: bool) -> str:
    if brief and isinstance(value, list) and len(value) > BRIEF_LIST_ITEMS + 1:
        shown = ", ".join(repr(v) for v in value[:BRIEF_LIST_ITEMS])
        return f"[{shown}, ... {len(value) - BRIEF_LIST_ITEMS} more]"
    return repr(value)


def col(index: int) -> Expr:
    return Expr(op="col", args={"index": index})


def const(value: str) -> Expr:
    return Expr(op="const", args={"value": value})


def call(op: str, *inputs: Expr, **args: Any) -> Expr:
    return Expr(op=op, args=args, inputs=list(inputs))


class Step(BaseModel):
    op: str  # a table operator (recast_engine.operators)
    args: dict[str, Any] = Field(default_factory=dict)

    def describe(self, brief: bool = False) -> str:
        return f"{self.op}({', '.join(f'{k}={_show(v, brief)}' for k, v in self.args.items())})"


class OutputColumn(BaseModel):
    header: Expr | None = None  # evaluated on the grid's header row (or an empty row when there is none)
    value: Expr


class Program(BaseModel):
    version: int = PROGRAM_VERSION
    steps: list[Step] = Field(default_factory=list)
    header_rows: int = 0  # 1 when the first grid row (after steps) is a header row
    columns: list[OutputColumn] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)  # the plan in words, rendered as script comments
    # the train input, for the script's warnings (runtime.guards): its rows' width, its header line
    input_width: int | None = None
    input_header_line: str | None = None

    def size(self) -> int:
        return sum(2 + len(s.args) for s in self.steps) + sum(
            c.value.size() + (c.header.size() if c.header else 0) for c in self.columns
        )

    def fingerprint(self) -> str:
        """Stable id of the program's behaviour (notes excluded), used to exclude failed candidates."""
        body = self.model_dump(exclude={"notes", "input_width", "input_header_line"}, mode="json")
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]

    def describe(self) -> list[str]:
        """The plan in words, for people (script docstrings, CLI): long lists are shortened."""
        lines = [f"step {i + 1}: {s.describe(brief=True)}" for i, s in enumerate(self.steps)]
        for j, c in enumerate(self.columns):
            head = f" (header {c.header.describe(brief=True)})" if c.header else ""
            lines.append(f"output column {j + 1}{head} = {c.value.describe(brief=True)}")
        if not self.columns:
            lines.append("output = the rows as they stand after the steps")
        return lines


def script_fingerprint(script: str) -> str:
    """Fingerprint of a whole script (LLM path), excluded after a failure like a Program's."""
    return "llm-" + hashlib.sha256(script.encode()).hexdigest()[:12]


def candidate_fingerprint(program: dict[str, Any] | None, script: str | None = None) -> str | None:
    """The fingerprint of what an attempt ran: its Program when it has one, else its script."""
    if program is not None:
        return Program.model_validate(program).fingerprint()
    return script_fingerprint(script) if script else None
