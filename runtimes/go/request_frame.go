package msec

import (
	"encoding/binary"
	"math"
	"time"
)

// requestFrame is everything of one call's request except its sequence,
// which the connection assigns when the frame is queued. appendTo writes the
// frame straight into the connection's write buffer: no RpcHead, no
// intermediate head or frame slices. The bytes are exactly those of
// EncodeFrame(EncodeRpcHead(head), body) for the head Client sends
// (request_frame_test.go checks that over every field size).
type requestFrame struct {
	method   string
	caller   string
	coloring uint32
	colorID  uint64
	// flowID is CRpcHead.flow_id; 0 = the default ColorID(method) XOR sequence.
	flowID uint64
	// deadline is when the caller gives up; what is left of it when the
	// frame is written travels as timeout_ms (at least 1). Zero = no deadline
	// and no timeout_ms field.
	deadline time.Time
	body     []byte
}

// appendTo appends the frame for sequence to dst.
func (r *requestFrame) appendTo(dst []byte, sequence uint32) []byte {
	flow := r.flowID
	if flow == 0 {
		flow = r.colorID ^ uint64(sequence)
	}
	start := len(dst)
	dst = append(dst, FrameSTX, 0, 0, 0, 0, 0, 0, 0, 0)
	headStart := len(dst)
	// Field-number order, as EncodeRpcHead.
	dst = appendVarintField(dst, fieldSequence, uint64(sequence))
	dst = appendVarintField(dst, fieldColoring, uint64(r.coloring))
	dst = appendVarintField(dst, fieldColorID, r.colorID)
	dst = appendVarintField(dst, fieldFlowID, flow)
	dst = appendBytesField(dst, fieldCaller, r.caller)
	dst = appendBytesField(dst, fieldMethodName, r.method)
	if !r.deadline.IsZero() {
		dst = appendVarintField(dst, fieldTimeoutMs, uint64(budgetMs(r.deadline)))
	}
	binary.BigEndian.PutUint32(dst[start+1:start+5], uint32(len(dst)-headStart))
	binary.BigEndian.PutUint32(dst[start+5:start+9], uint32(len(r.body)))
	dst = append(dst, r.body...)
	return append(dst, FrameETX)
}

// budgetMs is what is left until deadline in whole milliseconds, rounded
// up, at least 1 (0 would mean "no deadline" to the server).
func budgetMs(deadline time.Time) uint32 {
	return uint32(min(max(1, (time.Until(deadline)+time.Millisecond-1)/time.Millisecond), math.MaxUint32))
}
