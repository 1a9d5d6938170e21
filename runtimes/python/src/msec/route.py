"""Routing: literal addresses, the routes file, pluggable resolvers and the NLB balancer.

A service name is either a literal address ``ip:port[@tcp|@udp]`` or a routing
name ``Group.Service`` resolved to instances (routes file by default) among
which :class:`Balancer` picks one with MSEC NLB semantics (spec §7.3, §7.4).
"""
import functools
import os
import random
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Protocol, Tuple

from .config import get_config

TCP = "tcp"
UDP = "udp"
#: Weight of a routes-file line without ``weight=`` (the console always wrote 100).
DEFAULT_WEIGHT = 100
#: Environment variable naming the routes file.
ROUTES_ENV = "MSEC_ROUTES"
DEFAULT_ROUTES_FILE = "etc/routes.conf"
#: The routes file is re-checked for changes at most this often (seconds).
ROUTES_RECHECK_S = 1.0

#: NLB defaults (``nlb/src/comm/commstruct.h``).
ADJUST_PERIOD_S = 5.0
SHAPING_REQUEST_MIN = 10
SUCCESS_RATIO_BASE = 0.98
SUCCESS_RATIO_MIN = 0.6
RESUME_WEIGHT_RATIO = 0.1
DEAD_RETRY_RATIO = 0.01
WEIGHT_LOW_WATERMARK = 0.5
WEIGHT_INCR_RATIO = 0.05
DEAD_RATIO = 0.00001
#: NLB API results of ``updateroute`` (``nlbapi.h``).
NLB_NO_ROUTEDATA = -4
NLB_NO_SERVER = -9
#: After a refused connection (nothing listens: the process is gone) a server is dead at once
#: and gets no picks at all — not even dead-server probes — for this long (seconds); afterwards
#: it is probed like any dead server. msec-gen addition, the TypeScript ``REFUSED_HOLD_MS``:
#: NLB alone only learns of a crash at its next weight adjustment.
REFUSED_HOLD_S = 5.0


@dataclass(frozen=True)
class Address:
    """One reachable endpoint."""

    ip: str
    port: int
    type: str = TCP

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}@{self.type}"


@dataclass(frozen=True)
class Instance:
    """An address with its static weight, as listed for a service."""

    address: Address
    weight: int = DEFAULT_WEIGHT


_PORT = re.compile(r"[0-9]{1,5}")
_SERVICE_NAME = re.compile(r"[^.:@\s]+(\.[^.:@\s]+)+")
_WEIGHT = re.compile(r"weight=([0-9]+)")


def parse_address(text: str) -> Optional[Address]:
    """Parses a literal ``ip:port[@tcp|@udp]``; ``None`` if ``text`` is not one.

    As in MSEC, a suffix other than ``udp`` means TCP. IPv6 hosts are written
    in brackets (``[::1]:7963``). Same rules as the TypeScript ``parseLiteral``.
    """
    main, sep, suffix = text.partition("@")
    host, colon, port_text = main.rpartition(":")
    if not colon or not host or not _PORT.fullmatch(port_text):
        return None
    port = int(port_text)
    if not 0 < port < 65536:
        return None
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host:
        return None
    return Address(host, port, UDP if sep and suffix == UDP else TCP)


@functools.lru_cache(maxsize=1024)
def _literal(service: str) -> Optional[Address]:
    """:func:`parse_address` remembered per name: the router asks it twice per call."""
    return parse_address(service)


class RoutesFileError(ValueError):
    """A routes file line that cannot be parsed; the message names ``file:line``."""


def parse_routes(text: str, filename: str = "<routes>") -> Dict[str, List[Instance]]:
    """Parses the routes file format shared by all languages (same rules and messages as the TS runtime).

    One instance per line: ``<Group.Service> <ip:port[@tcp|@udp]> [weight=N]``;
    ``#`` starts a comment (whole line or trailing), blank lines are ignored,
    the default weight is 100; an address listed twice for a name is an error.
    """
    routes: Dict[str, List[Instance]] = {}
    for number, raw in enumerate(re.split(r"\r?\n", text), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        where = f"{filename}:{number}"
        if len(parts) not in (2, 3):
            raise RoutesFileError(f'{where}: expected "<Group.Service> <ip:port[@tcp|@udp]> [weight=N]", got "{line}"')
        name, addr_text = parts[0], parts[1]
        if not _SERVICE_NAME.fullmatch(name):
            raise RoutesFileError(f'{where}: service name "{name}" is not of the form Group.Service')
        address = parse_address(addr_text)
        suffix = addr_text.partition("@")[2] if "@" in addr_text else TCP
        if address is None or suffix not in (TCP, UDP):
            raise RoutesFileError(f'{where}: invalid address "{addr_text}" (expected ip:port, ip:port@tcp or ip:port@udp)')
        weight = DEFAULT_WEIGHT
        if len(parts) == 3:
            match = _WEIGHT.fullmatch(parts[2])
            weight = int(match.group(1)) if match else 0
            if weight <= 0 or weight > 2**53 - 1:
                raise RoutesFileError(f'{where}: expected weight=N with N > 0, got "{parts[2]}"')
        listed = routes.setdefault(name, [])
        if any(i.address.ip == address.ip and i.address.port == address.port for i in listed):
            raise RoutesFileError(f"{where}: {name} lists {addr_text} twice")
        listed.append(Instance(address, weight))
    return routes


class Resolver(Protocol):
    """Anything that lists the instances of a routing name (``None``: unknown here)."""

    def resolve(self, service: str) -> Optional[List[Instance]]:
        ...


def default_routes_path(config_file: Optional[str] = None) -> str:
    """``$MSEC_ROUTES``, else ``[ROUTE] File`` of the config, else ``etc/routes.conf``."""
    return os.environ.get(ROUTES_ENV) or get_config("ROUTE", "File", config_file) or DEFAULT_ROUTES_FILE


class RoutesFileResolver:
    """Resolves names from a routes file, re-read when it changes.

    ``path=None`` locates the file with :func:`default_routes_path` on every
    check, so changing ``MSEC_ROUTES`` takes effect. A missing file resolves
    nothing; a malformed one raises :class:`RoutesFileError`.
    """

    def __init__(self, path: Optional[str] = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._loaded: Tuple[str, float] = ("", -1.0)
        self._routes: Dict[str, List[Instance]] = {}
        self._checked_at = -ROUTES_RECHECK_S

    @property
    def path(self) -> str:
        return self._path or default_routes_path()

    def routes(self) -> Dict[str, List[Instance]]:
        with self._lock:
            now = self._clock()
            path = self.path
            if path == self._loaded[0] and now - self._checked_at < ROUTES_RECHECK_S:
                return self._routes
            self._checked_at = now
            try:
                mtime = os.stat(path).st_mtime
            except OSError:
                self._loaded, self._routes = (path, -1.0), {}
                return self._routes
            if (path, mtime) != self._loaded:
                with open(path, encoding="utf-8") as f:
                    self._routes = parse_routes(f.read(), path)
                self._loaded = (path, mtime)
            return self._routes

    def resolve(self, service: str) -> Optional[List[Instance]]:
        return self.routes().get(service)


class ConfiguredEtcdResolver:
    """Routes through etcd when the environment or the config says so — a plain caller needs no code.

    Settings, re-read at most every ``ROUTES_RECHECK_S``: endpoints from ``$MSEC_ETCD_ENDPOINTS``,
    else ``[ROUTE] etcd`` of the config (``$MSEC_CONFIG`` or ``etc/config.ini``); prefix from
    ``$MSEC_ETCD_PREFIX``, else ``[ROUTE] etcd_prefix``, else ``/msec``. Unset ⇒ resolves nothing
    (the routes file answers). The first lookup starts an :class:`msec.etcd.EtcdResolver` (a watch
    thread); when the settings change it is closed and another started. Malformed endpoints raise
    ``ValueError`` naming where they came from. :func:`msec.start.start` replaces this resolver
    with its own (the server's config file wins).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._checked_at: Optional[float] = None
        self._key: Optional[Tuple[Tuple[str, ...], str]] = None
        self._resolver: Optional["_EtcdLike"] = None
        self._error: Optional[str] = None

    def current(self) -> Optional["_EtcdLike"]:
        """The etcd resolver for the current settings (started on demand), ``None`` when etcd is not configured."""
        from .etcd import DEFAULT_PREFIX, ENDPOINTS_ENV, PREFIX_ENV, EtcdResolver, parse_endpoints

        with self._lock:
            now = self._clock()
            if self._checked_at is not None and now - self._checked_at < ROUTES_RECHECK_S:
                if self._error is not None:
                    raise ValueError(self._error)
                return self._resolver
            self._checked_at = now
            text, where = os.environ.get(ENDPOINTS_ENV), f"${ENDPOINTS_ENV}"
            if not text:
                text, where = get_config("ROUTE", "etcd"), "[ROUTE] etcd of the config"
            key: Optional[Tuple[Tuple[str, ...], str]] = None
            self._error = None
            if text and text.strip():
                try:
                    endpoints = parse_endpoints(text)
                except ValueError as e:
                    self._error = f"{where}: {e}"
                else:
                    prefix = os.environ.get(PREFIX_ENV) or get_config("ROUTE", "etcd_prefix") or DEFAULT_PREFIX
                    key = (tuple(endpoints), prefix)
            if key != self._key:
                if self._resolver is not None:
                    self._resolver.close()
                self._resolver = EtcdResolver(list(key[0]), key[1]) if key is not None else None
                self._key = key
            if self._error is not None:
                raise ValueError(self._error)
            return self._resolver

    def resolve(self, service: str) -> Optional[List[Instance]]:
        etcd = self.current()
        return etcd.resolve(service) if etcd is not None else None

    def close(self) -> None:
        """Stops the watch, if one runs (a later lookup starts it again)."""
        with self._lock:
            if self._resolver is not None:
                self._resolver.close()
            self._resolver, self._key, self._checked_at = None, None, None


class _EtcdLike(Protocol):
    def resolve(self, service: str) -> Optional[List[Instance]]:
        ...

    def close(self) -> None:
        ...


class StaticResolver:
    """Resolves from a fixed table (tests, or routes assembled in code)."""

    def __init__(self, routes: Dict[str, List[Instance]]) -> None:
        self._routes = routes

    def resolve(self, service: str) -> Optional[List[Instance]]:
        return self._routes.get(service)


@dataclass
class _Server:
    address: Address
    static: int
    dynamic: int
    dead: bool = False
    dead_since: float = 0.0
    success: int = 0
    failed: int = 0
    cost_ms: int = 0
    #: No picks before this clock time (see ``REFUSED_HOLD_S``); 0 = none.
    held_until: float = 0.0


@dataclass
class _Service:
    servers: List[_Server]
    adjusted_at: float
    dead_retry_left: int = 1
    instances: Tuple[Instance, ...] = field(default_factory=tuple)


class Balancer:
    """MSEC NLB selection and weight adjustment for each routing name.

    * pick (the same draws, in the same order, as the TypeScript ``Balancer``):
      a first draw over the total weight — alive dynamic weights plus, when
      some servers are dead, a dead pool of ``int(alive × 0.01 + 1)`` —
      decides whether to probe a random dead server; then a weighted draw over
      the alive servers, limited to
      ``max(1, requests × dead_retry_ratio)`` probes per period; a pick whose
      success ratio this period (with ≥ ``shaping_request_min`` requests) is
      below 0.6 is replaced by a uniformly random server. All dead ⇒ uniform.
    * every ``ADJUST_PERIOD_S`` seconds (checked on pick/update), from the
      period's results reported by :meth:`update`: ratio ≥ base ⇒ a dead server
      revives at ``max(1, static × 0.1)``, an alive one grows by
      ``max(1, static × 0.05)`` up to its static weight; ratio ≈ 0 ⇒ dead;
      otherwise (normal mode) ``dynamic = int(dynamic × ratio²)``, 0 ⇒ dead.
      Normal mode (base 0.98) applies while at most half the servers are
      below half their static weight; else protect mode (base = min(global
      ratio, 0.98), no decreases). Servers with fewer than
      ``shaping_request_min`` requests keep their counters for the next period
      (the original's intended rule, see spec §7.4).
    * :meth:`mark_refused`: a refused connection makes a server dead at once
      and holds it out of every pick (dead probes included) for
      ``REFUSED_HOLD_S``; while held servers exist, picks draw from the others
      only (all held ⇒ from all), as the TypeScript ``markRefused``.

    ``clock`` (seconds) and ``rng`` (``rng(n)`` → int in ``[0, n)``) are
    injectable for tests.
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        rng: Optional[Callable[[int], int]] = None,
        shaping_request_min: int = SHAPING_REQUEST_MIN,
    ) -> None:
        self._clock = clock
        self._rng = rng or (lambda n: random.randrange(n))
        self._lock = threading.Lock()
        self._services: Dict[str, _Service] = {}
        self.shaping_request_min = shaping_request_min

    def _service(self, name: str, instances: List[Instance]) -> _Service:
        key = tuple(instances)
        svc = self._services.get(name)
        if svc is None or svc.instances != key:
            old = {s.address: s for s in svc.servers} if svc else {}
            servers = []
            for inst in instances:
                prev = old.get(inst.address)
                if prev is not None and prev.static == inst.weight:
                    servers.append(prev)
                else:
                    servers.append(_Server(inst.address, inst.weight, inst.weight))
            svc = _Service(servers, self._clock(), 1, key)
            self._services[name] = svc
        return svc

    def pick(self, name: str, instances: List[Instance]) -> Optional[Address]:
        """Chooses one instance of ``name`` (``None`` when there is none)."""
        if not instances:
            return None
        with self._lock:
            svc = self._service(name, instances)
            self._maybe_adjust(svc)
            now = self._clock()
            unheld = [s for s in svc.servers if s.held_until <= now]
            candidates = unheld or svc.servers
            alive = [s for s in candidates if not s.dead]
            dead = [s for s in candidates if s.dead]
            alive_weight = sum(s.dynamic for s in alive)
            if not alive or alive_weight <= 0:
                return candidates[self._rng(len(candidates))].address
            total = alive_weight + (int(alive_weight * DEAD_RETRY_RATIO + 1) if dead else 0)
            if self._rng(total) >= alive_weight and svc.dead_retry_left > 0:
                svc.dead_retry_left -= 1
                return dead[self._rng(len(dead))].address
            r = self._rng(alive_weight)
            chosen = alive[-1]
            for s in alive:
                if r < s.dynamic:
                    chosen = s
                    break
                r -= s.dynamic
            requests = chosen.success + chosen.failed
            if requests >= self.shaping_request_min and requests > 0 and chosen.success / requests < SUCCESS_RATIO_MIN:
                chosen = candidates[self._rng(len(candidates))]
            return chosen.address

    def mark_refused(self, name: str, address: Address) -> bool:
        """A connection to ``address`` was refused: the server is dead now (one failure counted)
        and held out of picks for ``REFUSED_HOLD_S``. ``False`` when the service or address is unknown."""
        with self._lock:
            svc = self._services.get(name)
            if svc is None:
                return False
            for s in svc.servers:
                if s.address.ip == address.ip and s.address.port == address.port:
                    now = self._clock()
                    s.failed += 1
                    s.dead, s.dynamic, s.dead_since = True, 0, now
                    s.held_until = now + REFUSED_HOLD_S
                    svc.servers = [x for x in svc.servers if not x.dead] + [x for x in svc.servers if x.dead]
                    return True
            return False

    def update(self, name: str, address: Address, failed: int, cost_ms: int, instances: Optional[List[Instance]] = None) -> bool:
        """Reports a call's outcome (``failed`` ≥ 1 failures, 0 = success taking ``cost_ms``).

        ``address.port == 0`` matches any port of that IP (MSEC reports by IP).
        Returns ``False`` when the service (and no ``instances``) or the address is unknown.
        """
        with self._lock:
            svc = self._services.get(name)
            if instances:
                svc = self._service(name, instances)
            if svc is None:
                return False
            for s in svc.servers:
                if s.address.ip == address.ip and (address.port == 0 or s.address.port == address.port):
                    if failed:
                        s.failed += failed
                    else:
                        s.success += 1
                        s.cost_ms += cost_ms
                    self._maybe_adjust(svc)
                    return True
            return False

    def weights(self, name: str) -> Dict[Address, Tuple[int, bool]]:
        """``{address: (dynamic weight, dead)}`` of a service, for tests and diagnostics."""
        with self._lock:
            svc = self._services.get(name)
            return {s.address: (s.dynamic, s.dead) for s in svc.servers} if svc else {}

    def _maybe_adjust(self, svc: _Service) -> None:
        now = self._clock()
        if now - svc.adjusted_at < ADJUST_PERIOD_S:
            return
        svc.adjusted_at = now
        servers = svc.servers
        low = sum(1 for s in servers if s.dynamic / s.static < WEIGHT_LOW_WATERMARK)
        normal = low / len(servers) <= WEIGHT_LOW_WATERMARK
        total_success = sum(s.success for s in servers)
        total_requests = sum(s.success + s.failed for s in servers)
        if normal:
            base = SUCCESS_RATIO_BASE
        else:
            base = min(total_success / total_requests if total_requests else 1.0, SUCCESS_RATIO_BASE)
        for s in servers:
            requests = s.success + s.failed
            if requests == 0 or (not s.dead and requests < self.shaping_request_min):
                continue  # nothing to judge yet: counters carry over
            ratio = s.success / requests
            if ratio >= base:
                if s.dead:
                    s.dead = False
                    s.dynamic = max(1, int(s.static * RESUME_WEIGHT_RATIO))
                elif s.dynamic != s.static:
                    s.dynamic = min(s.static, s.dynamic + max(1, int(s.static * WEIGHT_INCR_RATIO)))
            elif ratio <= DEAD_RATIO:
                s.dead, s.dynamic, s.dead_since = True, 0, now
            elif normal:
                s.dynamic = int(s.dynamic * ratio * ratio)
                if s.dynamic == 0:
                    s.dead, s.dead_since = True, now
            s.success = s.failed = s.cost_ms = 0
        svc.dead_retry_left = max(1, int(total_requests * DEAD_RETRY_RATIO))
        # alive first, dead last, as NLB keeps its array
        svc.servers = [s for s in servers if not s.dead] + [s for s in servers if s.dead]


class Router:
    """Turns a service name into an address: literal, else resolvers + balancer."""

    def __init__(self, resolvers: Optional[List[Resolver]] = None, balancer: Optional[Balancer] = None) -> None:
        #: Consulted in order, the first that knows a name wins. Default: etcd when configured
        #: (:class:`ConfiguredEtcdResolver`), then the routes file.
        self.resolvers: List[Resolver] = resolvers if resolvers is not None else [ConfiguredEtcdResolver(), RoutesFileResolver()]
        self.balancer = balancer or Balancer()

    def instances(self, service: str) -> Optional[List[Instance]]:
        for resolver in self.resolvers:
            found = resolver.resolve(service)
            if found:
                return found
        return None

    def route(self, service: str) -> Optional[Address]:
        """A literal address as written, else a balanced pick; ``None`` when unknown."""
        literal = _literal(service)
        if literal is not None:
            return literal
        found = self.instances(service)
        return self.balancer.pick(service, found) if found else None

    def update(self, service: str, address: Address, failed: int, cost_ms: int) -> int:
        """Feeds a call's outcome to the balancer; literal addresses are not tracked.

        Returns NLB's codes: 0 done (or a literal address), -4 unknown service, -9 unknown server.
        """
        if _literal(service) is not None:
            return 0
        found = self.instances(service)
        if not found:
            return NLB_NO_ROUTEDATA
        return 0 if self.balancer.update(service, address, failed, cost_ms, found) else NLB_NO_SERVER

    def report_refused(self, service: str, address: Address) -> None:
        """A connection to ``address`` (picked for ``service``) was refused: the balancer stops
        picking it at once (:meth:`Balancer.mark_refused`). Literal addresses are not tracked."""
        if _literal(service) is None:
            self.balancer.mark_refused(service, address)


#: The process-wide router used by the clients and the MSEC functions.
default_router = Router()
