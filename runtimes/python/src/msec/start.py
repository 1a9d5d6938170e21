"""``start_server``: the entry point of a service process, configured from ``etc/config.ini``.

The Python twin of the TypeScript ``startServer``; it reads the same keys:

============================================  ==========================================================
key                                           meaning
============================================  ==========================================================
``[SRPC] listen``                             ``[iface:]port/tcp`` and ``[iface:]port/udp``, space-separated;
                                              one port for both; ``iface`` is ``all``, an IP or an interface
                                              name. Default ``7963/tcp 7963/udp``.
``[SRPC] max_frame_bytes``,                   limits (:class:`ServerOptions`)
``max_connections``,
``max_in_flight_per_connection``,
``idle_timeout_ms``, ``max_http_header_bytes``,
``request_timeout_ms``,
``max_pending_output_bytes``,
``max_udp_in_flight``
``[SRPC] drain_timeout_ms``                   how long SIGTERM waits for running calls (default 10 s)
``[SRPC] workers``                            worker processes serving the port: a whole number (default 1)
                                              or ``auto`` (one per CPU); see :mod:`.workers`
``[LOG] Level``, ``[COLOR] …``                logging (read by :mod:`.log` from the same file)
``[LOG] access_log``                          ``1``/``true``: one JSON line per call where the logs go
                                              (``ServerOptions.access_log``, docs/metrics.md)
``[ROUTE] File``                              routes file for outgoing calls (unless ``$MSEC_ROUTES`` is set)
``[ROUTE] etcd`` (or ``$MSEC_ETCD_ENDPOINTS``)  route through etcd (:mod:`.etcd`): outgoing calls resolve through a
``etcd_prefix`` (or ``$MSEC_ETCD_PREFIX``),     watch-fed cache and the service registers itself under a lease
``etcd_ttl``, ``etcd_weight``,                (default TTL 10 s, weight 100; ``etcd_advertise`` = IP to register,
``etcd_advertise``                            default the listen IP, or this host's address when listening on all)
============================================  ==========================================================
"""
import asyncio
import os
import re
import socket
import struct
from dataclasses import replace
from typing import Any, Callable, Dict, List, Optional, Tuple

from .config import CONFIG_ENV, read_config
from .etcd import DEFAULT_PREFIX, DEFAULT_TTL_S, DEFAULT_WEIGHT, PREFIX_ENV, EtcdRegistration, EtcdResolver, endpoints_from_env
from .handler import MethodTable
from .log import INFO, format_line, record_fields
from .route import ConfiguredEtcdResolver, default_router
from .server import DEFAULT_PORT, Server, ServerOptions, run_server
from .workers import WorkerLink, parse_workers, run_worker_group, worker_setup

_LISTEN_ENTRY = re.compile(r"(?:(.*):)?(\d+)/(tcp|udp)")
_SIOCGIFADDR = 0x8915


class ConfigError(ValueError):
    """A config value that cannot be used; the message names the key."""


def _interface_address(name: str) -> str:
    """First IPv4 address of a network interface (Linux ``SIOCGIFADDR``)."""
    import fcntl  # Unix only; imported here so the package still imports elsewhere

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            packed = fcntl.ioctl(s.fileno(), _SIOCGIFADDR, struct.pack("256s", name[:15].encode()))
        except OSError:
            raise ConfigError(f"[SRPC] listen: no IPv4 address on interface {name}") from None
    return socket.inet_ntoa(packed[20:24])


def _host_of(iface: str) -> str:
    if iface in ("", "all"):
        return "0.0.0.0"
    if re.fullmatch(r"[0-9.]+", iface) or ":" in iface:
        return iface
    return _interface_address(iface)


def parse_listen(value: Optional[str]) -> Tuple[str, int, bool]:
    """``[SRPC] listen`` → (host, port, udp), e.g. ``"7963/tcp 7963/udp"`` → ``("0.0.0.0", 7963, True)``."""
    if value is None:
        return "0.0.0.0", DEFAULT_PORT, True
    host: Optional[str] = None
    port: Optional[int] = None
    udp = False
    for entry in value.split():
        m = _LISTEN_ENTRY.fullmatch(entry)
        if not m:
            raise ConfigError(f'[SRPC] listen: bad entry "{entry}" (want [iface:]port/tcp|udp)')
        entry_port = int(m.group(2))
        entry_host = _host_of(m.group(1) or "")
        if entry_port > 65535:
            raise ConfigError(f'[SRPC] listen: bad port in "{entry}"')
        if port is not None and (port != entry_port or host != entry_host):
            raise ConfigError("[SRPC] listen: all entries must share one address and port (TCP and UDP use the same port)")
        host, port = entry_host, entry_port
        if m.group(3) == "udp":
            udp = True
    if host is None or port is None:
        raise ConfigError("[SRPC] listen: no entries")
    return host, port, udp


def _number(section: Dict[str, str], key: str) -> Optional[float]:
    text = section.get(key)
    if text is None or text == "":
        return None
    try:
        n = float(text)
    except ValueError:
        raise ConfigError(f"[SRPC] {key}: not a number: {text}") from None
    if n < 0:
        raise ConfigError(f"[SRPC] {key}: not a number: {text}")
    return n


def server_options_from_config(config_path: Optional[str] = None) -> ServerOptions:
    """Server options from the ``[SRPC]`` section (missing file or keys: defaults)."""
    srpc = read_config(config_path).get("SRPC", {})
    host, port, udp = parse_listen(srpc.get("listen") or None)
    options = ServerOptions(host=host, port=port, udp=udp)
    keys: Tuple[Tuple[str, str, Callable[[float], Any]], ...] = (
        ("max_frame_bytes", "max_frame_size", int),
        ("max_connections", "max_connections", int),
        ("max_in_flight_per_connection", "max_in_flight_per_connection", int),
        ("max_http_header_bytes", "max_http_header_bytes", int),
        ("idle_timeout_ms", "idle_timeout_s", lambda ms: ms / 1000.0),
        ("drain_timeout_ms", "drain_timeout_s", lambda ms: ms / 1000.0),
        ("request_timeout_ms", "request_timeout_s", lambda ms: ms / 1000.0),
        ("max_pending_output_bytes", "max_pending_output_bytes", int),
        ("max_udp_in_flight", "max_udp_in_flight", int),
    )
    changes: Dict[str, Any] = {}
    for key, option, convert in keys:
        n = _number(srpc, key)
        if n is not None:
            changes[option] = convert(n)
    access_log = read_config(config_path).get("LOG", {}).get("access_log")
    if access_log:
        changes["access_log"] = access_log.strip().lower() in ("1", "true")
    try:
        changes["workers"] = parse_workers(srpc.get("workers"))
    except ValueError as e:
        raise ConfigError(str(e)) from None
    return replace(options, **changes)


def _announce(text: str, fields: Dict[str, object]) -> None:
    """A startup line on stdout, whatever ``[LOG] Level`` says (tools wait for it), as a JSON log line."""
    print(format_line(INFO, record_fields(fields), text), flush=True)


def start_server(
    methods: MethodTable,
    *,
    config_path: Optional[str] = None,
    service_name: Optional[str] = None,
    overrides: Optional[Dict[str, Any]] = None,
    on_started: Optional[Callable[[Server], None]] = None,
) -> None:
    """Runs a service process: options from the config (``overrides`` win), prints the JSON line
    ``{"time":…,"level":"INFO",…,"msg":"listening on <host>:<port> (tcp+udp)","host":…,"port":…,"transports":"tcp+udp"}``
    on stdout (the log line shape; ``msg`` keeps the old text), drains on SIGTERM/SIGINT, returns when stopped.

    ``config_path`` also becomes ``$MSEC_CONFIG`` so handler code's ``get_config``, the logs and
    the routes file (``[ROUTE] File``) read the same file.
    """
    if config_path is not None:
        os.environ[CONFIG_ENV] = config_path
    options = server_options_from_config(config_path)
    if service_name:
        options = replace(options, service_name=service_name)
    if overrides:
        if isinstance(overrides.get("workers"), str):
            try:
                overrides = dict(overrides, workers=parse_workers(overrides["workers"], "workers"))
            except ValueError as e:
                raise ConfigError(str(e)) from None
        options = replace(options, **overrides)
    if not isinstance(options.workers, int) or not 1 <= options.workers <= 256:
        raise ConfigError(f'workers: want a whole number from 1 to 256 or "auto", got "{options.workers}"')
    # A worker of a group serves the sockets its main process bound (msec.workers).
    setup = worker_setup()
    link: Optional[WorkerLink] = None
    if setup is not None:
        options = replace(options, listen_fds=(setup.tcp_fd, setup.udp_fd))
        link = WorkerLink(setup.control_fd)
    route = read_config(config_path).get("ROUTE", {})
    try:
        endpoints = endpoints_from_env(route.get("etcd"))
        ttl_s = int(route.get("etcd_ttl") or DEFAULT_TTL_S)
        weight = int(route.get("etcd_weight") or DEFAULT_WEIGHT)
    except ValueError as e:
        raise ConfigError(f"[ROUTE] etcd: {e}") from None
    if ttl_s < 1 or weight < 1:
        raise ConfigError("[ROUTE] etcd_ttl and etcd_weight must be integers >= 1")
    prefix = os.environ.get(PREFIX_ENV) or route.get("etcd_prefix") or DEFAULT_PREFIX
    resolver: Optional[EtcdResolver] = None
    registration: List[EtcdRegistration] = []
    replaced: List[ConfiguredEtcdResolver] = []
    if endpoints is not None:
        # Outgoing calls resolve through etcd first, then the routes file.
        # It stands in for the plain callers' ConfiguredEtcdResolver (same settings, this config file).
        resolver = EtcdResolver(endpoints, prefix)
        replaced = [r for r in default_router.resolvers if isinstance(r, ConfiguredEtcdResolver)]
        for configured in replaced:
            configured.close()
        default_router.resolvers = [resolver] + [r for r in default_router.resolvers if not isinstance(r, ConfiguredEtcdResolver)]

    def announce(port: int) -> None:
        """The instance is up: the listening line, then the etcd registration (once per instance)."""
        transports = "tcp+udp" if options.udp else "tcp"
        _announce(f"listening on {options.host}:{port} ({transports})", {"host": options.host, "port": port, "transports": transports})
        if endpoints is not None and options.service_name:
            host = route.get("etcd_advertise") or options.host
            if host in ("", "0.0.0.0", "::"):
                host = socket.gethostbyname(socket.gethostname())
            registration.append(
                EtcdRegistration(endpoints, options.service_name, host, port, weight=weight, ttl_s=ttl_s, prefix=prefix)
            )
            _announce(f"registered {registration[0].key} in etcd", {"key": registration[0].key})

    def started(server: Server) -> None:
        if link is not None:
            # A worker: its main process announces and registers the instance; /metrics is the instance's sum.
            server.metrics_source = link.instance_metrics_source(server.metrics_text)

            def orphaned() -> None:
                asyncio.ensure_future(server.shutdown())

            async def connect(worker: WorkerLink) -> None:
                await worker.attach(server.metrics_text, orphaned)
                worker.listening(server.port)

            asyncio.ensure_future(connect(link))
        else:
            announce(server.port)
        if on_started is not None:
            on_started(server)

    try:
        if options.workers > 1 and link is None:
            # The main process of a worker group serves no calls (msec.workers); on_started is the workers'.
            if not run_worker_group(options.workers, options.host, options.port, options.udp, options.drain_timeout_s, announce):
                raise RuntimeError("not every worker process drained and exited 0")
        else:
            run_server(methods, options, on_started=started)
    finally:
        # Graceful stop (or a failed start): deregister, stop watching.
        for r in registration:
            r.close()
        if resolver is not None:
            resolver.close()
            default_router.resolvers.remove(resolver)
            default_router.resolvers[0:0] = list(replaced)
