package msec

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// jsonTCPServer is a tiny Jsoup-style server on a real socket: it reads one
// length-prefixed JSON request per connection, keeps its bytes, and lets the
// behaviour named by the request's "mode" answer.
type jsonTCPServer struct {
	listener net.Listener
	mu       sync.Mutex
	received [][]byte
}

type jsonRequest struct {
	Mode string `json:"mode"`
	URL  string `json:"url,omitempty"`
}

func startJSONTCPServer(t *testing.T, behaviours map[string]func(conn net.Conn, request []byte)) *jsonTCPServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &jsonTCPServer{listener: l}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
	})
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				var buf []byte
				chunk := make([]byte, 1024)
				for CheckJSONTCP(buf) <= 0 {
					n, err := conn.Read(chunk)
					buf = append(buf, chunk[:n]...)
					if err != nil {
						return
					}
				}
				request := buf[:CheckJSONTCP(buf)]
				s.mu.Lock()
				s.received = append(s.received, request)
				s.mu.Unlock()
				var r jsonRequest
				if err := DecodeJSONTCP(request, &r); err != nil {
					t.Errorf("server: %v", err)
					return
				}
				behaviours[r.Mode](conn, request)
				// Hold the connection until the client closes it (it decides when the call ends).
				io.Copy(io.Discard, conn)
			}()
		}
	}()
	return s
}

func (s *jsonTCPServer) address() string { return s.listener.Addr().String() }

func (s *jsonTCPServer) lastRequest() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.received[len(s.received)-1])
}

// mustJSONTCP frames v or fails the test.
func mustJSONTCP(t *testing.T, v any) []byte {
	t.Helper()
	b, err := EncodeJSONTCP(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantError checks an *Error's code, detail and RequestSent.
func wantError(t *testing.T, err error, code int32, detail string, requestSent bool) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want an *Error %d, got %v", code, err)
	}
	if e.Code != code || !regexp.MustCompile(detail).MatchString(e.Detail) || e.RequestSent != requestSent {
		t.Fatalf("got code %d detail %q requestSent %v; want %d, detail matching %s, requestSent %v", e.Code, e.Detail, e.RequestSent, code, detail, requestSent)
	}
}

// withTimeout is a context with deadline d from now, cancelled when the test ends.
func withTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestCallJSONTCPSendsTheTenCharacterLengthThenTheJSONAndDecodesTheReply(t *testing.T) {
	s := startJSONTCPServer(t, map[string]func(net.Conn, []byte){
		"echo": func(conn net.Conn, request []byte) {
			var r jsonRequest
			DecodeJSONTCP(request, &r)
			conn.Write(mustJSONTCP(t, map[string]any{"echo": r}))
		},
	})
	var reply struct {
		Echo jsonRequest `json:"echo"`
	}
	if err := CallJSONTCP(context.Background(), s.address(), jsonRequest{Mode: "echo", URL: "é<&>"}, &reply); err != nil {
		t.Fatal(err)
	}
	if reply.Echo != (jsonRequest{Mode: "echo", URL: "é<&>"}) {
		t.Fatalf("reply %+v", reply)
	}
	// 29 bytes of JSON (é is 2 bytes in UTF-8), no HTML escaping: what JSON.stringify writes.
	if got := s.lastRequest(); got != `29        {"mode":"echo","url":"é<&>"}` {
		t.Fatalf("request bytes %q", got)
	}
	if got := string(mustJSONTCP(t, []int{1})); got != "3         [1]" {
		t.Fatalf("EncodeJSONTCP([1]) = %q", got)
	}
	if _, err := EncodeJSONTCP(func() {}); err == nil {
		t.Fatal("a func encoded as JSON")
	}
	if err := CallJSONTCP(context.Background(), s.address(), make(chan int), &reply); CodeOf(err) != CodeParaError {
		t.Fatalf("unencodable request: %v", err)
	}
}

func TestCheckJSONTCP(t *testing.T) {
	whole := []byte("2         {}extra")
	for _, c := range []struct {
		buf  string
		want int
	}{
		{string(whole[:9]), 0},
		{string(whole[:11]), 0},
		{string(whole[:12]), 12},
		{string(whole), 12},
		{"2 x       {}", -1},
		{"          {}", -1},
		{" 2        {}", -1},
		{"-2        {}", -1},
		{"0         ", 10},
		{"9999999999", 0},
	} {
		if got := CheckJSONTCP([]byte(c.buf)); got != c.want {
			t.Errorf("CheckJSONTCP(%q) = %d, want %d", c.buf, got, c.want)
		}
	}
}

func TestAReplySplitAcrossReadsIsReassembled(t *testing.T) {
	reply := mustJSONTCP(t, map[string]string{"echo": "split"})
	sawFirst := make(chan struct{})
	s := startJSONTCPServer(t, map[string]func(net.Conn, []byte){
		"split": func(conn net.Conn, _ []byte) {
			conn.Write(reply[:4])
			<-sawFirst // the client has read (and checked) the first 4 bytes
			conn.Write(reply[4:15])
			time.Sleep(20 * time.Millisecond) // not needed for correctness: makes a third read likely
			conn.Write(reply[15:])
		},
	})
	var seen []int
	got, err := CallTCP(withTimeout(t, 10*time.Second), s.address(), mustJSONTCP(t, jsonRequest{Mode: "split"}), func(buf []byte) int {
		seen = append(seen, len(buf))
		if len(buf) == 4 {
			close(sawFirst)
		}
		return CheckJSONTCP(buf)
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, reply) {
		t.Fatalf("reply %q", got)
	}
	if len(seen) < 2 || seen[0] != 4 || seen[len(seen)-1] != len(reply) {
		t.Fatalf("completeness saw lengths %v", seen)
	}
}

func TestAReplyIsCutAtTheLengthTheCheckReturns(t *testing.T) {
	s := startJSONTCPServer(t, map[string]func(net.Conn, []byte){
		"twice": func(conn net.Conn, _ []byte) { conn.Write([]byte("2         {}2         {}")) },
	})
	got, err := CallTCP(withTimeout(t, 10*time.Second), s.address(), mustJSONTCP(t, jsonRequest{Mode: "twice"}), func(buf []byte) int {
		if len(buf) < 24 {
			return 24 // more than received means "need more"
		}
		return 12
	})
	if err != nil || string(got) != "2         {}" {
		t.Fatalf("reply %q, %v", got, err)
	}
}

func TestAPeerThatClosesBeforeTheReplyIsCompleteFailsWithMinus13(t *testing.T) {
	s := startJSONTCPServer(t, map[string]func(net.Conn, []byte){
		"closeEarly": func(conn net.Conn, _ []byte) {
			conn.Write(mustJSONTCP(t, map[string]bool{"truncated": true})[:12])
			conn.Close()
		},
	})
	var reply any
	err := CallJSONTCP(withTimeout(t, 10*time.Second), s.address(), jsonRequest{Mode: "closeEarly"}, &reply)
	wantError(t, err, CodeSendRecvFailed, `^peer 127\.0\.0\.1:\d+ closed the connection after 12 bytes of the reply$`, true)
}

func TestTimeoutIsMinus10WithNothingReceivedAndMinus12WithPartOfTheReply(t *testing.T) {
	partSent := make(chan struct{})
	s := startJSONTCPServer(t, map[string]func(net.Conn, []byte){
		"silent": func(net.Conn, []byte) {},
		"partial": func(conn net.Conn, _ []byte) {
			conn.Write([]byte("12345"))
			close(partSent)
		},
	})
	var reply any
	err := CallJSONTCP(withTimeout(t, 100*time.Millisecond), s.address(), jsonRequest{Mode: "silent"}, &reply)
	wantError(t, err, CodeTimeout, `^no reply from 127\.0\.0\.1:\d+ before the deadline$`, true)

	// A budget that leaves the in-process server ample time to send 5 bytes on a loaded machine.
	var seen []int
	_, err = CallTCP(withTimeout(t, 2*time.Second), s.address(), mustJSONTCP(t, jsonRequest{Mode: "partial"}), func(buf []byte) int {
		seen = append(seen, len(buf))
		return CheckJSONTCP(buf)
	})
	<-partSent
	wantError(t, err, CodeRecvTimeout, `^5 bytes of the reply from 127\.0\.0\.1:\d+ before the deadline$`, true)
	if len(seen) != 1 || seen[0] != 5 {
		t.Fatalf("completeness saw %v", seen)
	}

	// A cancelled context ends the call at once: -10 "call aborted".
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- CallJSONTCP(ctx, s.address(), jsonRequest{Mode: "silent"}, &reply) }()
	// Cancel once the server holds the request, so the call is blocked reading.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		s.mu.Lock()
		n := len(s.received)
		s.mu.Unlock()
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the third request never reached the server")
		}
	}
	cancel()
	wantError(t, <-done, CodeTimeout, `^call aborted: context canceled$`, true)

	// A context already done: nothing is sent.
	_, err = CallTCP(ctx, s.address(), nil, CheckJSONTCP)
	wantError(t, err, CodeTimeout, `^call aborted: context canceled$`, false)
	expired, stop := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer stop()
	_, err = CallTCP(expired, s.address(), nil, CheckJSONTCP)
	wantError(t, err, CodeTimeout, `^no time left to call 127\.0\.0\.1:\d+ before the deadline$`, false)
}

func TestMalformedRepliesFailWithMinus3(t *testing.T) {
	s := startJSONTCPServer(t, map[string]func(net.Conn, []byte){
		"badPrefix": func(conn net.Conn, _ []byte) { conn.Write([]byte("xx        {}")) },
		"notJson":   func(conn net.Conn, _ []byte) { conn.Write([]byte("3         abc")) },
		"endless":   func(conn net.Conn, _ []byte) { conn.Write(bytes.Repeat([]byte("z"), 4096)) },
	})
	var reply any
	err := CallJSONTCP(withTimeout(t, 10*time.Second), s.address(), jsonRequest{Mode: "badPrefix"}, &reply)
	wantError(t, err, CodeInvalidPkg, `^reply from 127\.0\.0\.1:\d+ rejected by the completeness check \(-1\)$`, true)
	err = CallJSONTCP(withTimeout(t, 10*time.Second), s.address(), jsonRequest{Mode: "notJson"}, &reply)
	wantError(t, err, CodeInvalidPkg, `^reply is not JSON: `, true)
	_, err = CallTCP(withTimeout(t, 10*time.Second), s.address(), mustJSONTCP(t, jsonRequest{Mode: "notJson"}), func([]byte) int { panic("bad check") })
	wantError(t, err, CodeInvalidPkg, `^reply check failed: bad check$`, true)

	// A reply that never completes stops at ClientConfig.MaxFrameBytes.
	if err := ConfigureClient(ClientConfig{MaxFrameBytes: 1000}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ConfigureClient(ClientConfig{}) })
	_, err = CallTCP(withTimeout(t, 10*time.Second), s.address(), mustJSONTCP(t, jsonRequest{Mode: "endless"}), func([]byte) int { return 0 })
	wantError(t, err, CodeInvalidPkg, `^reply from 127\.0\.0\.1:\d+ still incomplete after \d+ bytes \(limit 1000\)$`, true)

	if _, err := CallTCP(context.Background(), s.address(), nil, nil); CodeOf(err) != CodeParaError {
		t.Fatalf("nil completeness: %v", err)
	}
}

func TestARefusedConnectionFailsWithMinus13AndTheRequestUnsent(t *testing.T) {
	var reply any
	err := CallJSONTCP(withTimeout(t, 10*time.Second), refusedAddress(t), jsonRequest{Mode: "echo"}, &reply)
	wantError(t, err, CodeSendRecvFailed, `^cannot connect to 127\.0\.0\.1:\d+ \(.*refused\)$`, false)
}

// staticResolver lists fixed instances for its names.
type staticResolver struct{ names map[string][]RouteInstance }

func (r *staticResolver) Resolve(_ context.Context, service string) ([]RouteInstance, error) {
	return r.names[service], nil
}

func (r *staticResolver) Describe() string { return "test resolver" }

func TestRoutingNamesResolveThroughTheResolversAndOutcomesReachTheBalancer(t *testing.T) {
	SetBalancer(NewBalancer(BalancerOptions{RandomInt: func(int64) int64 { return 0 }}))
	t.Cleanup(func() { SetBalancer(NewBalancer(BalancerOptions{})) })
	s := startJSONTCPServer(t, map[string]func(net.Conn, []byte){
		"echo": func(conn net.Conn, _ []byte) { conn.Write([]byte("2         {}")) },
	})
	good, ok := ParseLiteral(s.address())
	dead, ok2 := ParseLiteral(refusedAddress(t))
	if !ok || !ok2 {
		t.Fatal("test addresses")
	}
	resolver := &staticResolver{names: map[string][]RouteInstance{
		"VOA.Jsoup": {{Route: good, Weight: 100}},
		"VOA.Gone":  {{Route: dead, Weight: 100}, {Route: good, Weight: 100}},
	}}
	RegisterResolver(resolver)
	t.Cleanup(func() { UnregisterResolver(resolver) })

	var reply map[string]any
	if err := CallJSONTCP(withTimeout(t, 10*time.Second), "VOA.Jsoup", jsonRequest{Mode: "echo"}, &reply); err != nil || len(reply) != 0 {
		t.Fatalf("routed call: %v, %v", reply, err)
	}
	if got := weightsText(CurrentBalancer().Weights("VOA.Jsoup")); got != s.address()+" 100/100" {
		t.Fatalf("weights %s", got)
	}
	// The first pick (random draw 0) is the refused server: it is dead at once and held out.
	err := CallJSONTCP(withTimeout(t, 10*time.Second), "VOA.Gone", jsonRequest{Mode: "echo"}, &reply)
	wantError(t, err, CodeSendRecvFailed, `refused`, false)
	if got := weightsText(CurrentBalancer().Weights("VOA.Gone")); got != s.address()+" 100/100, "+dead.Address()+" 0/100 dead" {
		t.Fatalf("weights after a refused connection: %s", got)
	}
	if err := CallJSONTCP(withTimeout(t, 10*time.Second), "VOA.Gone", jsonRequest{Mode: "echo"}, &reply); err != nil {
		t.Fatalf("the next call goes to the live server: %v", err)
	}
	err = CallJSONTCP(withTimeout(t, 10*time.Second), "VOA.Nowhere", jsonRequest{Mode: "echo"}, &reply)
	if e, ok := err.(*Error); !ok || e.Code != CodeGetRouteFailed || !strings.Contains(e.Detail, "test resolver") {
		t.Fatalf("unknown name: %v", err)
	}
}
