package msec

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// Persistent TCP connections, multiplexed by sequence number (as the
// TypeScript runtime's client, docs/runtime-client.md "Connections"): one
// connection per address by default carries any number of concurrent calls.
// Each connection starts at a random 32-bit sequence and counts up by one;
// one reader goroutine per connection matches replies to calls by the
// sequence the server echoes, in whatever order they come back.
//
// Failure mapping (spec §2 codes):
//   - the call's deadline passes → -10, or -12 when that call's reply frame
//     was being received (the partial frame's head carries its sequence, or
//     it is the only call in flight);
//   - connection refused → -13 with RequestSent false; reset or closed →
//     -13 for every call in flight; the connection leaves the pool and the
//     next call opens a new one;
//   - a reply whose sequence matches no call: dropped quietly if it belongs
//     to a call that already timed out or was cancelled (the last
//     AbandonedSequencesKept per connection are remembered); otherwise, if
//     exactly one call is in flight, it is that call's reply with a wrong
//     sequence → -16 for it; otherwise it cannot be attributed and is
//     dropped and logged (ClientConfig.Logger);
//   - a reply head that does not parse → -4, attributed the same way;
//   - a byte stream that is not SRPC → -3 for every call in flight, and the
//     connection is closed.

// AbandonedSequencesKept is how many sequences of timed-out or cancelled
// calls a connection remembers, so their late replies are dropped quietly.
const AbandonedSequencesKept = 1024

// DefaultPoolSize is the number of connections per address unless ConfigureClient says otherwise.
const DefaultPoolSize = 1

// dialTimeout bounds connecting independently of any one call: calls wait
// for the connection with their own deadlines, and later calls reuse it.
const dialTimeout = 30 * time.Second

// sequenceTag is CRpcHead.sequence's tag byte (field 10, varint); encoders write it first.
const sequenceTag = 0x50

// ClientConfig configures the connections of every Client in the process.
type ClientConfig struct {
	// PoolSize is the number of connections per address (calls are spread
	// round-robin); default DefaultPoolSize.
	PoolSize int
	// MaxFrameBytes is the largest reply frame accepted; default MaxFrameBytes.
	MaxFrameBytes int64
	// Logger receives replies that had to be dropped; default: not logged.
	Logger *slog.Logger
}

var (
	configMu     sync.RWMutex
	clientConfig = ClientConfig{PoolSize: DefaultPoolSize, MaxFrameBytes: MaxFrameBytes}
)

// ConfigureClient sets pool size, reply size limit and logger for
// connections opened from now on. Zero fields keep their defaults.
func ConfigureClient(c ClientConfig) error {
	if c.PoolSize < 0 || c.MaxFrameBytes < 0 {
		return &Error{Code: CodeParaError, Detail: fmt.Sprintf("PoolSize and MaxFrameBytes must be ≥ 0 (got %d, %d)", c.PoolSize, c.MaxFrameBytes)}
	}
	if c.PoolSize == 0 {
		c.PoolSize = DefaultPoolSize
	}
	if c.MaxFrameBytes == 0 {
		c.MaxFrameBytes = MaxFrameBytes
	}
	configMu.Lock()
	clientConfig = c
	configMu.Unlock()
	return nil
}

func currentConfig() ClientConfig {
	configMu.RLock()
	defer configMu.RUnlock()
	return clientConfig
}

// callResult is what the reader hands a waiting call.
type callResult struct {
	head *RpcHead
	body []byte
	err  *Error
}

type pendingCall struct {
	sequence uint32
	written  bool
	done     chan callResult // buffered: the reader never blocks on it
}

// muxConn is one multiplexed connection.
type muxConn struct {
	address  string
	pool     *connPool
	config   ClientConfig
	ready    chan struct{} // closed when the dial finished (conn or dialErr set)
	conn     net.Conn
	dialErr  error
	writeMu  sync.Mutex
	mu       sync.Mutex
	next     uint32
	inFlight map[uint32]*pendingCall
	// abandoned remembers sequences of calls that stopped waiting (ring of AbandonedSequencesKept).
	abandoned      map[uint32]struct{}
	abandonedRing  []uint32
	abandonedAt    int
	closed         *Error // set once: why the connection is unusable
	connected      bool
	receiving      bool   // a frame is partly received
	receivingSeq   uint32 // its sequence, when receivingKnown
	receivingKnown bool
}

// connPool holds the connections per address.
type connPool struct {
	mu    sync.Mutex
	conns map[string][]*muxConn
	next  map[string]int
}

var defaultPool = &connPool{conns: map[string][]*muxConn{}, next: map[string]int{}}

// get returns a connection to address for one call, opening one while the
// address has fewer than PoolSize usable connections.
func (p *connPool) get(address string) *muxConn {
	config := currentConfig()
	p.mu.Lock()
	defer p.mu.Unlock()
	list := p.conns[address]
	if len(list) < config.PoolSize {
		c := newMuxConn(address, p, config)
		p.conns[address] = append(list, c)
		return c
	}
	i := (p.next[address] + 1) % len(list)
	p.next[address] = i
	return list[i]
}

// remove drops a failed connection so the next call opens a new one.
func (p *connPool) remove(c *muxConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	list := p.conns[c.address]
	for i, x := range list {
		if x == c {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(p.conns, c.address)
		delete(p.next, c.address)
	} else {
		p.conns[c.address] = list
	}
}

// all returns every pooled connection.
func (p *connPool) all() []*muxConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*muxConn
	for _, list := range p.conns {
		out = append(out, list...)
	}
	return out
}

// OpenConnections returns the number of pooled connections per address (diagnostics and tests).
func OpenConnections() map[string]int {
	out := map[string]int{}
	for _, c := range defaultPool.all() {
		out[c.address]++
	}
	return out
}

// CloseIdleConnections closes the pooled connections that carry no call
// (e.g. before a process exits, or in tests). Later calls reconnect.
func CloseIdleConnections() {
	for _, c := range defaultPool.all() {
		c.mu.Lock()
		idle := len(c.inFlight) == 0
		c.mu.Unlock()
		if idle {
			c.close(&Error{Code: CodeSendRecvFailed, Detail: "connection to " + c.address + " closed by the client"})
		}
	}
}

// CloseConnections closes every pooled connection; calls in flight fail with -13.
func CloseConnections() {
	for _, c := range defaultPool.all() {
		c.close(&Error{Code: CodeSendRecvFailed, Detail: "connection to " + c.address + " closed by the client"})
	}
}

func newMuxConn(address string, pool *connPool, config ClientConfig) *muxConn {
	c := &muxConn{
		address: address, pool: pool, config: config,
		ready: make(chan struct{}), next: rand.Uint32() | 1,
		inFlight: map[uint32]*pendingCall{}, abandoned: map[uint32]struct{}{},
	}
	go c.dial()
	return c
}

func (c *muxConn) dial() {
	conn, err := net.DialTimeout("tcp", c.address, dialTimeout)
	if err != nil {
		c.dialErr = err
		c.close(&Error{Code: CodeSendRecvFailed, Detail: fmt.Sprintf("cannot connect to %s (%s)", c.address, describeNetError(err))})
		close(c.ready)
		return
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		tcp.SetNoDelay(true)
	}
	c.mu.Lock()
	c.conn, c.connected = conn, true
	closed := c.closed
	c.mu.Unlock()
	close(c.ready)
	if closed != nil { // closed while dialing
		conn.Close()
		return
	}
	c.read()
}

// describeNetError is the short reason of a network error ("connection refused").
func describeNetError(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	return err.Error()
}

// call sends the frame build returns for the connection's next sequence and
// waits for the reply until ctx is done. build receives the sequence.
func (c *muxConn) call(ctx context.Context, build func(sequence uint32) []byte) (*RpcHead, []byte, *Error) {
	select {
	case <-c.ready:
	case <-ctx.Done():
		return nil, nil, c.notSent(ctx, "connecting")
	}
	c.mu.Lock()
	if c.closed != nil {
		err := *c.closed
		c.mu.Unlock()
		err.Address, err.RequestSent = c.address, false
		return nil, nil, &err
	}
	sequence := c.next
	c.next++
	if c.next == 0 {
		c.next = 1
	}
	p := &pendingCall{sequence: sequence, done: make(chan callResult, 1)}
	c.inFlight[sequence] = p
	c.mu.Unlock()

	frame := build(sequence)
	// From here on the request may reach the server (a failed write may have
	// sent part of it), so a failure is never reported as "not sent".
	c.mu.Lock()
	p.written = true
	c.mu.Unlock()
	c.writeMu.Lock()
	deadline, _ := ctx.Deadline()
	c.conn.SetWriteDeadline(deadline)
	n, werr := c.conn.Write(frame)
	c.writeMu.Unlock()
	if werr != nil {
		// A frame cut short corrupts the stream for every call on it.
		c.close(&Error{Code: CodeSendRecvFailed, Detail: fmt.Sprintf("connection to %s lost (write: %s)", c.address, describeNetError(werr))})
		if n == 0 && ctx.Err() != nil {
			c.mu.Lock()
			c.forget(p)
			c.mu.Unlock()
			return nil, nil, c.notSent(ctx, "writing")
		}
		r := <-p.done
		return nil, nil, r.err
	}
	select {
	case r := <-p.done:
		return r.head, r.body, r.err
	case <-ctx.Done():
	}
	c.mu.Lock()
	if c.inFlight[sequence] != p { // the reply (or a failure) won the race
		c.mu.Unlock()
		r := <-p.done
		return r.head, r.body, r.err
	}
	receiving := c.receiving && ((c.receivingKnown && c.receivingSeq == sequence) || (!c.receivingKnown && len(c.inFlight) == 1))
	c.forget(p)
	c.mu.Unlock()
	if errors.Is(ctx.Err(), context.Canceled) {
		return nil, nil, &Error{Code: CodeTimeout, Detail: "call aborted: " + ctx.Err().Error(), Address: c.address, RequestSent: true}
	}
	if receiving {
		return nil, nil, &Error{Code: CodeRecvTimeout, Detail: fmt.Sprintf("reply from %s incomplete at the deadline", c.address), Address: c.address, RequestSent: true}
	}
	return nil, nil, &Error{Code: CodeTimeout, Detail: fmt.Sprintf("no reply from %s before the deadline", c.address), Address: c.address, RequestSent: true}
}

// notSent is the error of a call whose context ended before its request was written.
func (c *muxConn) notSent(ctx context.Context, while string) *Error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return &Error{Code: CodeTimeout, Detail: "call aborted: " + ctx.Err().Error(), Address: c.address}
	}
	return &Error{Code: CodeTimeout, Detail: fmt.Sprintf("request to %s not sent before the deadline (%s)", c.address, while), Address: c.address}
}

// forget removes a call that stops waiting and remembers its sequence. c.mu is held.
func (c *muxConn) forget(p *pendingCall) {
	delete(c.inFlight, p.sequence)
	if len(c.abandonedRing) < AbandonedSequencesKept {
		c.abandonedRing = append(c.abandonedRing, p.sequence)
	} else {
		delete(c.abandoned, c.abandonedRing[c.abandonedAt])
		c.abandonedRing[c.abandonedAt] = p.sequence
		c.abandonedAt = (c.abandonedAt + 1) % AbandonedSequencesKept
	}
	c.abandoned[p.sequence] = struct{}{}
}

// close marks the connection unusable, fails every call in flight with err
// and closes the socket. Only the first reason counts.
func (c *muxConn) close(err *Error) {
	c.mu.Lock()
	if c.closed != nil {
		c.mu.Unlock()
		return
	}
	c.closed = err
	calls := c.inFlight
	c.inFlight = map[uint32]*pendingCall{}
	conn := c.conn
	c.mu.Unlock()
	c.pool.remove(c)
	if conn != nil {
		conn.Close()
	}
	for _, p := range calls {
		e := *err
		e.Address, e.RequestSent = c.address, c.connected && p.written
		p.done <- callResult{err: &e}
	}
}

// read is the connection's reader: it splits the byte stream into frames
// and hands each reply to its call.
func (c *muxConn) read() {
	buf := make([]byte, 0, 64<<10)
	start := 0 // first byte of the frame being received
	for {
		if len(buf) == cap(buf) {
			// Make room: drop delivered bytes, or grow.
			if start > 0 {
				buf = buf[:copy(buf, buf[start:])]
				start = 0
			} else {
				buf = append(buf, make([]byte, cap(buf))...)[:len(buf)]
			}
		}
		n, err := c.conn.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		for start < len(buf) {
			pending := buf[start:]
			size := CheckFrame(pending)
			if size < 0 {
				c.close(&Error{Code: CodeInvalidPkg, Detail: fmt.Sprintf("bad reply stream from %s (not an SRPC frame)", c.address)})
				return
			}
			if size == 0 {
				if len(pending) >= FrameHeadOffset {
					total := FrameOverhead + int64(int32(binary.BigEndian.Uint32(pending[1:5]))) + int64(int32(binary.BigEndian.Uint32(pending[5:9])))
					if total > c.config.MaxFrameBytes {
						c.close(&Error{Code: CodeInvalidPkg, Detail: fmt.Sprintf("bad reply stream from %s (frame of %d bytes exceeds %d)", c.address, total, c.config.MaxFrameBytes)})
						return
					}
					if need := start + int(total); need > cap(buf) {
						grown := make([]byte, len(pending), max(total, int64(cap(buf))))
						copy(grown, pending)
						buf, start = grown, 0
					}
				}
				break
			}
			c.deliver(pending[:size:size])
			start += size
		}
		if start == len(buf) {
			buf, start = buf[:0], 0
		}
		c.trackPartial(buf[start:])
		if err != nil {
			why := describeNetError(err)
			if errors.Is(err, io.EOF) {
				why = "closed by peer"
			}
			c.close(&Error{Code: CodeSendRecvFailed, Detail: fmt.Sprintf("connection to %s lost (%s)", c.address, why)})
			return
		}
	}
}

// trackPartial notes the sequence of a frame still being received, to tell -12 from -10.
func (c *muxConn) trackPartial(pending []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.receiving = len(pending) > 0
	c.receivingKnown = false
	if len(pending) > FrameHeadOffset+1 && pending[FrameHeadOffset] == sequenceTag {
		if v, n := binary.Uvarint(pending[FrameHeadOffset+1:]); n > 0 && v <= 0xffffffff {
			c.receivingSeq, c.receivingKnown = uint32(v), true
		}
	}
}

// deliver hands one complete reply frame to its call. The body is copied:
// the read buffer is reused.
func (c *muxConn) deliver(frame []byte) {
	head, body, err := DecodeFrame(frame)
	if err != nil {
		e := err.(*Error)
		c.unattributed(e.Code, e.Detail, nil)
		return
	}
	c.mu.Lock()
	var p *pendingCall
	if head.Sequence <= 0xffffffff {
		p = c.inFlight[uint32(head.Sequence)]
	}
	if p == nil {
		if _, late := c.abandoned[uint32(head.Sequence)]; late && head.Sequence <= 0xffffffff {
			delete(c.abandoned, uint32(head.Sequence))
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		seq := head.Sequence
		c.unattributed(CodeInvalidSequence, fmt.Sprintf("reply carries sequence %d", seq), &seq)
		return
	}
	delete(c.inFlight, p.sequence)
	c.mu.Unlock()
	p.done <- callResult{head: head, body: append([]byte(nil), body...)}
}

// unattributed handles a reply that matches no call: the only call in
// flight takes the blame, else the reply is logged and dropped.
func (c *muxConn) unattributed(code int32, detail string, sequence *uint64) {
	c.mu.Lock()
	if len(c.inFlight) == 1 {
		var p *pendingCall
		for _, x := range c.inFlight {
			p = x
		}
		delete(c.inFlight, p.sequence)
		c.mu.Unlock()
		if code == CodeInvalidSequence {
			detail += fmt.Sprintf(", expected %d", p.sequence)
		}
		p.done <- callResult{err: &Error{Code: code, Detail: detail + " (" + c.address + ")", Address: c.address, RequestSent: true}}
		return
	}
	inFlight := len(c.inFlight)
	c.mu.Unlock()
	if logger := c.config.Logger; logger != nil {
		attrs := []any{"peer", c.address, "code", code, "detail", detail, "inFlight", inFlight}
		if sequence != nil {
			attrs = append(attrs, "sequence", *sequence)
		}
		logger.Error("reply dropped: matches no call in flight", attrs...)
	}
}
