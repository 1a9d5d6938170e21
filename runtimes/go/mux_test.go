package msec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// batchServer collects n request frames on one connection, then lets answer
// write whatever it wants back (in any order) on that connection.
func batchServer(t *testing.T, n int, answer func(conn net.Conn, requests [][]byte)) *fakeServer {
	t.Helper()
	return serveTCP(t, func(conn net.Conn) {
		var requests [][]byte
		frames := &frameReader{conn: conn}
		for len(requests) < n {
			request, err := frames.next()
			if err != nil {
				return
			}
			requests = append(requests, request)
		}
		answer(conn, requests)
		// Keep the connection open until the client closes it.
		conn.Read(make([]byte, 1))
	})
}

// callConcurrently makes n calls of client at once (call i sends body(i))
// and returns each call's reply and error.
func callConcurrently(client *Client, n int, body func(i int) []byte) ([][]byte, []error) {
	replies, errs := make([][]byte, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies[i], errs[i] = client.CallRaw(context.Background(), "x.Y.Z", body(i))
		}()
	}
	wg.Wait()
	return replies, errs
}

// noBody is the body of calls whose body does not matter.
func noBody(int) []byte { return nil }

// configureClientForTest applies config until the test ends.
func configureClientForTest(t *testing.T, config ClientConfig) {
	t.Helper()
	if err := ConfigureClient(config); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ConfigureClient(ClientConfig{}) })
}

// captureClientLog sends the client's log to a buffer until the test ends; read it with the returned func.
func captureClientLog(t *testing.T) func() string {
	t.Helper()
	var mu sync.Mutex
	var logged bytes.Buffer
	configureClientForTest(t, ClientConfig{Logger: slog.New(slog.NewTextHandler(lockedWriter{&mu, &logged}, nil))})
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		return logged.String()
	}
}

// replyTo builds the reply of a request frame: same head, body = prefix + request body.
func replyTo(request []byte, prefix string) []byte {
	head, body, _ := DecodeFrame(request)
	return EncodeFrame(EncodeRpcHead(&RpcHead{Sequence: head.Sequence, MethodName: head.MethodName}), append([]byte(prefix), body...))
}

func TestConcurrentCallsShareOneConnectionAndRepliesMatchInAnyOrder(t *testing.T) {
	const n = 50
	s := batchServer(t, n, func(conn net.Conn, requests [][]byte) {
		// All replies in reverse order, in one write, so frames also arrive glued together.
		var out []byte
		for i := len(requests) - 1; i >= 0; i-- {
			out = append(out, replyTo(requests[i], "re:")...)
		}
		conn.Write(out)
	})
	client := NewClient(Options{Service: s.address(), Timeout: 5 * time.Second})
	replies, errs := callConcurrently(client, n, func(i int) []byte { return []byte(fmt.Sprintf("call %d", i)) })
	for i := 0; i < n; i++ {
		if errs[i] != nil || string(replies[i]) != fmt.Sprintf("re:call %d", i) {
			t.Fatalf("call %d: %q, %v", i, replies[i], errs[i])
		}
	}
	if got := s.accepted.Load(); got != 1 {
		t.Fatalf("%d connections for %d concurrent calls, want 1", got, n)
	}
	if got := OpenConnections()[s.address()]; got != 1 {
		t.Fatalf("OpenConnections = %d", got)
	}
}

func TestSequencesCountUpByOneOnAConnection(t *testing.T) {
	heads := make(chan *RpcHead, 3)
	s := startFakeServer(t, func(_ net.Conn, request []byte) []byte {
		head, _, _ := DecodeFrame(request)
		heads <- head
		return request
	})
	client := NewClient(Options{Service: s.address()})
	for i := 0; i < 3; i++ {
		if _, err := client.CallRaw(context.Background(), "x.Y.Z", nil); err != nil {
			t.Fatal(err)
		}
	}
	a, b, c := <-heads, <-heads, <-heads
	if b.Sequence != a.Sequence+1 || c.Sequence != b.Sequence+1 || a.Sequence == 0 || a.Sequence > 0xffffffff {
		t.Fatalf("sequences %d %d %d", a.Sequence, b.Sequence, c.Sequence)
	}
}

func TestTimeoutMsCarriesTheRemainingBudget(t *testing.T) {
	heads := make(chan *RpcHead, 2)
	s := startFakeServer(t, func(_ net.Conn, request []byte) []byte {
		head, _, _ := DecodeFrame(request)
		heads <- head
		return request
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := NewClient(Options{Service: s.address()}).CallRaw(ctx, "x.Y.Z", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := NewClient(Options{Service: s.address(), Timeout: 250 * time.Millisecond}).CallRaw(context.Background(), "x.Y.Z", nil); err != nil {
		t.Fatal(err)
	}
	first, second := <-heads, <-heads
	// Written within a second of the call's start on a loaded machine: between 2000 and 3000 ms left.
	if first.TimeoutMs == nil || *first.TimeoutMs > 3000 || *first.TimeoutMs < 2000 {
		t.Fatalf("context deadline 3 s: timeout_ms %v", first.TimeoutMs)
	}
	if second.TimeoutMs == nil || *second.TimeoutMs > 250 || *second.TimeoutMs < 1 {
		t.Fatalf("Options.Timeout 250 ms: timeout_ms %v", second.TimeoutMs)
	}
	// Field 70 is written last, as tag bytes B0 04.
	frame := EncodeFrame(EncodeRpcHead(&RpcHead{Sequence: 1, MethodName: "a", TimeoutMs: first.TimeoutMs}), nil)
	if i := bytes.Index(frame, []byte{0xb0, 0x04}); i < 0 || i <= bytes.Index(frame, []byte("a")) {
		t.Fatalf("timeout_ms tag not after method_name: % x", frame)
	}
}

func TestLateReplyOfATimedOutCallIsDroppedAndTheOtherCallGetsItsOwn(t *testing.T) {
	release := make(chan struct{})
	s := batchServer(t, 2, func(conn net.Conn, requests [][]byte) {
		<-release // the first call has timed out by now
		// Answer "first" (late) before "second", whichever order they arrived in.
		for _, body := range []string{"first", "second"} {
			for _, r := range requests {
				if _, b, _ := DecodeFrame(r); string(b) == body {
					conn.Write(replyTo(r, map[string]string{"first": "late:", "second": "ok:"}[body]))
				}
			}
		}
	})
	logged := captureClientLog(t)
	client := NewClient(Options{Service: s.address()})
	first := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := client.CallRaw(ctx, "x.Y.Z", []byte("first"))
		first <- err
	}()
	second := make(chan string, 1)
	go func() {
		reply, err := client.CallRaw(context.Background(), "x.Y.Z", []byte("second"))
		if err != nil {
			second <- err.Error()
			return
		}
		second <- string(reply)
	}()
	if err := <-first; CodeOf(err) != CodeTimeout {
		t.Fatalf("first call: %v", err)
	}
	close(release)
	if got := <-second; got != "ok:second" {
		t.Fatalf("second call: %s", got)
	}
	if text := logged(); text != "" {
		t.Fatalf("a late reply was logged: %s", text)
	}
}

func TestUnknownSequenceFailsTheOnlyCallWithMinus16AndIsLoggedWhenSeveralWait(t *testing.T) {
	s := batchServer(t, 2, func(conn net.Conn, requests [][]byte) {
		head, _, _ := DecodeFrame(requests[0])
		conn.Write(EncodeFrame(EncodeRpcHead(&RpcHead{Sequence: head.Sequence + 1000, MethodName: "x"}), nil))
	})
	logged := captureClientLog(t)
	client := NewClient(Options{Service: s.address(), Timeout: 400 * time.Millisecond})
	_, errs := callConcurrently(client, 2, noBody)
	if codes := codesOf(errs); codes != "-10 -10" {
		t.Fatalf("codes %s, want both -10 (the reply cannot be attributed)", codes)
	}
	text := logged()
	if !strings.Contains(text, "reply dropped: matches no call in flight") || !strings.Contains(text, "code=-16") || !strings.Contains(text, "inFlight=2") {
		t.Fatalf("log %q", text)
	}

	// One call in flight: it takes the blame.
	single := startFakeServer(t, func(_ net.Conn, request []byte) []byte {
		head, _, _ := DecodeFrame(request)
		return EncodeFrame(EncodeRpcHead(&RpcHead{Sequence: head.Sequence + 7, MethodName: "x"}), nil)
	})
	_, err := NewClient(Options{Service: single.address()}).CallRaw(context.Background(), "x.Y.Z", nil)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeInvalidSequence || !strings.Contains(e.Detail, ", expected ") {
		t.Fatalf("err %v", err)
	}
}

// codesOf is the SRPC codes of errs, space-separated.
func codesOf(errs []error) string {
	codes := make([]string, len(errs))
	for i, err := range errs {
		codes[i] = fmt.Sprint(CodeOf(err))
	}
	return strings.Join(codes, " ")
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestGarbageStreamFailsEveryCallInFlightWithMinus3(t *testing.T) {
	s := batchServer(t, 3, func(conn net.Conn, _ [][]byte) {
		conn.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
	})
	client := NewClient(Options{Service: s.address(), Timeout: 3 * time.Second})
	_, errs := callConcurrently(client, 3, noBody)
	if codes := codesOf(errs); codes != "-3 -3 -3" {
		t.Fatalf("codes %s", codes)
	}
}

func TestConnectionLostFailsEveryCallInFlightWithMinus13(t *testing.T) {
	s := batchServer(t, 4, func(conn net.Conn, _ [][]byte) { conn.Close() })
	client := NewClient(Options{Service: s.address(), Timeout: 3 * time.Second})
	_, errs := callConcurrently(client, 4, noBody)
	for i, err := range errs {
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeSendRecvFailed || !e.RequestSent || !strings.Contains(e.Detail, "lost") {
			t.Fatalf("call %d: %v", i, err)
		}
	}
}

func TestPoolSizeSpreadsCallsOverConnections(t *testing.T) {
	s := batchServer(t, 2, func(conn net.Conn, requests [][]byte) {
		for _, r := range requests {
			conn.Write(replyTo(r, ""))
		}
	})
	configureClientForTest(t, ClientConfig{PoolSize: 2})
	client := NewClient(Options{Service: s.address(), Timeout: 3 * time.Second})
	_, errs := callConcurrently(client, 4, noBody)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if got := s.accepted.Load(); got != 2 {
		t.Fatalf("%d connections with PoolSize 2, want 2", got)
	}
	if err := ConfigureClient(ClientConfig{PoolSize: -1}); CodeOf(err) != CodeParaError {
		t.Fatalf("PoolSize -1: %v", err)
	}
}

// routesFor writes a routes file listing addresses for name and points $MSEC_ROUTES at it.
func routesFor(t *testing.T, name string, addresses ...string) {
	t.Helper()
	var text strings.Builder
	for _, a := range addresses {
		fmt.Fprintf(&text, "%s %s\n", name, a)
	}
	file := filepath.Join(t.TempDir(), "routes.conf")
	if err := os.WriteFile(file, []byte(text.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(RoutesEnv, file)
}

func refusedAddress(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	address := l.Addr().String()
	l.Close()
	return address
}

func TestOutcomesFeedTheBalancerAndARefusedServerIsHeldOut(t *testing.T) {
	var now time.Time = time.UnixMilli(1_000_000)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	// A deterministic random source, so the picks (and the counts below) are the same every run.
	var k int64
	SetBalancer(NewBalancer(BalancerOptions{Now: clock, RandomInt: func(n int64) int64 { k += 37; return k % n }}))
	t.Cleanup(func() { SetBalancer(NewBalancer(BalancerOptions{})) })
	good := startFakeServer(t, echo)
	failing := startFakeServer(t, func(net.Conn, []byte) []byte { return nil })
	dead := refusedAddress(t)
	routesFor(t, "Test.Feedback", good.address(), failing.address(), dead)
	client := NewClient(Options{Service: "Test.Feedback", Timeout: 300 * time.Millisecond})
	codes := map[int32]int{}
	for i := 0; i < 30; i++ {
		_, err := client.CallRaw(context.Background(), "x.Y.Z", nil)
		codes[CodeOf(err)]++
	}
	ws := CurrentBalancer().Weights("Test.Feedback")
	if len(ws) != 3 || ws[2].Address != dead || !ws[2].Dead {
		t.Fatalf("weights %+v: the refused server is not dead at the tail", ws)
	}
	if codes[CodeSendRecvFailed] != 1 {
		t.Fatalf("codes %v: the refused server was picked again within the hold", codes)
	}
	// The failing server's timeouts are failures: after a period its weight drops (0 % success → dead).
	mu.Lock()
	now = now.Add(BalancePeriod)
	mu.Unlock()
	CurrentBalancer().Tick("Test.Feedback")
	ws = CurrentBalancer().Weights("Test.Feedback")
	if codes[CodeTimeout] < ShapingRequestMin || codes[0] < ShapingRequestMin || codes[0]+codes[CodeTimeout]+codes[CodeSendRecvFailed] != 30 {
		t.Fatalf("codes %v: want ≥ 10 successes and ≥ 10 timeouts", codes)
	}
	if got := weightsText(ws); got != good.address()+" 100/100, "+failing.address()+" 0/100 dead, "+dead+" 0/100 dead" {
		t.Fatalf("after a period: %s (codes %v)", got, codes)
	}
}

func TestRetriesOnlyAfterARefusedConnectionOnlyWhenAsked(t *testing.T) {
	// Random draws of 0: the first pick is the first instance, the dead one.
	SetBalancer(NewBalancer(BalancerOptions{RandomInt: func(int64) int64 { return 0 }}))
	t.Cleanup(func() { SetBalancer(NewBalancer(BalancerOptions{})) })
	var requests atomic.Int32
	good := startFakeServer(t, func(_ net.Conn, request []byte) []byte { requests.Add(1); return request })
	dead := refusedAddress(t)
	// Refused, then retried on the other server (the refused one is held out).
	routesFor(t, "Test.Retry", dead, good.address())
	for i := 0; i < 3; i++ {
		if _, err := NewClient(Options{Service: "Test.Retry", Retries: 1}).CallRaw(context.Background(), "x.Y.Z", nil); err != nil {
			t.Fatalf("call %d with Retries 1: %v", i, err)
		}
	}
	if got := weightsText(CurrentBalancer().Weights("Test.Retry")); got != good.address()+" 100/100, "+dead+" 0/100 dead" || requests.Load() != 3 {
		t.Fatalf("weights %s, %d requests", got, requests.Load())
	}
	// Without Retries, a refused connection is the call's error.
	SetBalancer(NewBalancer(BalancerOptions{}))
	routesFor(t, "Test.Retry2", dead)
	_, err := NewClient(Options{Service: "Test.Retry2"}).CallRaw(context.Background(), "x.Y.Z", nil)
	if e, ok := err.(*Error); !ok || e.Code != CodeSendRecvFailed || e.RequestSent {
		t.Fatalf("no retries: %v", err)
	}
	// Never for literal addresses.
	_, err = NewClient(Options{Service: dead, Retries: 5}).CallRaw(context.Background(), "x.Y.Z", nil)
	if CodeOf(err) != CodeSendRecvFailed {
		t.Fatalf("literal: %v", err)
	}
	// Never after a timeout: one request reaches the silent server, not four.
	var silentRequests atomic.Int32
	silent := startFakeServer(t, func(net.Conn, []byte) []byte { silentRequests.Add(1); return nil })
	SetBalancer(NewBalancer(BalancerOptions{}))
	routesFor(t, "Test.Retry3", silent.address())
	_, err = NewClient(Options{Service: "Test.Retry3", Retries: 3, Timeout: 100 * time.Millisecond}).CallRaw(context.Background(), "x.Y.Z", nil)
	time.Sleep(50 * time.Millisecond)
	if CodeOf(err) != CodeTimeout || silentRequests.Load() != 1 {
		t.Fatalf("timeout: %v, %d requests", err, silentRequests.Load())
	}
	if _, err := NewClient(Options{Service: "Test.Retry3", Retries: -1}).CallRaw(context.Background(), "x.Y.Z", nil); CodeOf(err) != CodeParaError {
		t.Fatalf("Retries -1: %v", err)
	}
}

// Concurrent calls' frames are written in batches by the connection's writer:
// with many calls at once, small and large (past keptWriteBuffer, so the
// writer's buffer is both reused and dropped), every frame arrives whole and
// every call gets its own reply, on one connection.
func TestManyConcurrentFramesOfMixedSizesArriveWholeOnOneConnection(t *testing.T) {
	s := startFakeServer(t, func(_ net.Conn, request []byte) []byte { return replyTo(request, "re:") })
	client := NewClient(Options{Service: s.address(), Timeout: 30 * time.Second})
	const n = 300
	body := func(i int) []byte {
		size := i * 7
		if i%50 == 0 {
			size = keptWriteBuffer + i
		}
		return bytes.Repeat([]byte{byte('a' + i%26)}, size)
	}
	replies, errs := callConcurrently(client, n, body)
	for i := range n {
		if errs[i] != nil || !bytes.Equal(replies[i], append([]byte("re:"), body(i)...)) {
			t.Fatalf("call %d: %d bytes, %v", i, len(replies[i]), errs[i])
		}
	}
	if got := s.accepted.Load(); got != 1 {
		t.Fatalf("%d connections, want 1", got)
	}
}
