"""Hostile: makes its output a link to a file it must not leak."""
import os
import sys

os.symlink("/etc/passwd", sys.argv[2])
