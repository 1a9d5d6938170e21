package msec

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"
)

// The request frame Client writes into a connection's buffer is byte for
// byte EncodeFrame(EncodeRpcHead(head), body) for the same head, over every
// varint size of sequence, colour and flow ids, string lengths around the
// one-byte length boundary, with and without a deadline, appended after
// bytes already queued.
func TestRequestFrameMatchesEncodeFrame(t *testing.T) {
	deadline := time.Now().Add(time.Hour)
	for _, sequence := range []uint32{1, 127, 128, 16383, 16384, math.MaxUint32} {
		for _, id := range []uint64{0, 1, 300, math.MaxUint32, math.MaxUint64} {
			for _, size := range []int{0, 1, 127, 128, 300} {
				for _, withDeadline := range []bool{false, true} {
					r := requestFrame{method: "pkg.Service." + strings.Repeat("m", size), caller: strings.Repeat("c", size), coloring: uint32(id), colorID: id, flowID: id, body: bytes.Repeat([]byte{7}, size)}
					if withDeadline {
						r.deadline = deadline
					}
					flow := id
					if flow == 0 {
						flow = id ^ uint64(sequence)
					}
					coloring := uint32(id)
					head := &RpcHead{Sequence: uint64(sequence), Coloring: &coloring, ColorID: &r.colorID, FlowID: &flow, Caller: &r.caller, MethodName: r.method}
					got := r.appendTo([]byte("queued"), sequence)
					if withDeadline {
						// timeout_ms is computed when the frame is written: take the value it wrote.
						decoded, _, err := DecodeFrame(got[len("queued"):])
						if err != nil || decoded.TimeoutMs == nil || *decoded.TimeoutMs < 3_500_000 || *decoded.TimeoutMs > 3_600_000 {
							t.Fatalf("timeout_ms %v, %v", decoded, err)
						}
						head.TimeoutMs = decoded.TimeoutMs
					}
					want := append([]byte("queued"), EncodeFrame(EncodeRpcHead(head), r.body)...)
					if !bytes.Equal(got, want) {
						t.Fatalf("sequence %d id %d size %d deadline %v:\n got % x\nwant % x", sequence, id, size, withDeadline, got, want)
					}
				}
			}
		}
	}
}

// A deadline already passed still sends timeout_ms 1 (0 would mean none).
func TestBudgetMsIsAtLeastOne(t *testing.T) {
	if got := budgetMs(time.Now().Add(-time.Second)); got != 1 {
		t.Fatalf("budgetMs(past) = %d", got)
	}
	if got := budgetMs(time.Now().Add(1500 * time.Microsecond)); got != 2 && got != 1 {
		t.Fatalf("budgetMs(1.5 ms) = %d", got)
	}
}
