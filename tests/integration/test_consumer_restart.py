"""A consumer killed with SIGKILL (no LeaveGroup: the broker still counts its old member) is back in its
consumer groups soon after it is started again, on each of its message loops (the tester has two, train and
inference), and handles messages again; so is the projector (its own aiokafka consumer).

The restarted process takes over the member its killed predecessor left (recast_common.membership): its first
JoinGroup carries the old member id, so the broker lets it straight back in. Without that, Tansu kept the newcomer
waiting for the dead member's session to expire and the next rebalance: 7.2 s of group join, 7.9 s from the
restart to the first message on a machine at load 5.5, against about 2 s of join (Tansu's own wait on every
JoinGroup) and 2.9-3.1 s in all with it.

Printed: the start-up (from the restart to the service's first JoinGroup: the interpreter, the imports of
FastStream and aiokafka, the broker's bootstrap; the handlers, SQLAlchemy and the first database connection come
during the join), what the group protocol costs from that JoinGroup to the assignment of each of its groups, the
whole restart-to-consume time and the CPU seconds the service spent until then (about 1: on a loaded machine that
CPU, not the join, sets the time). The test asserts that the old member was taken over and bounds the joins,
which the broker times; the whole restart-to-consume time is bounded only loosely (a busy machine is not a
fault): it is the printed figure (under 5 s on an idle machine)."""
from __future__ import annotations

import asyncio
import json
import os
import re
import time
import uuid
from datetime import datetime

from recast_common.events import Event, InferenceRequested, JobCoded
from recast_devstack.procstat import cpu_seconds
from test_pipeline_kit import publish

JOIN_LIMIT_SECONDS = 4.5  # Tansu answers a JoinGroup after about 2 s; a dead member's session took 7 s more
RESTART_LIMIT_SECONDS = 30.0  # start-up included: about 1 CPU second, which a loaded machine stretches


def stale_probe(event_type: type[Event]) -> Event:
    """An event of a job that does not exist: the consumer logs it as stale and runs no handler."""
    common = {"job_id": f"probe-{uuid.uuid4().hex[:12]}", "client_id": "probe", "submission": uuid.uuid4().hex}
    if event_type is InferenceRequested:
        return InferenceRequested(**common, run_id=uuid.uuid4().hex, input_key="i", output_key="o", script_key="s")
    return JobCoded(**common, input_key="i", expected_key="e", script_key="s")


async def wait_for_log(process, texts: list[str], timeout: float) -> float:
    """time.monotonic() once the process's log holds every text."""
    deadline = time.monotonic() + timeout
    while not all(text in process.tail(400) for text in texts):
        assert process.running, process.tail()
        assert time.monotonic() < deadline, process.tail()
        await asyncio.sleep(0.05)
    return time.monotonic()


def first_join_at(log_text: str) -> float | None:
    """time.time() of the service's first JoinGroup in its log."""
    for line in log_text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("message", "").startswith("(Re-)joining group "):
            return datetime.fromisoformat(entry["ts"]).timestamp()
    return None


def member_ids(log_text: str) -> dict[str, list[str]]:
    """Per consumer group, the member ids the service joined with, in order (aiokafka's "Joined group" lines)."""
    joined: dict[str, list[str]] = {}
    for line in log_text.splitlines():
        try:
            message = json.loads(line).get("message", "")
        except ValueError:
            continue
        match = re.match(r"Joined group '([^']+)' \(generation -?\d+\) with member_id (\S+)", message)
        if match:
            joined.setdefault(match.group(1), []).append(match.group(2))
    return joined


def group_join_seconds(log_text: str) -> dict[str, float]:
    """Per consumer group in a service's log, seconds from the service's first JoinGroup (of any group: a group
    that joins only after another one waits that long too) to the group's first completed SyncGroup."""
    joining: dict[str, datetime] = {}
    synced: dict[str, float] = {}
    first: datetime | None = None
    for line in log_text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        message, at = entry.get("message", ""), datetime.fromisoformat(entry.get("ts", "1970-01-01T00:00:00"))
        if message.startswith("(Re-)joining group "):
            first = first or at
            joining.setdefault(message.removeprefix("(Re-)joining group "), at)
        elif message.startswith("Successfully synced group "):
            group = message.removeprefix("Successfully synced group ").split(" with generation")[0]
            if group in joining and first is not None:
                synced.setdefault(group, (at - first).total_seconds())
    return synced


async def restart_timings(stack, spawn, name: str, probe_types: list[type[Event]],
                          ) -> tuple[float, float, float, dict[str, float], dict[str, tuple[str, str]]]:
    """(seconds from the restart to handling a message on every loop, from the restart to the first JoinGroup,
    CPU seconds the service spent until then, join seconds per group, (the killed process's last member id, the
    restarted one's first) per group)."""
    first = spawn(name)
    warm_up = [stale_probe(t) for t in probe_types]
    await publish(stack.settings, *warm_up)
    await wait_for_log(first, [p.job_id for p in warm_up], 90)
    first.kill()
    restarted, restarted_at = time.monotonic(), time.time()
    second = spawn(name)
    probes = [stale_probe(t) for t in probe_types]
    await publish(stack.settings, *probes)  # published before the service joins: there when it does
    consumed = await wait_for_log(second, [p.job_id for p in probes], 90)
    cpu = cpu_seconds(second.pid)
    log_text = second.log_path.read_text()
    joined_at = first_join_at(log_text)
    assert joined_at is not None, log_text[-3000:]
    before, after = member_ids(first.log_path.read_text()), member_ids(log_text)
    members = {group: (before[group][-1], after.get(group, [""])[0]) for group in before}
    return consumed - restarted, joined_at - restarted_at, cpu or 0.0, group_join_seconds(log_text), members


async def test_a_killed_tester_rejoins_both_its_groups_and_consumes_on_each(stack, spawn):
    total, startup, cpu, joins, members = await restart_timings(stack, spawn, "tester",
                                                                 [JobCoded, InferenceRequested])
    print(f"tester: restart to consume {total:.1f}s (start-up to the first JoinGroup {startup:.1f}s, "
          f"group joins {joins}; {cpu:.1f} CPU seconds), load {os.getloadavg()[0]:.1f}")
    assert set(members) == {"tester", "tester-inference"}
    for group, (killed, restarted) in members.items():
        assert restarted == killed, f"{group}: the restarted tester joined as {restarted}, not as {killed}"
    assert set(joins) == {"tester", "tester-inference"} and max(joins.values()) < JOIN_LIMIT_SECONDS, joins
    assert total < RESTART_LIMIT_SECONDS


async def test_a_killed_projector_rejoins_as_the_member_it_left(stack, spawn):
    synced = "Successfully synced group projector"
    first = spawn("projector")
    await wait_for_log(first, [synced], 90)
    first.kill()
    restarted = time.monotonic()
    second = spawn("projector")
    back = await wait_for_log(second, [synced], 90)
    log_text = second.log_path.read_text()
    killed, rejoined = member_ids(first.log_path.read_text())["projector"][-1], member_ids(log_text)["projector"][0]
    joins = group_join_seconds(log_text)
    print(f"projector: restart to its group assignment {back - restarted:.1f}s (group join {joins}), "
          f"load {os.getloadavg()[0]:.1f}")
    assert rejoined == killed
    assert joins["projector"] < JOIN_LIMIT_SECONDS
