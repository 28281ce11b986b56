"""Spreadsheet exports through the real stack: cp1252 / UTF-16 / Latin-1 files separated by ; tab or | are
transcoded to UTF-8 comma-separated CSV, learned from and converted, and the job says how they were saved."""
from __future__ import annotations

import asyncio
import base64
import codecs

import httpx
import pytest
from test_pipeline_kit import API, create_client, wait_job

pytestmark = pytest.mark.integration

INPUT = "nom;ville;âge\nJosé Núñez;Besançon;36\nRené Côté;Orléans;41\nAndré Œuvrard;Nîmes;85\n"
EXPECTED = "ville;nom\nBesançon;José Núñez\nOrléans;René Côté\nNîmes;André Œuvrard\n"
NEW_INPUT = "nom|ville|âge\nHélène Dupré|Besançon|29\nFrançois Gaël|Sète|52\n"
NEW_OUTPUT = "ville,nom\nBesançon,Hélène Dupré\nSète,François Gaël\n"


def utf16(text: str) -> bytes:
    return codecs.BOM_UTF16_LE + text.encode("utf-16-le")


def upload_pair(url: str, key: str, input_csv: bytes, expected_csv: bytes) -> httpx.Response:
    return httpx.post(f"{url}{API}/train/upload", headers={"X-API-KEY": key}, timeout=60,
                      files={"input_file": ("in.csv", input_csv), "expected_output_file": ("out.csv", expected_csv)})


@pytest.mark.parametrize(
    ("input_csv", "expected_csv", "encoding", "delimiter"),
    [
        (INPUT.encode("cp1252"), EXPECTED.encode("cp1252"), "cp1252", ";"),
        (utf16(INPUT.replace(";", "\t")), utf16(EXPECTED.replace(";", "\t")), "utf-16-le", "\t"),
    ],
    ids=["cp1252-semicolon", "utf16-tab"],
)
async def test_a_spreadsheet_export_pair_trains_and_converts_a_latin_1_file(
    pipeline, input_csv: bytes, expected_csv: bytes, encoding: str, delimiter: str
):
    client_id, key = await asyncio.to_thread(create_client, pipeline.url, pipeline.admin_key)
    accepted = await asyncio.to_thread(upload_pair, pipeline.url, key, input_csv, expected_csv)
    assert accepted.status_code == 202, accepted.text
    detected = {"encoding": encoding, "delimiter": delimiter}
    assert accepted.json()["file_formats"] == {"input_file": detected, "expected_output_file": detected}
    job = await asyncio.to_thread(wait_job, pipeline.url, key, client_id, accepted.json()["job_id"])
    assert job["status"] == "succeeded", job
    assert job["file_formats"]["input_file"] == detected

    # Latin-1 text with accents decodes exactly as cp1252 does (cp1252 only adds characters in 0x80-0x9F).
    ran = await asyncio.to_thread(
        httpx.post, f"{pipeline.url}{API}/inference/run/upload", headers={"X-API-KEY": key}, timeout=120,
        data={"job_id": job["job_id"]}, files={"input_file": ("new.csv", NEW_INPUT.encode("latin-1"))},
    )
    assert ran.status_code == 200, ran.text
    assert base64.b64decode(ran.json()["output_file_base64"]).decode() == NEW_OUTPUT
    assert ran.json()["input_format"] == {"encoding": "cp1252", "delimiter": "|"}

    # The streamed route stores its body untranscoded: it says so instead of misreading the file.
    streamed = await asyncio.to_thread(
        httpx.put, f"{pipeline.url}{API}/inference/run/stream", params={"job_id": job["job_id"]},
        headers={"X-API-KEY": key, "Content-Type": "text/csv"}, content=NEW_INPUT.encode("latin-1"), timeout=60,
    )
    assert streamed.status_code == 422, streamed.text
    assert "/inference/run/upload" in streamed.json()["detail"]
