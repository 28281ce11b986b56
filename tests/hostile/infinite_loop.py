"""Hostile: never ends, sleeping (so only the wall clock can stop it)."""
import time

while True:
    time.sleep(0.05)
