"""`python -m gateway [--host H] [--port P] [--workers N]`: serve the REST API with uvicorn.

With more than one worker (--workers, else RECAST_GATEWAY_WORKERS) uvicorn's supervisor holds the port and runs
that many worker processes, each its own application (pools, caches, listeners), replacing any that dies. Their
metrics go through prometheus_client's multiprocess mode (gateway.metrics), in a fixed folder (metrics_folder):
PROMETHEUS_MULTIPROC_DIR when set, else `port-<port>` in RECAST_GATEWAY_METRICS_DIR. The supervisor empties it at
start (the files of an earlier run, even one killed with SIGKILL, would add to the new counts) and at exit.
"""

from __future__ import annotations

import argparse
import os
import stat
import tempfile
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from recast_common.logs import setup_logging
from recast_common.settings import Settings
from recast_common.tracing import setup_tracing, shutdown_tracing

# gateway.metrics.MULTIPROC_DIR_ENV; not imported from there: the supervisor process must not load prometheus_client
# (with this variable set it would write metric files of its own)
MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
LOG_LEVEL_ENV = "RECAST_GATEWAY_LOG_LEVEL"  # the supervisor's --log-level, passed to its workers


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="recast-gateway", description="Recast REST gateway")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes (default RECAST_GATEWAY_WORKERS, else 1)")
    args = parser.parse_args(argv)
    setup_logging("gateway", args.log_level)
    settings = Settings()
    workers = args.workers or settings.gateway_workers
    if workers > 1:
        serve_workers(args.host, args.port, args.log_level, workers, settings)
        return
    from gateway.app import create_app

    setup_tracing("gateway")
    try:
        # log_config=None: uvicorn's loggers keep the JSON handler of setup_logging (no coloured lines)
        uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level=args.log_level,
                    log_config=None)
    finally:
        shutdown_tracing()


def metrics_folder(settings: Settings, port: int) -> Path:
    """The workers' metrics folder, created 0700: PROMETHEUS_MULTIPROC_DIR, else `port-<port>` in
    settings.gateway_metrics_dir (default: in the temporary directory; a folder per gateway of a machine, since
    their files must not mix). Refused (SystemExit) when it is a link, not this user's or writable by others: its
    files are deleted and read."""
    given = os.environ.get(MULTIPROC_DIR_ENV)
    base = settings.gateway_metrics_dir or Path(tempfile.gettempdir()) / f"recast-gateway-metrics-{os.getuid()}"
    folder = Path(given) if given else Path(base) / f"port-{port}"
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        pass
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise SystemExit(f"gateway metrics folder {folder} is not a directory of uid {os.getuid()} that only it "
                         f"may write to (set {MULTIPROC_DIR_ENV} or RECAST_GATEWAY_METRICS_DIR)")
    return folder


def clear_metrics(folder: Path) -> None:
    for stale in folder.glob("*.db"):
        stale.unlink(missing_ok=True)


def serve_workers(host: str, port: int, log_level: str, workers: int, settings: Settings | None = None) -> None:
    """uvicorn's supervisor with `workers` processes, each built by worker_app, sharing one metrics folder."""
    folder = metrics_folder(settings or Settings(), port)
    clear_metrics(folder)
    os.environ[MULTIPROC_DIR_ENV] = str(folder)  # inherited by the workers, read when they import prometheus
    os.environ[LOG_LEVEL_ENV] = log_level
    try:
        uvicorn.run("gateway.__main__:worker_app", factory=True, host=host, port=port, workers=workers,
                    log_level=log_level, log_config=None)
    finally:
        clear_metrics(folder)


def worker_app() -> FastAPI:
    """One worker's application (uvicorn calls it in each worker process, which starts afresh)."""
    from gateway.app import create_app

    setup_logging("gateway", os.environ.get(LOG_LEVEL_ENV, "info"))
    setup_tracing("gateway")  # flushed by the app's shutdown (create_app's on_exit)
    return create_app(Settings(), on_exit=shutdown_tracing)


if __name__ == "__main__":
    main()
