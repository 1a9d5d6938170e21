"""Memory stays proportional to the bytes received when they arrive one byte per TCP segment."""
import socket
import time

from hostile import ServerProcess, closed_within

MIB = 1024 * 1024
CONNECTIONS = 16
PER_CONNECTION = 64 * 1024  # 16 × 64 KiB = 1 MiB in all


def test_1_mib_in_1_byte_segments_grows_the_server_by_at_most_48_mib(tmp_path):
    config = tmp_path / "config.ini"
    config.write_text("[SRPC]\nrequest_timeout_ms=120000\n")  # this test is about memory, not the deadline
    server = ServerProcess(config=str(config))
    try:
        socks = []
        for i in range(CONNECTIONS):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            socks.append(s)
        time.sleep(0.2)
        base = server.rss_bytes()
        starts = []
        for i, s in enumerate(socks):  # half SRPC frames, half HTTP bodies, never complete
            if i % 2:
                starts.append(b"(" + (60).to_bytes(4, "big") + (4 * MIB).to_bytes(4, "big"))
            else:
                starts.append(b"POST /?methodName=test.Raw.Echo HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % (4 * MIB))
        sent = 0
        for pos in range(PER_CONNECTION):
            for i, s in enumerate(socks):
                head = starts[i]
                s.send(head[pos:pos + 1] if pos < len(head) else b"x")
                sent += 1
        time.sleep(0.5)
        grown = server.rss_bytes() - base
        print(f"server grew {grown / MIB:.1f} MiB for {sent / MIB:.2f} MiB in 1-byte segments")
        assert sent == CONNECTIONS * PER_CONNECTION
        assert grown <= 48 * MIB
        for s in socks:  # every connection is still open (nothing was cut short)
            assert closed_within(s, 0.01) is None
            s.close()
    finally:
        server.stop()
