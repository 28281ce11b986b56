"""Hostile: looks for secrets in its environment and in every other process's environment."""
import os
import sys

found = [k for k in os.environ if "SECRET" in k or k.startswith(("RECAST_", "AWS_"))]
for pid in os.listdir("/proc"):
    if pid.isdigit() and int(pid) != os.getpid():
        try:
            with open(f"/proc/{pid}/environ", "rb") as handle:
                if b"SECRET" in handle.read():
                    found.append(f"pid {pid}")
        except OSError:
            pass
if found:
    print("LEAKED " + " ".join(found), file=sys.stderr)
    sys.exit(4)
raise PermissionError("no secret visible")
