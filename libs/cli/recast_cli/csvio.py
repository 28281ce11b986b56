"""Reading CSV files into grids: the shared reader, re-exported for the CLI."""
from recast_engine.csvgrid import CsvError, Row, read_grid

__all__ = ["CsvError", "Row", "read_grid"]
