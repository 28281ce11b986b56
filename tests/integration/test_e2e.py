"""End to end over HTTP: train a small pair, get the script, run inference on a new file."""
from __future__ import annotations

import asyncio
import base64
import csv
import io

import httpx
from test_pipeline_kit import API, create_client, train, wait_job

TRAIN_INPUT = "name,city,age\nAda Lovelace,London,36\nAlan Turing,Wilmslow,41\nGrace Hopper,Arlington,85\n"
TRAIN_EXPECTED = "city,name\nLondon,Ada Lovelace\nWilmslow,Alan Turing\nArlington,Grace Hopper\n"
NEW_INPUT = "name,city,age\nEdsger Dijkstra,Nuenen,72\nBarbara Liskov,Boston,84\n"
NEW_EXPECTED = [["city", "name"], ["Nuenen", "Edsger Dijkstra"], ["Boston", "Barbara Liskov"]]


async def test_train_then_inference_over_http(pipeline):
    client_id, key = await asyncio.to_thread(create_client, pipeline.url, pipeline.admin_key)
    accepted = await asyncio.to_thread(train, pipeline.url, key, TRAIN_INPUT, TRAIN_EXPECTED)
    job = await asyncio.to_thread(wait_job, pipeline.url, key, client_id, accepted["job_id"])
    assert job["status"] == "succeeded", job
    assert job["script"] and "def main" in job["script"]
    assert job["attempts"] and job["attempts"][-1]["status"] in ("succeeded", "passed")

    response = await asyncio.to_thread(
        httpx.post, f"{pipeline.url}{API}/inference/run", headers={"X-API-KEY": key}, timeout=120,
        json={"job_id": accepted["job_id"], "input_file": NEW_INPUT},
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["status"] == "succeeded"
    output = base64.b64decode(result["output_file_base64"]).decode()
    assert list(csv.reader(io.StringIO(output))) == NEW_EXPECTED
