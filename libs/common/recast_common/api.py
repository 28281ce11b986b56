"""Request/response schemas of the REST gateway (/api/v1); shared so clients and tests can use them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field
from recast_engine.verify.warnings import ConversionWarnings

from recast_common.events import DriftWarning

HeaderMode = Literal["auto", "yes", "no"]

# What an empty or null column instruction means, and how it is shown.
SAME_AS_INPUT = "SAME AS INPUT"


class JobDescription(BaseModel):
    """The fields of the original AI CSV Converter's train body that describe a job (all stored and returned)."""

    job_title: str | None = Field(default=None, description="A name for the conversion")
    description: str | None = None
    owner: str | None = Field(default=None, description="Who the job is for (free text)")
    general_instructions: str | None = Field(
        default=None, description="Instructions for the whole table, e.g. 'keep only rows where status is paid'"
    )
    column_instructions: dict[str, str | None] | None = Field(
        default=None,
        description="Per output column, what it should hold, e.g. {'code': 'uppercase'}; "
        f"empty or null means '{SAME_AS_INPUT}'",
    )


def shown_column_instructions(column_instructions: dict[str, str | None] | None) -> dict[str, str] | None:
    """Column instructions as stored and returned: empty or null ones read SAME AS INPUT."""
    if column_instructions is None:
        return None
    return {name: (text or "").strip() or SAME_AS_INPUT for name, text in column_instructions.items()}


class LearnHints(BaseModel):
    """Hints for learning, as sent (the gateway reads them with the engine's recast_engine.hints.Hints)."""

    model_config = ConfigDict(extra="forbid")

    constants: list[str] = Field(default_factory=list, description="Values a filter or threshold may use")
    aggregations: list[str] = Field(
        default_factory=list, description="Aggregation functions to consider: count, count_distinct, sum, avg, min, "
        "max (none: all)")


class TrainRequest(JobDescription):
    """The original train body, accepted as is; unknown fields are refused (a misspelt field is not dropped)."""

    model_config = ConfigDict(extra="forbid")

    input_file: str = Field(description="Train input CSV, as text")
    expected_output_file: str | None = Field(
        default=None,
        description="Expected output CSV for that input, as text; without it the job is built from the "
        "instructions alone (every instruction must be understood)",
    )
    job_id: str | None = Field(default=None, description="Replace this existing job (its rows and files)")
    header: HeaderMode = "auto"
    user_id: str | None = Field(default=None, description="Client id; defaults to the API key's client")
    hints: LearnHints | None = Field(
        default=None, description="Constants a filter or threshold may use and aggregation functions to consider, "
        "e.g. {\"constants\": [\"2013-02-01\"], \"aggregations\": [\"max\"]}: they settle what the example "
        "leaves open")




class InferenceRequest(BaseModel):
    job_id: str
    input_file: str = Field(description="CSV to convert, as text")
    user_id: str | None = None
    strict: bool | None = Field(default=None, description="Fail the run (422) when the script could not convert "
                                "something (`warnings`); default RECAST_STRICT_INFERENCE")


class FileFormat(BaseModel):
    """How an uploaded CSV file was saved; it is stored (and converted) as UTF-8 comma-separated CSV."""

    encoding: str = Field(description="utf-8, utf-8-sig (UTF-8 with BOM), utf-16-le, utf-16-be, cp1252 or latin-1")
    delimiter: str = Field(description="The field separator: , ; \\t (tab) or |")


class InferenceResult(BaseModel):
    run_id: str
    job_id: str
    status: Literal["pending", "succeeded", "failed"]
    status_url: str
    script: str | None = Field(default=None, description="The learned script, base64 (as the original API)")
    script_text: str | None = Field(default=None, description="The same script as plain text")
    python_script_base64: str | None = Field(default=None, description="The original API's name for `script`")
    output_csv_base64: str | None = Field(default=None, description="The original API's name for the output")
    output_file_base64: str | None = None  # only when the output is at most RECAST_INLINE_OUTPUT_BYTES
    output_url: str | None = None  # the output CSV, streamed, whenever the run produced one
    error: str | None = None
    metrics: dict[str, Any] | None = None
    # The original InferenceResponse's other fields (input_file and the *_s3_path are S3 keys).
    client_id: str | None = None
    mode: Literal["inference"] = "inference"
    input_file: str | None = None
    output_s3_path: str | None = None
    script_s3_path: str | None = None
    created_at: datetime | None = None
    message: str = ""
    drift_warnings: list[DriftWarning] = Field(
        default_factory=list, description="How the input differs from the train input the script was learned on"
    )
    input_format: FileFormat | None = Field(default=None, description="How the input file was saved, as detected")
    warnings: ConversionWarnings | None = Field(
        default=None, description="What the script could not convert, per output column and kind: lookup keys not "
        "seen in training, values not read in the learned date or number format, rows of another width, another "
        "header row; counts and the first rows (null: the script did not say)")

    @computed_field(description="The input's data profile (JSON; .html for the report)")
    @property
    def profile_url(self) -> str:
        return f"/api/v1/inference/{self.run_id}/profile"


class AttemptOut(BaseModel):
    number: int
    status: str
    program_fingerprint: str | None = None
    verdict: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None


class InstructionReport(BaseModel):
    """What the instruction reader made of the job's instructions, and what learning found against them."""

    understood: list[str] = Field(default_factory=list, description="Each instruction read, in words")
    not_understood: list[str] = Field(
        default_factory=list, description="Instructions (or parts) the reader could not read; never ignored silently"
    )
    contradictions: list[str] = Field(
        default_factory=list, description="Where the example disagrees with an instruction, naming the rows"
    )
    built_from_instructions: bool = Field(
        default=False, description="No expected output was given: the program was compiled from the instructions"
    )


class JobAnswer(BaseModel):
    """What both answers about a training job say (the train answer and the job view)."""

    job_id: str
    user_id: str
    status: str
    message: str
    created_at: datetime
    instructions: InstructionReport | None = None
    file_formats: dict[str, FileFormat] | None = Field(
        default=None, description="How input_file and expected_output_file were saved, as detected"
    )


class TrainAccepted(JobAnswer):
    """The original ConversionJobResponse's fields (input_file and expected_output_file are the stored S3 keys),
    with user_id and status_url beside them."""

    status_url: str
    client_id: str
    mode: Literal["training"] = "training"
    input_file: str
    expected_output_file: str
    description: str | None = None


class JobOut(JobDescription, JobAnswer):
    stage: str
    percent: int
    header: str
    attempt: int
    error: str | None = None
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

    @computed_field(description="The data profile of the train pair (JSON)")
    @property
    def profile_url(self) -> str:
        return f"/api/v1/{self.user_id}/{self.job_id}/profile"

    @computed_field(description="The data profile of the train pair as an HTML report with charts")
    @property
    def profile_report_url(self) -> str:
        return f"/api/v1/{self.user_id}/{self.job_id}/profile.html"


class QueueInfo(BaseModel):
    max_workers: int = Field(description="Consumers of the worker groups (profiler, planner, coder, tester)")
    active_jobs: int = Field(description="Jobs a worker is busy with (at most max_workers)")
    available_workers: int
    queue_size: int = Field(description="Messages waiting for a worker: the worker groups' Kafka lag")


class CapacityUtilization(BaseModel):
    workers_busy_percent: float
    can_accept_new_jobs: bool = Field(description="Admission: fewer active jobs than RECAST_MAX_ACTIVE_JOBS")
    estimated_wait_time_minutes: float


class QueueStatus(BaseModel):
    status: Literal["healthy", "degraded"] = Field(description="degraded when the broker could not be read")
    queue_info: QueueInfo
    capacity_utilization: CapacityUtilization
    active_jobs: int = Field(description="Jobs not yet finished (queued or in a stage)")
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
    status: Literal["healthy", "degraded", "unhealthy"] = Field(
        description="healthy: database, broker and storage answer; degraded: the database only; unhealthy: no database"
    )
    app_name: str
    version: str
    database: bool
    broker: bool
    storage: bool
    sandbox: str | None = Field(
        default=None, description="Isolation of the tester that reported last (None before any tester started)"
    )
    testers: list[SandboxReportView] = Field(
        default_factory=list, description="What each tester replica reported when it started, newest first"
    )
