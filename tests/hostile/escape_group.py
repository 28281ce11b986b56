"""Hostile: leaves its process group with a child that outlives it, then exits 0 with a valid output.

The child runs `python -c <sleep> TOKEN`, TOKEN being the input's first cell, so that a test can look for it
in /proc/*/cmdline after the run and check it is gone.
"""
import os
import sys
import time

with open(sys.argv[1]) as source:
    token = source.read().split(",")[0].strip()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(600)", token])
    os._exit(0)
time.sleep(0.5)
with open(sys.argv[2], "w") as handle:
    handle.write("a\n1\n")
