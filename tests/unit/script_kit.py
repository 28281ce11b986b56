"""Rendered scripts loaded in the test process: their functions callable, the vectorized one's row-by-row
fallback recorded."""
from __future__ import annotations

from recast_engine.dsl import Program
from recast_engine.render.script import render_script


def load_script(source: str, *, small_files_by_batch: bool = True) -> dict:
    """The script's namespace. A vectorized script's helpers are callable (pyarrow imported) and, with
    small_files_by_batch, it converts the tests' small files by record batches too (not row by row, as it does
    files under VECTORIZE_FROM_BYTES): what the tests compare with the per-cell script."""
    namespace: dict = {"__name__": "rendered_script"}
    exec(compile(source, "<rendered>", "exec"), namespace)  # noqa: S102 - the script under test
    if "import_pyarrow" in namespace and small_files_by_batch:
        namespace["VECTORIZE_FROM_BYTES"] = 0
        namespace["import_pyarrow"]()
    return namespace


def instrumented_script(program: Program, backend: str, block_bytes: int | None = None) -> tuple[dict, list]:
    """(the rendered script's namespace, the calls of its row-by-row fallback): the vectorized script reads
    batches of block_bytes when given."""
    script = load_script(render_script(program, backend=backend))
    fell_back: list = []
    if backend == "arrow":
        if block_bytes:
            script["BLOCK_BYTES"] = block_bytes
        main_by_row = script["main_by_row"]
        script["main_by_row"] = lambda *a: fell_back.append(a) or main_by_row(*a)
    return script, fell_back
