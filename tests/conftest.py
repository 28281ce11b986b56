"""Shared fixtures.

- `stack` (session): the embedded stack (SeaweedFS, Tansu, Postgres) started once per test session, with a
  fresh database `recast_test_<random>` (on DATABASE_URL's server when set, else embedded Postgres) that is
  dropped afterwards. A StackEnv: `.env` (RECAST_* for services), `.settings`.
- `spawn` (function): `spawn("planner", extra_env={...}, args=[...])` runs `python -m planner` with the
  stack's env and returns a ServiceProcess (`.stop()` SIGTERM, `.kill()` SIGKILL, `.tail()` its log);
  whatever is still running at teardown is killed. Names "relay"/"projector" map to gateway.relay/projector.
- `spawn_gateway` (function): `spawn_gateway(extra_env=None)` starts the gateway on a free port and returns
  once /health answers 200; the process has `.url`.
- `pipeline` (module): gateway, relay, projector and one replica of each consumer; `.url`, `.admin_key`,
  `.processes`, `.settings`, `.env`.

Stack fixtures only start when a test asks for them, so unit tests never pay for them.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from recast_common.settings import Settings
from recast_devstack import Stack, StackConfig, StackEnv
from recast_devstack.ports import free_port
from recast_devstack.services import (
    BACKGROUND_SERVICES,
    ServiceProcess,
    module_available,
    service_module,
)

logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # connection refusals while the broker boots


def pytest_collection_modifyitems(config, items):
    # Tests under tests/integration need the stack even when their author forgot the marker.
    for item in items:
        if "integration" in Path(str(item.fspath)).parts:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
async def stack_handle():
    """The running Stack object itself (for tests that restart the broker); most tests want `stack`."""
    data_dir = Path(tempfile.mkdtemp(prefix="recast-test-stack-"))
    database = f"recast_test_{uuid.uuid4().hex[:12]}"
    config = StackConfig.from_environment(
        data_dir,
        database_name=database,
        drop_database_on_stop=True,
        admin_api_key=f"test-admin-{uuid.uuid4().hex}",
        stop_timeout=2.0,
    )
    handle = Stack(config)
    await handle.start()
    try:
        yield handle
    finally:
        await handle.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def stack(stack_handle) -> StackEnv:
    assert stack_handle.env is not None
    return stack_handle.env


class ProcessSet:
    """Services started by one fixture; all are killed when it ends."""

    def __init__(self, stack_env: StackEnv):
        self.stack_env = stack_env
        self.logs = stack_env.data_dir / "logs"
        self.processes: list[ServiceProcess] = []

    def spawn(self, name: str, extra_env: dict[str, str] | None = None, args: list[str] | None = None,
              url: str | None = None) -> ServiceProcess:
        module = service_module(name)
        if not module_available(module):
            pytest.skip(f"service module {module} does not exist yet")
        process = ServiceProcess(name, module, self.stack_env.process_env(extra_env), args or [],
                                 logs=self.logs, url=url)
        self.processes.append(process)
        return process

    def spawn_gateway(self, extra_env: dict[str, str] | None = None, timeout: float = 30.0) -> ServiceProcess:
        port = free_port()
        process = self.spawn("gateway", extra_env, ["--host", "127.0.0.1", "--port", str(port)],
                             url=f"http://127.0.0.1:{port}")
        process.wait_http_ok("/health", timeout=timeout)
        return process

    def close(self) -> None:
        for process in self.processes:
            if process.running:
                process.signal_group(15)
        for process in self.processes:
            process.stop(timeout=5)


@pytest.fixture
def spawn(stack) -> Callable[..., ServiceProcess]:
    processes = ProcessSet(stack)
    yield processes.spawn
    processes.close()


@pytest.fixture
def spawn_gateway(stack) -> Callable[..., ServiceProcess]:
    processes = ProcessSet(stack)
    yield processes.spawn_gateway
    processes.close()


@dataclass
class Pipeline:
    url: str
    admin_key: str
    settings: Settings
    env: dict[str, str]
    processes: dict[str, ServiceProcess] = field(default_factory=dict)


@pytest.fixture(scope="module")
def pipeline(stack, request) -> Pipeline:
    """Every service and the gateway on the test stack; a test module's PIPELINE_ENV adds to their environment."""
    extra_env: dict[str, str] = getattr(request.module, "PIPELINE_ENV", {})
    processes = ProcessSet(stack)
    try:
        started: dict[str, ServiceProcess] = {}
        for name, module in BACKGROUND_SERVICES:
            if module_available(module):
                started[name] = processes.spawn(name, {"RECAST_REPLICA_ID": f"{name}-1", **extra_env})
        gateway = processes.spawn_gateway(extra_env)
        started["gateway"] = gateway
        yield Pipeline(url=gateway.url, admin_key=stack.settings.admin_api_key, settings=stack.settings,
                       env=dict(stack.env), processes=started)
    finally:
        processes.close()


def pytest_report_header(config):
    where = "DATABASE_URL server" if os.environ.get("DATABASE_URL") else "embedded Postgres"
    return f"recast stack: Postgres from {where}"
