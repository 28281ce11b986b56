"""Trust through the pipeline: a script the engine does not trust ends the job in needs_review (script, reason,
suggestion); inference waits until the user accepts it through the API, then runs it."""
from __future__ import annotations

import asyncio

import httpx
from test_pipeline_kit import API, create_client, train, wait_job

# words no rule derives from the ids: the best script is a table of the example's answers
IDS = "id,b\n1,x\n2,y\n3,z\n"
WORDS = "q\nfoo\nbar\nbaz\n"


def post(url: str, key: str, path: str, **kw) -> httpx.Response:
    return httpx.post(f"{url}{API}{path}", headers={"X-API-KEY": key}, timeout=120, **kw)


async def test_an_untrusted_script_needs_review_until_the_user_accepts_it(pipeline):
    client_id, key = await asyncio.to_thread(create_client, pipeline.url, pipeline.admin_key)
    accepted = await asyncio.to_thread(train, pipeline.url, key, IDS, WORDS)
    job_id = accepted["job_id"]
    job = await asyncio.to_thread(wait_job, pipeline.url, key, client_id, job_id)
    if job["status"] == "failed":  # nothing fits at all: the failure says which column and what to try
        assert "'q'" in job["error"] and "Try:" in job["error"], job
        return
    assert job["status"] == "needs_review", job
    assert "not trusted" in job["message"] and "Try:" in job["message"], job["message"]
    assert job["script"] and "def main" in job["script"]

    refused = await asyncio.to_thread(post, pipeline.url, key, "/inference/run",
                                      json={"job_id": job_id, "input_file": "id,b\n4,w\n"})
    assert refused.status_code >= 400, refused.text

    done = await asyncio.to_thread(post, pipeline.url, key, f"/jobs/{client_id}/{job_id}/accept")
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "succeeded" and "accepted by the user" in done.json()["message"]
    again = await asyncio.to_thread(post, pipeline.url, key, f"/jobs/{client_id}/{job_id}/accept")
    assert again.status_code == 409

    ran = await asyncio.to_thread(post, pipeline.url, key, "/inference/run",
                                  json={"job_id": job_id, "input_file": "id,b\n2,y\n"})
    assert ran.status_code in (200, 202), ran.text


async def test_a_trusted_script_succeeds_and_cannot_be_accepted_again(pipeline):
    client_id, key = await asyncio.to_thread(create_client, pipeline.url, pipeline.admin_key)
    accepted = await asyncio.to_thread(train, pipeline.url, key, "a,b\n1,x\n2,y\n3,z\n", "b,a\nx,1\ny,2\nz,3\n")
    job = await asyncio.to_thread(wait_job, pipeline.url, key, client_id, accepted["job_id"])
    assert job["status"] == "succeeded", job
    response = await asyncio.to_thread(post, pipeline.url, key, f"/jobs/{client_id}/{accepted['job_id']}/accept")
    assert response.status_code == 409 and "only a job in needs_review" in response.text
