package msec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// Raw TCP calls to heterogeneous (non-SRPC) services, MSEC's
// callmethod_tcp (docs/runtime-client.md "Raw TCP"; the TypeScript
// runtime's callTcp is the reference): connect, send the request bytes,
// read until a completeness function says the reply is whole. One
// connection per call, as MSEC's callers did: these services define their
// own framing, so a connection cannot be assumed reusable.

// Completeness looks at everything received so far and says whether it holds
// a whole reply: 0 more bytes are needed, n > 0 the reply is the first n
// bytes (a larger n than received also means "need more"), < 0 the reply is
// malformed. It is called after every read with the whole buffer; it must
// not keep or change buf.
type Completeness func(buf []byte) int

// firstReadBytes is the receive buffer's first size; it grows as replies need.
const firstReadBytes = 4 << 10

// CallTCP sends request to service (a routing name Group.Service, resolved
// by the same resolvers and balancer as Client, or a literal ip:port; a
// "@udp" suffix is ignored: this is TCP) and returns the first n bytes of the
// reply once complete(received) = n > 0. The context's deadline (else
// DefaultTimeout from now) bounds the whole call, connecting included.
//
// Every failure is an *Error: -15 no route; -13 connection refused
// (RequestSent false), reset, or the peer closed before the reply was
// complete; -3 complete returned < 0 or panicked, or the reply grew past
// ClientConfig.MaxFrameBytes while incomplete; -10 deadline with nothing
// received (or a cancelled context: "call aborted"); -12 deadline with part
// of the reply received. Outcomes of routed calls reach the balancer as
// Client's do: a reply is a success with its latency, a refused connection
// takes the server out at once, a cancelled call is not reported, anything
// else is a failure.
func CallTCP(ctx context.Context, service string, request []byte, complete Completeness) ([]byte, error) {
	if complete == nil {
		return nil, &Error{Code: CodeParaError, Detail: "CallTCP needs a completeness function", Address: service}
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	_, address, err := routeCall(ctx, service)
	if err != nil {
		return nil, err
	}
	started := time.Now()
	reply, callErr := exchangeTCP(ctx, address, request, complete)
	reportOutcome(ctx, service, address, true, callErr, started)
	if callErr != nil {
		return nil, callErr
	}
	return reply, nil
}

// exchangeTCP is one raw call on a fresh connection.
func exchangeTCP(ctx context.Context, address string, request []byte, complete Completeness) ([]byte, *Error) {
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", address)
	if err != nil {
		e := netError(ctx, err, address, false, 0)
		if e.Code == CodeSendRecvFailed {
			e.Detail = fmt.Sprintf("cannot connect to %s (%s)", address, describeNetError(err))
		}
		return nil, e
	}
	defer conn.Close()
	if tcp, ok := conn.(*net.TCPConn); ok {
		tcp.SetNoDelay(true)
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	// A cancelled context ends a blocked read or write at once.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := conn.Write(request); err != nil {
		return nil, netError(ctx, err, address, true, 0)
	}
	limit := int(currentConfig().MaxFrameBytes)
	buf := make([]byte, 0, firstReadBytes)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, make([]byte, cap(buf))...)[:len(buf)]
		}
		n, err := conn.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if n > 0 {
			size, checkErr := checkReply(complete, buf, address)
			if checkErr != nil {
				return nil, checkErr
			}
			if size > 0 && size <= len(buf) {
				return buf[:size:size], nil
			}
			if len(buf) > limit {
				return nil, &Error{Code: CodeInvalidPkg, Detail: fmt.Sprintf("reply from %s still incomplete after %d bytes (limit %d)", address, len(buf), limit), Address: address, RequestSent: true}
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, &Error{Code: CodeSendRecvFailed, Detail: fmt.Sprintf("peer %s closed the connection after %d bytes of the reply", address, len(buf)), Address: address, RequestSent: true}
			}
			return nil, netError(ctx, err, address, true, len(buf))
		}
	}
}

// checkReply runs the completeness function: a negative answer or a panic is -3.
func checkReply(complete Completeness, buf []byte, address string) (size int, err *Error) {
	defer func() {
		if p := recover(); p != nil {
			size, err = 0, &Error{Code: CodeInvalidPkg, Detail: fmt.Sprintf("reply check failed: %v", p), Address: address, RequestSent: true}
		}
	}()
	size = complete(buf)
	if size < 0 {
		return 0, &Error{Code: CodeInvalidPkg, Detail: fmt.Sprintf("reply from %s rejected by the completeness check (%d)", address, size), Address: address, RequestSent: true}
	}
	return size, nil
}
