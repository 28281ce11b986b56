"""Every stored file is recorded in artifacts (size, sha256), listed by the job metadata endpoint, and goes with
the job; an oversized file in a multipart upload is refused with 413 and nothing is stored."""
from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import datetime, timedelta, timezone

import asyncpg
import httpx
import pytest
from recast_common.db.session import asyncpg_dsn, make_engine
from recast_common.events import JobCoded, JobSucceeded
from recast_common.storage import Storage
from sqlalchemy.ext.asyncio import async_sessionmaker
from test_pipeline_kit import API, create_client, train, wait_job

pytestmark = pytest.mark.integration

TRAIN_INPUT = "name,city,age\nAda Lovelace,London,36\nAlan Turing,Wilmslow,41\nGrace Hopper,Arlington,85\n"
TRAIN_EXPECTED = "city,name\nLondon,Ada Lovelace\nWilmslow,Alan Turing\nArlington,Grace Hopper\n"
NEW_INPUT = "name,city,age\nEdsger Dijkstra,Nuenen,72\n"


async def objects(settings, keys: list[str]) -> dict[str, bytes | None]:
    async with Storage(settings) as storage:
        found = {}
        for key in keys:
            found[key] = await storage.get_bytes(key) if await storage.exists(key) else None
        return found


async def test_every_stored_file_is_listed_with_its_size_and_digest_and_goes_with_the_job(pipeline):
    client_id, key = await asyncio.to_thread(create_client, pipeline.url, pipeline.admin_key)
    headers = {"X-API-KEY": key}
    job_id = (await asyncio.to_thread(train, pipeline.url, key, TRAIN_INPUT, TRAIN_EXPECTED))["job_id"]
    job = await asyncio.to_thread(wait_job, pipeline.url, key, client_id, job_id)
    assert job["status"] == "succeeded", job
    run = await asyncio.to_thread(
        httpx.post, f"{pipeline.url}{API}/inference/run", headers=headers, timeout=120,
        json={"job_id": job_id, "input_file": NEW_INPUT},
    )
    assert run.status_code == 200, run.text

    detail = httpx.get(f"{pipeline.url}{API}/{client_id}/{job_id}", headers=headers, timeout=30).json()
    artifacts = detail["artifacts"]
    kinds = [a["kind"] for a in artifacts]
    for kind in ("train_input", "train_expected", "profile", "script", "verdict", "inference_input",
                 "inference_output"):
        assert kinds.count(kind) == 1, artifacts
    last = detail["attempt"]
    assert {a["attempt"] for a in artifacts if a["kind"] in ("script", "verdict")} == {last}
    assert next(a for a in artifacts if a["kind"] == "script")["key"] == detail["script_key"]
    stored = await objects(pipeline.settings, [a["key"] for a in artifacts])
    for artifact in artifacts:
        data = stored[artifact["key"]]
        assert data is not None, artifact
        assert artifact["size"] == len(data) and artifact["sha256"] == hashlib.sha256(data).hexdigest(), artifact

    deleted = httpx.delete(f"{pipeline.url}{API}/delete/job/{client_id}/{job_id}", headers=headers, timeout=30)
    assert deleted.status_code == 204
    conn = await asyncpg.connect(asyncpg_dsn(pipeline.settings.database_url))
    try:
        assert await conn.fetchval("SELECT count(*) FROM artifacts WHERE job_id = $1", job_id) == 0
    finally:
        await conn.close()
    assert set((await objects(pipeline.settings, list(stored))).values()) == {None}


async def test_a_file_written_again_updates_its_row_and_a_redelivery_changes_nothing(stack):
    from gateway.projector import apply_event

    conn = await asyncpg.connect(asyncpg_dsn(stack.settings.database_url))
    engine = make_engine(stack.settings.database_url)
    try:
        client, job = f"art-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
        await conn.execute("INSERT INTO clients (id) VALUES ($1)", client)
        await conn.execute(
            "INSERT INTO jobs (id, public_id, client_id, input_key, expected_key, created_at) "
            "VALUES ($1, $1, $2, 'i', 'e', now() - interval '1 minute')", job, client,
        )
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        script_key = f"{client}/{job}/attempt-1/script.py"
        common = {"job_id": job, "client_id": client, "input_key": "i", "expected_key": "e", "script_key": script_key}
        first = JobCoded(**common, script_size=10, script_sha256="a" * 64)
        assert await apply_event(sessions, first)
        assert not await apply_event(sessions, first)  # redelivered
        # The coder ran again for the same attempt (a redelivered job.planned): same key, new content.
        later = datetime.now(timezone.utc) + timedelta(seconds=1)
        assert await apply_event(sessions, JobCoded(**common, script_size=12, script_sha256="b" * 64, created_at=later))
        # An event from an older producer announces no size: nothing is recorded for it.
        assert await apply_event(sessions, JobSucceeded(job_id=job, client_id=client, script_key=script_key,
                                                        verdict={"passed": True}, verdict_key="v"))
        rows = await conn.fetch("SELECT kind, s3_key, size, sha256 FROM artifacts WHERE job_id = $1", job)
        assert [tuple(r) for r in rows] == [("script", script_key, 12, "b" * 64)]
        await conn.execute("DELETE FROM clients WHERE id = $1", client)
    finally:
        await engine.dispose()
        await conn.close()


async def test_an_oversized_file_in_a_multipart_upload_is_refused_and_nothing_stored(stack, spawn_gateway):
    limit = 4096
    gateway = spawn_gateway(extra_env={"RECAST_MAX_UPLOAD_BYTES": str(limit)})
    client_id = f"big-{uuid.uuid4().hex[:8]}"
    created = httpx.post(f"{gateway.url}{API}/admin/clients", json={"client_id": client_id},
                         headers={"X-API-KEY": stack.settings.admin_api_key})
    headers = {"X-API-KEY": created.json()["api_key"]}
    # Under the whole-request cap (two files' worth), over the per-file limit.
    oversized = b"a,b\n" + b"1,2\n" * (limit // 4 + 100)
    assert len(oversized) < 2 * limit
    train_files = {"input_file": ("in.csv", b"a,b\n1,2\n"), "expected_output_file": ("out.csv", oversized)}
    response = httpx.post(f"{gateway.url}{API}/train/upload", headers=headers, files=train_files)
    assert response.status_code == 413, response.text
    assert "expected_output_file" in response.json()["detail"] and str(limit) in response.json()["detail"]

    inference = httpx.post(f"{gateway.url}{API}/inference/run/upload", headers=headers,
                           data={"job_id": "nojob"}, files={"input_file": ("in.csv", oversized)})
    assert inference.status_code == 413 and "input_file" in inference.json()["detail"]

    ok_files = {"input_file": ("in.csv", b"a,b\n1,2\n"), "expected_output_file": ("out.csv", b"b\n2\n")}
    accepted = httpx.post(f"{gateway.url}{API}/train/upload", headers=headers, files=ok_files)
    assert accepted.status_code == 202
    conn = await asyncpg.connect(asyncpg_dsn(stack.settings.database_url))
    try:
        assert await conn.fetchval("SELECT count(*) FROM jobs WHERE client_id = $1", client_id) == 1
    finally:
        await conn.close()
    async with Storage(stack.settings) as storage:
        keys = await storage.list_keys(f"{client_id}/")
    # Only the accepted job's files (pipeline services may be processing it meanwhile).
    assert keys and all(k.startswith(f"{client_id}/{accepted.json()['job_id']}/") for k in keys), keys
