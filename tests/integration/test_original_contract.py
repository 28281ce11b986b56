"""The original AI CSV Converter's clients work unchanged: its bodies, sent verbatim to every original route, get
the statuses and every field its contract documents (extras of ours may sit beside them)."""
from __future__ import annotations

import asyncio
import base64
import csv
import io
from datetime import datetime

import httpx
from test_pipeline_kit import API, create_client, wait_job

TRAIN_INPUT = "name,city,age\nAda Lovelace,london,36\nAlan Turing,wilmslow,41\nGrace Hopper,arlington,85\n"
TRAIN_EXPECTED = "name,city\nAda Lovelace,LONDON\nAlan Turing,WILMSLOW\nGrace Hopper,ARLINGTON\n"
NEW_INPUT = "name,city,age\nEdsger Dijkstra,nuenen,72\nBarbara Liskov,boston,84\n"
NEW_EXPECTED = [["name", "city"], ["Edsger Dijkstra", "NUENEN"], ["Barbara Liskov", "BOSTON"]]

CONVERSION_JOB_RESPONSE = {"job_id", "status", "input_file", "expected_output_file", "description", "client_id",
                           "mode", "created_at", "message"}
INFERENCE_RESPONSE = {"job_id", "status", "input_file", "client_id", "mode", "created_at", "message",
                      "python_script_base64", "output_csv_base64", "output_s3_path", "script_s3_path"}
METADATA = {"job_id", "status", "job_title", "description", "owner", "general_instructions", "column_instructions",
            "created_at"}


def original_train_body(user_id: str) -> dict:
    return {
        "user_id": user_id,
        "input_file": TRAIN_INPUT,
        "expected_output_file": TRAIN_EXPECTED,
        "job_title": "Cities in capitals",
        "description": "Names with their city, the city in capitals",
        "owner": "ops@example.com",
        "general_instructions": "Drop the age column.",
        "column_instructions": {"name": "", "city": "Convert to uppercase", "age": None},
    }


def _iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _check_metadata(job: dict, client_id: str) -> None:
    assert METADATA <= set(job), METADATA - set(job)
    assert job["job_title"] == "Cities in capitals" and job["owner"] == "ops@example.com"
    assert job["description"] == "Names with their city, the city in capitals"
    assert job["general_instructions"] == "Drop the age column."
    # empty or null column instructions read SAME AS INPUT
    assert job["column_instructions"] == {"name": "SAME AS INPUT", "city": "Convert to uppercase",
                                          "age": "SAME AS INPUT"}
    assert job["user_id"] == client_id
    _iso(job["created_at"])


def _train_and_check(url: str, key: str, client_id: str) -> str:
    response = httpx.post(f"{url}{API}/train", headers={"X-API-KEY": key}, json=original_train_body(client_id),
                          timeout=60)
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert CONVERSION_JOB_RESPONSE <= set(accepted), CONVERSION_JOB_RESPONSE - set(accepted)
    assert accepted["client_id"] == client_id and accepted["mode"] == "training"
    assert accepted["description"] == "Names with their city, the city in capitals"
    assert accepted["input_file"].endswith("input.csv") and accepted["expected_output_file"].endswith("expected.csv")
    assert accepted["message"] and _iso(accepted["created_at"])
    return accepted["job_id"]


def _inference_and_check(url: str, key: str, client_id: str, job_id: str) -> None:
    body = {"user_id": client_id, "job_id": job_id, "input_file": NEW_INPUT}
    response = httpx.post(f"{url}{API}/inference/run", headers={"X-API-KEY": key}, json=body, timeout=120)
    assert response.status_code == 200, response.text
    result = response.json()
    assert INFERENCE_RESPONSE <= set(result), INFERENCE_RESPONSE - set(result)
    assert result["client_id"] == client_id and result["mode"] == "inference" and result["message"]
    script = base64.b64decode(result["python_script_base64"]).decode()
    assert "def main" in script and base64.b64decode(result["script"]).decode() == script
    assert result["script_text"] == script
    output = base64.b64decode(result["output_csv_base64"]).decode()
    assert list(csv.reader(io.StringIO(output))) == NEW_EXPECTED
    assert result["output_s3_path"] and result["script_s3_path"]
    # the original also took the file's content in base64
    encoded = {**body, "input_file": base64.b64encode(NEW_INPUT.encode()).decode()}
    again = httpx.post(f"{url}{API}/inference/run", headers={"X-API-KEY": key}, json=encoded, timeout=120)
    assert again.status_code == 200, again.text
    assert list(csv.reader(io.StringIO(base64.b64decode(again.json()["output_csv_base64"]).decode()))) == NEW_EXPECTED


def _queue_and_health(url: str, key: str) -> None:
    queue = httpx.get(f"{url}{API}/queue/status", headers={"X-API-KEY": key}, timeout=30)
    assert queue.status_code == 200, queue.text
    status = queue.json()
    assert status["status"] == "healthy"
    info, capacity = status["queue_info"], status["capacity_utilization"]
    assert set(info) >= {"max_workers", "active_jobs", "available_workers", "queue_size"}
    assert info["max_workers"] >= 4  # one consumer in each worker group of the running pipeline
    assert info["available_workers"] == info["max_workers"] - info["active_jobs"]
    assert set(capacity) >= {"workers_busy_percent", "can_accept_new_jobs", "estimated_wait_time_minutes"}
    assert capacity["can_accept_new_jobs"] is True and 0 <= capacity["workers_busy_percent"] <= 100
    assert capacity["estimated_wait_time_minutes"] >= 0

    health = httpx.get(f"{url}/health", timeout=30)
    assert health.status_code == 200
    assert health.json()["status"] == "healthy"
    assert health.json()["app_name"] == "Recast" and health.json()["version"]
    root = httpx.get(f"{url}/", follow_redirects=False)
    assert root.status_code in (302, 307) and root.headers["location"] == "/docs"


async def test_original_bodies_get_the_original_answers_on_every_route(pipeline):
    url = pipeline.url
    client_id, key = await asyncio.to_thread(create_client, url, pipeline.admin_key)
    headers = {"X-API-KEY": key}
    job_id = await asyncio.to_thread(_train_and_check, url, key, client_id)

    job = await asyncio.to_thread(wait_job, url, key, client_id, job_id)
    assert job["status"] == "succeeded", job
    _check_metadata(job, client_id)
    assert job["instructions"]["not_understood"] == []

    listed = httpx.get(f"{url}{API}/users/{client_id}/jobs", headers=headers, timeout=30)
    assert listed.status_code == 200 and isinstance(listed.json(), list)
    assert [j["job_id"] for j in listed.json()] == [job_id]
    _check_metadata(listed.json()[0], client_id)

    await asyncio.to_thread(_inference_and_check, url, key, client_id, job_id)
    await asyncio.to_thread(_queue_and_health, url, key)

    unknown = httpx.get(f"{url}{API}/{client_id}/no-such-job", headers=headers, timeout=30)
    assert unknown.status_code == 200 and unknown.json() == {}

    assert httpx.delete(f"{url}{API}/delete/job/{client_id}/{job_id}", headers=headers).status_code == 204
    assert httpx.get(f"{url}{API}/{client_id}/{job_id}", headers=headers).json() == {}
    assert httpx.delete(f"{url}{API}/delete/user/{client_id}", headers=headers).status_code == 204
    assert httpx.get(f"{url}{API}/users/{client_id}/jobs", headers=headers).json() == []


def test_a_misspelt_field_of_the_train_body_is_refused_not_dropped(pipeline):
    client_id, key = create_client(pipeline.url, pipeline.admin_key)
    body = {**original_train_body(client_id), "colum_instructions": {"city": "uppercase"}}
    response = httpx.post(f"{pipeline.url}{API}/train", headers={"X-API-KEY": key}, json=body, timeout=60)
    assert response.status_code == 422 and "colum_instructions" in response.text


def test_the_multipart_upload_takes_the_same_fields_and_may_leave_out_the_expected_output(stack, spawn_gateway):
    gateway = spawn_gateway()
    client_id, key = create_client(gateway.url, stack.settings.admin_api_key)
    headers = {"X-API-KEY": key}
    files = {"input_file": ("in.csv", b"sku,qty\na1,2\nb2,3\n", "text/csv")}
    form = {"job_title": "Upper SKUs", "owner": "ops", "general_instructions": "sort by qty descending",
            "column_instructions": '{"sku": "uppercase", "qty": ""}'}
    response = httpx.post(f"{gateway.url}{API}/train/upload", headers=headers, files=files, data=form, timeout=60)
    assert response.status_code == 202, response.text
    assert response.json()["instructions"]["built_from_instructions"] is True
    job = httpx.get(f"{gateway.url}{API}/{client_id}/{response.json()['job_id']}", headers=headers).json()
    assert job["job_title"] == "Upper SKUs" and job["owner"] == "ops"
    assert job["column_instructions"] == {"sku": "uppercase", "qty": "SAME AS INPUT"}
    bad = httpx.post(f"{gateway.url}{API}/train/upload", headers=headers, files=files,
                     data={"column_instructions": "sku: uppercase"}, timeout=60)
    assert bad.status_code == 422 and "JSON object" in bad.json()["detail"]
