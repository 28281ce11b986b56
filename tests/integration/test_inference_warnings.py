"""Guards at inference through the API on the real stack: the run says what its script could not convert
(`warnings`), and in strict mode such a run fails with a 422 naming them."""
from __future__ import annotations

import asyncio

import httpx
from test_pipeline_kit import API, create_client, train, wait_job

TRAIN_INPUT = ("name,joined,size\nAda,2024-03-05,S\nAlan,1999-12-31,M\nGrace,2001-07-14,S\nLinus,2010-01-02,L\n"
               "Barbara,2015-11-20,M\n")
TRAIN_EXPECTED = ("name,joined,size\nAda,05/03/2024,small\nAlan,31/12/1999,medium\nGrace,14/07/2001,small\n"
                  "Linus,02/01/2010,large\nBarbara,20/11/2015,medium\n")
NEW_INPUT = "name,joined,size\nKen,2020-02-30,S\nDennis,1970-01-01,XL\nBjarne,,M\nGuido,1991-02-20,XXL\n"


def run(url: str, key: str, job_id: str, **params: str) -> httpx.Response:
    return httpx.post(f"{url}{API}/inference/run", headers={"X-API-KEY": key}, params=params, timeout=120,
                      json={"job_id": job_id, "input_file": NEW_INPUT})


def by_kind(warnings: dict) -> dict[tuple[str, int | None], dict]:
    return {(w["kind"], w["column"]): w for w in warnings["warnings"]}


async def test_a_run_counts_what_its_script_could_not_convert_and_strict_mode_fails_it(pipeline):
    client_id, key = await asyncio.to_thread(create_client, pipeline.url, pipeline.admin_key)
    accepted = await asyncio.to_thread(train, pipeline.url, key, TRAIN_INPUT, TRAIN_EXPECTED)
    job = await asyncio.to_thread(wait_job, pipeline.url, key, client_id, accepted["job_id"])
    assert job["status"] == "succeeded", job

    lenient = await asyncio.to_thread(run, pipeline.url, key, job["job_id"])
    assert lenient.status_code == 200, lenient.text
    found = by_kind(lenient.json()["warnings"])
    assert found[("unparsed_date", 2)]["count"] == 1
    assert found[("unparsed_date", 2)]["examples"] == [{"row": 2, "value": "2020-02-30"}]
    assert found[("unknown_key", 3)]["count"] == 2
    assert [e["value"] for e in found[("unknown_key", 3)]["examples"]] == ["XL", "XXL"]
    assert "could not be converted" in lenient.json()["message"] and "'XXL'" in lenient.json()["message"]
    again = httpx.get(f"{pipeline.url}{API}/inference/{lenient.json()['run_id']}", headers={"X-API-KEY": key})
    assert again.json()["warnings"] == lenient.json()["warnings"]

    strict = await asyncio.to_thread(run, pipeline.url, key, job["job_id"], strict="true")
    assert strict.status_code == 422, strict.text
    assert "strict mode" in strict.json()["detail"]
    assert "'XL'" in strict.json()["detail"] and "'2020-02-30'" in strict.json()["detail"]
    failed = httpx.get(f"{pipeline.url}{API}/inference/{strict.json()['run_id']}", headers={"X-API-KEY": key})
    assert failed.json()["status"] == "failed"
    assert by_kind(failed.json()["warnings"]) == found
    output = httpx.get(f"{pipeline.url}{API}/inference/{strict.json()['run_id']}/output", headers={"X-API-KEY": key})
    assert output.status_code == 422
