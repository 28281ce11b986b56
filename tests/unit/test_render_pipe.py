"""A learned script reads its input once: it converts a file given as a pipe (/dev/stdin) as it converts a file."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from recast_engine.dsl import OutputColumn, Program, call, col
from recast_engine.render.script import render_script

ROWS = "".join(f"name{i};{i}\n" for i in range(30_000))  # over the MiB the script reads to detect the dialect


def test_a_script_converts_a_piped_semicolon_file_whole(tmp_path: Path) -> None:
    program = Program(columns=[OutputColumn(value=call("upper", col(0))), OutputColumn(value=col(1))])
    script = tmp_path / "convert.py"
    script.write_text(render_script(program, backend="cell"))
    source = ("name;n\n" + ROWS).encode("cp1252")
    output = tmp_path / "out.csv"
    subprocess.run([sys.executable, str(script), "/dev/stdin", str(output)], input=source, check=True)
    lines = output.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 30_001
    assert lines[0] == "NAME,n" and lines[-1] == "NAME29999,29999"
