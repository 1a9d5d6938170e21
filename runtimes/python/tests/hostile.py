"""Helpers of the hostile-client tests: a server process to measure, frames, raw sockets."""
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from typing import List, Optional

from msec import RpcHead, decode_frame, encode_frame, encode_head

HOSTILE_SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hostile_server.py")


def frame(method: str, body: bytes = b"", seq: int = 1, caller: Optional[str] = None) -> bytes:
    head = RpcHead(sequence=seq, method_name=method.encode(), caller=caller.encode() if caller is not None else None, flow_id=seq)
    return encode_frame(encode_head(head), body)


def http_post(method: str, body: bytes, extra: str = "") -> bytes:
    return f"POST /?methodName={method} HTTP/1.1\r\nHost: x\r\n{extra}Content-Length: {len(body)}\r\n\r\n".encode() + body


def connect(port: int, timeout: float = 5.0) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def reset(sock: socket.socket) -> None:
    """Closes with RST (SO_LINGER 0): the peer learns at once that nobody will read."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def read_frames(sock: socket.socket, n: int, timeout: float = 10.0) -> List[RpcHead]:
    """Reads ``n`` response frames (heads only); fewer if the connection closes first."""
    sock.settimeout(timeout)
    buf = b""
    heads: List[RpcHead] = []
    while len(heads) < n:
        while len(buf) >= 9:
            total = 10 + sum(struct.unpack(">ii", buf[1:9]))
            if len(buf) < total:
                break
            heads.append(decode_frame(buf[:total])[0])
            buf = buf[total:]
        if len(heads) >= n:
            break
        chunk = sock.recv(1 << 20)
        if not chunk:
            break
        buf += chunk
    return heads


def closed_within(sock: socket.socket, timeout: float) -> Optional[float]:
    """Seconds until the peer closed (EOF or reset), reading and dropping what arrives; ``None`` if still open."""
    start = time.monotonic()
    sock.settimeout(0.05)
    while time.monotonic() - start < timeout:
        try:
            if not sock.recv(65536):
                return time.monotonic() - start
        except socket.timeout:
            continue
        except ConnectionError:
            return time.monotonic() - start
    return None


class ServerProcess:
    """``hostile_server.py`` (or another script) as a child process, optionally under ``ulimit -n``."""

    def __init__(self, config: Optional[str] = None, nofile: Optional[int] = None, script: str = HOSTILE_SERVER) -> None:
        cmd = [sys.executable, script] + (["--config", config] if config else [])
        if nofile is not None:
            cmd = ["bash", "-c", f'ulimit -n {nofile} && exec "$@"', "bash"] + cmd
        self.stderr_path = f"/tmp/msec-hostile-{os.getpid()}-{time.monotonic_ns()}.err"
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._stderr, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith('{"time":') or '"msg":"listening on ' not in line:  # the startup JSON log line
            self.stop()
            raise RuntimeError(f"server did not start: {line!r} {self.stderr()!r}")
        self.port = int(json.loads(line)["port"])

    def rss_bytes(self) -> int:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stderr(self) -> bytes:
        self._stderr.flush()
        with open(self.stderr_path, "rb") as f:
            return f.read()

    def stderr_size(self) -> int:
        return os.path.getsize(self.stderr_path)

    def terminate(self) -> None:
        self.proc.send_signal(signal.SIGTERM)

    def stop(self) -> Optional[int]:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()
        try:
            os.unlink(self.stderr_path)
        except OSError:
            pass
        return self.proc.returncode
