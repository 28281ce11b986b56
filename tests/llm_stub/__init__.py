"""A tiny OpenAI-compatible chat completions server for tests (see server.py)."""
