package msec

import "encoding/binary"

// Frame layout (spec §1.1): STX | head_len (BE int32) | body_len (BE int32) | head | body | ETX.
const (
	FrameSTX byte = 0x28 // '('
	FrameETX byte = 0x29 // ')'
	// FrameOverhead is the size of a frame around head and body.
	FrameOverhead = 10
	// FrameHeadOffset is where the head starts.
	FrameHeadOffset = 9
	// MaxFrameBytes is the largest reply the client accepts (64 MiB), so a
	// corrupt length field cannot make it buffer without bound.
	MaxFrameBytes = 64 << 20
)

// EncodeFrame wraps an encoded CRpcHead and a body (which may be empty) into one frame.
func EncodeFrame(head, body []byte) []byte {
	frame := make([]byte, FrameOverhead+len(head)+len(body))
	frame[0] = FrameSTX
	binary.BigEndian.PutUint32(frame[1:5], uint32(len(head)))
	binary.BigEndian.PutUint32(frame[5:9], uint32(len(body)))
	copy(frame[FrameHeadOffset:], head)
	copy(frame[FrameHeadOffset+len(head):], body)
	frame[len(frame)-1] = FrameETX
	return frame
}

// CheckFrame is MSEC's completeness check SrpcCheckPkgLen (spec §1.2), in
// its exact order: -1 for empty input, 0 while more bytes are needed
// (always for 10 bytes or fewer, before the first byte is looked at), -3
// for a malformed frame, else the length of the complete frame at the start
// of buf (bytes after it belong to the next frame).
func CheckFrame(buf []byte) int {
	n := len(buf)
	if n <= 0 {
		return int(CodeParaError)
	}
	if n <= FrameOverhead {
		return 0
	}
	if buf[0] != FrameSTX {
		return int(CodeInvalidPkg)
	}
	headLen := int64(int32(binary.BigEndian.Uint32(buf[1:5])))
	bodyLen := int64(int32(binary.BigEndian.Uint32(buf[5:9])))
	total := FrameOverhead + headLen + bodyLen
	if headLen < 0 || bodyLen < 0 || total <= FrameOverhead {
		return int(CodeInvalidPkg)
	}
	if int64(n) < total {
		return 0
	}
	if buf[total-1] != FrameETX {
		return int(CodeInvalidPkg)
	}
	return int(total)
}

// DecodeFrame splits exactly one complete frame into its decoded head and
// its body (a slice of frame), validating as SrpcUnpackPkg does (spec §1.3):
// CodeInvalidPkg for bad framing or a length that does not match len(frame)
// exactly, CodeInvalidPkgHead when the head does not parse or lacks a
// required field.
func DecodeFrame(frame []byte) (*RpcHead, []byte, error) {
	head := &RpcHead{}
	body, err := decodeFrame(frame, head, false)
	if err != nil {
		return nil, nil, err
	}
	return head, body, nil
}

// decodeFrame is DecodeFrame into head; replyOnly as decodeRpcHead's.
func decodeFrame(frame []byte, head *RpcHead, replyOnly bool) ([]byte, error) {
	n := len(frame)
	if n <= FrameOverhead || frame[0] != FrameSTX || frame[n-1] != FrameETX {
		return nil, &Error{Code: CodeInvalidPkg, Detail: "not one complete frame"}
	}
	headLen := int64(int32(binary.BigEndian.Uint32(frame[1:5])))
	bodyLen := int64(int32(binary.BigEndian.Uint32(frame[5:9])))
	if headLen <= 0 || bodyLen < 0 || FrameOverhead+headLen+bodyLen != int64(n) {
		return nil, &Error{Code: CodeInvalidPkg, Detail: "frame lengths do not match its size"}
	}
	headEnd := FrameHeadOffset + int(headLen)
	if err := decodeRpcHead(frame[FrameHeadOffset:headEnd], head, replyOnly); err != nil {
		return nil, err
	}
	return frame[headEnd : n-1], nil
}
