"""Through the real stack: a job's data profile (JSON and HTML report, projected into Postgres), and an
inference on a drifted file answering with the expected drift warnings."""
from __future__ import annotations

import asyncio
import re

import asyncpg
import httpx
from recast_common.db.session import asyncpg_dsn
from test_pipeline_kit import API, create_client, train, wait_job

TRAIN_INPUT = """name,tier,joined,amount
Ada Lovelace,gold,2024-01-05,120.50
Alan Turing,silver,2024-02-11,80.00
Grace Hopper,gold,2024-03-20,95.25
Edsger Dijkstra,silver,2024-04-02,60.75
Barbara Liskov,gold,2024-05-17,150.00
Ken Thompson,silver,2024-06-30,72.10
"""
TRAIN_EXPECTED = """tier,name,joined
gold,Ada Lovelace,2024-01-05
silver,Alan Turing,2024-02-11
gold,Grace Hopper,2024-03-20
silver,Edsger Dijkstra,2024-04-02
gold,Barbara Liskov,2024-05-17
silver,Ken Thompson,2024-06-30
"""
# a new tier, a date in another spelling, and no amount column
DRIFTED_INPUT = """name,tier,joined
Margaret Hamilton,platinum,2024-07-01
Dennis Ritchie,gold,03/15/2024
"""


async def test_a_job_serves_its_profile_as_json_and_as_an_html_report(pipeline):
    client_id, key = await asyncio.to_thread(create_client, pipeline.url, pipeline.admin_key)
    accepted = await asyncio.to_thread(train, pipeline.url, key, TRAIN_INPUT, TRAIN_EXPECTED)
    job = await asyncio.to_thread(wait_job, pipeline.url, key, client_id, accepted["job_id"])
    assert job["status"] == "succeeded", job
    headers = {"X-API-KEY": key}
    assert job["profile_url"] == f"{API}/{client_id}/{job['job_id']}/profile"

    async with httpx.AsyncClient(base_url=pipeline.url, headers=headers, timeout=60) as http:
        profile = (await http.get(job["profile_url"])).json()
        report = await http.get(job["profile_report_url"])
        other = await http.get(job["profile_url"], headers={"X-API-KEY": "rk_not_a_key"})
    assert profile["input"]["data_rows"] == 6 and profile["expected"]["columns"] == 3
    amount = profile["input"]["column_profiles"][3]
    assert amount["name"] == "amount" and amount["kind"] == "decimal"
    assert amount["numeric"]["min"] == 60.75 and amount["numeric"]["max"] == 150.0
    assert profile["input"]["column_profiles"][1]["categories"] == ["gold", "silver"]
    assert profile["input"]["column_profiles"][2]["dates"]["min"] == "2024-01-05"
    assert other.status_code == 401

    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    page = report.text
    assert page.count("<svg") >= 4 and "Expected output" in page and "Ada Lovelace" in page
    assert not re.search(r"<script|<link|\ssrc=|\shref=", page)  # self-contained

    conn = await asyncpg.connect(asyncpg_dsn(pipeline.settings.database_url))
    try:
        rows = await conn.fetch("SELECT role, rows, columns FROM data_profiles WHERE job_id = $1 ORDER BY role",
                                job["job_id"])
    finally:
        await conn.close()
    assert [(r["role"], r["rows"], r["columns"]) for r in rows] == [("train_expected", 7, 3), ("train_input", 7, 4)]


async def test_an_inference_on_a_drifted_file_answers_with_drift_warnings(pipeline):
    client_id, key = await asyncio.to_thread(create_client, pipeline.url, pipeline.admin_key)
    accepted = await asyncio.to_thread(train, pipeline.url, key, TRAIN_INPUT, TRAIN_EXPECTED)
    job = await asyncio.to_thread(wait_job, pipeline.url, key, client_id, accepted["job_id"])
    assert job["status"] == "succeeded", job
    async with httpx.AsyncClient(base_url=pipeline.url, headers={"X-API-KEY": key}, timeout=120) as http:
        answer = await http.post(f"{API}/inference/run", json={"job_id": job["job_id"], "input_file": DRIFTED_INPUT})
        assert answer.status_code == 200, answer.text
        result = answer.json()
        stored = (await http.get(result["profile_url"])).json()
        report = (await http.get(result["profile_url"] + ".html")).text
        clean = await http.post(f"{API}/inference/run", json={"job_id": job["job_id"], "input_file": TRAIN_INPUT})
    warnings = {(w["kind"], w["column"]): w for w in result["drift_warnings"]}
    assert set(warnings) == {("missing_column", "amount"), ("unseen_value", "tier"), ("date_spelling", "joined")}
    assert warnings[("unseen_value", "tier")]["examples"] == ["platinum"]
    assert warnings[("date_spelling", "joined")]["examples"] == ["NN/NN/YYYY"]
    assert stored["drift_warnings"] == result["drift_warnings"] and stored["profile"]["data_rows"] == 2
    assert "Drift from the train input" in report and "platinum" in report
    assert clean.status_code == 200 and clean.json()["drift_warnings"] == []


async def test_profiling_a_large_train_file_reports_progress_while_it_runs(pipeline):
    from recast_common.events import Topics
    from test_pipeline_kit import EventLog

    client_id, key = await asyncio.to_thread(create_client, pipeline.url, pipeline.admin_key)
    body = "".join(f"person {i},{('gold', 'silver')[i % 2]},2024-01-{1 + i % 28:02d},{i % 997}.25\n"
                   for i in range(260_000))
    expected = "".join(f"{('gold', 'silver')[i % 2]},person {i}\n" for i in range(260_000))
    async with EventLog(pipeline.settings, [Topics.JOB_PROGRESS, Topics.JOB_PROFILED]) as log:
        accepted = await asyncio.to_thread(train, pipeline.url, key, "name,tier,joined,amount\n" + body,
                                           "tier,name\n" + expected)
        job_id = accepted["job_id"]
        midway = await log.wait_for(
            lambda e: e.job_id == job_id and e.type == Topics.JOB_PROGRESS and e.stage == "profiling"
            and 10 <= e.percent < 100 and "MB" in e.message, timeout=240, what="a progress event while profiling")
        profiled = await log.wait_for(lambda e: e.job_id == job_id and e.type == Topics.JOB_PROFILED, timeout=240)
    async with httpx.AsyncClient(base_url=pipeline.url, headers={"X-API-KEY": key}, timeout=60) as http:
        await http.delete(f"{API}/delete/job/{client_id}/{job_id}")  # the rest of its pipeline is not the point
    assert "rows" in midway.message
    assert profiled.input_profile.data_rows == 260_000 and profiled.input_profile.columns == 4
