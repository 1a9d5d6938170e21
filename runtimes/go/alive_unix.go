//go:build unix

package msec

import (
	"errors"
	"net"
	"syscall"
)

// alive reports whether an idle connection is still open and carries no
// stray bytes, with a non-blocking peek at the socket: EAGAIN means open
// and quiet; end of stream, data or any other error means it must not be
// reused. (A read with an expired deadline cannot tell: Go reports the
// deadline before looking at the socket.)
func alive(conn net.Conn) bool {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return true
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	var one [1]byte
	var n int
	var peekErr error
	err = raw.Read(func(fd uintptr) bool {
		// Go's sockets are non-blocking, so this returns EAGAIN at once when nothing is there.
		n, _, peekErr = syscall.Recvfrom(int(fd), one[:], syscall.MSG_PEEK)
		return true // never wait for readiness
	})
	if err != nil {
		return false
	}
	return n <= 0 && (errors.Is(peekErr, syscall.EAGAIN) || errors.Is(peekErr, syscall.EWOULDBLOCK))
}
