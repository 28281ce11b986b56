"""`recast learn/apply` with `-` for stdin/stdout, --json results and the terminal progress line."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from recast_cli.main import EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE, main
from recast_cli.streams import progress, wants_progress

TRAIN_IN = "a,b,c\n1,x,10\n2,y,20\n3,z,30\n"
TRAIN_OUT = "c,a\n10,1\n20,2\n30,3\n"


def stdin(monkeypatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_learn_reads_a_train_file_from_stdin_and_writes_the_script_to_stdout(tmp_path, monkeypatch, capsys):
    stdin(monkeypatch, TRAIN_IN)
    expected = write(tmp_path / "out.csv", TRAIN_OUT)
    assert main(["learn", "-", str(expected), "-o", "-", "--timeout", "10"]) == EXIT_OK
    captured = capsys.readouterr()
    assert "def main" in captured.out and "wrote" not in captured.out
    assert "wrote stdout" in captured.err

    script = write(tmp_path / "script.py", captured.out)
    stdin(monkeypatch, "a,b,c\n7,q,70\n")
    assert main(["apply", str(script), "-", "-o", "-"]) == EXIT_OK
    captured = capsys.readouterr()
    assert captured.out == "c,a\n70,7\n" and "wrote stdout" in captured.err


def test_learn_json_gives_one_object_with_the_result(tmp_path, capsys):
    train_in, train_out = write(tmp_path / "in.csv", TRAIN_IN), write(tmp_path / "out.csv", TRAIN_OUT)
    script = tmp_path / "s.py"
    assert main(["learn", str(train_in), str(train_out), "-o", str(script), "--json", "--timeout", "10"]) == EXIT_OK
    result = json.loads(capsys.readouterr().out)
    assert result["command"] == "learn" and result["exit_code"] == EXIT_OK and result["trusted"] is True
    assert result["script"] == str(script) and result["steps"] and result["elapsed_seconds"] >= 0


def test_apply_json_reports_a_failure_and_stdout_carries_only_data(tmp_path, capsys):
    failing = write(tmp_path / "bad.py", "import sys\nsys.exit(3)\n")
    data = write(tmp_path / "in.csv", "a\n1\n")
    assert main(["apply", str(failing), str(data), "-o", str(tmp_path / "o.csv"), "--json"]) == EXIT_NOT_FOUND
    result = json.loads(capsys.readouterr().out)
    assert result["exit_code"] == EXIT_NOT_FOUND and "the script failed" in result["error"]


def test_both_train_files_cannot_come_from_stdin(capsys):
    assert main(["learn", "-", "-", "-o", "x.py", "--json"]) == EXIT_USAGE
    assert "only one of" in json.loads(capsys.readouterr().out)["error"]


def test_the_progress_line_is_redrawn_and_cleared_only_when_enabled():
    drawn = io.StringIO()
    with progress("applying", True, limit=30, detail=lambda: "1.0 MB written", stream=drawn, interval=0.01):
        import time

        time.sleep(0.1)
    text = drawn.getvalue()
    assert "\rapplying" in text.replace("\x1b[2K", "") and "/ 30s" in text and "1.0 MB written" in text
    assert text.endswith("\r\x1b[2K")
    quiet = io.StringIO()
    with progress("learning", False, stream=quiet):
        pass
    assert quiet.getvalue() == ""


@pytest.mark.parametrize("no_progress, as_json", [(True, False), (False, True), (False, False)])
def test_no_progress_on_a_pipe_with_json_or_when_asked(no_progress, as_json):
    assert wants_progress(no_progress, as_json, io.StringIO()) is False
