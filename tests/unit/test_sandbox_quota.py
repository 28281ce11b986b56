"""A script's writes are capped in total (bytes and files), not only per file, and a sparse output (a large size
over a few written bytes) is refused instead of being delivered at its apparent size."""
from __future__ import annotations

from pathlib import Path

from recast_engine.verify.sandbox import Limits, disk_usage, run_script


def run(tmp_path: Path, code: str, **limits) -> tuple[object, Path]:
    script, source, target = tmp_path / "script.py", tmp_path / "in.csv", tmp_path / "out.csv"
    script.write_text(code, encoding="utf-8")
    source.write_text("a\n1\n", encoding="utf-8")
    return run_script(script, source, target, Limits(timeout_seconds=60, memory_mb=512, **limits)), target


def test_many_files_each_under_the_file_limit_are_stopped_by_the_disk_quota(tmp_path):
    code = ("import os, sys\nfor i in range(40):\n    with open(f'blob{i}', 'wb') as f:\n"
            "        f.write(os.urandom(1 << 20))\nopen(sys.argv[2], 'w').write('a\\n1\\n')\n")
    result, target = run(tmp_path, code, disk_mb=8, file_size_mb=4)
    assert not result.ok
    assert "disk quota exceeded" in result.reason and "8 MB" in result.reason
    assert not target.exists()


def test_thousands_of_empty_files_are_stopped_by_the_file_quota(tmp_path):
    code = ("import os, sys, time\nos.mkdir('d')\nfor i in range(3000):\n    open(f'd/f{i}', 'w').close()\n"
            "time.sleep(1)\nopen(sys.argv[2], 'w').write('a\\n1\\n')\n")
    result, _ = run(tmp_path, code, max_files=500)
    assert not result.ok
    assert "more than 500 files" in result.reason


def test_a_sparse_output_is_refused_not_delivered(tmp_path):
    code = ("import sys\nwith open(sys.argv[2], 'wb') as f:\n    f.write(b'a\\n1\\n')\n"
            "    f.seek(1 << 30)\n    f.write(b'\\n')\n")
    result, target = run(tmp_path, code)
    assert not result.ok
    assert "sparse" in result.reason
    assert not target.exists()


def test_a_script_within_its_quota_runs_as_before(tmp_path):
    code = ("import sys\nopen('scratch.txt', 'w').write('x' * 10000)\n"
            "open(sys.argv[2], 'w').write(open(sys.argv[1]).read())\n")
    result, target = run(tmp_path, code, disk_mb=8, max_files=10)
    assert result.ok, result.reason
    assert target.read_text() == "a\n1\n"


def test_disk_usage_counts_allocated_blocks_and_never_follows_links(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "data").write_bytes(b"x" * 100_000)
    with (tmp_path / "sparse").open("wb") as handle:
        handle.seek(1 << 30)
        handle.write(b"y")
    (tmp_path / "link").symlink_to("/usr")
    (tmp_path / "placed.csv").write_bytes(b"z" * 500_000)
    used, files = disk_usage(tmp_path, placed=("placed.csv",))
    assert files == 4  # sub, sub/data, sparse, link
    assert 100_000 <= used < 1_000_000  # the sparse gigabyte costs a block, not its size
