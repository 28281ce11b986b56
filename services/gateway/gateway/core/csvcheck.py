"""Checks on uploaded CSV files before anything is stored: UTF-8, not empty, parseable by the csv module."""

from __future__ import annotations

import csv
import io


class CsvProblem(ValueError):
    """The upload is not a usable CSV; the message says why (shown to the client)."""


def decode_csv(data: bytes, field: str, complete: bool = True) -> str:
    """Return the text of a valid CSV upload or raise CsvProblem.

    complete=False: `data` is only the start of a streamed file, and the cut at its end may split a character,
    a row or a quoted field.
    """
    if not data or not data.strip():
        if complete:
            raise CsvProblem(f"{field} is empty")
        raise CsvProblem(f"{field} starts with {len(data)} bytes of blank space: not a CSV file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        cut_at_the_end = exc.reason == "unexpected end of data" and exc.end == len(data)
        if complete or not cut_at_the_end:
            raise CsvProblem(
                f"{field} is not valid UTF-8 (byte {exc.start}): save the file as UTF-8 and upload it again"
            ) from None
        text = data[: exc.start].decode("utf-8-sig")
    check_csv_text(text, field, complete)
    return text


def check_csv_text(text: str, field: str, complete: bool = True) -> None:
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
        if complete or "unexpected end of data" not in str(exc):  # else: a quoted field cut by the stream's head
            raise CsvProblem(f"{field} is not a well-formed CSV: {exc}") from None
    if rows == 0:
        raise CsvProblem(f"{field} has no rows")
