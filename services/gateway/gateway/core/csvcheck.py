"""Checks on uploaded CSV files before anything is stored: UTF-8, not empty, parseable by the csv module."""

from __future__ import annotations

import csv
import io


class CsvProblem(ValueError):
    """The upload is not a usable CSV; the message says why (shown to the client)."""


def decode_csv(data: bytes, field: str) -> str:
    """Return the text of a valid CSV upload or raise CsvProblem."""
    if not data or not data.strip():
        raise CsvProblem(f"{field} is empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvProblem(
            f"{field} is not valid UTF-8 (byte {exc.start}): save the file as UTF-8 and upload it again"
        ) from None
    check_csv_text(text, field)
    return text


def check_csv_text(text: str, field: str) -> None:
    if not text.strip():
        raise CsvProblem(f"{field} is empty")
    if "\x00" in text:
        raise CsvProblem(f"{field} contains NUL bytes: not a text CSV file")
    rows = 0
    try:
        for row in csv.reader(io.StringIO(text, newline=""), strict=True):
            if row:
                rows += 1
    except csv.Error as exc:
        raise CsvProblem(f"{field} is not a well-formed CSV: {exc}") from None
    if rows == 0:
        raise CsvProblem(f"{field} has no rows")
