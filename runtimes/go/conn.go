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
	"os"
	"runtime"
	"sync"
	"sync/atomic"
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

// clientConfig is read by every call (an atomic load, no lock).
var clientConfig atomic.Pointer[ClientConfig]

func init() {
	clientConfig.Store(&ClientConfig{PoolSize: DefaultPoolSize, MaxFrameBytes: MaxFrameBytes})
}

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
	clientConfig.Store(&c)
	return nil
}

func currentConfig() ClientConfig {
	return *clientConfig.Load()
}

// callResult is what the reader hands a waiting call.
type callResult struct {
	head *RpcHead
	body []byte
	err  *Error
}

type pendingCall struct {
	sequence uint32
	done     chan callResult // buffered: the reader never blocks on it
}

// keptWriteBuffer is the largest write buffer kept for reuse after a batch
// (one large request should not pin its size for the connection's life).
const keptWriteBuffer = 256 << 10

// muxConn is one multiplexed connection.
//
// Writing: a call appends its frame to the connection's write buffer under
// mu and wakes the connection's writer goroutine if it is idle; the writer
// swaps the buffer out and writes everything queued in one system call, so
// the frames of concurrent calls go out together (as the TS client writes
// once per tick). A batch is written with the latest deadline among its
// calls: past it, every call in it has given up.
type muxConn struct {
	address string
	pool    *connPool
	config  ClientConfig
	ready   chan struct{} // closed when the dial finished (conn or dialErr set)
	isReady atomic.Bool   // ready is closed (checked before the select)
	conn    net.Conn
	dialErr error
	wake    chan struct{} // capacity 1: the writer has frames to write
	quit    chan struct{} // closed by close: the writer stops
	mu      sync.Mutex
	next    uint32
	// Guarded by mu: frames not yet handed to the socket, the latest deadline
	// among them (zero with wforever: one of them has none), whether the
	// writer has been woken and not yet gone idle.
	wbuf      []byte
	wdeadline time.Time
	wforever  bool
	writing   bool
	inFlight  map[uint32]*pendingCall
	// abandoned remembers sequences of calls that stopped waiting (ring of AbandonedSequencesKept).
	abandoned      map[uint32]struct{}
	abandonedRing  []uint32
	abandonedAt    int
	closed         *Error // set once: why the connection is unusable
	receiving      bool   // a frame is partly received
	receivingSeq   uint32 // its sequence, when receivingKnown
	receivingKnown bool
}

// poolEntry is the connections of one address.
type poolEntry struct {
	conns []*muxConn // replaced, never changed in place (readers hold no lock after get)
	next  atomic.Uint32
}

// connPool holds the connections per address.
type connPool struct {
	mu      sync.RWMutex
	entries map[string]*poolEntry
}

var defaultPool = &connPool{entries: map[string]*poolEntry{}}

// get returns a connection to address for one call, opening one while the
// address has fewer than PoolSize usable connections.
func (p *connPool) get(address string) *muxConn {
	size := clientConfig.Load().PoolSize
	p.mu.RLock()
	if e := p.entries[address]; e != nil && len(e.conns) >= size {
		c := e.conns[int(e.next.Add(1)%uint32(len(e.conns)))]
		p.mu.RUnlock()
		return c
	}
	p.mu.RUnlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.entries[address]
	if e == nil {
		e = &poolEntry{}
		p.entries[address] = e
	}
	if len(e.conns) < size {
		c := newMuxConn(address, p, currentConfig())
		e.conns = append(e.conns[:len(e.conns):len(e.conns)], c)
		return c
	}
	return e.conns[int(e.next.Add(1)%uint32(len(e.conns)))]
}

// remove drops a failed connection so the next call opens a new one.
func (p *connPool) remove(c *muxConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.entries[c.address]
	if e == nil {
		return
	}
	for i, x := range e.conns {
		if x == c {
			e.conns = append(e.conns[:i:i], e.conns[i+1:]...)
			break
		}
	}
	if len(e.conns) == 0 {
		delete(p.entries, c.address)
	}
}

// all returns every pooled connection.
func (p *connPool) all() []*muxConn {
	p.mu.RLock()
	defer p.mu.RUnlock()
	var out []*muxConn
	for _, e := range p.entries {
		out = append(out, e.conns...)
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
		ready: make(chan struct{}), wake: make(chan struct{}, 1), quit: make(chan struct{}),
		next:     rand.Uint32() | 1,
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
		c.isReady.Store(true)
		close(c.ready)
		return
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		tcp.SetNoDelay(true)
	}
	c.mu.Lock()
	c.conn = conn
	closed := c.closed
	c.mu.Unlock()
	c.isReady.Store(true)
	close(c.ready)
	if closed != nil { // closed while dialing
		conn.Close()
		return
	}
	go c.write()
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

// call queues the request frame with the connection's next sequence and
// waits for the reply until ctx is done.
func (c *muxConn) call(ctx context.Context, request *requestFrame) (*RpcHead, []byte, *Error) {
	if !c.isReady.Load() {
		select {
		case <-c.ready:
		case <-ctx.Done():
			return nil, nil, c.notSent(ctx, "connecting")
		}
	}
	p := &pendingCall{done: make(chan callResult, 1)}
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
	p.sequence = sequence
	c.inFlight[sequence] = p
	// From here on the request may reach the server, so a failure is never
	// reported as "not sent".
	c.wbuf = request.appendTo(c.wbuf, sequence)
	switch {
	case request.deadline.IsZero():
		c.wforever = true
	case request.deadline.After(c.wdeadline):
		c.wdeadline = request.deadline
	}
	wake := !c.writing
	c.writing = true
	c.mu.Unlock()
	if wake {
		c.wake <- struct{}{} // never blocks: sent only when the writer is idle
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

// write is the connection's writer: it writes whatever frames are queued,
// a batch per system call, until the connection closes.
func (c *muxConn) write() {
	var spare []byte
	var lastDeadline time.Time
	for {
		select {
		case <-c.wake:
		case <-c.quit:
			return
		}
		// The caller that woke the writer made it its P's next goroutine, ahead
		// of the other callers the reader just woke with their replies: yield
		// once so they queue their next frames into this batch.
		runtime.Gosched()
		c.mu.Lock()
		for len(c.wbuf) > 0 && c.closed == nil {
			batch, deadline := c.wbuf, c.wdeadline
			if c.wforever {
				deadline = time.Time{}
			}
			c.wbuf, c.wdeadline, c.wforever = spare[:0], time.Time{}, false
			c.mu.Unlock()
			if !deadline.Equal(lastDeadline) {
				c.conn.SetWriteDeadline(deadline)
				lastDeadline = deadline
			}
			n, err := c.conn.Write(batch)
			if err != nil && !(n == 0 && errors.Is(err, os.ErrDeadlineExceeded)) {
				// A frame cut short corrupts the stream for every call on it.
				c.close(&Error{Code: CodeSendRecvFailed, Detail: fmt.Sprintf("connection to %s lost (write: %s)", c.address, describeNetError(err))})
				return
			}
			// Written, or (nothing written, every call of the batch past its
			// deadline) dropped whole: those calls end with -10 on their own
			// and the stream is intact.
			spare = nil
			if cap(batch) <= keptWriteBuffer {
				spare = batch
			}
			c.mu.Lock()
		}
		c.writing = false
		c.mu.Unlock()
	}
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
// (their requests were queued on an open connection, so they may have been
// sent), stops the writer and closes the socket. Only the first reason counts.
func (c *muxConn) close(err *Error) {
	c.mu.Lock()
	if c.closed != nil {
		c.mu.Unlock()
		return
	}
	c.closed = err
	calls := c.inFlight
	c.inFlight = map[uint32]*pendingCall{}
	c.wbuf = nil
	conn := c.conn
	c.mu.Unlock()
	close(c.quit)
	c.pool.remove(c)
	if conn != nil {
		conn.Close()
	}
	for _, p := range calls {
		e := *err
		e.Address, e.RequestSent = c.address, true
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
	head := &RpcHead{}
	body, err := decodeFrame(frame, head, true) // the call reads err and err_msg only
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
