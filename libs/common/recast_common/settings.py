"""Runtime configuration, read from the environment (prefix RECAST_) with development defaults.

One Settings object serves every service: each reads only what it needs.
"""
from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RECAST_", env_file=None, extra="ignore")

    # Postgres (SQLAlchemy async URL, e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/recast)
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/recast"

    # Kafka
    kafka_bootstrap: str = "127.0.0.1:9092"
    topic_partitions: int = 4
    # Services create missing topics at start (the dev stack); on a cluster Strimzi owns them (KafkaTopic
    # resources with their replicas and configs) and deploy/k8s sets RECAST_CREATE_TOPICS=false.
    create_topics: bool = True
    consumer_max_retries: int = 3
    # Consumer group sessions (heartbeats every third of it): short, so that a restarted consumer is back in its
    # groups within seconds (recast_common.kafka.group_timing); raise it where pauses of a few seconds are common.
    consumer_session_timeout_ms: int = Field(default=3_000, ge=1_000)
    # Where each consumer of this machine records its group member id, so that a restarted one takes over the
    # membership its killed predecessor left (recast_common.membership). Empty: a per-user directory (0700) under
    # the system's temporary directory; "off": never.
    consumer_member_dir: str = ""
    # A handling shorter than this publishes no job.progress: its output event (the next stage) says as much, and
    # every event costs the broker, S3 and the projector. A longer one reports its latest progress from then on.
    progress_delay_seconds: float = Field(default=1.0, ge=0)

    # S3
    s3_endpoint: str = "http://127.0.0.1:8333"
    s3_bucket: str = "recast"
    s3_access_key: str = "recast"
    s3_secret_key: str = "recast-secret"
    s3_region: str = "us-east-1"

    # Gateway
    admin_api_key: str = "recast-admin-dev-key"  # refused at start unless dev_mode (gateway.startup)
    dev_mode: bool = False  # RECAST_DEV_MODE=1: a development machine, where known default keys are accepted
    # Gateway worker processes sharing the port (uvicorn's workers; gateway.__main__): one process uses one core.
    # With more than one, /metrics sums every worker's series through prometheus_client's multiprocess mode.
    gateway_workers: int = Field(default=1, ge=1)
    # Where the workers' metric files go (a folder port-<port> in it, emptied at every start): a fixed place, so
    # that a gateway killed with SIGKILL leaves nothing that piles up. Empty: recast-gateway-metrics-<uid> in the
    # system's temporary directory. PROMETHEUS_MULTIPROC_DIR, when set, is the folder itself.
    gateway_metrics_dir: str = ""
    max_upload_bytes: int = 50 * 1024 * 1024
    inference_wait_seconds: float = 20.0
    max_inference_bytes: int = 10 * 1024**3  # the streamed inference route's own limit
    inline_output_bytes: int = 10 * 1024 * 1024  # larger outputs are only offered at output_url
    max_active_jobs: int = 100
    max_active_jobs_per_client: int = 20  # one client cannot fill the whole queue
    max_api_keys_per_client: int = 20  # active (not revoked) keys
    # How long a gateway process trusts a key it verified without asking the database again (gateway.key_cache):
    # the bound on a revoked key being accepted when the revocation's notification does not arrive. 0: no cache.
    api_key_cache_seconds: float = Field(default=5.0, ge=0)
    neutralize_formulas: bool = False  # inference outputs: cells starting with = + - @ get a ' (per request too)
    strict_inference: bool = False  # a run whose script could not convert something fails (per request too)

    # Pipeline
    max_attempts: int = 5
    search_timeout_seconds: float = 30.0
    sandbox_timeout_seconds: float = 300.0
    sandbox_memory_mb: int = 2048
    # Inputs larger than this with a row-local program are converted in chunks by the tester-inference replicas
    # (tester.chunked), each chunk's output one part of the output's multipart upload.
    inference_chunk_threshold_bytes: int = Field(default=512 * 1024**2, gt=0)
    inference_chunk_bytes: int = Field(default=128 * 1024**2, gt=0)  # about how much input one chunk holds
    inference_chunk_max_tries: int = Field(default=3, gt=0)  # a chunk started this often without finishing fails
    s3_min_part_bytes: int = 5 * 1024**2  # S3 refuses smaller parts but the last; smaller outputs run unsplit

    # LLM (optional; the by-example engine runs first and alone when unset)
    llm_base_url: str | None = None
    llm_api_key: str | None = None
    llm_model: str = "gpt-4o-mini"

    relay_poll_seconds: float = Field(default=1.0, gt=0)


@lru_cache
def get_settings() -> Settings:
    return Settings()
