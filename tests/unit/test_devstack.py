"""Pure parts of the embedded stack and Kafka helpers (no servers)."""
from __future__ import annotations

import os
import signal
import sys
import time

import pytest
from recast_common.events import Topics
from recast_common.kafka import GROUP_TOPICS, all_topic_names, group_timing, partition_lag, subscriber_options
from recast_devstack.pgurls import (
    check_database_name,
    database_of,
    to_asyncpg_url,
    to_sqlalchemy_url,
    with_database,
)
from recast_devstack.ports import free_ports, port_is_open
from recast_devstack.process import ManagedProcess
from recast_devstack.run import DEFAULT_GATEWAY_WORKERS, ensure_admin_key, gateway_workers, service_specs
from recast_devstack.seaweed import S3Credentials, identities_config
from recast_devstack.services import module_available, service_module
from recast_devstack.stack import StackConfig, settings_from_env, stack_env
from recast_devstack.supervisor import MAX_BACKOFF, MIN_BACKOFF, STABLE_AFTER, next_backoff


def test_with_database_keeps_socket_query():
    url = "postgresql://postgres:@/postgres?host=/tmp/pg"
    assert with_database(url, "recast_x") == "postgresql://postgres:@/recast_x?host=/tmp/pg"
    assert to_sqlalchemy_url(with_database(url, "recast_x")) == "postgresql+asyncpg://postgres:@/recast_x?host=/tmp/pg"


def test_url_flavours_round_trip():
    sa = "postgresql+asyncpg://postgres@127.0.0.1:5432/recast"
    assert to_asyncpg_url(sa) == "postgresql://postgres@127.0.0.1:5432/recast"
    assert to_sqlalchemy_url(to_asyncpg_url(sa)) == sa
    assert database_of(sa) == "recast"


@pytest.mark.parametrize("bad", ["Recast", "a-b", 'x"; DROP', "", "1abc"])
def test_database_names_are_plain_identifiers(bad):
    with pytest.raises(ValueError):
        check_database_name(bad)
    assert check_database_name("recast_test_0a1b") == "recast_test_0a1b"


def test_stack_env_feeds_settings():
    config = StackConfig(data_dir=".", admin_api_key="k", topic_partitions=3, s3_bucket="b")
    env = stack_env(config, "postgresql://postgres@h:5432/recast_t", "http://127.0.0.1:1", "127.0.0.1:2")
    settings = settings_from_env(env)
    assert settings.database_url == "postgresql+asyncpg://postgres@h:5432/recast_t"
    assert (settings.kafka_bootstrap, settings.s3_endpoint) == ("127.0.0.1:2", "http://127.0.0.1:1")
    assert settings.s3_bucket == "b"
    assert (settings.topic_partitions, settings.admin_api_key) == (3, "k")


def test_identities_config_carries_the_keys():
    identity = identities_config(S3Credentials("ak", "sk"))["identities"][0]
    assert identity["credentials"] == [{"accessKey": "ak", "secretKey": "sk"}]
    assert {"Read", "Write", "List"} <= set(identity["actions"])


def test_backoff_doubles_caps_and_resets_after_stable_run():
    assert next_backoff(0, 0.1) == MIN_BACKOFF
    assert next_backoff(1, 0.5) == 2
    assert next_backoff(MAX_BACKOFF, 0.5) == MAX_BACKOFF
    assert next_backoff(16, STABLE_AFTER + 1) == MIN_BACKOFF


def test_partition_lag():
    assert partition_lag(end_offset=10, committed=None, beginning=0) == 10
    assert partition_lag(end_offset=10, committed=7, beginning=0) == 3
    assert partition_lag(end_offset=10, committed=12, beginning=0) == 0


def test_topics_and_groups():
    names = all_topic_names()
    assert set(Topics.ALL) <= set(names) and Topics.dlq(Topics.JOB_CODED) in names
    assert len(names) == len(set(names)) == 2 * len(Topics.ALL)
    assert all(t in Topics.ALL for topics in GROUP_TOPICS.values() for t in topics)
    options = subscriber_options("planner")
    assert options["group_id"] == "planner" and options["auto_offset_reset"] == "earliest"
    assert options["ack_policy"].value == "nack_on_error"  # handled messages commit; a raising handler is redelivered
    # short sessions: a restarted consumer is back in its group within seconds (tests/integration/test_consumer_restart)
    assert (options["session_timeout_ms"], options["heartbeat_interval_ms"]) == (3_000, 1_000)
    assert group_timing(9_000) == {"session_timeout_ms": 9_000, "heartbeat_interval_ms": 3_000}


def test_admin_key_from_env_else_generated_once(tmp_path):
    assert ensure_admin_key(tmp_path, {"RECAST_ADMIN_API_KEY": "given"}) == "given"
    generated = ensure_admin_key(tmp_path, {})
    assert len(generated) >= 32
    assert ensure_admin_key(tmp_path, {}) == generated


def test_service_modules():
    assert service_module("relay") == "gateway.relay"
    assert service_module("planner") == "planner"
    assert not module_available("no_such_service_module")
    assert module_available("recast_devstack.run")


def test_free_ports_are_distinct_and_closed():
    ports = free_ports(5)
    assert len(set(ports)) == 5
    assert not any(port_is_open(p) for p in ports)


def test_managed_process_stops_its_whole_group(tmp_path):
    # The child forks a grandchild; stopping the child must take the grandchild down too.
    script = (
        "import subprocess, sys, time; "
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"
    )
    process = ManagedProcess("sleeper", [sys.executable, "-c", script], log_path=tmp_path / "sleeper.log")
    deadline = time.monotonic() + 10
    grandchildren: list[int] = []
    while not grandchildren and time.monotonic() < deadline:
        grandchildren = [int(p) for p in os.listdir("/proc") if p.isdigit() and _pgid(int(p)) == process.pid
                         and int(p) != process.pid]
        time.sleep(0.05)
    assert grandchildren
    assert process.stop(timeout=5) == -signal.SIGTERM
    time.sleep(0.2)
    assert all(_pgid(pid) is None or _zombie(pid) for pid in grandchildren)


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] == "Z"
    except OSError:
        return True


def test_supervisor_restarts_a_crashed_service(tmp_path):
    from recast_devstack.supervisor import ServiceSpec, Supervisor

    # json.tool reading an empty stdin exits 1 at once: a service that keeps crashing
    supervisor = Supervisor(dict(os.environ), tmp_path)
    supervisor.add(ServiceSpec("crasher", "json.tool"))
    entry = supervisor.services["crasher"]
    deadline = time.monotonic() + 20
    while entry.restarts < 2 and time.monotonic() < deadline:
        supervisor.check()
        time.sleep(0.05)
    assert entry.restarts >= 2
    assert entry.history[:2] == [1, 1]
    assert entry.backoff == 2 * MIN_BACKOFF  # grows while the service keeps crashing
    assert (tmp_path / "crasher.log").exists()
    import asyncio

    asyncio.run(supervisor.stop_all(timeout=2))
    assert not entry.process.running


def test_make_run_starts_the_gateway_with_its_worker_count():
    assert gateway_workers({"RECAST_GATEWAY_WORKERS": "3"}) == 3
    assert gateway_workers({}) == max(1, min(DEFAULT_GATEWAY_WORKERS, os.cpu_count() or 1))
    gateway = next(spec for spec in service_specs(8123, workers=4) if spec.name == "gateway")
    assert list(gateway.args[-2:]) == ["--workers", "4"]
