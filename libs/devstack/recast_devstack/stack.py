"""The embedded stack: SeaweedFS (S3), Tansu (Kafka, topics in S3) and Postgres, plus the RECAST_* env.

    stack = Stack(StackConfig(data_dir=Path("data")))
    env = await stack.start()      # StackEnv: .env (RECAST_* for services), .settings
    ...
    await stack.stop()
"""
from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from recast_common.kafka import ensure_topics
from recast_common.settings import Settings

from recast_devstack import postgres
from recast_devstack.pgurls import to_sqlalchemy_url
from recast_devstack.seaweed import S3Credentials, SeaweedFS
from recast_devstack.tansu import Tansu

log = logging.getLogger(__name__)

S3, BROKER, POSTGRES = "S3 (SeaweedFS)", "Kafka (Tansu)", "Postgres"  # the infrastructure keep_alive restarts


@dataclass
class StackConfig:
    data_dir: Path
    database_name: str = "recast"
    drop_database_on_stop: bool = False  # tests: a fresh database per session, dropped afterwards
    database_url: str | None = None  # libpq URL of an existing server; None: embedded Postgres in data_dir
    admin_api_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))  # random unless given
    s3_bucket: str = "recast"
    tansu_bucket: str = "tansu"
    s3_access_key: str = "recast"
    s3_secret_key: str = "recast-secret"
    topic_partitions: int = 4
    kafka_port: int | None = None
    s3_port: int | None = None
    run_migrations: bool = True
    stop_timeout: float = 3.0  # grace for SeaweedFS after SIGTERM before SIGKILL (see SeaweedFS.stop)
    extra_env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_environment(cls, data_dir: Path, **kw) -> StackConfig:
        """DATABASE_URL (libpq form) selects an existing Postgres server; otherwise embedded."""
        kw.setdefault("database_url", os.environ.get("DATABASE_URL") or None)
        return cls(data_dir=data_dir, **kw)


@dataclass
class StackEnv:
    env: dict[str, str]  # every RECAST_* variable a service needs
    settings: Settings
    data_dir: Path
    database_name: str
    server_url: str  # libpq URL of the Postgres server's maintenance database
    timings: dict[str, float] = field(default_factory=dict)

    def process_env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """os.environ + the stack's env + extra: the environment for a service subprocess."""
        return {**os.environ, **self.env, **(extra or {})}


def stack_env(config: StackConfig, database_url: str, s3_endpoint: str, bootstrap: str) -> dict[str, str]:
    env = {
        "RECAST_DATABASE_URL": to_sqlalchemy_url(database_url),
        "RECAST_KAFKA_BOOTSTRAP": bootstrap,
        "RECAST_TOPIC_PARTITIONS": str(config.topic_partitions),
        "RECAST_S3_ENDPOINT": s3_endpoint,
        "RECAST_S3_BUCKET": config.s3_bucket,
        "RECAST_S3_ACCESS_KEY": config.s3_access_key,
        "RECAST_S3_SECRET_KEY": config.s3_secret_key,
        "RECAST_S3_REGION": "us-east-1",
        "RECAST_ADMIN_API_KEY": config.admin_api_key,
        # the member ids a restarted consumer takes over (recast_common.membership) live and go with the stack
        "RECAST_CONSUMER_MEMBER_DIR": str(Path(config.data_dir).resolve() / "consumer-members"),
        # the gateway workers' metric files (a folder per gateway port in it, emptied when a gateway starts)
        "RECAST_GATEWAY_METRICS_DIR": str(Path(config.data_dir).resolve() / "gateway-metrics"),
    }
    env.update(config.extra_env)
    return env


def settings_from_env(env: dict[str, str]) -> Settings:
    values = {k.removeprefix("RECAST_").lower(): v for k, v in env.items() if k.startswith("RECAST_")}
    return Settings.model_validate(values)


async def run_migrations(database_url: str) -> bool:
    """Run recast_common.db.migrate.upgrade(url) if that module exists yet; True when it ran."""
    try:
        migrate = importlib.import_module("recast_common.db.migrate")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("recast_common.db"):
            log.warning("recast_common.db.migrate not available yet: skipping migrations")
            return False
        raise
    # In a worker thread: upgrade() may run its own event loop (Alembic's async env).
    result = await asyncio.to_thread(migrate.upgrade, database_url)
    if inspect.isawaitable(result):
        await result
    return True


class Stack:
    def __init__(self, config: StackConfig):
        self.config = config
        self.data_dir = config.data_dir.resolve()
        self.logs = self.data_dir / "logs"
        self.creds = S3Credentials(config.s3_access_key, config.s3_secret_key)
        self.seaweed: SeaweedFS | None = None
        self.tansu: Tansu | None = None
        self.pg: postgres.PostgresServer | None = None
        self.env: StackEnv | None = None
        self._pg_task: asyncio.Task | None = None
        self.held: set[str] = set()  # parts keep_alive leaves down for now (a chaos run's Postgres outage)

    async def start(self) -> StackEnv:
        cfg = self.config
        self.logs.mkdir(parents=True, exist_ok=True)
        timings: dict[str, float] = {}
        began = time.monotonic()
        try:
            self.seaweed = SeaweedFS(self.data_dir, self.creds, self.logs, s3_port=cfg.s3_port)
            self.seaweed.start()
            # Postgres starts while SeaweedFS boots.
            self._pg_task = pg_task = asyncio.create_task(self._start_postgres())
            await self.seaweed.wait_ready([cfg.s3_bucket, cfg.tansu_bucket])
            timings["s3"] = time.monotonic() - began

            self.tansu = Tansu(self.seaweed.endpoint, self.creds, cfg.tansu_bucket, self.logs, port=cfg.kafka_port)
            self.tansu.start()
            await self.tansu.wait_ready()
            timings["kafka"] = time.monotonic() - began

            database_url = await pg_task
            timings["postgres"] = time.monotonic() - began

            env = stack_env(cfg, database_url, self.seaweed.endpoint, self.tansu.bootstrap)
            settings = settings_from_env(env)
            await ensure_topics(settings)
            timings["topics"] = time.monotonic() - began
            if cfg.run_migrations:
                await run_migrations(env["RECAST_DATABASE_URL"])
            timings["total"] = time.monotonic() - began
        except BaseException:
            await self.stop()
            raise
        self.env = StackEnv(
            env=env, settings=settings, data_dir=self.data_dir, database_name=cfg.database_name,
            server_url=self.pg.url, timings=timings,
        )
        log.info("stack ready in %.1fs (%s)", timings["total"], {k: round(v, 2) for k, v in timings.items()})
        return self.env

    async def _start_postgres(self) -> str:
        self.pg = await postgres.start_postgres(self.data_dir, self.config.database_url, self.logs)
        await postgres.wait_for_postgres(self.pg.url)
        await postgres.create_database(self.pg.url, self.config.database_name)
        return postgres.database_url(self.pg.url, self.config.database_name)

    async def restart_kafka(self) -> None:
        """Stop and start the broker on the same port (topics live in S3 and survive)."""
        assert self.tansu is not None
        self.tansu.restart()
        await self.tansu.wait_ready()

    async def keep_alive(self, stop: asyncio.Event, poll_seconds: float = 0.5) -> None:
        """Restart S3, the broker or the embedded Postgres when one of them exits, until `stop` is set (make run's
        supervision of the infrastructure; the services are supervised by recast_devstack.supervisor). A part
        that fails to come back is retried with a doubling delay (1 s up to 30 s)."""
        delays: dict[str, float] = {}
        next_try: dict[str, float] = {}
        while not stop.is_set():
            for name, down, restart in self._parts():
                now = time.monotonic()
                if stop.is_set() or name in self.held or not down() or now < next_try.get(name, 0.0):
                    continue
                log.warning("%s is down: restarting it", name)
                try:
                    await restart()
                    delays.pop(name, None)
                    log.info("%s is back", name)
                except Exception as exc:  # noqa: BLE001 - try again after a delay
                    delays[name] = min(30.0, delays.get(name, 0.5) * 2)
                    next_try[name] = time.monotonic() + delays[name]
                    log.error("%s did not come back (%s); next try in %.0fs", name, exc, delays[name])
            try:
                await asyncio.wait_for(stop.wait(), poll_seconds)
            except TimeoutError:
                pass

    def _parts(self):
        def gone(process) -> bool:
            return process is not None and not process.running

        async def restart_s3() -> None:
            assert self.seaweed is not None
            self.seaweed.stop(self.config.stop_timeout)
            self.seaweed.start()
            await self.seaweed.wait_ready([self.config.s3_bucket, self.config.tansu_bucket])

        async def restart_kafka() -> None:
            assert self.tansu is not None
            self.tansu.stop()
            self.tansu.start()
            await self.tansu.wait_ready()

        async def restart_postgres() -> None:
            assert self.pg is not None
            await self.pg.start_again()

        yield S3, lambda: self.seaweed is not None and gone(self.seaweed.process), restart_s3
        yield BROKER, lambda: self.tansu is not None and gone(self.tansu.process), restart_kafka
        yield POSTGRES, lambda: self.pg is not None and self.pg.embedded and not self.pg.running(), restart_postgres

    async def crash_restart_postgres(self, down_seconds: float) -> None:
        """Crash the embedded Postgres (immediate shutdown), leave it down `down_seconds`, start it again (while
        keep_alive runs too: it leaves Postgres to this restart meanwhile)."""
        assert self.pg is not None
        self.held.add(POSTGRES)
        try:
            await self.pg.crash_restart(down_seconds)
        finally:
            self.held.discard(POSTGRES)

    async def stop(self) -> None:
        """Stop everything; safe to call twice and after a failed start."""
        began = time.monotonic()
        if self._pg_task and not self._pg_task.done():
            self._pg_task.cancel()
            await asyncio.gather(self._pg_task, return_exceptions=True)
        self._pg_task = None
        if self.tansu:
            self.tansu.stop()
            self.tansu = None
        log.info("kafka stopped after %.1fs", time.monotonic() - began)
        if self.pg:
            if self.config.drop_database_on_stop:
                try:
                    await postgres.drop_database(self.pg.url, self.config.database_name)
                except Exception as exc:  # noqa: BLE001 - stopping must go on
                    log.warning("could not drop database %s: %s", self.config.database_name, exc)
            self.pg.stop()
            self.pg = None
            log.info("postgres stopped after %.1fs", time.monotonic() - began)
        if self.seaweed:
            self.seaweed.stop(self.config.stop_timeout)
            self.seaweed = None
        log.info("stack stopped in %.1fs", time.monotonic() - began)
