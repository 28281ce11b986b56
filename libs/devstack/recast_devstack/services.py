"""Starting Recast services (`python -m <module>`) as managed child processes with the stack's env."""
from __future__ import annotations

import importlib.util
import itertools
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from recast_devstack.process import ManagedProcess

# (name, module) of every service `make run` and the `pipeline` fixture start, gateway first.
GATEWAY = "gateway"
BACKGROUND_SERVICES: tuple[tuple[str, str], ...] = (
    ("relay", "gateway.relay"),
    ("projector", "gateway.projector"),
    ("profiler", "profiler"),
    ("planner", "planner"),
    ("coder", "coder"),
    ("tester", "tester"),
)

_counter = itertools.count(1)


def module_available(module: str) -> bool:
    """True when `python -m module` can run: the module exists (a package needs a __main__)."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return False
    if spec is None:
        return False
    if spec.submodule_search_locations is not None:  # a package: needs __main__
        try:
            return importlib.util.find_spec(module + ".__main__") is not None
        except (ImportError, ValueError):
            return False
    return True


def service_module(name: str) -> str:
    """Service name to module: "relay" -> "gateway.relay", "planner" -> "planner", dotted names as is."""
    return dict(BACKGROUND_SERVICES).get(name, name)


class ServiceProcess(ManagedProcess):
    """One running service; `.url` is set for HTTP services (the gateway)."""

    def __init__(self, name: str, module: str, env: dict[str, str], args: Sequence[str] = (),
                 logs: Path | None = None, url: str | None = None, log_name: str | None = None):
        self.module = module
        self.url = url
        log_path = (logs / (log_name or f"{name}-{next(_counter)}.log")) if logs else None
        super().__init__(name, [sys.executable, "-m", module, *args], env=env, log_path=log_path)

    def wait_http_ok(self, path: str = "/health", timeout: float = 30.0) -> None:
        """Poll url+path until it answers 200; raise with the log tail if the process dies or time runs out."""
        assert self.url, "not an HTTP service"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"{self.name} exited with {self.poll()}:\n{self.tail()}")
            if http_ok(self.url + path):
                return
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not healthy at {self.url}{path} after {timeout:.0f}s:\n{self.tail()}")


def http_ok(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False
