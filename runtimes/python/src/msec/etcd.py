"""Routing on etcd through its v3 JSON gateway, with the standard library only (urllib).

The same key layout and behaviour as the TypeScript runtime (docs/routing-etcd.md)::

    <prefix>/services/<Group.Service>/<ip:port>  ->  {"ip": ..., "port": ..., "protocol": "tcp"|"udp", "weight": ...}

* :class:`EtcdResolver` reads the prefix once, then follows a prefix watch in a daemon thread;
  ``resolve`` answers from the local cache (no etcd round trip per call). When etcd is unreachable
  the cached routes keep serving and ``describe()`` says why nothing else is found.
* :func:`register` writes one instance under a lease renewed in a daemon thread; ``close()``
  revokes it (graceful deregistration); a crashed process disappears when the lease expires.

Why urllib rather than a client library: routing needs put, prefix range/delete, leases and one
watch — a few JSON POSTs — and a dependency would ship in every generated package.
"""
import base64
import http.client
import json
import os
import re
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable, Dict, List, Optional, Tuple

from .route import TCP, UDP, Address, Instance

DEFAULT_PREFIX = "/msec"
DEFAULT_WEIGHT = 100
#: Default lease TTL (seconds): a crashed server disappears from routing within it.
DEFAULT_TTL_S = 10
#: Budget of one request to one endpoint.
REQUEST_TIMEOUT_S = 2.0
#: Pause before reconnecting when etcd was unreachable.
RETRY_S = 0.25
#: How long the first ``resolve`` waits for the first read of etcd (or its failure).
FIRST_LOAD_WAIT_S = 3.0
#: Environment variables (they win over ``[ROUTE] etcd`` / ``etcd_prefix``).
ENDPOINTS_ENV = "MSEC_ETCD_ENDPOINTS"
PREFIX_ENV = "MSEC_ETCD_PREFIX"

_ENDPOINT = re.compile(r"https?://[^/\s]+")


class EtcdUnreachable(Exception):
    """No endpoint could be reached (as opposed to an error answered by etcd)."""


class EtcdResponseError(Exception):
    """etcd answered with an HTTP status other than 200."""


def parse_endpoints(text: str) -> List[str]:
    """Comma-separated etcd client URLs; raises ``ValueError`` on anything else."""
    endpoints = [e.strip().rstrip("/") for e in text.split(",") if e.strip()]
    if not endpoints:
        raise ValueError("no etcd endpoints given")
    for e in endpoints:
        if not _ENDPOINT.fullmatch(e):
            raise ValueError(f'invalid etcd endpoint "{e}" (expected http://host:port)')
    return endpoints


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _unb64(text: Optional[str]) -> str:
    return base64.b64decode(text or "").decode()


def prefix_range_end(prefix: str) -> str:
    """etcd's ``range_end`` (base64) covering every key that starts with ``prefix``."""
    data = bytearray(prefix.encode())
    for i in range(len(data) - 1, -1, -1):
        if data[i] < 0xFF:
            data[i] += 1
            return base64.b64encode(bytes(data[: i + 1])).decode()
    return base64.b64encode(b"\0").decode()


def services_prefix(prefix: str) -> str:
    return prefix.rstrip("/") + "/services/"


def instance_address(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def instance_key(prefix: str, service: str, ip: str, port: int) -> str:
    return f"{services_prefix(prefix)}{service}/{instance_address(ip, port)}"


def parse_instance_value(text: str) -> Instance:
    """The instance a stored JSON value describes; raises ``ValueError`` naming the problem."""
    v = json.loads(text)
    ip, port = v.get("ip"), v.get("port")
    protocol, weight = v.get("protocol", TCP), v.get("weight", DEFAULT_WEIGHT)
    if not isinstance(ip, str) or not ip:
        raise ValueError("ip must be a non-empty string")
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise ValueError("port must be 1..65535")
    if protocol not in (TCP, UDP):
        raise ValueError('protocol must be "tcp" or "udp"')
    if not isinstance(weight, int) or isinstance(weight, bool) or weight <= 0:
        raise ValueError("weight must be an integer > 0")
    return Instance(Address(ip, port, protocol), weight)


class EtcdGateway:
    """etcd v3 over its JSON gateway; tries the endpoints in turn on network errors."""

    def __init__(self, endpoints: List[str]) -> None:
        if not endpoints:
            raise ValueError("no etcd endpoints given")
        self.endpoints = [e.rstrip("/") for e in endpoints]
        self._current = 0

    def _open(self, path: str, body: Dict[str, Any], timeout: Optional[float]) -> Any:
        causes: List[str] = []
        for tried in range(len(self.endpoints)):
            at = (self._current + tried) % len(self.endpoints)
            endpoint = self.endpoints[at]
            req = urllib.request.Request(endpoint + path, data=json.dumps(body).encode(), method="POST")
            try:
                res = urllib.request.urlopen(req, timeout=timeout)
            except urllib.error.HTTPError as e:
                self._current = at
                text = e.read().decode(errors="replace")
                try:
                    message = json.loads(text).get("message", text)
                except ValueError:
                    message = text
                raise EtcdResponseError(f"etcd answered {e.code}: {message}") from None
            except (urllib.error.URLError, OSError) as e:
                reason = getattr(e, "reason", e)
                causes.append(f"{endpoint}: {reason}")
                continue
            self._current = at
            return res
        raise EtcdUnreachable(f"etcd unreachable ({'; '.join(causes)})")

    def request(self, path: str, body: Dict[str, Any]) -> Dict[str, Any]:
        with self._open(path, body, REQUEST_TIMEOUT_S) as res:
            reply: Dict[str, Any] = json.loads(res.read())
            return reply

    def put(self, key: str, value: str, lease: Optional[str] = None) -> None:
        body = {"key": _b64(key), "value": _b64(value)}
        if lease is not None:
            body["lease"] = lease
        self.request("/v3/kv/put", body)

    def get_prefix(self, prefix: str) -> Tuple[int, List[Tuple[str, str]]]:
        """The store revision and every ``(key, value)`` starting with ``prefix``."""
        reply = self.request("/v3/kv/range", {"key": _b64(prefix), "range_end": prefix_range_end(prefix)})
        kvs = [(_unb64(kv.get("key")), _unb64(kv.get("value"))) for kv in reply.get("kvs", [])]
        return int(reply.get("header", {}).get("revision", 0)), kvs

    def delete(self, key: str) -> int:
        return int(self.request("/v3/kv/deleterange", {"key": _b64(key)}).get("deleted", 0))

    def grant_lease(self, ttl_s: int) -> str:
        return str(self.request("/v3/lease/grant", {"TTL": ttl_s})["ID"])

    def keep_alive(self, lease: str) -> int:
        """Renews a lease once; its new TTL in seconds, 0 when the lease no longer exists."""
        return int(self.request("/v3/lease/keepalive", {"ID": lease}).get("result", {}).get("TTL", 0))

    def revoke_lease(self, lease: str) -> None:
        try:
            self.request("/v3/lease/revoke", {"ID": lease})
        except EtcdResponseError as e:
            if "lease not found" not in str(e):
                raise

    def open_watch(self, prefix: str, from_revision: int) -> Tuple[socket.socket, Any]:
        """A streaming watch: the socket (``shutdown`` it to stop a blocked read from another thread —
        closing the response would wait for the reader's lock) and the response, one JSON object per
        line (read with ``readline``)."""
        body = json.dumps({"create_request": {"key": _b64(prefix), "range_end": prefix_range_end(prefix), "start_revision": str(from_revision)}})
        causes: List[str] = []
        for tried in range(len(self.endpoints)):
            at = (self._current + tried) % len(self.endpoints)
            endpoint = self.endpoints[at]
            parts = urllib.parse.urlsplit(endpoint)
            conn_type = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
            conn = conn_type(parts.netloc, timeout=REQUEST_TIMEOUT_S)
            try:
                conn.connect()
                sock = conn.sock
                conn.request("POST", "/v3/watch", body=body)
                res = conn.getresponse()
            except OSError as e:
                conn.close()
                causes.append(f"{endpoint}: {e}")
                continue
            self._current = at
            if res.status != 200:
                text = res.read().decode(errors="replace")
                conn.close()
                raise EtcdResponseError(f"etcd answered {res.status}: {text}")
            sock.settimeout(None)
            return sock, res
        raise EtcdUnreachable(f"etcd unreachable ({'; '.join(causes)})")


class EtcdResolver:
    """A resolver fed by a prefix watch; register it in front of the routes file:
    ``default_router.resolvers.insert(0, EtcdResolver(endpoints))``. ``close()`` stops the watch."""

    def __init__(self, endpoints: List[str], prefix: str = DEFAULT_PREFIX, on_invalid: Optional[Callable[[str, str], None]] = None) -> None:
        self._gateway = EtcdGateway(endpoints)
        self.prefix = prefix
        self._root = services_prefix(prefix)
        self._on_invalid = on_invalid
        self._cache: Dict[str, Dict[str, Instance]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._tried = threading.Event()
        self._loaded = False
        self._watching = False
        self._error: Optional[str] = None
        self._socket: Optional[socket.socket] = None
        self._thread = threading.Thread(target=self._run, name="msec-etcd-watch", daemon=True)
        self._thread.start()

    def _apply(self, kind: str, key: str, value: str) -> None:
        if not key.startswith(self._root):
            return
        service, _, address = key[len(self._root) :].partition("/")
        if not service or not address:
            return
        with self._lock:
            instances = self._cache.get(service)
            if kind == "delete":
                if instances is not None:
                    instances.pop(address, None)
                    if not instances:
                        del self._cache[service]
                return
            try:
                instance = parse_instance_value(value)
            except ValueError as e:
                if self._on_invalid:
                    self._on_invalid(key, str(e))
                if instances is not None:
                    instances.pop(address, None)
                return
            self._cache.setdefault(service, {})[address] = instance

    def _run(self) -> None:
        while not self._stop.is_set():
            was_watching = False
            try:
                revision, kvs = self._gateway.get_prefix(self._root)
                with self._lock:
                    self._cache.clear()
                for key, value in kvs:
                    self._apply("put", key, value)
                self._loaded = True
                self._tried.set()
                self._socket, response = self._gateway.open_watch(self._root, revision + 1)
                if self._stop.is_set():
                    self._socket.close()
                    return
                while not self._stop.is_set():
                    line = response.readline()
                    if not line:
                        raise EtcdUnreachable("etcd closed the watch stream")
                    msg = json.loads(line)
                    result = msg.get("result", {})
                    if "error" in msg or result.get("canceled"):
                        raise EtcdResponseError(f"etcd ended the watch: {line.decode(errors='replace').strip()}")
                    if result.get("created"):
                        self._watching, self._error, was_watching = True, None, True
                    for event in result.get("events", []):
                        kv = event.get("kv", {})
                        self._apply("delete" if event.get("type") == "DELETE" else "put", _unb64(kv.get("key")), _unb64(kv.get("value")))
            except Exception as e:  # noqa: BLE001 - any failure means: reconnect and read again
                self._error = str(e) or type(e).__name__
            if self._socket is not None:
                self._socket.close()
                self._socket = None
            self._tried.set()
            self._watching = False
            if self._stop.is_set():
                return
            if was_watching:
                self._error = f"etcd watch stream broke: {self._error}"
                continue
            self._stop.wait(RETRY_S)

    def resolve(self, service: str) -> Optional[List[Instance]]:
        if not self._loaded:
            self._tried.wait(FIRST_LOAD_WAIT_S)
        with self._lock:
            instances = self._cache.get(service)
            return list(instances.values()) if instances else None

    def describe(self) -> str:
        where = f"etcd {','.join(self._gateway.endpoints)} prefix {self.prefix}"
        if self._error is not None and not self._watching:
            return f"{where} (unreachable: {self._error}; {'serving cached routes' if self._loaded else 'no routes cached'})"
        return where

    def connected(self) -> bool:
        return self._watching

    def snapshot(self) -> Dict[str, List[Instance]]:
        with self._lock:
            return {name: list(m.values()) for name, m in self._cache.items()}

    def close(self) -> None:
        self._stop.set()
        sock = self._socket
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes the watch thread's blocked read
            except OSError:
                pass


class EtcdRegistration:
    """One instance registered under a lease renewed ``KEEPALIVES_PER_TTL`` times per TTL."""

    KEEPALIVES_PER_TTL = 3

    def __init__(self, endpoints: List[str], service: str, ip: str, port: int, protocol: str = TCP,
                 weight: int = DEFAULT_WEIGHT, ttl_s: int = DEFAULT_TTL_S, prefix: str = DEFAULT_PREFIX) -> None:
        if ttl_s < 1:
            raise ValueError(f"etcd TTL must be an integer >= 1 second (got {ttl_s})")
        self._gateway = EtcdGateway(endpoints)
        self.key = instance_key(prefix, service, ip, port)
        self._value = json.dumps({"ip": ip, "port": port, "protocol": protocol, "weight": weight}, separators=(",", ":"))
        self._ttl = ttl_s
        self._lock = threading.Lock()
        self._closed = False
        self.lease = ""
        self._register()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name="msec-etcd-lease", daemon=True)
        self._thread.start()

    def _register(self) -> None:
        """Grants a lease and writes the key under it; ``lease`` names it before the key appears."""
        self.lease = self._gateway.grant_lease(self._ttl)
        self._gateway.put(self.key, self._value, self.lease)

    def _renew(self) -> None:
        while not self._stop.wait(max(0.1, self._ttl / self.KEEPALIVES_PER_TTL)):
            with self._lock:
                if self._closed:
                    return
                try:
                    if self._gateway.keep_alive(self.lease) <= 0:
                        self._register()
                except (EtcdUnreachable, EtcdResponseError):
                    pass  # retried at the next tick; a lost lease is re-granted then

    def close(self) -> None:
        """Stops renewing and revokes the lease: the key is deleted at once."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stop.set()
        self._gateway.revoke_lease(self.lease)


def endpoints_from_env(config_value: Optional[str] = None) -> Optional[List[str]]:
    """``$MSEC_ETCD_ENDPOINTS``, else ``config_value`` (``[ROUTE] etcd``), parsed; ``None`` when neither is set."""
    text = os.environ.get(ENDPOINTS_ENV) or config_value
    return parse_endpoints(text) if text and text.strip() else None
