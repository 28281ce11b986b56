"""Inference outputs keep formula-like cells as they are by default; with ?neutralize_formulas=true each one
gets a leading quote, so a spreadsheet shows it as text."""
from __future__ import annotations

import asyncio
import base64
import csv
import io

import httpx
from test_pipeline_kit import API, create_client, train, wait_job

TRAIN_INPUT = "name,city,age\nAda Lovelace,London,36\nAlan Turing,Wilmslow,41\nGrace Hopper,Arlington,85\n"
TRAIN_EXPECTED = "city,name\nLondon,Ada Lovelace\nWilmslow,Alan Turing\nArlington,Grace Hopper\n"
HOSTILE_INPUT = 'name,city,age\n"=HYPERLINK(""http://x"",""y"")",@SUM(A1),1\n-5,+cmd,2\n'


def output_rows(url: str, key: str, job_id: str, params: dict) -> list[list[str]]:
    response = httpx.post(f"{url}{API}/inference/run", headers={"X-API-KEY": key}, params=params, timeout=120,
                          json={"job_id": job_id, "input_file": HOSTILE_INPUT})
    assert response.status_code == 200, response.text
    return list(csv.reader(io.StringIO(base64.b64decode(response.json()["output_file_base64"]).decode())))


async def test_formulas_are_neutralized_only_when_asked(pipeline):
    client_id, key = await asyncio.to_thread(create_client, pipeline.url, pipeline.admin_key)
    accepted = await asyncio.to_thread(train, pipeline.url, key, TRAIN_INPUT, TRAIN_EXPECTED)
    job = await asyncio.to_thread(wait_job, pipeline.url, key, client_id, accepted["job_id"])
    assert job["status"] == "succeeded", job

    plain = await asyncio.to_thread(output_rows, pipeline.url, key, job["job_id"], {})
    assert plain == [["city", "name"], ["@SUM(A1)", '=HYPERLINK("http://x","y")'], ["+cmd", "-5"]]
    safe = await asyncio.to_thread(output_rows, pipeline.url, key, job["job_id"], {"neutralize_formulas": "true"})
    assert safe == [["city", "name"], ["'@SUM(A1)", '\'=HYPERLINK("http://x","y")'], ["'+cmd", "'-5"]]
