"""A learned script quotes every cell holding a CR or LF, so no output row splits in two, and keeps "\\n" as the
line ending of its rows."""
from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

from recast_engine.dsl import OutputColumn, Program, col
from recast_engine.render.script import render_script

ROWS = [["id", "note"], ["1", "bare\rcarriage return"], ["2", "line\nfeed"], ["3", "both\r\nends"], ["4", "plain"]]


def test_cells_with_cr_or_lf_are_quoted_and_rows_end_in_lf(tmp_path: Path) -> None:
    program = Program(header_rows=1, columns=[OutputColumn(header=col(1), value=col(1)),
                                              OutputColumn(header=col(0), value=col(0))])
    script, source, target = tmp_path / "convert.py", tmp_path / "in.csv", tmp_path / "out.csv"
    script.write_text(render_script(program), encoding="utf-8")
    with source.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows(ROWS)  # the input quotes them
    done = subprocess.run([sys.executable, "-I", str(script), str(source), str(target)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    raw = target.read_bytes()
    assert b'"bare\rcarriage return"' in raw
    assert b'"line\nfeed"' in raw and b'"both\r\nends"' in raw
    assert raw.endswith(b"plain,4\n") and b"note,id\n" in raw
    with target.open(newline="", encoding="utf-8") as handle:
        assert list(csv.reader(handle)) == [[note, ident] for ident, note in ROWS]
