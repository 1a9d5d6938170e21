package msec

import (
	"math/rand/v2"
	"strconv"
	"sync"
	"time"
)

// MSEC NLB load balancing (spec §7.3 selection, §7.4 weight adjustment), per
// routing name, with the defaults of nlb/src/comm/commstruct.h — the same
// rules, numbers and order of random draws as the TypeScript runtime's
// Balancer (runtimes/ts/src/route/balancer.ts), so one script of outcomes
// gives the same weights in both.
//
// Pick: weighted random over alive servers by dynamic weight. When some
// servers are dead, the draw gets a dead pool of int(alive × DeadRetryRatio
// + 1); a draw landing in it probes a random dead server, at most
// max(1, int(requests of last period × 0.01)) times per period. A chosen
// server whose success ratio this period is below 0.6 with at least
// ShapingRequestMin requests is replaced by a uniformly random server. All
// dead (or zero alive weight) → uniformly random server.
//
// Every BalancePeriod (checked on each pick and report — no timer), each
// server's period results adjust its weight:
//   - normal mode while at most half the servers are below half their
//     static weight: base 0.98; otherwise protect mode: base = min(global
//     success ratio, 0.98) and no decreases;
//   - ratio ≥ base → a dead server revives at max(1, int(static × 0.1)), an
//     alive one grows by max(1, int(static × 0.05)) up to static;
//   - ratio ≤ 0.00001 → dead (weight 0, moved to the tail);
//   - otherwise, normal mode only → dynamic = int(dynamic × ratio²), 0 → dead;
//   - no requests → unchanged.
//
// Deviation, on purpose (as in TypeScript and Python): an alive server with
// fewer than ShapingRequestMin requests in a period is not judged; its counts
// carry over to the next period. That is the rule MSEC's code intended; its
// periodic path read the threshold as 0, so one failure in a quiet period
// killed a server. BalancerOptions.ShapingRequestMin = 0 reproduces the
// original.
const (
	// BalancePeriod is the weight adjustment period per service.
	BalancePeriod = 5000 * time.Millisecond
	// ShapingRequestMin is how many requests a server needs in a period before its success ratio is judged.
	ShapingRequestMin = 10
	// SuccessRatioBase is the success ratio at or above which weight grows (normal mode base).
	SuccessRatioBase = 0.98
	// SuccessRatioMin is the per-pick threshold: below it the pick is replaced by a random server.
	SuccessRatioMin = 0.6
	// ResumeWeightRatio is the share of its static weight a revived server restarts at.
	ResumeWeightRatio = 0.1
	// DeadRetryRatio is the share of total weight (and of requests, as probe tokens) given to dead servers.
	DeadRetryRatio = 0.01
	// WeightLowWatermark is the share of its static weight below which a server counts as "low".
	WeightLowWatermark = 0.5
	// WeightLowRatio is the share of low servers above which the balancer switches to protect mode.
	WeightLowRatio = 0.5
	// WeightIncrRatio is the share of static weight a server grows by per good period.
	WeightIncrRatio = 0.05
	// DeadSuccessRatio is the success ratio at or below which a server is dead.
	DeadSuccessRatio = 0.00001
	// RefusedHold is how long a server whose connection was refused (nothing
	// listens: the process is gone) gets no picks at all — not even dead-server
	// probes; afterwards it is probed like any dead server. (msec-gen addition:
	// NLB alone only learns of a crash at the next weight adjustment.)
	RefusedHold = 5000 * time.Millisecond
)

// ServerWeight is the weight state of one server, as Balancer.Weights reports it.
type ServerWeight struct {
	Address       string `json:"address"`
	StaticWeight  int64  `json:"staticWeight"`
	DynamicWeight int64  `json:"dynamicWeight"`
	Dead          bool   `json:"dead"`
}

// BalancerOptions configure NewBalancer. The zero value is the production setting.
type BalancerOptions struct {
	// Now is the clock; default time.Now. Tests script periods with it.
	Now func() time.Time
	// RandomInt returns a random integer in [0, n) (n ≥ 1); default math/rand/v2.
	RandomInt func(n int64) int64
	// ShapingRequestMin overrides the ShapingRequestMin constant when not nil
	// (0 reproduces MSEC's original periodic rule).
	ShapingRequestMin *int
}

type serverState struct {
	route        Route
	address      string
	staticWeight int64
	dynamic      int64
	dead         bool
	deadSince    int64
	success      int64
	failed       int64
	costMs       int64
	heldUntil    int64 // ms; no picks before this time (see RefusedHold); 0 = none
}

type serviceState struct {
	servers       []*serverState
	adjustedAt    int64
	deadRetryLeft int64
	signature     string
}

// Balancer keeps NLB state for every routing name it has picked for. It is
// safe for concurrent use.
type Balancer struct {
	mu                sync.Mutex
	services          map[string]*serviceState
	now               func() time.Time
	randomInt         func(n int64) int64
	shapingRequestMin int64
}

// NewBalancer returns a balancer with opts' clock and random source.
func NewBalancer(opts BalancerOptions) *Balancer {
	b := &Balancer{services: map[string]*serviceState{}, now: opts.Now, randomInt: opts.RandomInt, shapingRequestMin: ShapingRequestMin}
	if b.now == nil {
		b.now = time.Now
	}
	if b.randomInt == nil {
		b.randomInt = rand.Int64N
	}
	if opts.ShapingRequestMin != nil {
		b.shapingRequestMin = int64(*opts.ShapingRequestMin)
	}
	return b
}

func (b *Balancer) nowMs() int64 {
	return b.now().UnixMilli()
}

// Pick chooses one of instances for name; ok is false when the list is empty.
func (b *Balancer) Pick(name string, instances []RouteInstance) (route Route, ok bool) {
	if len(instances) == 0 {
		return Route{}, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	svc := b.service(name, instances)
	b.tickLocked(svc)
	now := b.nowMs()
	var candidates, alive, dead []*serverState
	for _, s := range svc.servers {
		if s.heldUntil <= now {
			candidates = append(candidates, s)
		}
	}
	if len(candidates) == 0 {
		candidates = svc.servers
	}
	var aliveWeight int64
	for _, s := range candidates {
		if s.dead {
			dead = append(dead, s)
		} else {
			alive = append(alive, s)
			aliveWeight += s.dynamic
		}
	}
	if len(alive) == 0 || aliveWeight <= 0 {
		return candidates[b.randomInt(int64(len(candidates)))].route, true
	}
	total := aliveWeight
	if len(dead) > 0 {
		total += int64(float64(aliveWeight)*DeadRetryRatio + 1)
	}
	if b.randomInt(total) >= aliveWeight && svc.deadRetryLeft > 0 {
		svc.deadRetryLeft--
		return dead[b.randomInt(int64(len(dead)))].route, true
	}
	r := b.randomInt(aliveWeight)
	chosen := alive[len(alive)-1]
	for _, s := range alive {
		if r < s.dynamic {
			chosen = s
			break
		}
		r -= s.dynamic
	}
	requests := chosen.success + chosen.failed
	if requests >= b.shapingRequestMin && requests > 0 && float64(chosen.success)/float64(requests) < SuccessRatioMin {
		chosen = candidates[b.randomInt(int64(len(candidates)))]
	}
	return chosen.route, true
}

// MarkRefused records that a connection to address (ip:port) was refused:
// the server is dead now and held out of picks for RefusedHold. It returns
// false when the service or address is unknown to the balancer.
func (b *Balancer) MarkRefused(name, address string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	svc := b.services[name]
	if svc == nil {
		return false
	}
	for _, s := range svc.servers {
		if s.address != address {
			continue
		}
		now := b.nowMs()
		s.failed++
		s.dead = true
		s.dynamic = 0
		s.deadSince = now
		s.heldUntil = now + RefusedHold.Milliseconds()
		svc.servers = aliveFirst(svc.servers)
		return true
	}
	return false
}

// Update reports one call's outcome: failed ≥ 1 failures, 0 = one success
// that took costMs. address is ip:port, or a bare ip matching any port of
// that host (MSEC reports by IP). It returns false when the service or the
// address is unknown to the balancer.
func (b *Balancer) Update(name, address string, failed int, costMs int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	svc := b.services[name]
	if svc == nil {
		return false
	}
	for _, s := range svc.servers {
		if s.address != address && s.route.IP != address {
			continue
		}
		if failed > 0 {
			s.failed += int64(failed)
		} else {
			s.success++
			s.costMs += costMs
		}
		b.tickLocked(svc)
		return true
	}
	return false
}

// Tick adjusts name's weights if a period has passed since the last adjustment.
func (b *Balancer) Tick(name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if svc := b.services[name]; svc != nil {
		b.tickLocked(svc)
	}
}

// Weights returns name's servers in the balancer's order (alive first), for
// diagnostics and tests; nil for a name it has not picked for.
func (b *Balancer) Weights(name string) []ServerWeight {
	b.mu.Lock()
	defer b.mu.Unlock()
	svc := b.services[name]
	if svc == nil {
		return nil
	}
	out := make([]ServerWeight, len(svc.servers))
	for i, s := range svc.servers {
		out[i] = ServerWeight{Address: s.address, StaticWeight: s.staticWeight, DynamicWeight: s.dynamic, Dead: s.dead}
	}
	return out
}

func (b *Balancer) tickLocked(svc *serviceState) {
	now := b.nowMs()
	if now-svc.adjustedAt < BalancePeriod.Milliseconds() {
		return
	}
	svc.adjustedAt = now
	b.adjust(svc, now)
}

func signatureOf(instances []RouteInstance) []byte {
	var sig []byte
	for i, in := range instances {
		if i > 0 {
			sig = append(sig, ' ')
		}
		sig = append(sig, in.Address()...)
		sig = append(sig, '@')
		sig = append(sig, in.Network...)
		sig = append(sig, '=')
		sig = strconv.AppendInt(sig, in.Weight, 10)
	}
	return sig
}

// service returns name's state, rebuilt when its instance list changed
// (servers whose address, network and weight match keep their state).
func (b *Balancer) service(name string, instances []RouteInstance) *serviceState {
	signature := signatureOf(instances)
	svc := b.services[name]
	if svc != nil && svc.signature == string(signature) {
		return svc
	}
	old := map[string]*serverState{}
	if svc != nil {
		for _, s := range svc.servers {
			old[s.address+"@"+s.route.Network] = s
		}
	}
	servers := make([]*serverState, len(instances))
	for i, in := range instances {
		if prev := old[in.Address()+"@"+in.Network]; prev != nil && prev.staticWeight == in.Weight {
			servers[i] = prev
			continue
		}
		servers[i] = &serverState{route: in.Route, address: in.Address(), staticWeight: in.Weight, dynamic: in.Weight}
	}
	svc = &serviceState{servers: servers, adjustedAt: b.nowMs(), deadRetryLeft: 1, signature: string(signature)}
	b.services[name] = svc
	return svc
}

func (b *Balancer) adjust(svc *serviceState, now int64) {
	servers := svc.servers
	low := 0
	for _, s := range servers {
		if float64(s.dynamic)/float64(s.staticWeight) < WeightLowWatermark {
			low++
		}
	}
	normal := float64(low)/float64(len(servers)) <= WeightLowRatio
	var totalSuccess, totalRequests int64
	for _, s := range servers {
		totalSuccess += s.success
		totalRequests += s.success + s.failed
	}
	base := SuccessRatioBase
	if !normal {
		global := 1.0
		if totalRequests > 0 {
			global = float64(totalSuccess) / float64(totalRequests)
		}
		base = min(global, SuccessRatioBase)
	}
	for _, s := range servers {
		requests := s.success + s.failed
		if requests == 0 || (!s.dead && requests < b.shapingRequestMin) {
			continue
		}
		ratio := float64(s.success) / float64(requests)
		switch {
		case ratio >= base:
			if s.dead {
				s.dead = false
				s.dynamic = max(1, int64(float64(s.staticWeight)*ResumeWeightRatio))
			} else if s.dynamic != s.staticWeight {
				s.dynamic = min(s.staticWeight, s.dynamic+max(1, int64(float64(s.staticWeight)*WeightIncrRatio)))
			}
		case ratio <= DeadSuccessRatio:
			s.dead = true
			s.dynamic = 0
			s.deadSince = now
		case normal:
			s.dynamic = int64(float64(s.dynamic) * ratio * ratio)
			if s.dynamic == 0 {
				s.dead = true
				s.deadSince = now
			}
		}
		s.success, s.failed, s.costMs = 0, 0, 0
	}
	svc.deadRetryLeft = max(1, int64(float64(totalRequests)*DeadRetryRatio))
	svc.servers = aliveFirst(servers)
}

// aliveFirst reorders servers alive first, dead last, each group in its order.
func aliveFirst(servers []*serverState) []*serverState {
	out := make([]*serverState, 0, len(servers))
	for _, s := range servers {
		if !s.dead {
			out = append(out, s)
		}
	}
	for _, s := range servers {
		if s.dead {
			out = append(out, s)
		}
	}
	return out
}

var (
	balancerMu     sync.RWMutex
	processBalance = NewBalancer(BalancerOptions{})
)

// SetBalancer replaces the process-wide balancer every Client picks with
// (tests inject a clock and a random source this way).
func SetBalancer(b *Balancer) {
	balancerMu.Lock()
	processBalance = b
	balancerMu.Unlock()
}

// CurrentBalancer is the process-wide balancer; its Weights show the NLB state.
func CurrentBalancer() *Balancer {
	balancerMu.RLock()
	defer balancerMu.RUnlock()
	return processBalance
}
