"""Member slots: a live process's slot is never handed out, a dead one's is, with the member id it recorded."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from types import SimpleNamespace

from recast_common.membership import MemberSlot, ResumingListener, default_state_dir, member_listener
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


def test_a_slot_planted_as_a_symbolic_link_is_not_followed(tmp_path):
    slots = tmp_path / "slots"
    first = MemberSlot.claim(slots, "b:1", "coder")  # creates the directory, private
    assert first is not None and (slots.stat().st_mode & 0o777) == 0o700
    path = first.path
    first.close()
    ours = tmp_path / "precious.txt"
    ours.write_text("keep me")
    path.unlink()
    path.symlink_to(ours)  # a slot that points at a file of ours: a successor's record() would overwrite it
    slot = MemberSlot.claim(slots, "b:1", "coder")
    assert slot is None  # refused: the consumer joins as a new member
    assert ours.read_text() == "keep me"


def test_a_directory_that_others_may_write_to_or_a_link_is_not_used(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    assert MemberSlot.claim(shared, "b:1", "coder") is None
    assert list(shared.iterdir()) == []
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(private)
    assert MemberSlot.claim(link, "b:1", "coder") is None
    assert MemberSlot.claim(private, "b:1", "coder") is not None


def test_the_default_directory_is_per_user():
    assert str(os.getuid()) in default_state_dir().name


def test_a_stored_id_that_is_no_member_id_is_not_used_nor_recorded(tmp_path):
    slot = MemberSlot.claim(tmp_path, "b:1", "coder")
    assert slot is not None
    path = slot.path
    slot.record("bad id\nwith a newline")  # not shaped like a member id: not written
    slot.close()
    assert path.read_text() == ""
    for planted in ("x" * 300, "id; rm -rf /", "caf\u00e9-1", "\x00\x01"):
        path.write_text(planted)
        again = MemberSlot.claim(tmp_path, "b:1", "coder")
        assert again is not None and again.previous is None, planted
        again.close()
    path.write_text("aiokafka-0.12.0-2b1f0c9e-8d7a-4c55-9b0e-0d6f3c2a1e77\n")
    good = MemberSlot.claim(tmp_path, "b:1", "coder")
    assert good is not None and good.previous == "aiokafka-0.12.0-2b1f0c9e-8d7a-4c55-9b0e-0d6f3c2a1e77"
    good.close()
