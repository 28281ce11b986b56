"""SQLAlchemy 2 models. The migrations (migrations/versions) are the schema's source of truth."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

JOB_STATUSES = (
    "queued", "profiling", "planning", "coding", "testing", "succeeded", "needs_review", "failed", "deleted",
)
# needs_review: a script reproduces the example but the engine does not trust it on new data (the user may accept it)
TERMINAL_JOB_STATUSES = ("succeeded", "needs_review", "failed", "deleted")
RUN_STATUSES = ("pending", "succeeded", "failed")

ID = String(64)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSONB}


def _created() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


def _updated() -> Mapped[datetime]:
    return mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )


class Client(Base):
    __tablename__ = "clients"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    created_at: Mapped[datetime] = _created()


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(ID, ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    revoked: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    created_at: Mapped[datetime] = _created()


class Job(Base):
    __tablename__ = "jobs"
    # The internal id (events, S3 folders, child rows), global; clients see and name public_id, unique per client
    # (0010), equal to id unless the client chose it.
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    client_id: Mapped[str] = mapped_column(ID, ForeignKey("clients.id", ondelete="CASCADE"))
    public_id: Mapped[str] = mapped_column(ID, default=lambda context: context.get_current_parameters()["id"])
    status: Mapped[str] = mapped_column(String(16), default="queued", server_default="queued")
    stage: Mapped[str] = mapped_column(String(32), default="queued", server_default="queued")
    percent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    message: Mapped[str] = mapped_column(Text, default="", server_default="")
    header: Mapped[str] = mapped_column(String(8), default="auto", server_default="auto")
    input_key: Mapped[str] = mapped_column(Text)
    expected_key: Mapped[str] = mapped_column(Text)
    attempt: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    script_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Identity of the current submission under this id; events of another one are stale (None: before 0003).
    submission: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The original train body's description of the job (0005); column_instructions as sent, empty ones included.
    job_title: Mapped[str | None] = mapped_column(Text, nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    owner: Mapped[str | None] = mapped_column(Text, nullable=True)
    general_instructions: Mapped[str | None] = mapped_column(Text, nullable=True)
    column_instructions: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    # recast_common.api.InstructionReport: what was read, not understood, and contradicted by the example.
    instructions: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    # recast_common.api.FileFormat of each uploaded file by field name (0009; None before).
    file_formats: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()

    __table_args__ = (
        Index("ix_jobs_client_created", "client_id", "created_at", "id"),
        Index("ix_jobs_status", "status"),
        UniqueConstraint("client_id", "public_id", name="uq_jobs_client_public_id"),
    )


class Attempt(Base):
    __tablename__ = "attempts"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ID, ForeignKey("jobs.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    program_fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="planned", server_default="planned")
    verdict: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()

    __table_args__ = (UniqueConstraint("job_id", "number", name="uq_attempts_job_number"),)


class JobEvent(Base):
    __tablename__ = "job_events"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(ID, unique=True)
    job_id: Mapped[str] = mapped_column(ID, ForeignKey("jobs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = _created()

    __table_args__ = (UniqueConstraint("job_id", "seq", name="uq_job_events_job_seq"),)


class OutboxRow(Base):
    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = _created()
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    claimed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # publish attempts
    # traceparent/tracestate of the request that wrote the row (None when tracing is off): the relay continues it
    trace_context: Mapped[dict[str, str] | None] = mapped_column(JSONB, nullable=True)

    __table_args__ = (Index("ix_outbox_unsent", "id", postgresql_where=text("sent_at IS NULL")),)


class InboxRow(Base):
    __tablename__ = "inbox"
    consumer: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[str] = mapped_column(ID, primary_key=True)
    processed_at: Mapped[datetime] = _created()
    # the events the handler returned, stored with the claim so that a redelivery sends exactly these again
    outputs: Mapped[list[Any] | None] = mapped_column(JSONB, nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Artifact(Base):
    __tablename__ = "artifacts"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ID, ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    s3_key: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = _created()


class InferenceRun(Base):
    __tablename__ = "inference_runs"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    job_id: Mapped[str] = mapped_column(ID, ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(ID, ForeignKey("clients.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    input_key: Mapped[str] = mapped_column(Text)
    output_key: Mapped[str] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    drift_warnings: Mapped[list[Any] | None] = mapped_column(JSONB, nullable=True)
    input_format: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)  # api.FileFormat (0009)
    warnings: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)  # ConversionWarnings (0012)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


CHUNKED_RUN_STATES = ("converting", "completed", "failed", "whole")  # whole: rerun unsplit (tester.chunked)
CHUNK_STATES = ("pending", "running", "done")


class ChunkedRun(Base):
    """A large inference run split in chunks: its multipart upload and what its completion event carries."""

    __tablename__ = "chunked_runs"
    run_id: Mapped[str] = mapped_column(ID, primary_key=True)
    job_id: Mapped[str] = mapped_column(ID, index=True)
    output_key: Mapped[str] = mapped_column(Text)
    upload_id: Mapped[str] = mapped_column(Text)
    chunk_count: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="converting", server_default="converting")
    facts: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class InferenceChunk(Base):
    """One chunk of a ChunkedRun: part chunk_index + 1 of its upload, once done."""

    __tablename__ = "inference_chunks"
    run_id: Mapped[str] = mapped_column(ID, ForeignKey("chunked_runs.run_id", ondelete="CASCADE"), primary_key=True)
    chunk_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    tries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    replica: Mapped[str | None] = mapped_column(String(200), nullable=True)
    etag: Mapped[str | None] = mapped_column(Text, nullable=True)
    part_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    output_rows: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    # the partial profile of the chunk's input range (recast_engine.profiling.partial, packed), until the run
    # ends (0013); deferred: loaded only by the chunk that merges them
    profile: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    updated_at: Mapped[datetime] = _updated()


class DataProfile(Base):
    """A profiled file's headline numbers; the whole profile is the JSON at s3_key."""

    __tablename__ = "data_profiles"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ID, ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    role: Mapped[str] = mapped_column(String(20))  # train_input, train_expected or inference_input
    s3_key: Mapped[str] = mapped_column(Text)
    rows: Mapped[int] = mapped_column(BigInteger)
    columns: Mapped[int] = mapped_column(Integer)
    null_cells: Mapped[int] = mapped_column(BigInteger)
    duplicate_rows: Mapped[int] = mapped_column(BigInteger)
    drift_warnings: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    summary: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = _created()

    __table_args__ = (UniqueConstraint("s3_key", "role", name="uq_data_profiles_key_role"),)


class SandboxReport(Base):
    """The sandbox isolation one tester replica gets on its host (upserted when it starts)."""

    __tablename__ = "sandbox_reports"
    replica: Mapped[str] = mapped_column(String(200), primary_key=True)
    roles: Mapped[str] = mapped_column(String(100), default="", server_default="")
    isolation: Mapped[str] = mapped_column(Text)
    reported_at: Mapped[datetime] = _created()
