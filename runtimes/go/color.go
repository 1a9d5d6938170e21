package msec

// ColorID is MSEC's gen_colorid (spec §1.6): djb2 over the UTF-8 bytes of the
// method name with an unsigned 32-bit accumulator, each byte added as a
// signed char (bytes >= 0x80 add negative values), zero-extended to 64 bits.
func ColorID(method string) uint64 {
	h := uint32(5381)
	for i := 0; i < len(method); i++ {
		h = h*33 + uint32(int32(int8(method[i])))
	}
	return uint64(h)
}

// DefaultFlowID is the flow id of a request that starts a call chain:
// ColorID(method) XOR sequence, as MSEC's Python and C++ clients set it.
func DefaultFlowID(method string, sequence uint64) uint64 {
	return ColorID(method) ^ sequence
}
