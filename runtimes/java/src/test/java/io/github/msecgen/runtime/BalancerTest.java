package io.github.msecgen.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.LongUnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * The NLB balancer under scripted clocks and random draws: the same scenarios and the same
 * numbers as the TypeScript runtime's {@code runtimes/ts/test/balancer.test.ts}.
 */
class BalancerTest {
    /** A random source returning scripted values and recording each bound it was asked for. */
    static final class Scripted implements LongUnaryOperator {
        final ArrayDeque<Long> values = new ArrayDeque<>();
        final List<Long> bounds = new ArrayList<>();

        Scripted push(long... v) {
            for (long x : v) values.add(x);
            return this;
        }

        @Override
        public long applyAsLong(long n) {
            bounds.add(n);
            Long v = values.poll();
            if (v == null) throw new AssertionError("random source exhausted (asked for [0, " + n + "))");
            if (v >= n) throw new AssertionError("scripted " + v + " is not below " + n);
            return v;
        }
    }

    private long now;

    private Balancer balancer(Scripted rng) {
        return new Balancer(() -> now, rng, Balancer.SHAPING_REQUEST_MIN);
    }

    private static RouteInstance instance(String ip, int weight) {
        return new RouteInstance(new Route(ip, 7963, Route.Transport.TCP), weight);
    }

    private static RouteInstance instance(String ip) {
        return instance(ip, 100);
    }

    private static void ok(Balancer b, String name, String ip, int n) {
        for (int i = 0; i < n; i++) assertTrue(b.update(name, ip + ":7963", 0, 1));
    }

    private static void fail(Balancer b, String name, String ip, int n) {
        for (int i = 0; i < n; i++) assertTrue(b.update(name, ip + ":7963", 1, 0));
    }

    private static List<String> table(Balancer b, String name) {
        List<String> out = new ArrayList<>();
        for (Balancer.ServerWeight w : b.weights(name)) {
            out.add(w.address().split(":")[0] + " " + w.dynamicWeight() + (w.dead() ? " dead" : ""));
        }
        return out;
    }

    private static List<Long> longs(long... v) {
        List<Long> out = new ArrayList<>();
        for (long x : v) out.add(x);
        return out;
    }

    @Test
    void weightedPickTwoDrawsTheSecondOverTheAliveWeight() {
        Scripted rng = new Scripted().push(0, 99, 0, 100, 0, 399);
        Balancer b = balancer(rng);
        List<RouteInstance> list = List.of(instance("10.0.0.1"), instance("10.0.0.2", 100), instance("10.0.0.3", 200));
        assertEquals("10.0.0.1", b.pick("S.A", list).ip());
        assertEquals("10.0.0.2", b.pick("S.A", list).ip());
        assertEquals("10.0.0.3", b.pick("S.A", list).ip());
        assertEquals(longs(400, 400, 400, 400, 400, 400), rng.bounds);
        assertNull(b.pick("S.A", List.of()));
    }

    @Test
    void normalModeDecreaseDeathCarryOverCappedGrowthProbingAndRevival() {
        Scripted rng = new Scripted();
        Balancer b = balancer(rng);
        List<RouteInstance> list = List.of(instance("A"), instance("B"), instance("C", 200), instance("D"));
        rng.push(0, 0);
        b.pick("S.B", list);
        ok(b, "S.B", "A", 20);
        ok(b, "S.B", "B", 18);
        fail(b, "S.B", "B", 2);
        fail(b, "S.B", "C", 10);
        fail(b, "S.B", "D", 5); // below 10 requests: judged next period
        now = 4999;
        b.tick("S.B");
        assertEquals(List.of("A 100", "B 100", "C 200", "D 100"), table(b, "S.B"), "nothing before 5 s");
        now = 5000;
        b.tick("S.B");
        // B: 100 × 0.9² = 81; C: 0 % → dead, moved to the tail.
        assertEquals(List.of("A 100", "B 81", "D 100", "C 0 dead"), table(b, "S.B"));

        ok(b, "S.B", "B", 20); // +max(1, 100 × 0.05) = 86
        fail(b, "S.B", "D", 5); // with the 5 carried over: 10 failures → dead
        now = 10000;
        b.tick("S.B");
        assertEquals(List.of("A 100", "B 86", "D 0 dead", "C 0 dead"), table(b, "S.B"));

        // Dead pool: int(186 × 0.01 + 1) = 2; one probe token (max(1, int(30 × 0.01))).
        rng.bounds.clear();
        rng.push(187, 1); // lands in the dead pool → second dead server
        assertEquals("C", b.pick("S.B", list).ip());
        rng.push(186, 150); // dead pool again but no token left → weighted pick: 150 ≥ 100 → B
        assertEquals("B", b.pick("S.B", list).ip());
        assertEquals(longs(188, 2, 188, 186), rng.bounds);

        ok(b, "S.B", "C", 1); // one successful probe revives at max(1, 200 × 0.1)
        ok(b, "S.B", "B", 10);
        now = 15000;
        b.tick("S.B");
        assertEquals(List.of("A 100", "B 91", "C 20", "D 0 dead"), table(b, "S.B"));
        for (int period = 4; period <= 6; period++) {
            ok(b, "S.B", "B", 10);
            now = period * 5000L;
            b.tick("S.B");
        }
        assertEquals(List.of("A 100", "B 100", "C 20", "D 0 dead"), table(b, "S.B"), "growth stops at the static weight");
    }

    @Test
    void protectModeWhenMostServersAreLowTheBaseIsTheGlobalRatioAndNobodyIsDecreased() {
        Scripted rng = new Scripted().push(0, 0);
        Balancer b = balancer(rng);
        List<RouteInstance> list = List.of(instance("X"), instance("Y"), instance("Z"));
        b.pick("S.C", list);
        fail(b, "S.C", "X", 10);
        fail(b, "S.C", "Y", 10);
        ok(b, "S.C", "Z", 10);
        now = 5000;
        b.tick("S.C");
        assertEquals(List.of("Z 100", "X 0 dead", "Y 0 dead"), table(b, "S.C"));

        // 2 of 3 servers below half weight → protect; global ratio 12/20 = 0.6 is the base.
        ok(b, "S.C", "Y", 6);
        fail(b, "S.C", "Y", 4);
        ok(b, "S.C", "Z", 6);
        fail(b, "S.C", "Z", 4);
        now = 10000;
        b.tick("S.C");
        assertEquals(List.of("Z 100", "Y 10", "X 0 dead"), table(b, "S.C"), "Y revived at 60 %, Z not cut to int(100 × 0.36)");

        ok(b, "S.C", "Z", 5);
        fail(b, "S.C", "Z", 5);
        ok(b, "S.C", "Y", 5);
        fail(b, "S.C", "Y", 5);
        now = 15000;
        b.tick("S.C");
        assertEquals(List.of("Z 100", "Y 15", "X 0 dead"), table(b, "S.C"));
    }

    @Test
    void perPickCheckReplacesAServerUnder60PercentWithTenRequestsByARandomOne() {
        Scripted rng = new Scripted();
        Balancer b = balancer(rng);
        List<RouteInstance> list = List.of(instance("P"), instance("Q"));
        rng.push(0, 50);
        assertEquals("P", b.pick("S.D", list).ip());
        ok(b, "S.D", "P", 5);
        fail(b, "S.D", "P", 4); // 9 requests: not judged yet
        rng.push(0, 50);
        assertEquals("P", b.pick("S.D", list).ip());
        fail(b, "S.D", "P", 1); // 10 requests, 50 %
        rng.push(0, 50, 1);
        assertEquals("Q", b.pick("S.D", list).ip());
        assertEquals(longs(200, 200, 2), rng.bounds.subList(rng.bounds.size() - 3, rng.bounds.size()));
    }

    @Test
    void allDeadPicksAUniformlyRandomServerAndUnknownReportsAreRefused() {
        Scripted rng = new Scripted().push(0, 0);
        Balancer b = balancer(rng);
        List<RouteInstance> list = List.of(instance("M"), instance("N"));
        b.pick("S.E", list);
        fail(b, "S.E", "M", 10);
        fail(b, "S.E", "N", 10);
        now = 5000;
        b.tick("S.E");
        assertEquals(List.of("M 0 dead", "N 0 dead"), table(b, "S.E"));
        rng.push(1);
        assertEquals("N", b.pick("S.E", list).ip());
        assertFalse(b.update("S.Unknown", "M:7963", 1, 0));
        assertFalse(b.update("S.E", "10.9.9.9:1", 1, 0));
        assertTrue(b.update("S.E", "M", 0, 3), "a bare ip matches any port of that host");
    }

    @Test
    void shapingRequestMinZeroReproducesMsecsPeriodicPath() {
        Balancer b = new Balancer(() -> now, n -> 0, 0);
        b.pick("S.F", List.of(instance("K"), instance("L")));
        fail(b, "S.F", "K", 1);
        now = 5000;
        b.tick("S.F");
        assertEquals(List.of("L 100", "K 0 dead"), table(b, "S.F"));
    }

    @Test
    void aRefusedServerIsDeadAtOnceAndGetsNoPicksNotEvenProbesForFiveSeconds() {
        Scripted rng = new Scripted();
        Balancer b = balancer(rng);
        List<RouteInstance> list = List.of(instance("R"), instance("S"), instance("T"));
        rng.push(0, 0);
        assertEquals("R", b.pick("S.G", list).ip());
        assertTrue(b.markRefused("S.G", "R:7963"));
        assertFalse(b.markRefused("S.G", "R:1"));
        assertFalse(b.markRefused("S.Unknown", "R:7963"));
        assertEquals(List.of("S 100", "T 100", "R 0 dead"), table(b, "S.G"));
        // Held: R is not a candidate, so there is no dead pool — the draw is over 200, not 203.
        rng.bounds.clear();
        rng.push(0, 199);
        now = 4999;
        assertEquals("T", b.pick("S.G", list).ip());
        assertEquals(longs(200, 200), rng.bounds);
        // After the hold R is an ordinary dead server: dead pool int(200 × 0.01 + 1) = 3 → probed.
        now = 5000;
        rng.bounds.clear();
        rng.push(200, 0);
        assertEquals("R", b.pick("S.G", list).ip());
        assertEquals(longs(203, 1), rng.bounds);
        // Every server held (all refused) → a uniformly random one among all.
        b.markRefused("S.G", "S:7963");
        b.markRefused("S.G", "T:7963");
        b.markRefused("S.G", "R:7963");
        rng.bounds.clear();
        rng.push(2);
        assertEquals(List.of("T 0 dead", "S 0 dead", "R 0 dead"), table(b, "S.G"));
        assertEquals("R", b.pick("S.G", list).ip());
        assertEquals(longs(3), rng.bounds);
    }

    @Test
    void aChangedInstanceListKeepsTheStateOfServersWhoseAddressAndWeightMatch() {
        Scripted rng = new Scripted().push(0, 0, 0, 0);
        Balancer b = balancer(rng);
        b.pick("S.H", List.of(instance("U"), instance("V")));
        fail(b, "S.H", "U", 10);
        now = 5000;
        b.tick("S.H");
        assertEquals(List.of("V 100", "U 0 dead"), table(b, "S.H"));
        b.pick("S.H", List.of(instance("U"), instance("V"), instance("W", 50)));
        assertEquals(List.of("U 0 dead", "V 100", "W 50"), table(b, "S.H"), "order follows the new list until the next adjustment");
        assertEquals(Arrays.asList(new Balancer.ServerWeight("U:7963", 100, 0, true)), b.weights("S.H").subList(0, 1));
        assertEquals(List.of(), b.weights("S.Unknown"));
    }
}
