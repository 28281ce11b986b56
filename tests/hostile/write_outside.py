"""Hostile: writes outside its folder; exits 0 only if every write failed (so a success is visible)."""
import os
import sys

targets = [f"/tmp/recast-hostile-{os.getpid()}", "../recast-hostile-parent", "/var/tmp/recast-hostile",
           "/dev/shm/recast-hostile", os.path.join(os.path.dirname(os.path.abspath(sys.argv[1])), "..", "x")]
escaped = []
for target in targets:
    try:
        with open(target, "w") as handle:
            handle.write("escaped")
        escaped.append(target)
    except OSError as error:
        print(f"blocked {target}: {error}", file=sys.stderr)
if escaped:
    print("ESCAPED " + " ".join(escaped), file=sys.stderr)
    sys.exit(3)
raise PermissionError("every write outside the folder was refused")
