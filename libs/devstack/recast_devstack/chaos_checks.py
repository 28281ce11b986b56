"""What a chaos run must show, judged from what it observed (no I/O here, so the rules are unit-tested):
0 jobs lost, 0 duplicated, 0 learnable jobs failed, 0 stuck, 0 S3 orphans past the sweeper's grace period, and
every dead letter a fault of its message, never of the infrastructure the run took away."""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

TERMINAL = ("succeeded", "needs_review", "failed")

# What an unavailable database, broker or S3 looks like in a dead letter's error (a traceback's text): such a
# message was dead-lettered for the run's faults, not its own.
INFRASTRUCTURE_ERROR = re.compile(
    r"ConnectionRefused|ConnectionReset|ConnectionDoesNotExist|CannotConnectNow|InterfaceError|"
    r"OperationalError|AdminShutdown|CrashShutdown|starting up|shutting down|terminating connection|"
    r"\.s\.PGSQL|connection (?:was )?closed|Connect call failed|KafkaConnectionError|KafkaTimeoutError|"
    r"NodeNotReady|RequestTimedOut|NotCoordinator|UnknownTopicOrPartition|EndpointConnectionError|"
    r"ServiceUnavailable|SlowDown|503|TimeoutError|BrokenPipe",
)


@dataclass
class Observed:
    """Everything a run saw, keyed by job id (the client's id of the job)."""

    learnable: dict[str, bool]  # every job the gateway accepted -> whether its pair is learnable
    statuses: dict[str, str]  # job rows in the database -> status
    terminal_events: dict[str, int]  # job -> job.succeeded / job.failed events of its current submission
    handled: list[tuple[str, str]]  # (consumer, event id) of every message a handler ran for
    dead_letters: list[dict[str, Any]]  # the payloads of every <topic>.dlq
    orphans: list[str]  # S3 keys left without their job row (or submission) past the grace period
    planted_poison: int = 0  # undecodable messages the run published on purpose (message faults)


@dataclass
class Figures:
    jobs: int = 0
    learnable: int = 0
    succeeded: int = 0
    needs_review: int = 0
    failed: int = 0
    messages_handled: int = 0  # handler runs the consumers recorded (the duplicates are sought among them)
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    learnable_failed: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    dead_letters: int = 0
    infrastructure_dead_letters: list[str] = field(default_factory=list)
    poison_missing: int = 0  # planted poison messages that never reached a dead-letter queue

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.learnable_failed or self.stuck or self.orphans
                    or self.infrastructure_dead_letters or self.poison_missing)

    def lines(self) -> list[str]:
        def show(items: list[str]) -> str:
            return f"{len(items)}" + (f"  {sorted(items)[:5]}" if items else "")

        return [
            f"jobs accepted           {self.jobs} ({self.learnable} learnable)",
            f"succeeded / review      {self.succeeded} / {self.needs_review}",
            f"failed                  {self.failed}",
            f"messages handled        {self.messages_handled}",
            f"lost                    {show(self.lost)}",
            f"duplicated              {show(self.duplicated)}",
            f"learnable jobs failed   {show(self.learnable_failed)}",
            f"stuck                   {show(self.stuck)}",
            f"S3 orphans after grace  {show(self.orphans)}",
            f"dead letters            {self.dead_letters} ({len(self.infrastructure_dead_letters)} of "
            f"infrastructure faults, {self.poison_missing} planted poison missing)",
        ]


def is_message_fault(dead_letter: dict[str, Any]) -> bool:
    """A dead letter its message caused (undecodable, refused by the handler), not an outage."""
    return not INFRASTRUCTURE_ERROR.search(str(dead_letter.get("error", "")))


def duplicated_events(handled: Iterable[tuple[str, str]]) -> list[str]:
    """`consumer:event` pairs a handler ran for more than once (the inbox should make that impossible)."""
    return [f"{consumer}:{event}" for (consumer, event), n in Counter(handled).items() if n > 1]


def orphan_keys(keys: Iterable[str], submission_folders: dict[str, str], run_ids: set[str] = frozenset()) -> list[str]:
    """Keys under `<client>/<job>/` whose job row is gone, or under a train folder not the job's current one,
    or under `runs/<run>/` of a run with no row. `submission_folders`: job id (internal) -> its input's folder."""
    orphans = []
    for key in keys:
        parts = key.split("/")
        if len(parts) < 3 or not parts[0] or not parts[1]:
            continue
        folder = submission_folders.get(parts[1])
        if folder is None:
            orphans.append(key)
        elif parts[2].startswith("train-") and not key.startswith(folder.rstrip("/") + "/"):
            orphans.append(key)
        elif parts[2] == "runs" and len(parts) > 4 and parts[3] not in run_ids:
            orphans.append(key)
    return orphans


def check(observed: Observed) -> Figures:
    figures = Figures(jobs=len(observed.learnable), learnable=sum(observed.learnable.values()))
    for job_id, learnable in observed.learnable.items():
        status = observed.statuses.get(job_id)
        if status is None:
            figures.lost.append(job_id)
            continue
        if status not in TERMINAL:
            figures.stuck.append(job_id)
            continue
        setattr(figures, status, getattr(figures, status) + 1)
        if status == "failed" and learnable:
            figures.learnable_failed.append(job_id)
        if observed.terminal_events.get(job_id, 0) > 1:
            figures.duplicated.append(job_id)
    figures.messages_handled = len(observed.handled)
    figures.duplicated += duplicated_events(observed.handled)
    figures.orphans = list(observed.orphans)
    figures.dead_letters = len(observed.dead_letters)
    figures.infrastructure_dead_letters = [
        f"{d.get('consumer')} on {d.get('topic')}: {str(d.get('error', '')).strip().splitlines()[-1:]}"
        for d in observed.dead_letters if not is_message_fault(d)
    ]
    undecodable = sum(1 for d in observed.dead_letters if str(d.get("error", "")).startswith("undecodable event"))
    figures.poison_missing = max(0, observed.planted_poison - undecodable)
    return figures
