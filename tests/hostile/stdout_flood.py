"""Hostile: prints 10 GB to stdout."""
import sys

chunk = "x" * (1 << 20)
for _ in range(10 * 1024):
    sys.stdout.write(chunk)
