"""The speed bench runs every runner on one generated file and the render check compares the two backends."""
from __future__ import annotations

from pathlib import Path

from recast_cli.speed_bench import (
    checked_vectorized_script,
    duckdb_available,
    generate_csv,
    print_speed,
    run_speed_bench,
    vectorized_differs,
)
from recast_engine.dsl import OutputColumn, Program, Step, call, col


def test_generated_input_has_the_promised_shape(tmp_path: Path) -> None:
    rows = generate_csv(tmp_path / "in.csv", 1)
    lines = (tmp_path / "in.csv").read_text().splitlines()
    assert lines[0] == "id,name,date,amount,city,qty" and len(lines) == rows + 1
    assert sum(line.endswith(",") for line in lines[1:]) == rows // 4  # every 4th qty is empty
    assert 1024 * 1024 <= (tmp_path / "in.csv").stat().st_size < 1.5 * 1024 * 1024


def test_render_check_compares_the_vectorized_bytes_with_the_per_cell_output(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("a,b\nx,y\n")
    right, wrong = tmp_path / "right.csv", tmp_path / "wrong.csv"
    right.write_text("B,a\nY,x\n")
    wrong.write_text("b,a\ny,x\n")
    program = Program(columns=[OutputColumn(value=call("upper", col(1))), OutputColumn(value=col(0))])
    assert vectorized_differs(program, source, right) is False
    assert vectorized_differs(program, source, wrong) is True
    assert vectorized_differs(Program(steps=[Step(op="deduplicate")], columns=program.columns), source, right) is None


def test_speed_bench_times_each_runner_on_the_same_file(tmp_path: Path, capsys) -> None:
    report = run_speed_bench(1, conversions=["row-local"], workdir=tmp_path, learn_timeout=120, per_cell=True)
    [case] = report["cases"]
    assert case["learned"], "the engine learns the row-local conversion"
    assert case["vectorized"]["ok"] and case["per_cell"]["ok"] and report["pyarrow"]["ok"]
    assert case["same_bytes_as_per_cell"] is True and case["head_as_intended"] is True
    assert case["duckdb"]["ok"] is duckdb_available()
    print_speed(report)
    assert "learned (vectorized)" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


def test_the_render_check_runs_the_vectorized_path_on_files_of_any_size() -> None:
    program = Program(columns=[OutputColumn(value=call("upper", col(1)))])
    assert "\nVECTORIZE_FROM_BYTES = 0\n" in checked_vectorized_script(program)
