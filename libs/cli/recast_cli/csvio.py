"""Reading CSV files into grids: the shared reader, re-exported for the CLI, and read_export_grid for files a user
gives `recast learn` (any encoding and delimiter recast_engine.dialect detects, as the gateway takes them)."""
from pathlib import Path

from recast_engine.csvgrid import CsvError, Row, parse_grid, read_grid
from recast_engine.dialect import transcode

__all__ = ["CsvError", "Row", "read_export_grid", "read_grid"]


def read_export_grid(path: Path, *, what: str = "file") -> list[Row]:
    """Rows of a CSV file saved as UTF-8, UTF-16 with BOM, cp1252 or Latin-1, separated by , ; tab or |."""
    if not path.is_file():
        return read_grid(path, what=what)  # raises CsvError: no such file, or not a file
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CsvError(f"cannot read {what} {path}: {e.strerror}") from e
    try:
        data, _, _ = transcode(data)
    except UnicodeDecodeError as e:
        raise CsvError(f"{what} {path} is not text in any encoding recast reads ({e.reason})") from e
    return parse_grid(data, what=f"{what} {path}")
