"""The sandbox's clean-up of a work folder never follows a link the script planted: the host files a link points
at keep their mode, owner and content, whatever the folder's permissions made the clean-up do.

Run as the Kubernetes tester runs: root without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH (setpriv drops them), so
that a folder of the script's uid must be taken back (chown, chmod) before it can be emptied."""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from recast_engine.verify.sandbox import _remove_tree

ENGINE_SOURCE = Path(__file__).resolve().parents[2] / "libs" / "engine"
SYSTEM_PYTHON = next((p for p in ("/usr/bin/python3", "/usr/local/bin/python3") if os.access(p, os.X_OK)), None)
SCRIPT_UID = 1_234_567


def plant(work: Path, host_file: Path, host_dir: Path) -> None:
    """What a hostile script leaves: links to host paths inside folders it made read-only or unreadable."""
    (work / "sub" / "deeper").mkdir(parents=True)
    for folder in (work / "sub", work / "sub" / "deeper"):
        (folder / "to_file").symlink_to(host_file)
        (folder / "to_dir").symlink_to(host_dir)
        (folder / "data.csv").write_text("x\n")
    (work / "to_file").symlink_to(host_file)
    for path in (work / "sub" / "deeper", work / "sub", work):
        for entry in path.iterdir():
            os.chown(entry, SCRIPT_UID, SCRIPT_UID, follow_symlinks=False)
        os.chown(path, SCRIPT_UID, SCRIPT_UID)
    (work / "sub" / "deeper").chmod(0o000)
    (work / "sub").chmod(0o500)
    work.chmod(0o500)


def host_paths(tmp_path: Path) -> tuple[Path, Path]:
    host_dir = tmp_path / "host"
    host_dir.mkdir()
    host_file = host_dir / "secret.conf"
    host_file.write_text("keep me\n")
    host_file.chmod(0o644)
    host_dir.chmod(0o755)
    return host_file, host_dir


def assert_host_untouched(host_file: Path, host_dir: Path) -> None:
    assert stat.S_IMODE(host_file.stat().st_mode) == 0o644
    assert host_file.stat().st_uid == 0
    assert host_file.read_text() == "keep me\n"
    assert stat.S_IMODE(host_dir.stat().st_mode) == 0o755
    assert [p.name for p in host_dir.iterdir()] == ["secret.conf"]


def needs_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to plant files of another uid")


def test_cleanup_removes_everything_and_leaves_linked_host_files_alone(tmp_path):
    needs_root()
    host_file, host_dir = host_paths(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    plant(work, host_file, host_dir)
    _remove_tree(work)
    assert not work.exists() and not work.is_symlink()
    assert_host_untouched(host_file, host_dir)


def test_cleanup_without_dac_override_never_changes_a_linked_host_file(tmp_path):
    needs_root()
    if SYSTEM_PYTHON is None or shutil.which("setpriv") is None:
        pytest.skip("needs setpriv and a system Python")
    tmp_path.chmod(0o755)
    host_file, host_dir = host_paths(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    plant(work, host_file, host_dir)
    drop = "-dac_override,-dac_read_search,-fowner"
    code = "import sys; from pathlib import Path; from recast_engine.verify.sandbox import _remove_tree; " \
           "_remove_tree(Path(sys.argv[1]))"
    done = subprocess.run(
        ["setpriv", f"--inh-caps={drop}", f"--bounding-set={drop}", SYSTEM_PYTHON, "-S", "-c", code, str(work)],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ENGINE_SOURCE)}, capture_output=True, text=True,
        timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert_host_untouched(host_file, host_dir)
    assert not work.exists()


def test_a_work_folder_that_is_itself_a_link_is_unlinked_not_followed(tmp_path):
    host_file, host_dir = host_paths(tmp_path)
    link = tmp_path / "work"
    link.symlink_to(host_dir)
    _remove_tree(link)
    assert not link.is_symlink()
    assert host_file.read_text() == "keep me\n"
    assert stat.S_IMODE(host_file.stat().st_mode) == 0o644
    assert stat.S_IMODE(host_dir.stat().st_mode) == 0o755
