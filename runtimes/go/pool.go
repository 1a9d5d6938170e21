package msec

import (
	"net"
	"sync"
)

// MaxIdleConnsPerAddress bounds the idle connections kept per address;
// concurrent calls beyond it open extra connections that are closed after use.
const MaxIdleConnsPerAddress = 16

// connPool keeps persistent TCP connections per ip:port. A connection
// carries one call at a time and goes back to the pool when the call
// completed cleanly; any failure closes it, so the next call reconnects.
type connPool struct {
	mu   sync.Mutex
	idle map[string][]net.Conn
}

var defaultPool = &connPool{idle: map[string][]net.Conn{}}

// take returns a live idle connection to address, or nil. Connections the
// server closed while idle (idle timeout, restart) are detected by alive
// and dropped, so they do not fail the next call.
func (p *connPool) take(address string) net.Conn {
	for {
		p.mu.Lock()
		list := p.idle[address]
		if len(list) == 0 {
			p.mu.Unlock()
			return nil
		}
		conn := list[len(list)-1]
		p.idle[address] = list[:len(list)-1]
		p.mu.Unlock()
		if alive(conn) {
			return conn
		}
		conn.Close()
	}
}

// put returns a connection after a clean call.
func (p *connPool) put(address string, conn net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle[address]) >= MaxIdleConnsPerAddress {
		conn.Close()
		return
	}
	p.idle[address] = append(p.idle[address], conn)
}

// closeIdle closes every idle connection.
func (p *connPool) closeIdle() {
	p.mu.Lock()
	idle := p.idle
	p.idle = map[string][]net.Conn{}
	p.mu.Unlock()
	for _, list := range idle {
		for _, conn := range list {
			conn.Close()
		}
	}
}

// CloseIdleConnections closes the pooled connections that no call is using
// (e.g. before a process exits, or in tests). Later calls reconnect.
func CloseIdleConnections() {
	defaultPool.closeIdle()
}
