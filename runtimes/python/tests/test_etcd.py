"""msec.etcd against a real etcd on loopback (started per module, /health polled, killed at the end):
registration under a lease, the watch-fed resolver, deregistration, lease expiry, etcd down."""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from typing import Any, Callable, Iterator, List

import pytest

from msec.etcd import EtcdGateway, EtcdRegistration, EtcdResolver, instance_key, parse_endpoints
from msec.route import Address, Balancer, ConfiguredEtcdResolver, Instance, Router, StaticResolver
from conftest import ECHO_SERVER


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/health", timeout=1) as res:
            return bool(json.loads(res.read()).get("health") == "true")
    except OSError:
        return False


def until(what: str, limit_s: float, check: Callable[[], bool]) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > limit_s:
            raise AssertionError(f"{what}: not within {limit_s} s")
        time.sleep(0.02)
    return time.monotonic() - start


class Etcd:
    def __init__(self) -> None:
        self.data = tempfile.mkdtemp(prefix="msec-etcd-py-")
        self.url = f"http://127.0.0.1:{free_port()}"
        peer = f"http://127.0.0.1:{free_port()}"
        self.proc = subprocess.Popen(
            ["etcd", "--name", "py", "--data-dir", self.data, "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
             "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", f"py={peer}", "--log-level", "error"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 15
        while not healthy(self.url):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("etcd did not become healthy")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        self.kill()
        if self.proc.stderr:
            self.proc.stderr.close()
        shutil.rmtree(self.data, ignore_errors=True)


@pytest.fixture(scope="module")
def etcd() -> Iterator[Etcd]:
    e = Etcd()
    yield e
    e.stop()


@pytest.fixture()
def closing() -> Iterator[List[object]]:
    things: List[object] = []
    yield things
    for t in things:
        t.close()  # type: ignore[attr-defined]


def test_parse_endpoints() -> None:
    assert parse_endpoints("http://a:1, https://b:2/") == ["http://a:1", "https://b:2"]
    with pytest.raises(ValueError, match='invalid etcd endpoint "a:1"'):
        parse_endpoints("a:1")


def test_register_resolve_watch_deregister(etcd: Etcd, closing: List[object]) -> None:
    prefix = "/py-basic"
    resolver = EtcdResolver([etcd.url], prefix)
    closing.append(resolver)
    router = Router([resolver, StaticResolver({})])
    reg = EtcdRegistration([etcd.url], "VOA.Crawl", "10.0.0.1", 7963, ttl_s=5, prefix=prefix)
    assert reg.key == "/py-basic/services/VOA.Crawl/10.0.0.1:7963"
    gateway = EtcdGateway([etcd.url])
    assert gateway.get_prefix(reg.key)[1] == [(reg.key, '{"ip":"10.0.0.1","port":7963,"protocol":"tcp","weight":100}')]
    until("registration seen", 1.0, lambda: router.route("VOA.Crawl") == Address("10.0.0.1", 7963, "tcp"))
    # Written by the TypeScript side's layout (scale-out): seen within 1 s.
    gateway.put(instance_key(prefix, "VOA.Crawl", "10.0.0.2", 7964), '{"ip":"10.0.0.2","port":7964,"protocol":"udp","weight":300}')
    until("scale-out seen", 1.0, lambda: len(resolver.resolve("VOA.Crawl") or []) == 2)
    assert resolver.snapshot()["VOA.Crawl"] == [Instance(Address("10.0.0.1", 7963, "tcp"), 100), Instance(Address("10.0.0.2", 7964, "udp"), 300)]
    reg.close()
    assert gateway.get_prefix(reg.key)[1] == []
    until("deregistration seen", 1.0, lambda: len(resolver.resolve("VOA.Crawl") or []) == 1)
    assert resolver.connected()


def test_lease_expires_when_renewal_stops(etcd: Etcd, closing: List[object]) -> None:
    prefix = "/py-crash"
    resolver = EtcdResolver([etcd.url], prefix)
    closing.append(resolver)
    # A process that dies stops renewing: simulate with a registration in a child Python process killed with SIGKILL.
    code = (
        "import sys, time; sys.path.insert(0, sys.argv[1]); from msec.etcd import EtcdRegistration; "
        "r = EtcdRegistration([sys.argv[2]], 'VOA.Dies', '10.0.0.3', 1, ttl_s=2, prefix='/py-crash'); print('registered', flush=True); time.sleep(60)"
    )
    runtime = os.path.join(os.path.dirname(__file__), "..", "src")
    child = subprocess.Popen(["python3", "-c", code, runtime, etcd.url], stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdout.readline() == b"registered\n"
        until("registration seen", 1.0, lambda: resolver.resolve("VOA.Dies") is not None)
        child.kill()
        child.wait()
        took = until("lease expiry seen", 4.0, lambda: resolver.resolve("VOA.Dies") is None)
        print(f"lease expired {took:.2f} s after SIGKILL (TTL 2 s)")
    finally:
        child.kill()
        child.wait()
        if child.stdout:
            child.stdout.close()


def test_lost_lease_is_regranted(etcd: Etcd) -> None:
    reg = EtcdRegistration([etcd.url], "VOA.Relet", "10.0.0.9", 1, ttl_s=3, prefix="/py-relet")
    first = reg.lease
    gateway = EtcdGateway([etcd.url])
    gateway.revoke_lease(first)
    until("re-registered", 3.0, lambda: len(gateway.get_prefix(reg.key)[1]) == 1)
    assert reg.lease != first
    reg.close()


def test_start_server_registers_and_deregisters_on_sigterm(etcd: Etcd, closing: List[object], tmp_path: "os.PathLike[str]") -> None:
    prefix = "/py-server"
    resolver = EtcdResolver([etcd.url], prefix)
    closing.append(resolver)
    config = os.path.join(str(tmp_path), "config.ini")
    with open(config, "w", encoding="utf-8") as f:
        f.write(f"[SRPC]\nlisten=127.0.0.1:0/tcp\n[ROUTE]\netcd={etcd.url}\netcd_prefix={prefix}\netcd_ttl=5\n")
    child = subprocess.Popen(["python3", ECHO_SERVER, "--port", "0", "--config", config], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert child.stdout is not None
        listening = child.stdout.readline().decode()
        registered = child.stdout.readline().decode()
        port = int(json.loads(listening)["port"])
        key = f"/py-server/services/echo.EchoService/127.0.0.1:{port}"
        assert (json.loads(registered)["msg"], json.loads(registered)["key"]) == (f"registered {key} in etcd", key)
        until("server seen", 1.0, lambda: resolver.resolve("echo.EchoService") == [Instance(Address("127.0.0.1", port, "tcp"), 100)])
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=15) == 0
        key = f"/py-server/services/echo.EchoService/127.0.0.1:{port}"
        assert EtcdGateway([etcd.url]).get_prefix(key)[1] == []
        until("deregistration seen", 1.0, lambda: resolver.resolve("echo.EchoService") is None)
    finally:
        child.kill()
        child.wait()
        for stream in (child.stdout, child.stderr):
            if stream:
                stream.close()


def test_a_plain_caller_routes_through_etcd_from_the_environment(etcd: Etcd, tmp_path: Any, monkeypatch: Any) -> None:
    """No code: a default Router (as default_router is built) reads $MSEC_ETCD_ENDPOINTS / $MSEC_ETCD_PREFIX
    and resolves through etcd before the routes file, which still answers names etcd does not know."""
    routes = tmp_path / "routes.conf"
    routes.write_text("VOA.Plain 10.9.9.9:1\nVOA.FileOnly 10.8.8.8:2\n")
    monkeypatch.setenv("MSEC_ROUTES", str(routes))
    monkeypatch.setenv("MSEC_CONFIG", str(tmp_path / "no-config.ini"))
    monkeypatch.setenv("MSEC_ETCD_ENDPOINTS", etcd.url)
    monkeypatch.setenv("MSEC_ETCD_PREFIX", "/py-plain-env")
    reg = EtcdRegistration([etcd.url], "VOA.Plain", "10.0.0.7", 7000, ttl_s=5, prefix="/py-plain-env")
    router = Router()
    configured = router.resolvers[0]
    assert isinstance(configured, ConfiguredEtcdResolver)
    try:
        until("etcd route seen", 3.0, lambda: router.route("VOA.Plain") == Address("10.0.0.7", 7000, "tcp"))
        assert router.route("VOA.FileOnly") == Address("10.8.8.8", 2, "tcp")
        reg.close()
        # the key is gone from etcd: the routes file answers again
        until("deregistration seen", 3.0, lambda: router.route("VOA.Plain") == Address("10.9.9.9", 1, "tcp"))
    finally:
        configured.close()


def test_a_plain_caller_reads_route_etcd_from_the_config_file(etcd: Etcd, tmp_path: Any, monkeypatch: Any) -> None:
    config = tmp_path / "config.ini"
    config.write_text(f"[ROUTE]\netcd = {etcd.url}\netcd_prefix = /py-plain-ini\n")
    monkeypatch.setenv("MSEC_CONFIG", str(config))
    monkeypatch.setenv("MSEC_ROUTES", str(tmp_path / "none.conf"))
    monkeypatch.delenv("MSEC_ETCD_ENDPOINTS", raising=False)
    monkeypatch.delenv("MSEC_ETCD_PREFIX", raising=False)
    reg = EtcdRegistration([etcd.url], "VOA.Ini", "10.0.0.8", 8000, ttl_s=5, prefix="/py-plain-ini")
    configured = ConfiguredEtcdResolver()
    try:
        router = Router([configured], Balancer())
        until("etcd route seen", 3.0, lambda: router.route("VOA.Ini") == Address("10.0.0.8", 8000, "tcp"))
    finally:
        reg.close()
        configured.close()


def test_plain_caller_etcd_settings_errors_name_their_source(tmp_path: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("MSEC_CONFIG", str(tmp_path / "no-config.ini"))
    monkeypatch.setenv("MSEC_ETCD_ENDPOINTS", "localhost:2379")
    with pytest.raises(ValueError, match=r'\$MSEC_ETCD_ENDPOINTS: invalid etcd endpoint "localhost:2379"'):
        ConfiguredEtcdResolver().resolve("VOA.Any")
    monkeypatch.delenv("MSEC_ETCD_ENDPOINTS")
    assert ConfiguredEtcdResolver().resolve("VOA.Any") is None  # not configured: nothing started


def test_etcd_down_cached_routes_serve_and_errors_say_why(etcd: Etcd, closing: List[object]) -> None:
    """Last in the module: stops etcd."""
    prefix = "/py-down"
    resolver = EtcdResolver([etcd.url], prefix)
    closing.append(resolver)
    EtcdGateway([etcd.url]).put(instance_key(prefix, "VOA.Cached", "10.0.0.5", 7000), '{"ip":"10.0.0.5","port":7000}')
    until("cached", 1.0, lambda: resolver.resolve("VOA.Cached") is not None)
    etcd.kill()
    # (The first reconnect can see the dying member reset the connection; then it is refused.)
    until("unreachable noticed", 2.0, lambda: "unreachable: etcd unreachable" in resolver.describe() and "Connection refused" in resolver.describe())
    assert Router([resolver]).route("VOA.Cached") == Address("10.0.0.5", 7000, "tcp")
    assert resolver.resolve("VOA.Never") is None
    assert resolver.describe().endswith("; serving cached routes)")
    cold = EtcdResolver([etcd.url], prefix)
    closing.append(cold)
    assert cold.resolve("VOA.Cold") is None
    assert cold.describe().startswith(f"etcd {etcd.url} prefix /py-down (unreachable: etcd unreachable ({etcd.url}: ")
    assert cold.describe().endswith("; no routes cached)")
