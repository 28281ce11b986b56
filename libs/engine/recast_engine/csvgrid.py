"""CSV text to grids (lists of rows of strings), read exactly the way learned scripts read them."""
from __future__ import annotations

import csv
import io
from pathlib import Path

Row = list[str]

csv.field_size_limit(2**31 - 1)


class CsvError(ValueError):
    """A CSV document that cannot be used, with a message meant for the user."""


def parse_grid(data: bytes | str, *, what: str = "file", strict: bool = True) -> list[Row]:
    """Rows of a CSV document (UTF-8; a byte order mark is not data).

    strict: undecodable bytes and an empty document raise CsvError; otherwise bad bytes become U+FFFD.
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig", errors="strict" if strict else "replace")
        except UnicodeDecodeError as e:
            raise CsvError(f"{what} is not UTF-8 text ({e.reason} at byte {e.start})") from e
    else:
        text = data.removeprefix("\ufeff")
    try:
        grid = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as e:
        raise CsvError(f"{what} is not a readable CSV document: {e}") from e
    if strict and not grid:
        raise CsvError(f"{what} is empty")
    return grid


def read_grid(path: Path, *, what: str = "file") -> list[Row]:
    if not path.exists():
        raise CsvError(f"{what} {path} does not exist")
    if not path.is_file():
        raise CsvError(f"{what} {path} is not a file")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CsvError(f"cannot read {what} {path}: {e.strerror}") from e
    return parse_grid(data, what=f"{what} {path}")
