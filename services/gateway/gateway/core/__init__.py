"""Pure gateway logic: ids, API keys, CSV checks, cursors, event projection (no I/O)."""
