#!/usr/bin/env python3
"""A loopback TCP proxy that records each direction of one connection to a file.

Used to make the RTMP capture fixtures under tests/fixtures/captures/ (see make-captures.sh):
    record-proxy.py LISTEN_PORT TARGET_PORT OUT_PREFIX
writes OUT_PREFIX.c2s (client to server bytes) and OUT_PREFIX.s2c (server to client bytes)
for the first connection accepted, then exits when both sides have closed (or after 60 s).
"""
import selectors
import socket
import sys
import time

listen_port, target_port, prefix = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", listen_port))
server.listen(1)
server.settimeout(30)
client, _ = server.accept()
upstream = socket.create_connection(("127.0.0.1", target_port), timeout=10)
paths = {client: open(prefix + ".c2s", "wb"), upstream: open(prefix + ".s2c", "wb")}
peer = {client: upstream, upstream: client}
sel = selectors.DefaultSelector()
for s in (client, upstream):
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
open_sides = 2
deadline = time.monotonic() + 60
while open_sides and time.monotonic() < deadline:
    for key, _ in sel.select(timeout=1):
        s = key.fileobj
        try:
            data = s.recv(65536)
        except ConnectionError:
            data = b""
        if not data:
            sel.unregister(s)
            open_sides -= 1
            try:
                peer[s].shutdown(socket.SHUT_WR)
            except OSError:
                pass
            continue
        paths[s].write(data)
        peer[s].setblocking(True)
        peer[s].sendall(data)
        peer[s].setblocking(False)
for f in paths.values():
    f.close()
