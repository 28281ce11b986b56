"""A short chaos run (recast_devstack.chaos with SHORT_PLAN): make run's stack in a folder of its own, ten jobs
(two unlearnable) submitted over 36 s while every service, the broker and S3 are SIGKILLed once and Postgres is
crash-restarted once. No job is lost, duplicated or stuck, no learnable job fails, no S3 object outlives the
sweeper's grace period, and every dead letter is a fault of its message (the two planted undecodable ones).

About two minutes on 2 cores; the waits inside are bounded generously (the jobs get 6 minutes after the last
fault), so a loaded machine makes it slower, not red. `make chaos` runs longer ones."""
from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
from recast_devstack.chaos import SHORT_PLAN, ChaosRun
from recast_devstack.chaos_checks import Figures

pytestmark = pytest.mark.timeout(900)


@pytest.fixture
def data_dir():
    # not pytest's tmp_path: its 0700 parent, shared with other sessions, is no place for Postgres' own user
    folder = Path(tempfile.mkdtemp(prefix=f"recast-chaos-test-{uuid.uuid4().hex[:6]}-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


async def test_a_short_chaos_run_loses_duplicates_and_strands_nothing(data_dir):
    result = await ChaosRun(SHORT_PLAN, data_dir).run()
    figures = Figures(**{k: v for k, v in result.figures.items() if k != "ok"})
    faults = ", ".join(f"{f['at']:.0f}s {f['what']}" for f in result.faults)
    report = "\n".join([f"chaos run of {result.seconds:.0f}s: {faults}", *figures.lines(), *result.dead_letter_errors])
    print(report)

    services = ("gateway", "relay", "projector", "profiler", "planner", "coder", "tester", "sweeper")
    assert sorted(f["what"] for f in result.faults) == sorted(
        ["kill broker", "kill s3", "restart postgres", *(f"kill {name}" for name in services)])
    assert figures.jobs == SHORT_PLAN.jobs + SHORT_PLAN.unlearnable, report
    assert figures.lost == [] and figures.duplicated == [] and figures.stuck == [], report
    assert figures.learnable_failed == [] and figures.orphans == [], report
    assert figures.infrastructure_dead_letters == [] and figures.poison_missing == 0, report
    assert figures.succeeded + figures.needs_review >= SHORT_PLAN.jobs, report
