package msec

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
)

// The length-prefixed JSON protocol of the seed's Jsoup service (spec §5.5):
// a 10-character, left-justified, space-padded ASCII decimal byte length
// (Python's "%-10d"), then that many bytes of UTF-8 JSON. Same framing both
// ways.

// JSONTCPPrefixBytes is the width of the length prefix.
const JSONTCPPrefixBytes = 10

// EncodeJSONTCP frames a value: its compact JSON (no HTML escaping, as
// JavaScript's JSON.stringify writes it) after the "%-10d" byte length.
func EncodeJSONTCP(value any) ([]byte, error) {
	var body bytes.Buffer
	encoder := json.NewEncoder(&body)
	encoder.SetEscapeHTML(false)
	if err := encoder.Encode(value); err != nil {
		return nil, err
	}
	text := bytes.TrimSuffix(body.Bytes(), []byte("\n")) // Encode ends with a newline
	prefix := strconv.Itoa(len(text))
	if len(prefix) > JSONTCPPrefixBytes {
		return nil, fmt.Errorf("JSON of %d bytes does not fit a %d-digit length", len(text), JSONTCPPrefixBytes)
	}
	out := make([]byte, 0, JSONTCPPrefixBytes+len(text))
	out = append(out, prefix...)
	for len(out) < JSONTCPPrefixBytes {
		out = append(out, ' ')
	}
	return append(out, text...), nil
}

// CheckJSONTCP is the Completeness of a length-prefixed JSON message: 0
// while the prefix or the body is incomplete, the total length once whole,
// -1 when the prefix is not a decimal number (digits, then spaces only).
func CheckJSONTCP(buf []byte) int {
	if len(buf) < JSONTCPPrefixBytes {
		return 0
	}
	digits := 0
	for digits < JSONTCPPrefixBytes && buf[digits] >= '0' && buf[digits] <= '9' {
		digits++
	}
	if digits == 0 {
		return -1
	}
	for i := digits; i < JSONTCPPrefixBytes; i++ {
		if buf[i] != ' ' {
			return -1
		}
	}
	length, _ := strconv.Atoi(string(buf[:digits])) // ≤ 10 digits: fits an int64
	total := JSONTCPPrefixBytes + length
	if len(buf) < total {
		return 0
	}
	return total
}

// DecodeJSONTCP decodes the JSON of one complete message (as CheckJSONTCP
// measured it) into value, as json.Unmarshal does.
func DecodeJSONTCP(message []byte, value any) error {
	if len(message) < JSONTCPPrefixBytes {
		return fmt.Errorf("message of %d bytes is shorter than its %d-byte prefix", len(message), JSONTCPPrefixBytes)
	}
	return json.Unmarshal(message[JSONTCPPrefixBytes:], value)
}

// CallJSONTCP sends request as length-prefixed JSON to service and decodes
// the reply's JSON into reply (a pointer, as for json.Unmarshal). Errors as
// CallTCP's, plus -1 when request cannot be encoded and -3 when the reply's
// body does not decode into reply.
func CallJSONTCP(ctx context.Context, service string, request, reply any) error {
	frame, err := EncodeJSONTCP(request)
	if err != nil {
		return &Error{Code: CodeParaError, Detail: "request cannot be encoded as JSON: " + err.Error(), Address: service}
	}
	message, err := CallTCP(ctx, service, frame, CheckJSONTCP)
	if err != nil {
		return err
	}
	if err := DecodeJSONTCP(message, reply); err != nil {
		return &Error{Code: CodeInvalidPkg, Detail: "reply is not JSON: " + err.Error(), Address: service, RequestSent: true}
	}
	return nil
}
