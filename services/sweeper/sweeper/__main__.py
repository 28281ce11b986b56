"""`python -m sweeper [--once] [--dry-run]`: a sweeper pass every RECAST_SWEEPER_INTERVAL_SECONDS (sweeper.sweep).

A pass that fails (the database or S3 away) is logged and counted; the next one comes at the next interval.
Serves /metrics, /healthz and /readyz on RECAST_METRICS_PORT when set.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal

from recast_common.db.session import make_engine
from recast_common.metrics import mark_ready, record_sweep, serve_metrics_from_env
from recast_common.settings import Settings
from recast_common.storage import Storage
from sqlalchemy.ext.asyncio import async_sessionmaker

from sweeper.metrics import PASS_FAILURES
from sweeper.settings import SweeperSettings
from sweeper.sweep import PassReport, Sweeper

log = logging.getLogger("sweeper")


async def serve(settings: Settings, config: SweeperSettings, once: bool = False) -> PassReport | None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    engine = make_engine(settings.database_url, pool_size=2, max_overflow=1)
    report = None
    try:
        async with Storage(settings) as storage:
            sweeper = Sweeper(config, async_sessionmaker(engine, expire_on_commit=False), storage)
            mark_ready()
            while not stopping.is_set():
                try:
                    report = await sweeper.run_pass()
                    record_sweep(ok=True)  # the alerts of deploy/k8s/prometheusrule.yaml
                except Exception as exc:  # noqa: BLE001 - try again at the next interval
                    PASS_FAILURES.inc()
                    record_sweep(ok=False)
                    log.warning("sweeper pass failed: %s: %s", type(exc).__name__, exc)
                    if once:
                        raise
                if once:
                    break
                try:
                    await asyncio.wait_for(stopping.wait(), config.interval_seconds)
                except TimeoutError:
                    pass
    finally:
        await engine.dispose()
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="recast-sweeper", description="Re-drive stuck jobs, remove S3 orphans, "
                                     "prune the outbox and inbox")
    parser.add_argument("--once", action="store_true", help="one pass, print its report as JSON, exit")
    parser.add_argument("--dry-run", action="store_true", help="report only (also RECAST_SWEEPER_DRY_RUN=1)")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = SweeperSettings()
    if args.dry_run:
        config = config.model_copy(update={"dry_run": True})
    serve_metrics_from_env()
    report = asyncio.run(serve(Settings(), config, once=args.once))
    if args.once and report is not None:
        print(json.dumps({**report.summary(), "redriven_jobs": report.redriven, "failed_jobs": report.failed,
                          "orphan_keys": report.orphans, "missing": report.missing}))


if __name__ == "__main__":
    main()
