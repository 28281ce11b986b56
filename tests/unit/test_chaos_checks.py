"""The chaos run's verdict (recast_devstack.chaos_checks): what counts as lost, duplicated, stuck, an orphan,
and a dead letter of the infrastructure rather than of its message; and the fault schedule it draws."""
from __future__ import annotations

import random

from recast_devstack.chaos import SHORT_PLAN, Plan, fault_schedule, learnable_pair
from recast_devstack.chaos_checks import Observed, check, is_message_fault, orphan_keys


def observed(**changes) -> Observed:
    base = Observed(
        learnable={"a": True, "b": True, "u": False},
        statuses={"a": "succeeded", "b": "needs_review", "u": "failed"},
        terminal_events={"a": 1, "b": 1, "u": 1},
        handled=[("profiler", "e1"), ("planner", "e2"), ("planner", "e1")],
        dead_letters=[{"consumer": "profiler", "topic": "job.submitted",
                       "error": "undecodable event: 1 validation error for JobSubmitted"}],
        orphans=[],
        planted_poison=1,
    )
    for name, value in changes.items():
        setattr(base, name, value)
    return base


def test_a_clean_run_passes_with_its_counts():
    figures = check(observed())
    assert figures.ok
    assert (figures.jobs, figures.learnable, figures.succeeded, figures.needs_review, figures.failed) == (3, 2, 1, 1, 1)
    assert figures.messages_handled == 3


def test_an_accepted_job_without_a_row_is_lost():
    figures = check(observed(statuses={"a": "succeeded", "u": "failed"}))
    assert figures.lost == ["b"] and not figures.ok


def test_a_job_still_in_a_stage_is_stuck():
    figures = check(observed(statuses={"a": "succeeded", "b": "testing", "u": "failed"}))
    assert figures.stuck == ["b"] and not figures.ok


def test_a_failed_learnable_job_fails_the_run_but_a_failed_unlearnable_one_does_not():
    assert check(observed(statuses={"a": "failed", "b": "succeeded", "u": "failed"})).learnable_failed == ["a"]
    assert check(observed()).learnable_failed == []


def test_two_terminal_events_or_an_event_handled_twice_are_duplicates():
    assert check(observed(terminal_events={"a": 2, "b": 1, "u": 1})).duplicated == ["a"]
    twice = observed(handled=[("coder", "e9"), ("coder", "e9"), ("tester", "e9")])
    assert check(twice).duplicated == ["coder:e9"]


def test_a_dead_letter_of_an_outage_is_not_a_message_fault():
    outages = [
        "ConnectionRefusedError: [Errno 111] Connect call failed ('127.0.0.1', 5432)",
        "FileNotFoundError: [Errno 2] No such file or directory: '/tmp/x/.s.PGSQL.5432'",
        "asyncpg.exceptions.CannotConnectNowError: the database system is starting up",
        "aiokafka.errors.KafkaConnectionError: Unable to bootstrap from [('127.0.0.1', 9092)]",
        "botocore.exceptions.EndpointConnectionError: Could not connect to the endpoint URL",
    ]
    for error in outages:
        assert not is_message_fault({"error": error}), error
    figures = check(observed(dead_letters=[{"error": outages[0]}], planted_poison=0))
    assert len(figures.infrastructure_dead_letters) == 1 and not figures.ok


def test_a_refused_message_is_a_message_fault():
    assert is_message_fault({"error": "undecodable event: Expecting value: line 1 column 1"})
    assert is_message_fault({"error": "DeadLetter: the job's input is not a CSV file"})


def test_a_planted_poison_message_missing_from_the_dead_letters_fails_the_run():
    figures = check(observed(dead_letters=[], planted_poison=2))
    assert figures.poison_missing == 2 and not figures.ok


def test_orphans_are_keys_without_their_job_row_or_outside_its_current_submission():
    folders = {"j1": "c/j1/train-new"}
    keys = ["c/j1/train-new/input.csv", "c/j1/train-old/input.csv", "c/j2/train-x/input.csv",
            "c/j1/runs/r1/input.csv", "c/j1/runs/r2/input.csv", "stray.txt", "c/loose"]
    assert orphan_keys(keys, folders, {"r1"}) == ["c/j1/train-old/input.csv", "c/j2/train-x/input.csv",
                                                  "c/j1/runs/r2/input.csv"]


def test_the_schedule_kills_every_service_the_broker_and_s3_and_restarts_postgres_for_5_to_20_seconds():
    plan = Plan(submit_seconds=90, postgres_restarts=2, broker_kills=2, s3_kills=1)
    faults = fault_schedule(plan, ["gateway", "relay", "tester"], random.Random(3))
    kinds = sorted(f.what for f in faults)
    assert kinds == ["kill broker", "kill broker", "kill gateway", "kill relay", "kill s3", "kill tester",
                     "restart postgres", "restart postgres"]
    assert all(5 <= f.down_seconds <= 20 for f in faults if f.what == "restart postgres")
    assert all(0 < f.at < plan.submit_seconds for f in faults)
    assert [f.at for f in faults] == sorted(f.at for f in faults)


def test_the_short_plan_has_every_kind_of_fault_once_and_a_postgres_outage_of_a_few_seconds():
    faults = fault_schedule(SHORT_PLAN, ["gateway", "tester"], random.Random(1))
    assert sorted(f.what for f in faults) == ["kill broker", "kill gateway", "kill s3", "kill tester",
                                              "restart postgres"]
    assert all(4 <= f.down_seconds <= 8 for f in faults if f.what == "restart postgres")
    assert SHORT_PLAN.grace_seconds < Plan().grace_seconds


def test_learnable_pairs_differ_from_job_to_job():
    assert learnable_pair(1) != learnable_pair(3) and learnable_pair(2)[1].splitlines()[0] == "name,city"
