"""Member slots: a live process's slot is never handed out, a dead one's is, with the member id it recorded."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from types import SimpleNamespace

from recast_common.membership import MemberSlot, ResumingListener, member_listener
from recast_common.settings import Settings


def test_a_held_slot_is_not_handed_out_and_a_released_one_keeps_its_member_id(tmp_path):
    first = MemberSlot.claim(tmp_path, "127.0.0.1:9092", "coder")
    second = MemberSlot.claim(tmp_path, "127.0.0.1:9092", "coder")
    assert first is not None and second is not None
    assert first.path != second.path and (first.previous, second.previous) == (None, None)
    first.record("coder-member-1")
    first.close()
    again = MemberSlot.claim(tmp_path, "127.0.0.1:9092", "coder")
    assert again is not None and again.path == first.path and again.previous == "coder-member-1"
    other_broker = MemberSlot.claim(tmp_path, "127.0.0.1:9093", "coder")
    other_group = MemberSlot.claim(tmp_path, "127.0.0.1:9092", "planner")
    assert other_broker is not None and other_broker.previous is None
    assert other_group is not None and other_group.previous is None


def test_a_killed_process_releases_its_slot_with_its_last_member_id(tmp_path):
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from pathlib import Path
            from recast_common.membership import MemberSlot
            slot = MemberSlot.claim(Path({str(tmp_path)!r}), "b:1", "tester")
            slot.record("first-id")
            slot.record("second-id")
            print("ready", flush=True)
            time.sleep(60)
        """)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        alive = MemberSlot.claim(tmp_path, "b:1", "tester")
        assert alive is not None and alive.previous is None  # the live child's slot is not ours
        alive.close()
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        taken = MemberSlot.claim(tmp_path, "b:1", "tester")
        assert taken is not None and taken.previous == "second-id"
    finally:
        if child.poll() is None:
            child.kill()


async def test_the_first_join_carries_the_previous_member_id_and_each_assignment_records_it(tmp_path):
    dead = MemberSlot.claim(tmp_path, "b:1", "profiler")
    dead.record("old-member")
    dead.close()
    coordinator = SimpleNamespace(member_id="")
    listener = ResumingListener(tmp_path, "b:1", "profiler", lambda: SimpleNamespace(_coordinator=coordinator))
    await listener.on_partitions_revoked(set())
    assert coordinator.member_id == "old-member"
    coordinator.member_id = "new-member"  # the broker did not know it any more: the client joined afresh
    await listener.on_partitions_assigned(set())
    await listener.on_partitions_revoked(set())  # a later rebalance keeps the current id
    assert coordinator.member_id == "new-member"
    listener.close()
    successor = MemberSlot.claim(tmp_path, "b:1", "profiler")
    assert successor is not None and successor.previous == "new-member"


async def test_no_previous_member_leaves_the_join_as_it_was(tmp_path):
    coordinator = SimpleNamespace(member_id="")
    listener = ResumingListener(tmp_path, "b:1", "coder", lambda: SimpleNamespace(_coordinator=coordinator))
    await listener.on_partitions_revoked(set())
    assert coordinator.member_id == ""
    listener.close()


def test_the_member_directory_can_be_turned_off(tmp_path):
    assert member_listener(Settings(consumer_member_dir="off"), "coder", lambda: None) is None
    listener = member_listener(Settings(consumer_member_dir=str(tmp_path)), "coder", lambda: None)
    assert listener is not None and listener.directory == tmp_path
