package msec

import (
	"math/rand/v2"
	"sync/atomic"
)

// lastSequence starts at a random point so two processes rarely share
// sequences; MSEC's newseq() also yields 32-bit values.
var lastSequence atomic.Uint32

func init() {
	lastSequence.Store(rand.Uint32())
}

// NewSequence returns the next request sequence: 32-bit, never 0. The
// client checks that the reply echoes it (CodeInvalidSequence otherwise).
func NewSequence() uint64 {
	for {
		if s := lastSequence.Add(1); s != 0 {
			return uint64(s)
		}
	}
}
