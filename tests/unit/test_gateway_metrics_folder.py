"""The gateway workers' metrics folder: a fixed folder per port, emptied when the supervisor starts (a run killed
with SIGKILL leaves files that would add to the new counts) and stops; a folder that is not this user's own is
refused."""
from __future__ import annotations

import os

import pytest
from gateway import __main__ as gateway_main
from recast_common.settings import Settings


@pytest.fixture(autouse=True)
def no_multiproc_env(monkeypatch):
    # set first, so that the teardown restores what was there (serve_workers sets it for its workers)
    monkeypatch.setenv(gateway_main.MULTIPROC_DIR_ENV, "")
    monkeypatch.delenv(gateway_main.MULTIPROC_DIR_ENV)


def test_the_folder_is_fixed_per_port_and_private(tmp_path):
    settings = Settings(gateway_metrics_dir=str(tmp_path / "metrics"))
    folder = gateway_main.metrics_folder(settings, 8000)
    assert folder == tmp_path / "metrics" / "port-8000" and (folder.stat().st_mode & 0o777) == 0o700
    assert gateway_main.metrics_folder(settings, 8000) == folder  # the same after a restart
    assert gateway_main.metrics_folder(settings, 8001) != folder  # another gateway's files do not mix in
    default = gateway_main.metrics_folder(Settings(gateway_metrics_dir=""), 1)
    assert default.parent.name == f"recast-gateway-metrics-{os.getuid()}"


def test_prometheus_multiproc_dir_is_the_folder_itself(tmp_path, monkeypatch):
    monkeypatch.setenv(gateway_main.MULTIPROC_DIR_ENV, str(tmp_path / "given"))
    assert gateway_main.metrics_folder(Settings(gateway_metrics_dir=str(tmp_path / "x")), 8000) == tmp_path / "given"


def test_a_folder_that_is_a_link_or_shared_is_refused(tmp_path):
    base = tmp_path / "metrics"
    base.mkdir()
    (base / "port-1").symlink_to(tmp_path)
    with pytest.raises(SystemExit):
        gateway_main.metrics_folder(Settings(gateway_metrics_dir=str(base)), 1)
    shared = base / "port-2"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(SystemExit):
        gateway_main.metrics_folder(Settings(gateway_metrics_dir=str(base)), 2)


def test_the_supervisor_starts_without_a_killed_runs_files_and_leaves_none(tmp_path, monkeypatch):
    settings = Settings(gateway_metrics_dir=str(tmp_path))
    folder = gateway_main.metrics_folder(settings, 8123)
    (folder / "counter_4242.db").write_bytes(b"from a run killed with SIGKILL")
    (folder / "gauge_livemostrecent_4242.db").write_bytes(b"")
    seen: list[list[str]] = []

    def run(*args, **kwargs):  # stands in for uvicorn's supervisor: what the workers would find
        seen.append(sorted(p.name for p in folder.iterdir()))
        assert os.environ[gateway_main.MULTIPROC_DIR_ENV] == str(folder)
        (folder / "counter_4343.db").write_bytes(b"this run's")

    monkeypatch.setattr(gateway_main.uvicorn, "run", run)
    monkeypatch.setenv(gateway_main.LOG_LEVEL_ENV, "info")  # restored after the test
    gateway_main.serve_workers("127.0.0.1", 8123, "info", 2, settings)
    assert seen == [[]]
    assert list(folder.glob("*.db")) == []

