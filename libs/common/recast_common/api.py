"""Request/response schemas of the REST gateway (/api/v1); shared so clients and tests can use them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

HeaderMode = Literal["auto", "yes", "no"]


class TrainRequest(BaseModel):
    input_file: str = Field(description="Train input CSV, as text")
    expected_output_file: str = Field(description="Expected output CSV for that input, as text")
    job_id: str | None = Field(default=None, description="Replace this existing job (its rows and files)")
    header: HeaderMode = "auto"
    user_id: str | None = Field(default=None, description="Client id; defaults to the API key's client")


class TrainAccepted(BaseModel):
    job_id: str
    status: str
    user_id: str
    status_url: str


class InferenceRequest(BaseModel):
    job_id: str
    input_file: str = Field(description="CSV to convert, as text")
    user_id: str | None = None


class InferenceResult(BaseModel):
    run_id: str
    job_id: str
    status: Literal["pending", "succeeded", "failed"]
    status_url: str
    script: str | None = None
    output_file_base64: str | None = None  # only when the output is at most RECAST_INLINE_OUTPUT_BYTES
    output_url: str | None = None  # the output CSV, streamed, whenever the run produced one
    error: str | None = None
    metrics: dict[str, Any] | None = None


class AttemptOut(BaseModel):
    number: int
    status: str
    program_fingerprint: str | None = None
    verdict: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None


class JobOut(BaseModel):
    job_id: str
    user_id: str
    status: str
    stage: str
    percent: int
    message: str
    header: str
    attempt: int
    error: str | None = None
    created_at: datetime
    updated_at: datetime


class ArtifactOut(BaseModel):
    kind: str = Field(
        description="train_input, train_expected, profile, script, verdict, inference_input or inference_output"
    )
    key: str = Field(description="S3 key")
    size: int = Field(description="Bytes")
    sha256: str
    attempt: int | None = Field(default=None, description="The attempt a script or verdict belongs to")


class JobDetail(JobOut):
    attempts: list[AttemptOut] = Field(default_factory=list)
    artifacts: list[ArtifactOut] = Field(default_factory=list)
    script: str | None = None
    script_key: str | None = None


class JobPage(BaseModel):
    jobs: list[JobOut]
    next_cursor: str | None = None


class QueueStatus(BaseModel):
    active_jobs: int
    jobs_by_status: dict[str, int]
    max_active_jobs: int
    can_accept_new_jobs: bool
    consumer_groups: dict[str, Any]
    broker_error: str | None = None


class ClientCreate(BaseModel):
    client_id: str | None = None
    name: str = ""
    admin: bool = False


class ClientCreated(BaseModel):
    client_id: str
    api_key: str = Field(description="Shown once; only its hash is stored")
    admin: bool = False
    key_id: int | None = Field(default=None, description="Names this key in GET /keys and DELETE /keys/{key_id}")


class KeyCreate(BaseModel):
    client_id: str | None = Field(default=None, description="Defaults to the calling key's client (admin: any)")


class KeyInfo(BaseModel):
    """An API key as listed: never the key itself, only its first characters."""

    key_id: int
    client_id: str
    prefix: str = Field(description="The key's first characters, to tell keys apart")
    admin: bool
    revoked: bool
    created_at: datetime


class KeyList(BaseModel):
    keys: list[KeyInfo]


class SandboxReportView(BaseModel):
    replica: str
    roles: str
    isolation: str = Field(description='Layers the scripts get there, e.g. "netns+mountns+pidns+uid+no_new_privs"')
    reported_at: datetime


class Health(BaseModel):
    status: Literal["ok", "degraded", "down"]
    database: bool
    broker: bool
    storage: bool
    sandbox: str | None = Field(
        default=None, description="Isolation of the tester that reported last (None before any tester started)"
    )
    testers: list[SandboxReportView] = Field(
        default_factory=list, description="What each tester replica reported when it started, newest first"
    )
