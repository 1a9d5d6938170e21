package msec

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
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
	route, err := ResolveRoute(c.opts.Service)
	if err != nil {
		return nil, err
	}
	address := route.Address()
	if err := ctx.Err(); err != nil {
		return nil, &Error{Code: CodeTimeout, Detail: "call aborted: " + err.Error(), Address: address}
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(c.opts.Timeout)
	}
	sequence := NewSequence()
	colorID := ColorID(method)
	flowID := chainFlowID(ctx)
	if flowID == 0 {
		flowID = colorID ^ sequence
	}
	coloring := c.opts.Coloring
	if coloring == 0 {
		coloring = chainColoring(ctx)
	}
	caller := c.opts.Caller
	head := EncodeRpcHead(&RpcHead{
		Sequence:   sequence,
		Coloring:   &coloring,
		ColorID:    &colorID,
		FlowID:     &flowID,
		Caller:     &caller,
		MethodName: method,
	})
	frame := EncodeFrame(head, body)
	var reply []byte
	if route.Network == "udp" {
		reply, err = exchangeUDP(ctx, address, frame, deadline)
	} else {
		reply, err = exchangeTCP(ctx, address, frame, deadline)
	}
	if err != nil {
		return nil, err
	}
	replyHead, replyBody, err := DecodeFrame(reply)
	if err != nil {
		e := err.(*Error)
		e.Address, e.RequestSent = address, true
		return nil, e
	}
	if replyHead.Sequence != sequence {
		return nil, &Error{Code: CodeInvalidSequence, Detail: fmt.Sprintf("reply carries sequence %d, expected %d", replyHead.Sequence, sequence), Address: address, RequestSent: true}
	}
	if replyHead.Err != nil && *replyHead.Err != 0 {
		detail := ""
		if replyHead.ErrMsg != nil {
			detail = *replyHead.ErrMsg
		}
		return nil, &Error{Code: *replyHead.Err, Detail: detail, Address: address, RequestSent: true, FromServer: true}
	}
	return replyBody, nil
}

// exchangeTCP sends one frame on a pooled connection to address and reads
// one reply frame. The connection goes back to the pool only after a clean
// exchange.
func exchangeTCP(ctx context.Context, address string, frame []byte, deadline time.Time) ([]byte, error) {
	conn := defaultPool.take(address)
	if conn == nil {
		dialCtx, cancel := context.WithDeadline(ctx, deadline)
		var dialer net.Dialer
		var err error
		conn, err = dialer.DialContext(dialCtx, "tcp", address)
		cancel()
		if err != nil {
			return nil, netError(ctx, err, address, false, 0)
		}
	}
	if err := conn.SetDeadline(deadline); err != nil {
		conn.Close()
		return nil, &Error{Code: CodeSendRecvFailed, Detail: err.Error(), Address: address}
	}
	// A cancelled context interrupts blocked reads and writes at once.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := conn.Write(frame); err != nil {
		conn.Close()
		return nil, netError(ctx, err, address, true, 0)
	}
	reply, clean, err := readFrame(conn)
	if err != nil {
		conn.Close()
		return nil, netError(ctx, err, address, true, len(reply))
	}
	if !stop() || !clean || conn.SetDeadline(time.Time{}) != nil {
		conn.Close()
	} else {
		defaultPool.put(address, conn)
	}
	return reply, nil
}

// readFrame reads until one complete frame is buffered. clean is false when
// bytes beyond the frame arrived (the connection is then not reused). On an
// error, the partial reply is returned with it.
func readFrame(conn net.Conn) (frame []byte, clean bool, err error) {
	buf := make([]byte, 0, 4096)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, make([]byte, cap(buf))...)[:len(buf)]
		}
		n, err := conn.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if n > 0 {
			if size := CheckFrame(buf); size < 0 {
				return buf, false, &Error{Code: CodeInvalidPkg, Detail: "malformed reply frame"}
			} else if size > 0 {
				return buf[:size], size == len(buf), nil
			}
			if len(buf) >= FrameHeadOffset {
				total := FrameOverhead + int64(int32(binary.BigEndian.Uint32(buf[1:5]))) + int64(int32(binary.BigEndian.Uint32(buf[5:9])))
				if total > MaxFrameBytes {
					return buf, false, &Error{Code: CodeInvalidPkg, Detail: fmt.Sprintf("reply frame of %d bytes exceeds %d", total, MaxFrameBytes)}
				}
				if total > int64(cap(buf)) {
					grown := make([]byte, len(buf), total)
					copy(grown, buf)
					buf = grown
				}
			}
		}
		if err != nil {
			if err == io.EOF {
				err = errors.New("connection closed by the server")
			}
			return buf, false, err
		}
	}
}

// exchangeUDP sends one frame in one datagram and reads one reply datagram.
func exchangeUDP(ctx context.Context, address string, frame []byte, deadline time.Time) ([]byte, error) {
	if len(frame) > MaxUDPFrameBytes {
		return nil, &Error{Code: CodeParaError, Detail: fmt.Sprintf("request frame of %d bytes exceeds the UDP limit of %d", len(frame), MaxUDPFrameBytes), Address: address}
	}
	conn, err := net.Dial("udp", address)
	if err != nil {
		return nil, netError(ctx, err, address, false, 0)
	}
	defer conn.Close()
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := conn.Write(frame); err != nil {
		return nil, netError(ctx, err, address, false, 0)
	}
	buf := make([]byte, 65536)
	n, err := conn.Read(buf)
	if err != nil {
		return nil, netError(ctx, err, address, true, 0)
	}
	if CheckFrame(buf[:n]) != n {
		return nil, &Error{Code: CodeInvalidPkg, Detail: "reply datagram is not one complete frame", Address: address, RequestSent: true}
	}
	return buf[:n], nil
}

// netError maps a network failure to an SRPC error: a cancelled context is
// -10 "call aborted"; an expired deadline is -12 when part of the reply had
// arrived, else -10; anything else (refused, reset, closed) is -13.
func netError(ctx context.Context, err error, address string, sent bool, received int) error {
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
