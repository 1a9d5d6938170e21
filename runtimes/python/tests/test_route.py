"""Literal addresses, the routes file, and the NLB balancer with an injected clock and RNG."""
import os

import pytest

from msec import Address, Balancer, Instance, Router, RoutesFileError, RoutesFileResolver, StaticResolver, parse_address, parse_routes
from msec.route import default_routes_path


def test_literal_addresses_follow_msec():
    assert parse_address("1.2.3.4:80") == Address("1.2.3.4", 80, "tcp")
    assert parse_address("1.2.3.4:80@udp") == Address("1.2.3.4", 80, "udp")
    assert parse_address("1.2.3.4:80@tcp") == Address("1.2.3.4", 80, "tcp")
    assert parse_address("1.2.3.4:80@xyz") == Address("1.2.3.4", 80, "tcp")
    assert parse_address("[::1]:7963") == Address("::1", 7963, "tcp")
    assert parse_address("VOA_py.Crawl") is None
    assert parse_address("1.2.3.4:0") is None
    assert parse_address("1.2.3.4:http") is None


ROUTES = """# VOA services
VOA_py.Crawl 10.0.0.1:7963
VOA_py.Crawl 10.0.0.2:7963@tcp weight=300   # a bigger box

Jsoup.jsoup 10.0.0.9:9000@udp weight=1
"""


def test_routes_file_lines_give_instances_with_default_weight_100():
    routes = parse_routes(ROUTES, "r.conf")
    assert routes == {
        "VOA_py.Crawl": [Instance(Address("10.0.0.1", 7963, "tcp"), 100), Instance(Address("10.0.0.2", 7963, "tcp"), 300)],
        "Jsoup.jsoup": [Instance(Address("10.0.0.9", 9000, "udp"), 1)],
    }


@pytest.mark.parametrize(
    "line,fragment",
    [
        ("VOA_py.Crawl", 'expected "<Group.Service>'),
        ("VOA_py.Crawl 10.0.0.1:7963\nVOA_py.Crawl 10.0.0.1:7963@udp", "VOA_py.Crawl lists 10.0.0.1:7963@udp twice"),
        ("VOA_py..Crawl 10.0.0.1:7963", "not of the form Group.Service"),
        ("Crawl 10.0.0.1:7963", "not of the form Group.Service"),
        ("VOA_py.Crawl 10.0.0.1", "invalid address"),
        ("VOA_py.Crawl 10.0.0.1:7963@sctp", "invalid address"),
        ("VOA_py.Crawl 10.0.0.1:7963 weight=0", "expected weight=N"),
        ("VOA_py.Crawl 10.0.0.1:7963 w=5", "expected weight=N"),
        ("VOA_py.Crawl 10.0.0.1:7963 weight=5 extra", 'expected "<Group.Service>'),
    ],
)
def test_bad_routes_lines_name_file_and_line(line, fragment):
    with pytest.raises(RoutesFileError) as err:
        parse_routes("# header\n\n" + line + "\n", "etc/routes.conf")
    assert str(err.value).startswith(f"etc/routes.conf:{3 + line.count(chr(10))}: ")
    assert fragment in str(err.value)


def test_routes_file_is_found_by_env_then_config_then_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MSEC_ROUTES", raising=False)
    monkeypatch.delenv("MSEC_CONFIG", raising=False)
    assert default_routes_path() == "etc/routes.conf"
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "config.ini").write_text("[ROUTE]\nFile = conf/my.routes\n")
    assert default_routes_path() == "conf/my.routes"
    monkeypatch.setenv("MSEC_ROUTES", str(tmp_path / "env.routes"))
    assert default_routes_path() == str(tmp_path / "env.routes")


def test_routes_file_resolver_reloads_when_the_file_changes(tmp_path):
    path = tmp_path / "routes.conf"
    path.write_text("A.b 127.0.0.1:1000\n")
    now = [0.0]
    resolver = RoutesFileResolver(str(path), clock=lambda: now[0])
    assert resolver.resolve("A.b") == [Instance(Address("127.0.0.1", 1000), 100)]
    path.write_text("A.b 127.0.0.1:2000 weight=5\n")
    os.utime(path, (1, 1))
    assert resolver.resolve("A.b") == [Instance(Address("127.0.0.1", 1000), 100)]  # re-checked at most once a second
    now[0] = 1.5
    assert resolver.resolve("A.b") == [Instance(Address("127.0.0.1", 2000), 5)]
    assert resolver.resolve("X.y") is None


def test_missing_routes_file_resolves_nothing(tmp_path):
    assert RoutesFileResolver(str(tmp_path / "none.conf")).resolve("A.b") is None


A, B, C = Address("10.0.0.1", 1), Address("10.0.0.2", 2), Address("10.0.0.3", 3)
INSTANCES = [Instance(A, 100), Instance(B, 300)]


class Draws:
    """An RNG returning scripted values (checked to be in range)."""

    def __init__(self, *values: int) -> None:
        self.values = list(values)
        self.calls = []

    def __call__(self, n: int) -> int:
        self.calls.append(n)
        v = self.values.pop(0)
        assert 0 <= v < n
        return v


def sweep(balancer: Balancer, name: str, instances, total: int):
    counts = {}
    for r in range(total):
        balancer._rng = lambda n, r=r: r % n
        addr = balancer.pick(name, instances)
        counts[addr] = counts.get(addr, 0) + 1
    return counts


def test_pick_is_weighted_by_static_weight_exactly():
    b = Balancer(clock=lambda: 0.0)
    assert sweep(b, "S.s", INSTANCES, 400) == {A: 100, B: 300}


def test_pick_boundaries_of_cumulative_weights():
    # each pick draws over the total weight (dead-pool check), then over the alive weight, as the TS Balancer
    rng = Draws(5, 0, 5, 99, 5, 100, 5, 399)
    b = Balancer(clock=lambda: 0.0, rng=rng)
    assert [b.pick("S.s", INSTANCES) for _ in range(4)] == [A, A, B, B]
    assert rng.calls == [400] * 8


def report(b: Balancer, addr: Address, ok: int, failed: int, name: str = "S.s") -> None:
    for _ in range(ok):
        b.update(name, addr, 0, 3)
    for _ in range(failed):
        b.update(name, addr, 1, 0)


def test_weights_shrink_by_the_square_of_the_success_ratio_after_5_seconds():
    now = [0.0]
    b = Balancer(clock=lambda: now[0], rng=lambda n: 0)
    b.pick("S.s", INSTANCES)
    report(b, A, 5, 5)
    report(b, B, 10, 0)
    now[0] = 4.9
    b.pick("S.s", INSTANCES)
    assert b.weights("S.s") == {A: (100, False), B: (300, False)}
    now[0] = 5.0
    b.pick("S.s", INSTANCES)
    assert b.weights("S.s") == {A: (25, False), B: (300, False)}  # int(100 × 0.5²)


def test_servers_with_fewer_than_10_requests_carry_their_counters_over():
    now = [0.0]
    b = Balancer(clock=lambda: now[0], rng=lambda n: 0)
    b.pick("S.s", INSTANCES)
    report(b, A, 4, 4)
    now[0] = 5.0
    b.pick("S.s", INSTANCES)
    assert b.weights("S.s")[A] == (100, False)
    report(b, A, 1, 1)  # now 5/10 over two periods
    now[0] = 10.0
    b.pick("S.s", INSTANCES)
    assert b.weights("S.s")[A] == (25, False)


def test_a_server_with_only_failures_dies_is_probed_and_revives_at_a_tenth():
    now = [0.0]
    b = Balancer(clock=lambda: now[0], rng=lambda n: 0)
    b.pick("S.s", INSTANCES)
    report(b, A, 0, 10)
    report(b, B, 10, 0)
    now[0] = 5.0
    b.pick("S.s", INSTANCES)
    assert b.weights("S.s") == {A: (0, True), B: (300, False)}
    # alive weight 300 + dead share int(300 × 0.01 + 1) = 4 ⇒ draws 300..303 probe the dead pool,
    # once per period here (max(1, int(20 requests × 0.01)) = 1 probe)
    b._rng = Draws(303, 0)
    assert b.pick("S.s", INSTANCES) == A
    b._rng = Draws(303, 7)
    assert b.pick("S.s", INSTANCES) == B  # no probe left: falls back to the alive pick (draw 7 of 300)
    assert b._rng.calls == [304, 300]
    b._rng = Draws(299, 299)
    assert b.pick("S.s", INSTANCES) == B
    report(b, A, 1, 0)  # the probe succeeded
    now[0] = 10.0
    b._rng = lambda n: 0
    b.pick("S.s", INSTANCES)
    assert b.weights("S.s")[A] == (10, False)  # max(1, 100 × 0.1)
    for step in range(1, 4):
        report(b, A, 10, 0)
        now[0] = 10.0 + 5 * step
        b.pick("S.s", INSTANCES)
        assert b.weights("S.s")[A] == (10 + 5 * step, False)  # grows by max(1, 100 × 0.05) per period


def test_all_dead_means_uniform_choice():
    now = [0.0]
    b = Balancer(clock=lambda: now[0], rng=lambda n: 0)
    b.pick("S.s", INSTANCES)
    report(b, A, 0, 10)
    report(b, B, 0, 10)
    now[0] = 5.0
    b._rng = Draws(1)
    assert b.pick("S.s", INSTANCES) in (A, B)
    assert b.weights("S.s") == {A: (0, True), B: (0, True)}


def test_a_pick_failing_most_requests_this_period_is_replaced_by_a_random_server():
    b = Balancer(clock=lambda: 0.0)
    b.pick("S.s", INSTANCES)
    report(b, B, 5, 5)  # 50% < 60% with 10 requests
    b._rng = Draws(0, 150, 0)  # weighted draw lands on B, the replacement draw picks index 0
    assert b.pick("S.s", INSTANCES) == A


def test_protect_mode_keeps_weights_when_most_servers_are_already_low():
    now = [0.0]
    three = [Instance(A, 100), Instance(B, 100), Instance(C, 100)]
    b = Balancer(clock=lambda: now[0], rng=lambda n: 0)
    b.pick("S.s", three)
    report(b, A, 5, 5)
    report(b, B, 5, 5)
    report(b, C, 10, 0)
    now[0] = 5.0
    b.pick("S.s", three)
    assert b.weights("S.s") == {A: (25, False), B: (25, False), C: (100, False)}
    report(b, A, 5, 5)
    report(b, B, 5, 5)
    report(b, C, 5, 5)
    now[0] = 10.0
    b.pick("S.s", three)  # 2 of 3 below half weight ⇒ protect mode: base = min(0.5, 0.98), no decreases
    assert b.weights("S.s") == {A: (30, False), B: (30, False), C: (100, False)}


def test_router_uses_literals_as_written_and_names_through_resolvers():
    router = Router([StaticResolver({"S.s": INSTANCES})], Balancer(clock=lambda: 0.0, rng=lambda n: 0))
    assert router.route("127.0.0.1:9@udp") == Address("127.0.0.1", 9, "udp")
    assert router.route("S.s") == A
    assert router.route("Nope.x") is None
    assert router.update("S.s", Address("10.0.0.2", 0), 0, 5) == 0
    assert router.update("Nope.x", A, 0, 5) == -4
    assert router.update("S.s", Address("10.9.9.9", 0), 0, 5) == -9
    assert router.update("127.0.0.1:9", A, 1, 0) == 0
