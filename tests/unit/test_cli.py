"""The `recast` CLI (learn, apply, --version) and the benchmark's scoring and task runner."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from recast_cli import bench
from recast_cli.main import EXIT_NOT_FOUND, EXIT_NOT_TRUSTED, EXIT_OK, EXIT_USAGE, main
from recast_cli.scoring import embedded_cells, embeds_answers, grid_difference, percentile
from recast_engine.verify.runner import run_plain


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def reorder_pair(tmp_path: Path) -> tuple[Path, Path]:
    """A conversion every engine version can learn: keep and reorder columns."""
    train_in = write(tmp_path / "in.csv", "a,b,c\n1,x,10\n2,y,20\n3,z,30\n")
    train_out = write(tmp_path / "out.csv", "c,a\n10,1\n20,2\n30,3\n")
    return train_in, train_out


def test_learn_then_apply_reproduces_and_generalizes(reorder_pair, tmp_path: Path, capsys) -> None:
    train_in, train_out = reorder_pair
    script = tmp_path / "learned" / "script.py"
    assert main(["learn", str(train_in), str(train_out), "-o", str(script), "--timeout", "10"]) == EXIT_OK
    assert script.is_file()

    new_input = write(tmp_path / "new.csv", "\ufeffa,b,c\n7,q,70\n8,\"r,s\",80\n")
    output = tmp_path / "result.csv"
    assert main(["apply", str(script), str(new_input), "-o", str(output)]) == EXIT_OK
    assert output.read_text(encoding="utf-8") == "c,a\n70,7\n80,8\n"
    assert "wrote" in capsys.readouterr().out


def test_learn_and_apply_read_cp1252_semicolon_files_like_utf_8_comma_ones(tmp_path: Path) -> None:
    train_in = tmp_path / "in.csv"
    train_in.write_bytes("nom;ville;n\nJosé;Besançon;1\nRené;Orléans;2\nAndré;Nîmes;3\n".encode("cp1252"))
    train_out = tmp_path / "out.csv"
    train_out.write_bytes("ville;nom\nBesançon;José\nOrléans;René\nNîmes;André\n".encode("cp1252"))
    script = tmp_path / "script.py"
    assert main(["learn", str(train_in), str(train_out), "-o", str(script), "--timeout", "10"]) == EXIT_OK
    new_input = tmp_path / "new.csv"
    new_input.write_bytes("nom;ville;n\nHélène;Sète;4\n".encode("cp1252"))
    output = tmp_path / "result.csv"
    assert main(["apply", str(script), str(new_input), "-o", str(output)]) == EXIT_OK
    assert output.read_text(encoding="utf-8") == "ville,nom\nSète,Hélène\n"


def test_learn_names_the_column_and_first_cell_it_could_not_explain_and_dumps_steps_only_when_verbose(
    tmp_path: Path, capsys
) -> None:
    train_in = write(tmp_path / "in.csv", "a\n1\n1\n1\n")
    train_out = write(tmp_path / "out.csv", "z\nqq8\nrr1\nvv0\n")  # equal rows, different outputs
    code = main(["learn", str(train_in), str(train_out), "-o", str(tmp_path / "s.py"), "--timeout", "3"])
    assert code == EXIT_NOT_FOUND
    err = capsys.readouterr().err
    assert "no conversion found" in err and "could not explain output column 1" in err
    assert "the first cell it could not produce is" in err and "try: add more rows" in err
    assert "tried:" not in err
    assert not (tmp_path / "s.py").exists()
    code = main(["learn", str(train_in), str(train_out), "-o", str(tmp_path / "s.py"), "--timeout", "3", "-v"])
    assert code == EXIT_NOT_FOUND and "tried:" in capsys.readouterr().err


def test_learn_writes_an_untrusted_script_exits_3_and_says_why(tmp_path: Path, capsys) -> None:
    # the outputs are words no rule derives from the ids: a table of the example's answers
    train_in = write(tmp_path / "ids.csv", "a,b\n1,x\n2,y\n3,z\n")
    train_out = write(tmp_path / "words.csv", "q\nfoo\nbar\nbaz\n")
    script = tmp_path / "s.py"
    assert main(["learn", str(train_in), str(train_out), "-o", str(script), "--timeout", "10"]) == EXIT_NOT_TRUSTED
    assert script.is_file()
    captured = capsys.readouterr()
    assert "NOT trusted" in captured.out
    assert "output column 1" in captured.err and "try:" in captured.err


@pytest.mark.parametrize("problem", ["missing", "empty", "cut utf-16"])
def test_unusable_files_give_a_message_not_a_traceback(problem: str, reorder_pair, tmp_path: Path, capsys) -> None:
    _, train_out = reorder_pair
    bad = tmp_path / "bad.csv"
    if problem == "empty":
        bad.write_text("")
    elif problem == "cut utf-16":
        bad.write_bytes("\ufeffa,b\n".encode("utf-16-le") + b"\x00")
    code = main(["learn", str(bad), str(train_out), "-o", str(tmp_path / "s.py")])
    assert code == EXIT_USAGE
    err = capsys.readouterr().err
    assert str(bad) in err and "Traceback" not in err


def test_apply_with_a_missing_script_or_a_failing_script(tmp_path: Path, capsys) -> None:
    data = write(tmp_path / "in.csv", "a\n1\n")
    assert main(["apply", str(tmp_path / "none.py"), str(data), "-o", str(tmp_path / "o.csv")]) == EXIT_USAGE
    broken = write(tmp_path / "broken.py", "raise SystemExit('boom: cannot convert')\n")
    assert main(["apply", str(broken), str(data), "-o", str(tmp_path / "o.csv")]) == EXIT_NOT_FOUND
    assert "boom: cannot convert" in capsys.readouterr().err


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.startswith("recast ")


def test_plain_runner_enforces_the_time_limit(tmp_path: Path) -> None:
    sleeper = write(tmp_path / "sleep.py", "import time\ntime.sleep(30)\n")
    outcome = run_plain(sleeper, tmp_path / "i.csv", tmp_path / "o.csv", timeout_seconds=0.5)
    assert not outcome.ok and "timed out" in outcome.reason


def test_grid_difference() -> None:
    assert grid_difference([["a", "b"]], [["a", "b"]]) == ""
    assert "rows" in grid_difference([["a"]], [["a"], ["b"]])
    assert "row 2 column 2" in grid_difference([["a", "b"], ["c", "d"]], [["a", "b"], ["c", "x"]])


def test_embedded_answers_count_distinct_expected_cells_found_as_string_literals() -> None:
    expected = [["name", "total"], ["ann", "3"], ["bob", "4"], ["cy", "5"], ["dee", ""]] + [
        [f"p{i}", str(i)] for i in range(10, 20)
    ]
    general = "def f(row):\n    return [row[0], str(int(row[1]) + 1)]\n"
    table = "ANSWERS = {'ann': 'name', 'bob': 'total', 'cy': 'x', 'dee': 'y'}\n"
    assert embedded_cells(general, expected) == (0, 29)
    assert embedded_cells(table, expected)[0] == 6
    assert not embeds_answers(general, expected)
    assert embeds_answers(table, expected)


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 21)]
    assert percentile(values, 50) == 10.0
    assert percentile(values, 95) == 19.0
    assert percentile([], 95) == 0.0


def make_task(root: Path, suite: str, name: str, files: dict[str, str], header: bool = True) -> Path:
    folder = root / suite / name
    folder.mkdir(parents=True)
    for file, text in files.items():
        write(folder / file, text)
    write(folder / "meta.json", json.dumps({"suite": suite, "name": name, "header": header}))
    return folder


def test_bench_scores_tasks_with_the_rendered_script(tmp_path: Path) -> None:
    make_task(tmp_path, "prose", "reorder", {
        "train_input.csv": "a,b\n1,x\n2,y\n", "train_expected.csv": "b,a\nx,1\ny,2\n",
        "test_input.csv": "a,b\n5,v\n", "test_expected.csv": "b,a\nv,5\n",
    })
    make_task(tmp_path, "prose", "wrong-test", {
        "train_input.csv": "a,b\n1,x\n2,y\n", "train_expected.csv": "b,a\nx,1\ny,2\n",
        "test_input.csv": "a,b\n5,v\n", "test_expected.csv": "b,a\nv,6\n",
    })
    make_task(tmp_path, "prose", "note-for-answer", {
        "train_input.csv": "name,city\nAnn,Lyon\nBob,Oslo\n", "train_expected.csv": "city,name\nLyon,Ann\nOslo,Bob\n",
        "test_input.csv": "name,city\nCy,Nice\nDi,Rome\n", "test_expected.csv": '"NOT AVAILABLE, SORRY"\n',
    })
    make_task(tmp_path, "atbench", "copy", {
        "train_input.csv": "k,v\n1,a\n2,b\n", "train_expected.csv": "k\n1\n2\n",
    })
    tasks = bench.discover(tmp_path, ["prose", "atbench"])
    assert [t.name for t in tasks] == ["note-for-answer", "reorder", "wrong-test", "copy"]
    results = bench.run_all(tasks, timeout=5, jobs=2, header_mode="meta")
    by_name = {r.name: r for r in results}
    assert by_name["reorder"].solved and by_name["reorder"].reason == "solved"
    assert not by_name["wrong-test"].solved and "wrong test output" in by_name["wrong-test"].reason
    assert by_name["note-for-answer"].solved  # scored on the train pair, like a task without a test pair
    assert not any(r.render_mismatch for r in results)
    summary = {row["suite"]: row for row in bench.summarize(results)}
    assert summary["prose"]["tasks"] == 3 and summary["prose"]["solved"] == 2


def test_the_first_candidate_whose_script_reproduces_the_train_pair_is_kept() -> None:
    from recast_cli.choose import choose_script
    from recast_engine.dsl import OutputColumn, Program, col

    grid = [["a", "b"], ["1", "2"], ["3", "4"]]
    expected = [["a"], ["1"], ["3"]]
    wrong = Program(columns=[OutputColumn(value=col(1))])
    right = Program(columns=[OutputColumn(value=col(0))])
    chosen, rejected = choose_script([wrong, right], grid, expected, title="t")
    assert chosen is not None and chosen.program == right and len(rejected) == 1
    assert "def convert_row" in chosen.script
    none, reasons = choose_script([wrong], grid, expected, title="t")
    assert none is None and reasons


def test_unordered_tasks_compare_data_rows_as_a_multiset_after_the_same_header() -> None:
    from recast_cli.scoring import unordered_difference

    expected = [["k", "n"], ["a", "1"], ["b", "2"], ["b", "2"]]
    assert unordered_difference([["k", "n"], ["b", "2"], ["a", "1"], ["b", "2"]], expected, header=True) == ""
    assert "missing" in unordered_difference([["k", "n"], ["b", "2"], ["a", "1"]], expected, header=True)
    assert unordered_difference([["n", "k"], ["a", "1"], ["b", "2"], ["b", "2"]], expected, header=True)
    assert unordered_difference([["a", "1"], ["k", "n"]], [["k", "n"], ["a", "1"]], header=False) == ""


def test_bench_summary_counts_confidences_and_precision_of_trusted_results() -> None:
    def task(name: str, right: bool, confidence: str) -> bench.TaskResult:
        return bench.TaskResult("sql", name, right and confidence == "trusted", 1.0, "", right=right,
                                confidence=confidence)

    results = [task("a", True, "trusted"), task("b", False, "trusted"), task("c", True, "ambiguous"),
               task("d", False, "memorizes"), task("e", False, "none")]
    row = bench.summarize(results)[0]
    assert (row["trusted"], row["ambiguous"], row["memorizes"], row["none"]) == (2, 1, 1, 1)
    assert row["solved"] == 1 and row["precision"] == 0.5 and row["right_untrusted"] == 1


def test_a_one_cell_note_in_place_of_a_test_answer_is_recognized_but_a_narrow_answer_to_a_narrow_task_is_not() -> None:
    from recast_cli.scoring import placeholder_answer

    train_expected = [["101", "MAX", "55001", "Mouse", "10"]]
    many_rows = [["101", "MAX", ""], ["55001", "Mouse", "10"]]
    assert placeholder_answer(many_rows, [["NOT AVAILABLE, SORRY"]], train_expected)
    assert not placeholder_answer(many_rows, [["3"]], [["2"]])
    assert not placeholder_answer(many_rows, [["101", "MAX", "55001", "Mouse", "10"]], train_expected)


def test_a_test_answer_ordering_columns_unlike_the_train_answer_contradicts_it_but_a_wrong_column_does_not() -> None:
    from recast_cli.scoring import contradicting_column_order

    train_expected = [["9/1", "P1", "0"], ["9/2", "P1", "5"]]
    actual = [["9/1", "P2", "3"], ["9/2", "P2", "5"]]
    assert contradicting_column_order(actual, [["P2", "9/1", "3"], ["P2", "9/2", "5"]], train_expected)
    assert not contradicting_column_order(actual, [["P2", "9/1", "4"], ["P2", "9/2", "5"]], train_expected)
    # the train answer cannot tell the two columns apart: swapping them is a wrong program, not a contradiction
    twins = [["a", "a", "1"], ["b", "b", "2"]]
    assert not contradicting_column_order([["x", "y", "1"]], [["y", "x", "1"]], twins)


def test_learn_trusts_a_threshold_the_example_leaves_open_once_the_user_gives_it_as_a_constant(tmp_path: Path) -> None:
    train_in = write(tmp_path / "in.csv", "id,total\n1,92.40\n2,104.99\n3,250.00\n4,72.10\n5,130.00\n6,100\n")
    train_out = write(tmp_path / "out.csv", "id,total\n2,104.99\n3,250.00\n5,130.00\n6,100\n")
    script = tmp_path / "script.py"
    common = ["learn", str(train_in), str(train_out), "-o", str(script), "--timeout", "10", "--header", "yes"]
    assert main(common) == EXIT_NOT_TRUSTED
    assert main([*common, "--constant", "100", "--aggregation", "max"]) == EXIT_OK
    new_input = write(tmp_path / "new.csv", "id,total\n6,99.50\n7,100.50\n")
    output = tmp_path / "result.csv"
    assert main(["apply", str(script), str(new_input), "-o", str(output)]) == EXIT_OK
    assert output.read_text(encoding="utf-8") == "id,total\n7,100.50\n"


def test_learn_refuses_an_aggregation_hint_it_does_not_know(reorder_pair, tmp_path: Path, capsys) -> None:
    train_in, train_out = reorder_pair
    code = main(["learn", str(train_in), str(train_out), "-o", str(tmp_path / "s.py"), "--aggregation", "median"])
    assert code == EXIT_USAGE
    assert "unknown aggregation 'median'" in capsys.readouterr().err


def test_a_suite_giving_hints_is_learned_without_and_with_them_on_two_labelled_lines(tmp_path: Path) -> None:
    pair = {"train_input.csv": "id,total\n1,92.40\n2,104.99\n3,250.00\n4,72.10\n5,130.00\n6,100\n",
            "train_expected.csv": "id,total\n2,104.99\n3,250.00\n5,130.00\n6,100\n",
            "test_input.csv": "id,total\n6,99.50\n7,100.50\n", "test_expected.csv": "id,total\n7,100.50\n"}
    make_task(tmp_path, "sql", "threshold", pair)
    meta = tmp_path / "sql" / "threshold" / "meta.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "constants": ["100:Int"],
                                "aggregation_functions": ["avg"]}))
    tasks = bench.discover(tmp_path, ["sql"])
    assert tasks[0].hints == {"constants": ["100"], "aggregations": ["avg"]}
    runs = [bench._plain(t) for t in tasks] + bench.hinted_runs(tasks)
    assert [(t.suite, t.hints is not None) for t in runs] == [("sql", False), ("sql+hints", True)]
    results = bench.run_all(runs, timeout=10, jobs=1, header_mode="meta")
    summary = bench.summarize(results)
    assert [(row["suite"], row["solved"], row["ambiguous"]) for row in summary] == [("sql", 0, 1), ("sql+hints", 1, 0)]
    printed = io.StringIO()
    bench.print_summary(summary, out=printed)
    assert "sql+hints: the same tasks learned with meta.json's constants" in printed.getvalue()
