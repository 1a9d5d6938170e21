// Command driver is the Go side of test/interop/go-interop.test.ts: it reads
// one JSON command per stdin line, calls a msec-gen TypeScript server with
// the generated Go clients, and writes one JSON result per stdout line. One
// long-lived process, so pooled connections survive between commands (the
// reconnect test depends on it).
package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	"example.com/msec/interop/echo/interop"
	"example.com/msec/voa/crawl/crawl"
	"example.com/msec/voa/crawl/mainlogic"
	msec "github.com/msec-gen/msec-gen/runtimes/go"
	"google.golang.org/protobuf/proto"
)

type command struct {
	Op        string `json:"op"`
	Service   string `json:"service"`
	Case      string `json:"case"`
	Type      string `json:"type"`
	DelayMs   uint32 `json:"delay_ms"`
	TimeoutMs int    `json:"timeout_ms"`
}

type result struct {
	Code        int32  `json:"code"`
	Error       string `json:"error,omitempty"`
	FromServer  bool   `json:"from_server,omitempty"`
	RequestSent bool   `json:"request_sent,omitempty"`
	// Hex is the response re-encoded deterministically, for exact comparison in the test.
	Hex string `json:"hex,omitempty"`
	// Equal says whether the echoed value equals the value sent (proto.Equal).
	Equal bool `json:"equal,omitempty"`
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var cmd command
		if err := json.Unmarshal(in.Bytes(), &cmd); err != nil {
			fmt.Fprintln(os.Stderr, "bad command:", err)
			os.Exit(2)
		}
		out.Encode(run(cmd))
	}
}

func run(cmd command) result {
	ctx := context.Background()
	if cmd.TimeoutMs > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(cmd.TimeoutMs)*time.Millisecond)
		defer cancel()
	}
	switch cmd.Op {
	case "crawl":
		client := crawl.NewCrawlServiceClient(msec.Options{Service: cmd.Service})
		resp, err := client.GetMP3List(ctx, &crawl.GetMP3ListRequest{Type: proto.String(cmd.Type)})
		return outcome(resp, err)
	case "titles":
		client := mainlogic.NewMainLogicServiceClient(msec.Options{Service: cmd.Service})
		resp, err := client.GetTitles(ctx, &mainlogic.GetTitlesRequest{Type: proto.String("standard")})
		return outcome(resp, err)
	case "echo":
		value := everything(cmd.Case)
		client := interop.NewInteropServiceClient(msec.Options{Service: cmd.Service})
		req := &interop.EchoRequest{Value: value, DelayMs: proto.Uint32(cmd.DelayMs)}
		if cmd.Case == "missing-required" {
			req.Value = &interop.Everything{ReqInt32: proto.Int32(1)}
		}
		resp, err := client.Echo(ctx, req)
		r := outcome(resp, err)
		if err == nil {
			r.Equal = proto.Equal(resp.GetValue(), value)
		}
		return r
	}
	return result{Code: -1, Error: "unknown op " + cmd.Op}
}

func outcome(resp proto.Message, err error) result {
	if err != nil {
		// Both callers run on the one runtime module: one error type.
		r := result{Code: -1, Error: err.Error()}
		var msecErr *msec.Error
		if errors.As(err, &msecErr) {
			r.Code, r.FromServer, r.RequestSent = msecErr.Code, msecErr.FromServer, msecErr.RequestSent
		}
		return r
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(resp)
	if err != nil {
		return result{Code: -1, Error: err.Error()}
	}
	return result{Code: 0, Hex: hex.EncodeToString(b)}
}

// everything builds the values the test expects the server to receive (the
// test builds the same values with @bufbuild/protobuf).
func everything(name string) *interop.Everything {
	zero := &interop.Everything{
		ReqInt32:  proto.Int32(0),
		ReqString: proto.String(""),
		ReqBool:   proto.Bool(false),
		ReqBytes:  []byte{},
	}
	switch name {
	case "zero":
		return zero
	case "oneof-empty-string":
		zero.Choice = &interop.Everything_OString{OString: ""}
		return zero
	case "oneof-uint64":
		zero.Choice = &interop.Everything_OUint64{OUint64: math.MaxUint64}
		return zero
	}
	negative := interop.Colour_COLOUR_NEGATIVE
	v := zero
	v.FDouble = proto.Float64(3.141592653589793)
	v.FFloat = proto.Float32(1.5)
	v.FInt32 = proto.Int32(math.MinInt32)
	v.FInt64 = proto.Int64(math.MinInt64)
	v.FUint32 = proto.Uint32(math.MaxUint32)
	v.FUint64 = proto.Uint64(math.MaxUint64)
	v.FSint32 = proto.Int32(math.MinInt32)
	v.FSint64 = proto.Int64(math.MinInt64)
	v.FFixed32 = proto.Uint32(math.MaxUint32)
	v.FFixed64 = proto.Uint64(math.MaxUint64)
	v.FSfixed32 = proto.Int32(math.MinInt32)
	v.FSfixed64 = proto.Int64(math.MaxInt64)
	v.FBool = proto.Bool(true)
	v.FString = proto.String("héllo, 世界 🌍 \x00 \"q\"")
	v.FBytes = []byte{0x00, 0xff, 0x80, 0x7f, 0x0a}
	v.Colour = &negative
	v.Inner = &interop.Inner{Id: proto.Int32(0), Label: proto.String("outer"), Children: []*interop.Inner{
		{Id: proto.Int32(1), Label: proto.String("child")},
		{Id: proto.Int32(-2)},
	}}
	v.RInt64 = []int64{math.MinInt64, 0, math.MaxInt64}
	v.RString = []string{"a", "", "ü"}
	v.RInner = []*interop.Inner{{Id: proto.Int32(7)}}
	v.RColour = []interop.Colour{interop.Colour_COLOUR_RED, interop.Colour_COLOUR_GREEN, interop.Colour_COLOUR_NEGATIVE}
	v.RPacked = []int32{-1, 0, 1, math.MaxInt32}
	v.MStringInt32 = map[string]int32{"": 0, "ключ": -5}
	v.MInt64String = map[int64]string{math.MinInt64: "min", math.MaxInt64: "max"}
	v.MUint32Inner = map[uint32]*interop.Inner{math.MaxUint32: {Id: proto.Int32(3), Label: proto.String("m")}}
	v.Choice = &interop.Everything_OInner{OInner: &interop.Inner{Id: proto.Int32(9)}}
	return v
}
