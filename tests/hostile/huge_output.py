"""Hostile: writes an output file without end."""
import sys

chunk = "y," * (1 << 19) + "\n"
with open(sys.argv[2], "w") as handle:
    while True:
        handle.write(chunk)
