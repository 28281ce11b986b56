"""Hostile: tries to read the files named in its input's first column; fails unless it read none of them."""
import csv
import sys

with open(sys.argv[1], newline="") as source:
    paths = [row[0] for row in csv.reader(source) if row]
read = []
for path in paths:
    try:
        with open(path, "rb") as handle:
            handle.read(16)
        read.append(path)
    except OSError as error:
        print(f"refused {path}: {error}", file=sys.stderr)
if read:
    print("READ " + " ".join(read), file=sys.stderr)
    sys.exit(5)
raise PermissionError("no file outside the folder was readable")
