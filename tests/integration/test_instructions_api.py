"""Instructions through the API: on pairs the example alone leaves open, the instruction decides (and the same pair
without it comes back failed or converting differently); jobs built from instructions alone; unread instructions
and contradictions are reported in the job."""
from __future__ import annotations

import asyncio
import base64
import csv
import io

import httpx
import pytest
from test_pipeline_kit import API, create_client, wait_job

# name: (input, expected, general_instructions, column_instructions, new input, what the instruction gives on it)
AMBIGUOUS = {
    "uppercase on examples already upper case": (
        "id,code\n1,AB\n2,CD\n3,EF\n", "id,code\n1,AB\n2,CD\n3,EF\n", None, {"code": "Convert to uppercase"},
        "id,code\n4,xy\n", [["id", "code"], ["4", "XY"]],
    ),
    "a filter the example does not pin down": (
        "id,region,amount\n1,North,150\n2,South,20\n3,North,300\n4,South,50\n",
        "id,region,amount\n1,North,150\n3,North,300\n", "Keep only rows where amount > 100", None,
        "id,region,amount\n6,North,10\n7,South,500\n", [["id", "region", "amount"], ["7", "South", "500"]],
    ),
    "a unit conversion given as a formula": (
        # two rows: (x - 32) / 1.8 is one of many rules they fit (three rows pin it down without the formula)
        "city,temp_f\nA,212\nB,32\n", "city,temp_c\nA,100\nB,0\n", None,
        {"city": "", "temp_c": "(temp_f - 32) * 5 / 9"},
        "city,temp_f\nD,98.6\nE,-40\n", [["city", "temp_c"], ["D", "37"], ["E", "-40"]],
    ),
    "a mapping that keeps values it does not list": (
        "id,grade\n1,A\n2,B\n3,A\n", "id,grade\n1,Alpha\n2,Beta\n3,Alpha\n", None, {"grade": "map A=Alpha, B=Beta"},
        "id,grade\n4,C\n5,B\n", [["id", "grade"], ["4", "C"], ["5", "Beta"]],
    ),
    "a sort by a number": (
        "name,amount\nc,12\na,100\nd,5\nb,30\n", "name,amount\na,100\nb,30\nc,12\nd,5\n",  # also by name
        "Sort by amount descending", None,
        "name,amount\na,9\nb,10\nc,1\n", [["name", "amount"], ["b", "10"], ["a", "9"], ["c", "1"]],
    ),
}


def post_train(url: str, key: str, body: dict) -> httpx.Response:
    return httpx.post(f"{url}{API}/train", headers={"X-API-KEY": key}, json=body, timeout=60)


def convert(url: str, key: str, job_id: str, input_csv: str) -> list[list[str]] | None:
    response = httpx.post(f"{url}{API}/inference/run", headers={"X-API-KEY": key}, timeout=120,
                          json={"job_id": job_id, "input_file": input_csv})
    if response.status_code != 200:
        return None
    return list(csv.reader(io.StringIO(base64.b64decode(response.json()["output_csv_base64"]).decode())))


def train_and_wait(url: str, key: str, client_id: str, body: dict) -> dict:
    response = post_train(url, key, body)
    assert response.status_code == 202, response.text
    return wait_job(url, key, client_id, response.json()["job_id"], timeout=300)


@pytest.fixture(scope="module")
def client(pipeline):
    return create_client(pipeline.url, pipeline.admin_key)


@pytest.mark.parametrize("case", list(AMBIGUOUS))
async def test_the_instruction_decides_what_the_example_leaves_open(pipeline, client, case):
    source, expected, general, columns, new_input, wanted = AMBIGUOUS[case]
    client_id, key = client
    body = {"input_file": source, "expected_output_file": expected}
    instructed, plain = await asyncio.gather(
        asyncio.to_thread(train_and_wait, pipeline.url, key, client_id,
                          {**body, "general_instructions": general, "column_instructions": columns}),
        asyncio.to_thread(train_and_wait, pipeline.url, key, client_id, body),
    )
    assert instructed["status"] == "succeeded", instructed
    assert instructed["instructions"]["not_understood"] == [] and instructed["instructions"]["contradictions"] == []
    assert await asyncio.to_thread(convert, pipeline.url, key, instructed["job_id"], new_input) == wanted
    if plain["status"] == "succeeded":
        assert await asyncio.to_thread(convert, pipeline.url, key, plain["job_id"], new_input) != wanted, (
            "the example alone already gave the instructed conversion: the pair is not ambiguous")


def test_an_example_that_contradicts_an_instruction_is_followed_and_the_rows_are_named(pipeline, client):
    client_id, key = client
    job = train_and_wait(pipeline.url, key, client_id, {
        "input_file": "id,code\n1,ab\n2,cd\n3,EF\n", "expected_output_file": "id,code\n1,ab\n2,CD\n3,EF\n",
        "column_instructions": {"code": "uppercase"},
    })
    (contradiction,) = job["instructions"]["contradictions"]
    assert "column code" in contradiction and "row 2" in contradiction and "uppercase" in contradiction


def test_a_job_built_from_instructions_alone_succeeds_and_says_so(pipeline, client):
    client_id, key = client
    response = post_train(pipeline.url, key, {
        "input_file": "sku,status,unit_price,quantity\na1,paid,2.50,4\nb2,open,1.10,3\nc3,paid,10,12\n",
        "job_title": "Paid order lines",
        "general_instructions": "Keep only rows where status is paid. Sort by quantity descending.",
        "column_instructions": {"sku": "uppercase", "status": "drop", "total": "unit_price * quantity"},
    })
    assert response.status_code == 202, response.text
    assert response.json()["instructions"]["built_from_instructions"] is True
    job = wait_job(pipeline.url, key, client_id, response.json()["job_id"], timeout=300)
    assert job["status"] == "succeeded", job
    assert job["instructions"]["built_from_instructions"] is True and job["job_title"] == "Paid order lines"
    assert convert(pipeline.url, key, job["job_id"], "sku,status,unit_price,quantity\nz9,paid,3,2\ny8,void,1,1\n") \
        == [["sku", "unit_price", "quantity", "total"], ["Z9", "3", "2", "6"]]


def test_an_instruction_only_job_with_an_instruction_it_cannot_read_says_so(pipeline, client):
    _, key = client
    response = post_train(pipeline.url, key, {
        "input_file": "name,notes\nann,hello\n",
        "column_instructions": {"name": "uppercase", "notes": "summarize the text nicely"},
    })
    assert response.status_code == 422
    assert "not understood" in response.json()["detail"] and "summarize the text nicely" in response.json()["detail"]
    unknown_column = post_train(pipeline.url, key, {"input_file": "name\nann\n", "general_instructions": "sort by age"})
    assert unknown_column.status_code == 422 and "'age' is not in the input" in unknown_column.json()["detail"]


def test_unread_instructions_of_a_job_with_an_example_are_reported_not_ignored(pipeline, client):
    client_id, key = client
    response = post_train(pipeline.url, key, {
        "input_file": "a,b\n1,x\n2,y\n", "expected_output_file": "b,a\nx,1\ny,2\n",
        "general_instructions": "Make it look professional.",
    })
    assert response.status_code == 202
    assert "Make it look professional" in response.json()["message"]
    job = wait_job(pipeline.url, key, client_id, response.json()["job_id"], timeout=300)
    assert job["instructions"]["not_understood"] == ["Make it look professional"]


def test_a_hinted_constant_settles_the_threshold_the_example_leaves_open(pipeline, client):
    # any cut between 92.40 and 95.00 keeps the same rows: alone the job awaits review, with the hint it is trusted
    client_id, key = client
    body = {"input_file": "id,total\n1,92.40\n2,104.99\n3,250.00\n4,72.10\n5,130.00\n6,95.00\n",
            "expected_output_file": "id,total\n2,104.99\n3,250.00\n5,130.00\n6,95.00\n", "header": "yes"}
    plain = train_and_wait(pipeline.url, key, client_id, body)
    assert plain["status"] != "succeeded", plain
    hinted = train_and_wait(pipeline.url, key, client_id, {**body, "hints": {"constants": ["95"]}})
    assert hinted["status"] == "succeeded", hinted
    assert convert(pipeline.url, key, hinted["job_id"], "id,total\n6,94.00\n7,97.00\n") == [["id", "total"],
                                                                                         ["7", "97.00"]]
    refused = post_train(pipeline.url, key, {**body, "hints": {"aggregations": ["median"]}})
    assert refused.status_code == 422 and "median" in refused.text
