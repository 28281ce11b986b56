"""Event contracts of the pipeline: the one source of truth for every topic's payload.

Every event carries event_id (unique, the idempotency key), job_id (the Kafka key), attempt and a schema
version. An event that announces a stored file also carries its size and sha256 (optional fields, None from
older producers), which the projector records in the artifacts table.
`submission` names the submission of the job id the event belongs to: POST /train may replace a finished job
under the same id, and DELETE removes it; events of an older submission must then change nothing. The
gateway sets it, the consumer plumbing copies it from each input event to every output (None from older
producers: such events are treated as before).
Consumers must accept a redelivered event and do nothing the second time (see the inbox table).
A verdict travels as the engine's `Verdict` model (recast_engine.verify.verdict), the one definition of its shape;
it reads the dict verdicts of older producers too, so SCHEMA_VERSION did not change. What a learned script could not
convert travels likewise as the engine's `ConversionWarnings` (recast_engine.verify.warnings, versioned by its own
`version`), an optional field of the inference results (None from older producers).
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, Field
from recast_engine.verify.verdict import Verdict
from recast_engine.verify.warnings import ConversionWarnings

SCHEMA_VERSION = 1
# A key beside an event's fields in a message body (no Event field: parsing drops it): the message is the n-th
# re-drive of a job by the sweeper, a copy under the event's own id. A consumer that already handled that id sends
# its stored outputs again, marked the same way, instead of skipping the copy (see recast_common.consumer).
REDRIVE_MARK = "redrive"


class Topics:
    JOB_SUBMITTED = "job.submitted"
    JOB_PROFILED = "job.profiled"
    JOB_PLANNED = "job.planned"
    JOB_CODED = "job.coded"
    JOB_FEEDBACK = "job.feedback"
    JOB_SUCCEEDED = "job.succeeded"
    JOB_FAILED = "job.failed"
    JOB_PROGRESS = "job.progress"
    INFERENCE_REQUESTED = "inference.requested"
    INFERENCE_CHUNK_REQUESTED = "inference.chunk.requested"
    INFERENCE_COMPLETED = "inference.completed"
    INFERENCE_FAILED = "inference.failed"

    ALL = (
        JOB_SUBMITTED, JOB_PROFILED, JOB_PLANNED, JOB_CODED, JOB_FEEDBACK, JOB_SUCCEEDED, JOB_FAILED,
        JOB_PROGRESS, INFERENCE_REQUESTED, INFERENCE_CHUNK_REQUESTED, INFERENCE_COMPLETED, INFERENCE_FAILED,
    )
    # Events the projector materializes into Postgres.
    PROJECTED = (
        JOB_SUBMITTED, JOB_PROFILED, JOB_PLANNED, JOB_CODED, JOB_FEEDBACK, JOB_SUCCEEDED, JOB_FAILED,
        JOB_PROGRESS, INFERENCE_COMPLETED, INFERENCE_FAILED,
    )

    @staticmethod
    def dlq(topic: str) -> str:
        return f"{topic}.dlq"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def new_event_id() -> str:
    return uuid.uuid4().hex


class Event(BaseModel):
    schema_version: int = SCHEMA_VERSION
    event_id: str = Field(default_factory=new_event_id)
    job_id: str
    client_id: str
    attempt: int = 1
    created_at: datetime = Field(default_factory=_now)
    type: str
    submission: str | None = None  # jobs.submission of the job this event belongs to

    def partition_key(self) -> str:
        """The Kafka key: the job id, so that a job's events stay in order on one partition."""
        return self.job_id


class JobSubmitted(Event):
    type: Literal["job.submitted"] = "job.submitted"
    input_key: str  # S3 key of the train input CSV
    expected_key: str  # S3 key of the expected output CSV
    header: Literal["auto", "yes", "no"] = "auto"


class FileProfileSummary(BaseModel):
    """A file's profile in a few numbers (the whole profile is the stored JSON the event names)."""

    rows: int = 0
    data_rows: int = 0
    columns: int = 0
    header: bool = False
    bytes: int | None = None
    null_cells: int = 0
    duplicate_rows: int = 0
    duplicate_rows_exact: bool = True
    ragged_rows: int = 0
    kinds: list[str] = Field(default_factory=list)  # per column, the first 50


class DriftWarning(BaseModel):
    """How an inference input differs from the file the conversion was learned on."""

    kind: Literal["new_column", "missing_column", "unseen_value", "date_spelling", "number_spelling", "null_rate",
                  "numeric_range"]
    column: str | None = None  # the column's header name, else "column N" (1-based)
    message: str
    examples: list[str] = Field(default_factory=list)


class JobProfiled(Event):
    type: Literal["job.profiled"] = "job.profiled"
    input_key: str
    expected_key: str
    header: Literal["auto", "yes", "no"] = "auto"
    profile_key: str
    summary: dict[str, Any] = Field(default_factory=dict)
    profile_size: int | None = None  # bytes and sha256 of the stored profile (recorded as an artifact)
    profile_sha256: str | None = None
    input_profile: FileProfileSummary | None = None
    expected_profile: FileProfileSummary | None = None


class Trust(BaseModel):
    """How far the engine trusts a learned program on new data (recast_engine.synthesis.trust)."""

    confidence: Literal["trusted", "ambiguous", "memorizes"] = "trusted"
    reason: str = ""  # why it is not trusted: which column or step only works for the rows shown
    suggestion: str = ""  # what the user could add: more rows showing X, or an instruction


class JobPlanned(Event):
    type: Literal["job.planned"] = "job.planned"
    input_key: str
    expected_key: str
    program: dict[str, Any] | None = None  # recast_engine.dsl.Program as JSON (by-example engine)
    llm_script: str | None = None  # a whole script proposed by the LLM path
    source: Literal["search", "llm"] = "search"
    candidate_rank: int = 0  # which of the ranked candidates this is (0 = best)
    excluded: list[str] = Field(default_factory=list)  # fingerprints of programs that failed before
    # recast_common.api.InstructionReport as JSON: what the job's instructions said and where the example disagrees
    instruction_report: dict[str, Any] | None = None
    trust: Trust | None = None  # the search's confidence in this program (None: LLM plans, older producers)


class JobCoded(Event):
    type: Literal["job.coded"] = "job.coded"
    input_key: str
    expected_key: str
    script_key: str
    program: dict[str, Any] | None = None
    candidate_rank: int = 0
    excluded: list[str] = Field(default_factory=list)
    script_size: int | None = None  # bytes and sha256 of the stored script (recorded as an artifact)
    script_sha256: str | None = None
    trust: Trust | None = None  # copied from job.planned


class JobFeedback(Event):
    type: Literal["job.feedback"] = "job.feedback"
    input_key: str
    expected_key: str
    verdict: Verdict
    excluded: list[str] = Field(default_factory=list)
    next_rank: int = 1
    verdict_key: str | None = None  # the attempt's stored verdict.json, when the tester wrote one
    verdict_size: int | None = None
    verdict_sha256: str | None = None


class JobSucceeded(Event):
    type: Literal["job.succeeded"] = "job.succeeded"
    script_key: str
    verdict: Verdict
    # the script reproduced the train pair; a confidence other than trusted ends the job in needs_review
    trust: Trust | None = None
    verdict_key: str | None = None  # the attempt's stored verdict.json, when the tester wrote one
    verdict_size: int | None = None
    verdict_sha256: str | None = None


class JobFailed(Event):
    type: Literal["job.failed"] = "job.failed"
    reason: str
    verdict: Verdict | None = None  # the best attempt's verdict (its `attempt` says which)
    attempt_verdict: Verdict | None = None  # this attempt's own verdict, when the tester ran it
    stage: str = ""
    verdict_key: str | None = None  # the attempt's stored verdict.json, when the tester wrote one
    verdict_size: int | None = None
    verdict_sha256: str | None = None
    instruction_report: dict[str, Any] | None = None  # as in JobPlanned, when the planner gave up


class JobProgress(Event):
    type: Literal["job.progress"] = "job.progress"
    stage: str
    percent: int = 0
    message: str = ""


class InferenceRequested(Event):
    type: Literal["inference.requested"] = "inference.requested"
    run_id: str
    input_key: str
    output_key: str
    script_key: str
    neutralize_formulas: bool = False  # prefix cells starting with = + - @ with ' (recast_common.formulas)
    whole: bool = False  # run the script on the whole input even when it is large enough to be split in chunks
    strict: bool = False  # a run whose script could not convert something fails (the gateway resolves the setting)


class InferenceChunkRequested(Event):
    """One chunk of a large run split on record boundaries (tester.chunked): convert the input's bytes
    [start, end), after [0, prefix_end) for every chunk but the first, and upload the output as part
    chunk_index + 1 of the run's multipart upload of output_key."""

    type: Literal["inference.chunk.requested"] = "inference.chunk.requested"
    run_id: str
    input_key: str
    output_key: str
    script_key: str
    upload_id: str
    chunk_index: int
    chunk_count: int
    start: int
    end: int
    prefix_end: int = 0  # the BOM and, when drop_first_record, the file's first record (a header)
    drop_first_record: bool = False  # the prefix's record yields one output record, written by chunk 0 only
    neutralize_formulas: bool = False

    def partition_key(self) -> str:
        """Keyed by chunk, not by job: a run's chunks spread over the partitions, hence over the replicas."""
        return f"{self.run_id}:{self.chunk_index}"


class InferenceCompleted(Event):
    type: Literal["inference.completed"] = "inference.completed"
    run_id: str
    output_key: str
    metrics: dict[str, Any] = Field(default_factory=dict)
    output_size: int | None = None  # bytes and sha256 of the stored output (recorded as an artifact)
    output_sha256: str | None = None
    input_key: str | None = None  # the run's stored input, as the tester found it (recorded as an artifact)
    input_size: int | None = None
    input_sha256: str | None = None
    profile_key: str | None = None  # the input's stored profile, with its drift from the train input
    profile_size: int | None = None
    profile_sha256: str | None = None
    input_profile: FileProfileSummary | None = None
    drift_warnings: list[DriftWarning] = Field(default_factory=list)
    warnings: ConversionWarnings | None = None  # what the script could not convert (None: it did not say)


class InferenceFailed(Event):
    type: Literal["inference.failed"] = "inference.failed"
    run_id: str
    reason: str
    verdict: Verdict | None = None
    input_key: str | None = None  # the run's stored input, as the tester found it (recorded as an artifact)
    input_size: int | None = None
    input_sha256: str | None = None
    warnings: ConversionWarnings | None = None  # strict mode: what the script could not convert (the reason)


EVENT_TYPES: dict[str, type[Event]] = {
    cls.model_fields["type"].default: cls
    for cls in (
        JobSubmitted, JobProfiled, JobPlanned, JobCoded, JobFeedback, JobSucceeded, JobFailed, JobProgress,
        InferenceRequested, InferenceChunkRequested, InferenceCompleted, InferenceFailed,
    )
}


def parse_event(data: dict[str, Any] | bytes | str) -> Event:
    """Decode any pipeline event by its `type` field."""
    import json

    if isinstance(data, (bytes, str)):
        data = json.loads(data)
    return EVENT_TYPES[data["type"]].model_validate(data)
