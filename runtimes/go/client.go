package msec

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"google.golang.org/protobuf/proto"
)

const (
	// DefaultTimeout is the budget of a call whose context has no deadline:
	// 800 ms, as MSEC's C++ CallMethod.
	DefaultTimeout = 800 * time.Millisecond
	// DefaultCaller is CRpcHead.caller when neither Options.Caller nor
	// $MSEC_SERVICE_NAME names the calling service.
	DefaultCaller = "go.client"
	// ServiceNameEnv names this process's own service (Group.Service), used as the caller name.
	ServiceNameEnv = "MSEC_SERVICE_NAME"
	// MaxUDPFrameBytes is the largest frame one UDP datagram can carry.
	MaxUDPFrameBytes = 65507
)

// Options configure a client.
type Options struct {
	// Service is a routing name (Group.Service, looked up in the routes
	// file) or a literal address ip:port, ip:port@tcp or ip:port@udp.
	// Generated constructors default it to the name given to msec-gen.
	Service string
	// Timeout applies to calls whose context has no deadline; default DefaultTimeout.
	// A context deadline always wins.
	Timeout time.Duration
	// Caller is CRpcHead.caller; default $MSEC_SERVICE_NAME, else DefaultCaller.
	Caller string
	// Coloring is CRpcHead.coloring (1 = log this call chain at every level);
	// when 0, the context's WithColoring value applies.
	Coloring uint32
	// Retries is the number of extra picks after a refused connection
	// (default 0, as MSEC). Routing names only: a refused connection is the
	// one failure where the request certainly never reached a server, so it
	// cannot run twice; never for literal addresses or other failures. All
	// attempts share the call's deadline.
	Retries int
}

// Client calls the methods of one service. It is safe for concurrent use.
type Client struct {
	opts Options
}

// NewClient returns a client for opts.Service.
func NewClient(opts Options) *Client {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Caller == "" {
		opts.Caller = os.Getenv(ServiceNameEnv)
	}
	if opts.Caller == "" {
		opts.Caller = DefaultCaller
	}
	return &Client{opts: opts}
}

// Options returns the client's options with defaults filled in.
func (c *Client) Options() Options {
	return c.opts
}

// Call sends request to method (the wire name package.Service.Method) and
// decodes the reply into response. Every failure is an *Error: -8 when the
// request cannot be encoded (a required field unset), -15 when the route
// cannot be resolved, -10 timeout (or cancelled context) with no reply
// bytes, -12 timeout with part of the reply, -13 connection refused or
// lost, -3/-4 malformed reply, -16 sequence mismatch, -5 undecodable reply
// body, or the code the server put into CRpcHead.err.
//
// The context's deadline (else Options.Timeout from now) is the whole
// call's budget; the request carries what is left of it as
// CRpcHead.timeout_ms, so the server and its downstream calls stop when
// this caller has given up. Cancelling the context ends the call with -10
// "call aborted". Calls share pooled connections, multiplexed by sequence.
func (c *Client) Call(ctx context.Context, method string, request, response proto.Message) error {
	body, err := proto.MarshalOptions{Deterministic: true}.Marshal(request)
	if err != nil {
		return &Error{Code: CodeBodyUninit, Detail: err.Error(), Address: c.opts.Service}
	}
	reply, err := c.CallRaw(ctx, method, body)
	if err != nil {
		return err
	}
	if err := proto.Unmarshal(reply, response); err != nil {
		return &Error{Code: CodeInvalidPkgBody, Detail: err.Error(), Address: c.opts.Service, RequestSent: true}
	}
	return nil
}

// CallRaw is Call with an already encoded request body; it returns the reply body.
func (c *Client) CallRaw(ctx context.Context, method string, body []byte) ([]byte, error) {
	if c.opts.Retries < 0 {
		return nil, &Error{Code: CodeParaError, Detail: fmt.Sprintf("Options.Retries must be ≥ 0 (got %d)", c.opts.Retries), Address: c.opts.Service}
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		// The call's budget needs a context that ends with it; a context
		// with a deadline already is used as it is (no timer of our own).
		deadline = time.Now().Add(c.opts.Timeout)
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	_, literal := ParseLiteral(c.opts.Service)
	for attempt := 0; ; attempt++ {
		reply, err := c.callOnce(ctx, method, body, deadline)
		if err == nil {
			return reply, nil
		}
		// Only a refused connection is retried: the request certainly never
		// reached a server, so it cannot run twice.
		e := err.(*Error)
		refused := e.Code == CodeSendRecvFailed && !e.RequestSent && !e.FromServer
		if !refused || literal || attempt >= c.opts.Retries || ctx.Err() != nil {
			return nil, err
		}
	}
}

// callOnce is one attempt: route, send, wait for the reply, report the
// outcome to the balancer. Every error is an *Error.
func (c *Client) callOnce(ctx context.Context, method string, body []byte, deadline time.Time) ([]byte, error) {
	service := c.opts.Service
	route, address, err := routeCall(ctx, service)
	if err != nil {
		return nil, err
	}
	colorID := ColorID(method)
	flowID := chainFlowID(ctx)
	coloring := c.opts.Coloring
	if coloring == 0 {
		coloring = chainColoring(ctx)
	}
	request := &requestFrame{method: method, caller: c.opts.Caller, coloring: coloring, colorID: colorID, flowID: flowID, deadline: deadline, body: body}
	started := time.Now()
	var replyHead *RpcHead
	var replyBody []byte
	var callErr *Error
	if route.Network == "udp" {
		replyHead, replyBody, callErr = exchangeUDP(ctx, address, request)
	} else {
		replyHead, replyBody, callErr = defaultPool.get(address).call(ctx, request)
	}
	if callErr == nil && replyHead.Err != nil && *replyHead.Err != 0 {
		detail := ""
		if replyHead.ErrMsg != nil {
			detail = *replyHead.ErrMsg
		}
		callErr = &Error{Code: *replyHead.Err, Detail: detail, Address: address, RequestSent: true, FromServer: true}
	}
	reportOutcome(ctx, service, address, route.Network == "tcp", callErr, started)
	if callErr != nil {
		return nil, callErr
	}
	return replyBody, nil
}

// routeCall picks where one call of service goes (its route and ip:port),
// unless ctx is already done: -10 "call aborted" or "no time left".
func routeCall(ctx context.Context, service string) (Route, string, error) {
	if err := ctx.Err(); err != nil {
		if errors.Is(err, context.Canceled) {
			return Route{}, "", &Error{Code: CodeTimeout, Detail: "call aborted: " + err.Error(), Address: service}
		}
		return Route{}, "", &Error{Code: CodeTimeout, Detail: "no time left to call " + service + " before the deadline", Address: service}
	}
	route, err := resolveRoute(ctx, service)
	if err != nil {
		return Route{}, "", err
	}
	return route, route.Address(), nil
}

// reportOutcome tells the balancer how a call to a routing name went (literal
// addresses are not reported): a reply, even one with err ≠ 0, is a success
// with its latency; a refused TCP connection takes the server out at once; a
// cancelled call is not reported; anything else is a failure.
func reportOutcome(ctx context.Context, service, address string, tcp bool, callErr *Error, started time.Time) {
	if _, literal := ParseLiteral(service); literal {
		return
	}
	switch {
	case callErr == nil || callErr.FromServer:
		CurrentBalancer().Update(service, address, 0, time.Since(started).Milliseconds())
	case callErr.Code == CodeSendRecvFailed && !callErr.RequestSent && tcp:
		CurrentBalancer().MarkRefused(service, address)
	case errors.Is(ctx.Err(), context.Canceled):
	default:
		CurrentBalancer().Update(service, address, 1, 0)
	}
}

// exchangeUDP sends one frame in one datagram from a fresh socket and reads
// one reply datagram, which must echo the request's sequence.
func exchangeUDP(ctx context.Context, address string, request *requestFrame) (*RpcHead, []byte, *Error) {
	sequence := uint32(NewSequence())
	frame := request.appendTo(nil, sequence)
	if len(frame) > MaxUDPFrameBytes {
		return nil, nil, &Error{Code: CodeParaError, Detail: fmt.Sprintf("request frame of %d bytes exceeds the UDP limit of %d", len(frame), MaxUDPFrameBytes), Address: address}
	}
	conn, err := net.Dial("udp", address)
	if err != nil {
		return nil, nil, netError(ctx, err, address, false, 0)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := conn.Write(frame); err != nil {
		return nil, nil, netError(ctx, err, address, false, 0)
	}
	buf := make([]byte, 65536)
	n, err := conn.Read(buf)
	if err != nil {
		return nil, nil, netError(ctx, err, address, true, 0)
	}
	if CheckFrame(buf[:n]) != n {
		return nil, nil, &Error{Code: CodeInvalidPkg, Detail: "reply datagram is not one complete frame", Address: address, RequestSent: true}
	}
	head, body, err := DecodeFrame(buf[:n])
	if err != nil {
		e := err.(*Error)
		e.Address, e.RequestSent = address, true
		return nil, nil, e
	}
	if head.Sequence != uint64(sequence) {
		return nil, nil, &Error{Code: CodeInvalidSequence, Detail: fmt.Sprintf("reply carries sequence %d, expected %d", head.Sequence, sequence), Address: address, RequestSent: true}
	}
	return head, body, nil
}

// netError maps a network failure to an SRPC error: a cancelled context is
// -10 "call aborted"; an expired deadline is -12 when part of the reply had
// arrived, else -10; anything else (refused, reset, closed) is -13.
func netError(ctx context.Context, err error, address string, sent bool, received int) *Error {
	var e *Error
	if errors.As(err, &e) {
		e.Address, e.RequestSent = address, sent
		return e
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return &Error{Code: CodeTimeout, Detail: "call aborted: " + ctx.Err().Error(), Address: address, RequestSent: sent}
	}
	var netErr net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()) {
		if received > 0 {
			return &Error{Code: CodeRecvTimeout, Detail: fmt.Sprintf("%d bytes of the reply from %s before the deadline", received, address), Address: address, RequestSent: true}
		}
		return &Error{Code: CodeTimeout, Detail: fmt.Sprintf("no reply from %s before the deadline", address), Address: address, RequestSent: sent}
	}
	return &Error{Code: CodeSendRecvFailed, Detail: err.Error(), Address: address, RequestSent: sent}
}
