// Command runner is the conformance runner of the Go caller
// (docs/caller-parity.md, "Runner protocol"): it reads one scenario from
// stdin, runs its steps in order through the generated
// ConformanceServiceClient (module example.com/msec/conformance/echo,
// installed as its README says) and the runtime package msec, and writes one
// JSON line per step. It checks nothing: the harness compares.
//
// Routing is configured as a user's program does it: the runtime reads
// $MSEC_ROUTES and $MSEC_ETCD_ENDPOINTS / $MSEC_ETCD_PREFIX by itself.
//
// Profiling: with $MSEC_RUNNER_CPUPROFILE set to a file path, the runner
// writes a CPU profile of the whole scenario there (runtime/pprof; read it
// with `go tool pprof`), e.g. under `npm run bench:callers -- --langs go`.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	msec "github.com/msec-gen/msec-gen/runtimes/go"

	"example.com/msec/conformance/echo/conformance"
)

// call is one call of a step (normalised by the harness: every field present).
type call struct {
	Service     string  `json:"service"`
	Text        string  `json:"text"`
	SleepMs     uint32  `json:"sleep_ms"`
	FailCode    int32   `json:"fail_code"`
	FailMessage string  `json:"fail_message"`
	TimeoutMs   int64   `json:"timeout_ms"`
	Retries     int     `json:"retries"`
	Method      *string `json:"method"`
}

type step struct {
	Op string `json:"op"`
	// op "call" (and the balancer step's "service"): the call's fields at the top level.
	call
	Calls       []call  `json:"calls"`
	Count       int     `json:"count"`
	Concurrency int     `json:"concurrency"`
	Call        call    `json:"call"`
	Seconds     float64 `json:"seconds"`
	Instances   []struct {
		Addr   string `json:"addr"`
		Weight int64  `json:"weight"`
	} `json:"instances"`
	Events []struct {
		AtMs   int64  `json:"at_ms"`
		Addr   string `json:"addr"`
		Failed int    `json:"failed"`
		CostMs int64  `json:"cost_ms"`
	} `json:"events"`
	Options *struct {
		ShapingRequestMin *int `json:"shapingRequestMin"`
	} `json:"options"`
	Path    string `json:"path"`
	Content string `json:"content"`
	Ms      int64  `json:"ms"`
	Event   string `json:"event"`
}

type reply struct {
	Text       string `json:"text"`
	Instance   string `json:"instance"`
	Peer       string `json:"peer"`
	DeadlineMs uint32 `json:"deadline_ms"`
}

// observation of one call: {"code":0,"reply":{…}} or {"code":<negative>,"message":"…"}.
type observation struct {
	Code    int32  `json:"code"`
	Reply   *reply `json:"reply,omitempty"`
	Message string `json:"message,omitempty"`
}

// run makes one call through the generated client, or through msec.Client
// with the generated message types when the step names another method.
func run(c call) observation {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(c.TimeoutMs)*time.Millisecond)
	defer cancel()
	opts := msec.Options{Service: c.Service, Retries: c.Retries}
	req := &conformance.EchoRequest{Text: c.Text, SleepMs: c.SleepMs, FailCode: c.FailCode, FailMessage: c.FailMessage}
	var resp *conformance.EchoReply
	var err error
	if c.Method != nil {
		resp = &conformance.EchoReply{}
		err = msec.NewClient(opts).Call(ctx, *c.Method, req, resp)
	} else {
		resp, err = conformance.NewConformanceServiceClient(opts).Echo(ctx, req)
	}
	if err != nil {
		var e *msec.Error
		if !errors.As(err, &e) {
			fail("call returned a non-msec error: %v", err)
		}
		return observation{Code: e.Code, Message: e.Error()}
	}
	return observation{Reply: &reply{Text: resp.GetText(), Instance: resp.GetInstance(), Peer: resp.GetPeer(), DeadlineMs: resp.GetDeadlineMs()}}
}

// repeat makes count calls, concurrency at a time.
func repeat(count, concurrency int, c call) map[string]any {
	var next atomic.Int64
	var mu sync.Mutex
	ok := 0
	codes := map[string]int{}
	instances := map[string]int{}
	var wg sync.WaitGroup
	for range min(concurrency, count) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(count) {
				r := run(c)
				mu.Lock()
				if r.Code == 0 {
					ok++
					instances[r.Reply.Instance]++
				} else {
					codes[strconv.Itoa(int(r.Code))]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return map[string]any{"ok": ok, "codes": codes, "instances": instances}
}

// load calls for seconds with concurrency in flight; latency percentiles of all calls.
func load(seconds float64, concurrency int, c call) map[string]any {
	started := time.Now()
	end := started.Add(time.Duration(seconds * float64(time.Second)))
	var mu sync.Mutex
	var latencies []float64
	errorCount := 0
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []float64
			mineErrors := 0
			for time.Now().Before(end) {
				t := time.Now()
				r := run(c)
				mine = append(mine, float64(time.Since(t).Microseconds())/1000)
				if r.Code != 0 {
					mineErrors++
				}
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			errorCount += mineErrors
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(started).Seconds()
	sort.Float64s(latencies)
	at := func(q float64) float64 {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(q*float64(len(latencies))))]
	}
	return map[string]any{"calls": len(latencies), "errors": errorCount, "seconds": elapsed, "p50_ms": at(0.5), "p99_ms": at(0.99)}
}

// balancer runs the runtime's NLB balancer on a scripted clock, as the TS
// runner does: state created by one pick at 0 ms, each event reported at its time.
func balancer(s step) map[string]any {
	var now int64
	opts := msec.BalancerOptions{
		Now:       func() time.Time { return time.UnixMilli(now) },
		RandomInt: func(int64) int64 { return 0 },
	}
	if s.Options != nil {
		opts.ShapingRequestMin = s.Options.ShapingRequestMin
	}
	b := msec.NewBalancer(opts)
	instances := make([]msec.RouteInstance, len(s.Instances))
	for i, in := range s.Instances {
		route, ok := msec.ParseLiteral(in.Addr)
		if !ok {
			fail("balancer step: %q is not ip:port", in.Addr)
		}
		instances[i] = msec.RouteInstance{Route: route, Weight: in.Weight}
	}
	b.Pick(s.service(), instances)
	for _, e := range s.Events {
		now = e.AtMs
		b.Update(s.service(), e.Addr, e.Failed, e.CostMs)
	}
	weights := []map[string]any{}
	for _, w := range b.Weights(s.service()) {
		weights = append(weights, map[string]any{"addr": w.Address, "weight": w.DynamicWeight, "dead": w.Dead})
	}
	return map[string]any{"weights": weights}
}

// service is the balancer step's service name.
func (s step) service() string {
	return s.call.Service
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "conformance runner (go): "+format+"\n", args...)
	os.Exit(1)
}

// CPUProfileEnv names the file the runner writes a CPU profile to (unset: none).
const CPUProfileEnv = "MSEC_RUNNER_CPUPROFILE"

// startProfile starts the CPU profile $MSEC_RUNNER_CPUPROFILE asks for; the
// returned func stops it and closes the file.
func startProfile() func() {
	path := os.Getenv(CPUProfileEnv)
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fail("%s: %v", CPUProfileEnv, err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fail("%s: %v", CPUProfileEnv, err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fail("%s: %v", CPUProfileEnv, err)
		}
	}
}

func main() {
	stopProfile := startProfile()
	defer stopProfile()
	in := bufio.NewReader(os.Stdin)
	first, err := in.ReadBytes('\n')
	if err != nil && len(first) == 0 {
		fail("no scenario on stdin")
	}
	var doc struct {
		Scenario struct {
			ID    string            `json:"id"`
			Steps []json.RawMessage `json:"steps"`
		} `json:"scenario"`
	}
	if err := json.Unmarshal(first, &doc); err != nil {
		fail("scenario line: %v", err)
	}
	out := json.NewEncoder(os.Stdout)
	write := func(i int, fields map[string]any) {
		fields["step"] = i
		if err := out.Encode(fields); err != nil {
			fail("stdout: %v", err)
		}
	}
	asMap := func(v any) map[string]any {
		b, _ := json.Marshal(v)
		m := map[string]any{}
		json.Unmarshal(b, &m)
		return m
	}
	for i, raw := range doc.Scenario.Steps {
		var s step
		if err := json.Unmarshal(raw, &s); err != nil {
			fail("step %d: %v", i, err)
		}
		switch s.Op {
		case "call":
			write(i, asMap(run(s.call)))
		case "parallel":
			results := make([]observation, len(s.Calls))
			var wg sync.WaitGroup
			for j, c := range s.Calls {
				wg.Add(1)
				go func() {
					defer wg.Done()
					results[j] = run(c)
				}()
			}
			wg.Wait()
			write(i, map[string]any{"results": results})
		case "repeat":
			write(i, repeat(s.Count, s.Concurrency, s.Call))
		case "load":
			write(i, load(s.Seconds, s.Concurrency, s.Call))
		case "balancer":
			write(i, balancer(s))
		case "write_file":
			if err := os.WriteFile(s.Path, []byte(s.Content), 0o644); err != nil {
				fail("write_file: %v", err)
			}
			write(i, map[string]any{})
		case "sleep":
			time.Sleep(time.Duration(s.Ms) * time.Millisecond)
			write(i, map[string]any{})
		case "notify":
			write(i, map[string]any{"event": s.Event})
			if _, err := in.ReadBytes('\n'); err != nil {
				fail("stdin closed while waiting for the ack of %q", s.Event)
			}
		default:
			fail("unknown op %q", s.Op)
		}
	}
	msec.CloseConnections()
}
