#!/usr/bin/env python3
"""Sends bytes to a server one per TCP segment, as the attacker of issue 11 did.

    python3 byte_segments.py --port P --prefix-hex 28... --bytes 4096 [--connections 256]

Opens the connections (TCP_NODELAY), sends ``--prefix-hex`` and then filler
bytes until ``--bytes`` bytes went out on each connection, one ``send()`` of
one byte at a time, round-robin over the connections. Many connections make
the server read each more often with less each time: nearer one read per
byte, as a remote attacker gets. Then waits (at most ``--settle-s``) until the
server has read everything (its sockets' receive queues in /proc/net/tcp are
empty) and prints one JSON line: ``{"sent": bytes sent on all connections,
"seconds": sending time, "unread": bytes still queued at the server,
"closed": connections the server closed}``. The connections stay open until
stdin reaches EOF, so the test measures the server while it holds them.
"""
import argparse
import json
import socket
import sys
import time


def unread_bytes(server_port: int, client_ports: "set[int]") -> int:
    """Bytes the server's ends of these connections have not read yet (their receive queues)."""
    total = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, remote, queues = fields[1], fields[2], fields[4]
            if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) in client_ports:
                total += int(queues.split(":")[1], 16)
    return total


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--prefix-hex", default="")
    p.add_argument("--bytes", type=int, required=True)
    p.add_argument("--connections", type=int, default=1)
    p.add_argument("--settle-s", type=float, default=20.0)
    a = p.parse_args()
    prefix = bytes.fromhex(a.prefix_hex)
    payload = prefix + b"x" * (a.bytes - len(prefix))
    socks = []
    for _ in range(a.connections):
        s = socket.create_connection(("127.0.0.1", a.port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        socks.append(s)
    closed = set()
    started = time.monotonic()
    sent = 0
    for i in range(len(payload)):
        b = payload[i : i + 1]
        for n, s in enumerate(socks):
            if n in closed:
                continue
            try:
                s.send(b)
                sent += 1
            except OSError:
                closed.add(n)
        if len(closed) == len(socks):
            break
    seconds = time.monotonic() - started
    deadline = time.monotonic() + a.settle_s
    unread = 0
    while True:
        unread = unread_bytes(a.port, {s.getsockname()[1] for n, s in enumerate(socks) if n not in closed})
        if unread == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    print(json.dumps({"sent": sent, "seconds": round(seconds, 3), "unread": unread, "closed": len(closed)}), flush=True)
    sys.stdin.read()
    for s in socks:
        s.close()


if __name__ == "__main__":
    main()
