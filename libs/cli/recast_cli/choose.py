"""Pick the learned script to keep: the first candidate whose rendered script reproduces the train pair."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from recast_engine.dsl import Program

Row = list[str]


@dataclass
class Chosen:
    program: Program
    script: str


def script_output(script: str, grid: list[Row]) -> list[Row]:
    """What the script writes for this input, read back with the csv module (in-process, no files)."""
    namespace: dict = {"__name__": "recast_learned_script"}
    exec(compile(script, "<learned script>", "exec"), namespace)  # noqa: S102 - our own rendered script
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(namespace["convert"](iter([list(r) for r in grid])))
    return list(csv.reader(io.StringIO(buffer.getvalue())))


def choose_script(
    programs: list[Program], input_grid: list[Row], expected_grid: list[Row], *, title: str,
    backend: str | None = None,
) -> tuple[Chosen | None, list[str]]:
    """(the first candidate whose script maps input_grid to exactly expected_grid, why the others were not)."""
    from recast_engine.render.script import render_script

    rejected = []
    for rank, program in enumerate(programs, 1):
        try:
            script = render_script(program, title=title, **({"backend": backend} if backend else {}))
            if script_output(script, input_grid) == expected_grid:
                return Chosen(program, script), rejected
            rejected.append(f"candidate {rank}: its script does not reproduce the whole train pair")
        except Exception as e:  # noqa: BLE001 - a candidate that cannot be rendered or run is skipped
            rejected.append(f"candidate {rank}: {type(e).__name__}: {e}"[:200])
    return None, rejected
