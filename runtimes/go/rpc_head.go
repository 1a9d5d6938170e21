package msec

import (
	"encoding/binary"
	"fmt"
)

// RpcHead is srpc.CRpcHead (spec §1.5), a proto2 message. Optional fields
// are pointers so that presence survives a round trip: a field that is set
// is written even when it holds its zero value, as proto2 requires.
type RpcHead struct {
	Sequence    uint64 // field 10, required
	Coloring    *uint32
	ColorID     *uint64
	FlowID      *uint64
	Err         *int32
	Result      *int32
	ErrMsg      *string
	Caller      *string
	MethodName  string // field 51, required
	CallerStack []string
	// TimeoutMs (field 70, an msec-gen addition) is the caller's remaining
	// budget in milliseconds when the request was written; absent or 0 = no
	// deadline. MSEC peers skip it as an unknown field.
	TimeoutMs *uint32
}

// CRpcHead field numbers.
const (
	fieldSequence    = 10
	fieldColoring    = 20
	fieldColorID     = 21
	fieldFlowID      = 30
	fieldErr         = 40
	fieldResult      = 41
	fieldErrMsg      = 42
	fieldCaller      = 50
	fieldMethodName  = 51
	fieldCallerStack = 60
	fieldTimeoutMs   = 70
)

// Protobuf wire types used by CRpcHead and skipped in unknown fields.
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
	wireFixed32 = 5
)

// EncodeRpcHead writes the head in field-number order, as C++ and Java
// protobuf do, so frames are byte-identical to theirs.
func EncodeRpcHead(h *RpcHead) []byte {
	b := make([]byte, 0, 64+len(h.MethodName))
	b = appendVarintField(b, fieldSequence, h.Sequence)
	if h.Coloring != nil {
		b = appendVarintField(b, fieldColoring, uint64(*h.Coloring))
	}
	if h.ColorID != nil {
		b = appendVarintField(b, fieldColorID, *h.ColorID)
	}
	if h.FlowID != nil {
		b = appendVarintField(b, fieldFlowID, *h.FlowID)
	}
	if h.Err != nil {
		b = appendVarintField(b, fieldErr, uint64(int64(*h.Err))) // negative ⇒ 10-byte varint
	}
	if h.Result != nil {
		b = appendVarintField(b, fieldResult, uint64(int64(*h.Result)))
	}
	if h.ErrMsg != nil {
		b = appendBytesField(b, fieldErrMsg, *h.ErrMsg)
	}
	if h.Caller != nil {
		b = appendBytesField(b, fieldCaller, *h.Caller)
	}
	b = appendBytesField(b, fieldMethodName, h.MethodName)
	for _, s := range h.CallerStack {
		b = appendBytesField(b, fieldCallerStack, s)
	}
	if h.TimeoutMs != nil {
		b = appendVarintField(b, fieldTimeoutMs, uint64(*h.TimeoutMs))
	}
	return b
}

// DecodeRpcHead parses a head; fields may come in any order, the last
// value of a repeated scalar wins and unknown fields are skipped. A
// malformed head or a missing required field (sequence, method_name) is an
// *Error with CodeInvalidPkgHead.
func DecodeRpcHead(data []byte) (*RpcHead, error) {
	h := &RpcHead{}
	if err := decodeRpcHead(data, h, false); err != nil {
		return nil, err
	}
	return h, nil
}

// decodeRpcHead is DecodeRpcHead into h. With replyOnly, the strings a
// caller does not read from a reply (caller, method_name, caller_stack) are
// checked and skipped, not copied.
func decodeRpcHead(data []byte, h *RpcHead, replyOnly bool) error {
	var hasSequence, hasMethod bool
	fail := func(format string, args ...any) error {
		return &Error{Code: CodeInvalidPkgHead, Detail: fmt.Sprintf(format, args...)}
	}
	for i := 0; i < len(data); {
		key, n := binary.Uvarint(data[i:])
		if n <= 0 {
			return fail("truncated field key at byte %d", i)
		}
		i += n
		field, wire := key>>3, key&7
		switch wire {
		case wireVarint:
			v, n := binary.Uvarint(data[i:])
			if n <= 0 {
				return fail("truncated varint in field %d", field)
			}
			i += n
			switch field {
			case fieldSequence:
				h.Sequence, hasSequence = v, true
			case fieldColoring:
				c := uint32(v)
				h.Coloring = &c
			case fieldColorID:
				h.ColorID = &v
			case fieldFlowID:
				h.FlowID = &v
			case fieldErr:
				e := int32(v)
				h.Err = &e
			case fieldResult:
				r := int32(v)
				h.Result = &r
			case fieldTimeoutMs:
				t := uint32(v)
				h.TimeoutMs = &t
			}
		case wireBytes:
			l, n := binary.Uvarint(data[i:])
			if n <= 0 || l > uint64(len(data)-i-n) {
				return fail("truncated length-delimited field %d", field)
			}
			i += n
			raw := data[i : i+int(l)]
			i += int(l)
			if field == fieldMethodName {
				hasMethod = true
			}
			if replyOnly && field != fieldErrMsg {
				continue
			}
			s := string(raw)
			switch field {
			case fieldErrMsg:
				h.ErrMsg = &s
			case fieldCaller:
				h.Caller = &s
			case fieldMethodName:
				h.MethodName = s
			case fieldCallerStack:
				h.CallerStack = append(h.CallerStack, s)
			}
		case wireFixed64, wireFixed32:
			size := 8
			if wire == wireFixed32 {
				size = 4
			}
			if len(data)-i < size {
				return fail("truncated fixed-size field %d", field)
			}
			i += size
		default:
			return fail("unsupported wire type %d in field %d", wire, field)
		}
	}
	if !hasSequence {
		return fail("required field sequence is missing")
	}
	if !hasMethod {
		return fail("required field method_name is missing")
	}
	return nil
}

func appendVarintField(b []byte, field int, v uint64) []byte {
	b = binary.AppendUvarint(b, uint64(field)<<3|wireVarint)
	return binary.AppendUvarint(b, v)
}

func appendBytesField(b []byte, field int, s string) []byte {
	b = binary.AppendUvarint(b, uint64(field)<<3|wireBytes)
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}
