"""Hostile: reaches for the network (a local port, then name resolution)."""
import socket
import sys

with socket.create_connection(("127.0.0.1", 5432), timeout=5) as connection:
    connection.sendall(b"hello")
socket.getaddrinfo("example.com", 80)
with open(sys.argv[2], "w") as output:
    output.write("a\n")
