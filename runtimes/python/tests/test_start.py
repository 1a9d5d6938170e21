"""start_server and the config keys it reads (the same as the TypeScript startServer)."""
import re
import json
import subprocess
import sys

import pytest

from conftest import ECHO_SERVER, free_port, read_frame, vector
from msec import ConfigError, parse_listen, server_options_from_config


def test_parse_listen():
    assert parse_listen(None) == ("0.0.0.0", 7963, True)
    assert parse_listen("7963/tcp 7963/udp") == ("0.0.0.0", 7963, True)
    assert parse_listen("all:8000/tcp") == ("0.0.0.0", 8000, False)
    assert parse_listen("127.0.0.1:8000/tcp 127.0.0.1:8000/udp") == ("127.0.0.1", 8000, True)
    assert parse_listen("lo:8000/tcp") == ("127.0.0.1", 8000, False)
    for bad in ("8000", "8000/sctp", "8000/tcp 8001/udp", "70000/tcp", "", "nosuchif0:1/tcp"):
        with pytest.raises(ConfigError):
            parse_listen(bad)


def test_server_options_from_config(tmp_path):
    path = tmp_path / "config.ini"
    path.write_text(
        "[SRPC]\nlisten=127.0.0.1:9001/tcp\nmax_frame_bytes=1000\nmax_connections=5\n"
        "max_in_flight_per_connection=7\nidle_timeout_ms=2500\ndrain_timeout_ms=300\nmax_http_header_bytes=512\n"
    )
    o = server_options_from_config(str(path))
    assert (o.host, o.port, o.udp) == ("127.0.0.1", 9001, False)
    assert (o.max_frame_size, o.max_connections, o.max_in_flight_per_connection, o.max_http_header_bytes) == (1000, 5, 7, 512)
    assert (o.idle_timeout_s, o.drain_timeout_s) == (2.5, 0.3)
    assert server_options_from_config(str(tmp_path / "missing.ini")).port == 7963
    path.write_text("[SRPC]\nrequest_timeout_ms=1500\nmax_pending_output_bytes=65536\nmax_udp_in_flight=9\n[LOG]\naccess_log=1\n")
    o = server_options_from_config(str(path))
    assert (o.request_timeout_s, o.max_pending_output_bytes, o.max_udp_in_flight, o.access_log) == (1.5, 65536, 9, True)
    d = server_options_from_config(str(tmp_path / "missing.ini"))
    assert (d.request_timeout_s, d.max_pending_output_bytes, d.max_udp_in_flight, d.access_log) == (10.0, 4194304, 1024, False)
    path.write_text("[SRPC]\nmax_connections=lots\n")
    with pytest.raises(ConfigError, match=r"\[SRPC\] max_connections: not a number: lots"):
        server_options_from_config(str(path))


def test_the_echo_server_listens_where_its_config_says(tmp_path):
    port = free_port()
    path = tmp_path / "config.ini"
    path.write_text(f"[SRPC]\nlisten=127.0.0.1:{port}/tcp 127.0.0.1:{port}/udp\n[LOG]\nLevel=INFO\n")
    proc = subprocess.Popen([sys.executable, ECHO_SERVER, "--config", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # The startup line is a JSON log line: the logger's fixed keys, then the process's, then where it listens.
        line = proc.stdout.readline()
        started = json.loads(line)
        assert line.endswith("}\n") and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", started["time"])
        assert list(started) == ["time", "level", "flowId", "method", "caller", "msg", "service", "host", "port", "transports"]
        assert {**started, "time": ""} == {
            "time": "",
            "level": "INFO",
            "flowId": "",
            "method": "",
            "caller": "",
            "msg": f"listening on 127.0.0.1:{port} (tcp+udp)",
            "service": "echo.EchoService",
            "host": "127.0.0.1",
            "port": port,
            "transports": "tcp+udp",
        }
        import socket

        v1 = bytes.fromhex(vector("v1-python-client-request.json")["frame_hex"])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            c.sendall(v1)
            assert read_frame(c) == v1
    finally:
        proc.terminate()
        assert proc.wait(15) == 0
        proc.stdout.close()
        proc.stderr.close()
