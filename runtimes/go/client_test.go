package msec

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// fakeServer accepts TCP connections and answers each request frame with
// what reply returns (nil: answer nothing), counting connections.
type fakeServer struct {
	listener net.Listener
	accepted atomic.Int32
}

// serveTCP starts a fakeServer that runs handle on each accepted connection
// (closing it when handle returns). The listener closes, and every pooled
// client connection with it, when the test ends.
func serveTCP(t *testing.T, handle func(conn net.Conn)) *fakeServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{listener: l}
	t.Cleanup(func() {
		l.Close()
		CloseConnections()
	})
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			go func() {
				defer conn.Close()
				handle(conn)
			}()
		}
	}()
	return s
}

func startFakeServer(t *testing.T, reply func(conn net.Conn, request []byte) []byte) *fakeServer {
	t.Helper()
	return serveTCP(t, func(conn net.Conn) {
		frames := &frameReader{conn: conn}
		for {
			request, err := frames.next()
			if err != nil {
				return
			}
			if answer := reply(conn, request); answer != nil {
				conn.Write(answer)
			}
		}
	})
}

// frameReader reads request frames from one connection (the fake server's
// side), keeping bytes that arrived after a frame for the next one.
type frameReader struct {
	conn net.Conn
	buf  []byte
}

func (r *frameReader) next() ([]byte, error) {
	chunk := make([]byte, 4096)
	for {
		if size := CheckFrame(r.buf); size > 0 {
			frame := r.buf[:size:size]
			r.buf = append([]byte(nil), r.buf[size:]...)
			return frame, nil
		} else if size < 0 && len(r.buf) > 0 {
			return nil, errors.New("malformed frame")
		}
		n, err := r.conn.Read(chunk)
		r.buf = append(r.buf, chunk[:n]...)
		if err != nil {
			return nil, err
		}
	}
}

func (s *fakeServer) address() string {
	return s.listener.Addr().String()
}

// echo answers with the request frame unchanged (head echoed, body returned).
func echo(_ net.Conn, request []byte) []byte {
	return request
}

func TestCallsReuseOnePersistentConnection(t *testing.T) {
	s := startFakeServer(t, echo)
	client := NewClient(Options{Service: s.address()})
	for i := 0; i < 3; i++ {
		reply, err := client.CallRaw(context.Background(), "echo.EchoService.Echo", []byte{0x0a, 0x01, byte('a' + i)})
		if err != nil {
			t.Fatal(err)
		}
		if string(reply) != string([]byte{0x0a, 0x01, byte('a' + i)}) {
			t.Fatalf("reply %x", reply)
		}
	}
	if n := s.accepted.Load(); n != 1 {
		t.Fatalf("%d connections for 3 sequential calls, want 1", n)
	}
}

func TestRequestHeadCarriesMSECFields(t *testing.T) {
	heads := make(chan *RpcHead, 1)
	s := startFakeServer(t, func(_ net.Conn, request []byte) []byte {
		head, _, err := DecodeFrame(request)
		if err != nil {
			t.Error(err)
			return nil
		}
		heads <- head
		return request
	})
	client := NewClient(Options{Service: s.address(), Caller: "VOA.MainLogic", Coloring: 1})
	if _, err := client.CallRaw(context.Background(), "crawl.CrawlService.GetMP3List", nil); err != nil {
		t.Fatal(err)
	}
	h := <-heads
	if h.MethodName != "crawl.CrawlService.GetMP3List" || *h.Caller != "VOA.MainLogic" || *h.Coloring != 1 ||
		*h.ColorID != 1829285648 || *h.FlowID != 1829285648^h.Sequence || h.Sequence == 0 || h.Err != nil ||
		h.TimeoutMs == nil || *h.TimeoutMs < 1 || *h.TimeoutMs > 800 {
		t.Fatalf("head %+v", h)
	}
}

func TestServerErrorCodeIsReturned(t *testing.T) {
	s := startFakeServer(t, func(_ net.Conn, request []byte) []byte {
		head, _, _ := DecodeFrame(request)
		code := CodeInvalidMethodName
		head.Err = &code
		return EncodeFrame(EncodeRpcHead(head), nil)
	})
	_, err := NewClient(Options{Service: s.address()}).CallRaw(context.Background(), "x.Y.Z", nil)
	var e *Error
	if !errors.As(err, &e) || e.Code != -6 || !e.FromServer || !e.RequestSent || err.Error() != "srpc -6 invalid method name" {
		t.Fatalf("err %#v", err)
	}
}

func TestWrongSequenceIsMinus16(t *testing.T) {
	s := startFakeServer(t, func(_ net.Conn, request []byte) []byte {
		head, body, _ := DecodeFrame(request)
		head.Sequence++
		return EncodeFrame(EncodeRpcHead(head), body)
	})
	_, err := NewClient(Options{Service: s.address()}).CallRaw(context.Background(), "x.Y.Z", nil)
	if CodeOf(err) != CodeInvalidSequence {
		t.Fatalf("err %v", err)
	}
}

func TestTimeoutWithoutReplyIsMinus10AndWithPartialReplyMinus12(t *testing.T) {
	silent := startFakeServer(t, func(net.Conn, []byte) []byte { return nil })
	_, err := NewClient(Options{Service: silent.address(), Timeout: 100 * time.Millisecond}).CallRaw(context.Background(), "x.Y.Z", nil)
	if CodeOf(err) != CodeTimeout {
		t.Fatalf("silent server: %v", err)
	}
	partial := startFakeServer(t, func(_ net.Conn, request []byte) []byte { return request[:len(request)-1] })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = NewClient(Options{Service: partial.address()}).CallRaw(ctx, "x.Y.Z", nil)
	if CodeOf(err) != CodeRecvTimeout {
		t.Fatalf("partial reply: %v", err)
	}
}

func TestCancelledContextIsMinus10(t *testing.T) {
	s := startFakeServer(t, func(net.Conn, []byte) []byte { return nil })
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := NewClient(Options{Service: s.address(), Timeout: 5 * time.Second}).CallRaw(ctx, "x.Y.Z", nil)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeTimeout || e.Detail != "call aborted: context canceled" {
		t.Fatalf("err %v", err)
	}
}

func TestConnectionLostMidCallIsMinus13AndNextCallReconnects(t *testing.T) {
	var calls atomic.Int32
	s := startFakeServer(t, func(conn net.Conn, request []byte) []byte {
		if calls.Add(1) == 1 {
			conn.Close()
			return nil
		}
		return request
	})
	client := NewClient(Options{Service: s.address()})
	_, err := client.CallRaw(context.Background(), "x.Y.Z", nil)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeSendRecvFailed || !e.RequestSent {
		t.Fatalf("first call: %v", err)
	}
	if _, err := client.CallRaw(context.Background(), "x.Y.Z", nil); err != nil {
		t.Fatalf("second call: %v", err)
	}
	if n := s.accepted.Load(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
}

func TestIdleConnectionClosedByTheServerIsReplacedBeforeTheCall(t *testing.T) {
	var calls atomic.Int32
	s := startFakeServer(t, func(conn net.Conn, request []byte) []byte {
		calls.Add(1)
		conn.Write(request)
		conn.Close() // as a server's idle timeout would, after answering
		return nil
	})
	client := NewClient(Options{Service: s.address()})
	for i := 0; i < 2; i++ {
		if _, err := client.CallRaw(context.Background(), "x.Y.Z", nil); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		time.Sleep(20 * time.Millisecond) // let the close arrive
	}
	if n := s.accepted.Load(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
}

func TestConnectionRefusedIsMinus13NotSent(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	address := l.Addr().String()
	l.Close()
	_, err := NewClient(Options{Service: address}).CallRaw(context.Background(), "x.Y.Z", nil)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeSendRecvFailed || e.RequestSent || e.Address != address {
		t.Fatalf("err %#v", err)
	}
}

func TestContextCarriesFlowIDAndColoringOfTheCallChain(t *testing.T) {
	heads := make(chan *RpcHead, 1)
	s := startFakeServer(t, func(_ net.Conn, request []byte) []byte {
		head, _, _ := DecodeFrame(request)
		heads <- head
		return request
	})
	ctx := WithColoring(WithFlowID(context.Background(), 987654321), 1)
	if _, err := NewClient(Options{Service: s.address()}).CallRaw(ctx, "x.Y.Z", nil); err != nil {
		t.Fatal(err)
	}
	if h := <-heads; *h.FlowID != 987654321 || *h.Coloring != 1 {
		t.Fatalf("head %+v", h)
	}
}
