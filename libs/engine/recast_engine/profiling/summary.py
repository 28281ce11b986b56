"""A file profile's few headline numbers (what events carry)."""
from __future__ import annotations

from typing import Any


def file_summary(profile: dict[str, Any]) -> dict[str, Any]:
    return {
        "rows": profile["rows"],
        "data_rows": profile["data_rows"],
        "columns": profile["columns"],
        "header": profile["header_guess"],
        "bytes": profile.get("bytes"),
        "null_cells": profile["null_cells"],
        "duplicate_rows": profile["duplicate_rows"],
        "duplicate_rows_exact": profile["duplicate_rows_exact"],
        "ragged_rows": profile["ragged_rows"],
        "kinds": [c["kind"] for c in profile["column_profiles"]][:50],
    }
