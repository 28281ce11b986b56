"""Checks on uploaded CSV files before anything is stored: not empty, parseable by the csv module; uploads in
another encoding or delimiter are transcoded to UTF-8 comma-separated CSV (accept_csv)."""

from __future__ import annotations

import csv
import io

from recast_common.api import FileFormat
from recast_engine.dialect import detect_delimiter, detect_encoding, transcode


class CsvProblem(ValueError):
    """The upload is not a usable CSV; the message says why (shown to the client)."""


def accept_csv(data: bytes, field: str) -> tuple[bytes, FileFormat]:
    """The upload as UTF-8 comma-separated CSV (unchanged when it already is) and how it was saved; CsvProblem
    when it is no usable CSV in any of the encodings and delimiters recast_engine.dialect detects."""
    if not data or not data.strip():
        raise CsvProblem(f"{field} is empty")
    converted, encoding, delimiter = transcode(data)
    decode_csv(converted, field)
    return converted, FileFormat(encoding=encoding, delimiter=delimiter)


STREAMED_ONLY = (
    "PUT /inference/run/stream takes UTF-8 comma-separated CSV only; POST /inference/run/upload also takes "
    "UTF-16, cp1252 and Latin-1 files separated by ; tab or |"
)


def check_streamed_head(head: bytes, complete: bool) -> None:
    """The streamed route stores its body as it comes, untranscoded: it must start as UTF-8 comma-separated CSV."""
    encoding = detect_encoding(head, complete)
    if encoding not in ("utf-8", "utf-8-sig"):
        raise CsvProblem(f"input_file is not valid UTF-8 (it reads as {encoding}): {STREAMED_ONLY}")
    text = decode_csv(head, "input_file", complete)
    delimiter = detect_delimiter(text, complete)
    if delimiter != ",":
        raise CsvProblem(f"input_file is separated by {delimiter!r}: {STREAMED_ONLY}")


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
