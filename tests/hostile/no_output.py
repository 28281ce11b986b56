"""Hostile: succeeds without writing its output."""
print("done")
