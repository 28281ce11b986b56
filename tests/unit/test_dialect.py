"""The encoding and delimiter detector (recast_engine.dialect), and learned scripts reading such files."""
from __future__ import annotations

import codecs
import subprocess
import sys
from pathlib import Path

import pytest
from recast_engine.dialect import detect_delimiter, detect_encoding, text_codec, transcode
from recast_engine.dsl import OutputColumn, Program, call, col
from recast_engine.render.script import render_script

ROWS = 'nom,ville,prix\r\nCafé crème,Besançon,"1,50"\r\nThé,"Saint-Étienne, Loire",2\r\n'


def saved_as(text: str, encoding: str, delimiter: str) -> bytes:
    """`text` (comma-separated, quoted where a cell holds a comma) re-saved with another delimiter and encoding."""
    import csv
    import io

    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(csv.reader(io.StringIO(text, newline="")))
    body = out.getvalue()
    if encoding == "utf-16-le":
        return codecs.BOM_UTF16_LE + body.encode("utf-16-le")
    if encoding == "utf-16-be":
        return codecs.BOM_UTF16_BE + body.encode("utf-16-be")
    return body.encode(encoding)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16-le", "utf-16-be", "cp1252"])
def test_each_encoding_with_accents_is_detected(encoding: str) -> None:
    data = saved_as(ROWS, encoding, ",")
    assert detect_encoding(data) == encoding
    assert data.decode(text_codec(encoding)).lstrip("\ufeff") == ROWS


def test_bytes_cp1252_cannot_decode_are_read_as_latin_1() -> None:
    data = "a,b\r\nx\x81y,1\r\n".encode("latin-1")  # 0x81 is unassigned in cp1252
    assert detect_encoding(data) == "latin-1"


def test_a_utf_8_character_cut_at_the_end_of_a_head_is_still_utf_8() -> None:
    head = "a,b\ncafé".encode()[:-1]
    assert detect_encoding(head, complete=False) == "utf-8"
    assert detect_encoding(head) == "cp1252"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_each_delimiter_is_detected_even_when_cells_hold_the_others(delimiter: str) -> None:
    text = saved_as(ROWS.replace("Thé", "T;h|é\tx"), "utf-8", delimiter).decode()
    assert detect_delimiter(text) == delimiter


def test_a_quoted_delimiter_does_not_change_the_field_count() -> None:
    assert detect_delimiter('a;b\r\n"x;y;z";1\r\n"p;q";2\r\n') == ";"


def test_a_single_column_file_reads_as_comma_separated() -> None:
    assert detect_delimiter("name\nAlice\nBob\n") == ","


def test_an_empty_last_line_does_not_break_detection() -> None:
    assert detect_delimiter("a;b\n1;2\n3;4\n\n") == ";"


def test_a_comma_file_with_semicolons_inside_its_cells_stays_a_comma_file() -> None:
    assert detect_delimiter("1,a;b;c\n2,d;e;f\n") == ","


def test_a_row_cut_at_the_end_of_a_head_is_ignored() -> None:
    assert detect_delimiter("a;b;c\n1;2;3\n4;5", complete=False) == ";"



def test_transcoding_gives_utf_8_comma_csv_and_leaves_such_files_alone() -> None:
    data = saved_as(ROWS, "cp1252", ";")
    assert transcode(data) == (ROWS.encode(), "cp1252", ";")
    assert transcode(ROWS.encode()) == (ROWS.encode(), "utf-8", ",")
    assert transcode(saved_as(ROWS, "utf-16-le", "\t")) == (ROWS.encode(), "utf-16-le", "\t")


@pytest.mark.parametrize("backend", ["cell", "arrow"])
@pytest.mark.parametrize(("encoding", "delimiter"), [("cp1252", ";"), ("utf-16-le", "\t"), ("latin-1", "|")])
def test_a_learned_script_gives_the_same_output_on_any_encoding_and_delimiter(
    encoding: str, delimiter: str, backend: str, tmp_path: Path
) -> None:
    program = Program(header_rows=1, columns=[
        OutputColumn(header=col(1), value=call("upper", col(1))), OutputColumn(header=col(2), value=col(2)),
    ])
    script = tmp_path / "script.py"
    script.write_text(render_script(program, title="upper", backend=backend), encoding="utf-8")
    outputs = []
    for name, data in (("plain", ROWS.encode()), ("other", saved_as(ROWS, encoding, delimiter))):
        (tmp_path / f"{name}.csv").write_bytes(data)
        command = [sys.executable, "-I", str(script), str(tmp_path / f"{name}.csv"), str(tmp_path / f"{name}.out")]
        done = subprocess.run(command, capture_output=True, check=False)
        assert done.returncode == 0, done.stderr
        outputs.append((tmp_path / f"{name}.out").read_bytes())
    assert outputs[0] == outputs[1]
    assert outputs[0].decode() == 'ville,prix\nBESANÇON,"1,50"\n"SAINT-ÉTIENNE, LOIRE",2\n'


def test_a_one_column_file_whose_cells_hold_semicolons_stays_one_column() -> None:
    assert detect_delimiter("input1\nMAIN ST; LOWER MERION; Station 313;\nOAK LN; MERION; Station 2;\n") == ","
    assert detect_delimiter("input1\n81;76\n20;55\n") == ","
