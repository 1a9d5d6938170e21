package msec

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
)

// vectorsDir holds the shared wire vectors (spec §13), the one copy every
// language's runtime is checked against.
const vectorsDir = "../../fixtures/vectors"

type vectorHead struct {
	Sequence    string   `json:"sequence"`
	Coloring    *uint32  `json:"coloring"`
	ColorID     *string  `json:"color_id"`
	FlowID      *string  `json:"flow_id"`
	Err         *int32   `json:"err"`
	Result      *int32   `json:"result"`
	ErrMsg      *string  `json:"err_msg"`
	Caller      *string  `json:"caller"`
	MethodName  string   `json:"method_name"`
	CallerStack []string `json:"caller_stack"`
}

type frameVector struct {
	Head      vectorHead `json:"head"`
	HeadHex   string     `json:"head_hex"`
	BodyHex   string     `json:"body_hex"`
	FrameHex  string     `json:"frame_hex"`
	EchoHex   string     `json:"echo_response_hex"`
	JavaReply *struct {
		Head    vectorHead `json:"head"`
		HeadHex string     `json:"head_hex"`
	} `json:"java_server_response"`
}

func load(t *testing.T, name string, into any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(vectorsDir, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, into); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func u64(t *testing.T, s *string) *uint64 {
	t.Helper()
	if s == nil {
		return nil
	}
	v, err := strconv.ParseUint(*s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return &v
}

func (v vectorHead) rpcHead(t *testing.T) *RpcHead {
	return &RpcHead{
		Sequence:    *u64(t, &v.Sequence),
		Coloring:    v.Coloring,
		ColorID:     u64(t, v.ColorID),
		FlowID:      u64(t, v.FlowID),
		Err:         v.Err,
		Result:      v.Result,
		ErrMsg:      v.ErrMsg,
		Caller:      v.Caller,
		MethodName:  v.MethodName,
		CallerStack: v.CallerStack,
	}
}

var frameVectors = []string{
	"v1-python-client-request.json",
	"v2-minimal-request.json",
	"v3-unknown-method-response.json",
	"v4-java-client-request.json",
	"v5-csrpcproxy-request.json",
}

func TestHeadsEncodeAndDecodeAsTheVectors(t *testing.T) {
	for _, name := range frameVectors {
		t.Run(name, func(t *testing.T) {
			var v frameVector
			load(t, name, &v)
			heads := []struct {
				head vectorHead
				hex  string
			}{{v.Head, v.HeadHex}}
			if v.JavaReply != nil {
				heads = append(heads, struct {
					head vectorHead
					hex  string
				}{v.JavaReply.Head, v.JavaReply.HeadHex})
			}
			for _, h := range heads {
				want := h.head.rpcHead(t)
				if got := hex.EncodeToString(EncodeRpcHead(want)); got != h.hex {
					t.Errorf("encoded head\n got %s\nwant %s", got, h.hex)
				}
				decoded, err := DecodeRpcHead(unhex(t, h.hex))
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(decoded, want) {
					t.Errorf("decoded head %+v, want %+v", decoded, want)
				}
			}
		})
	}
}

func TestFramesEncodeAndDecodeAsTheVectors(t *testing.T) {
	for _, name := range frameVectors {
		t.Run(name, func(t *testing.T) {
			var v frameVector
			load(t, name, &v)
			if v.FrameHex == "" {
				return // V5 pins the head only
			}
			head, body := unhex(t, v.HeadHex), unhex(t, v.BodyHex)
			frame := EncodeFrame(head, body)
			if got := hex.EncodeToString(frame); got != v.FrameHex {
				t.Errorf("frame\n got %s\nwant %s", got, v.FrameHex)
			}
			if CheckFrame(frame) != len(frame) {
				t.Errorf("CheckFrame = %d, want %d", CheckFrame(frame), len(frame))
			}
			decodedHead, decodedBody, err := DecodeFrame(frame)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(decodedHead, v.Head.rpcHead(t)) || !bytes.Equal(decodedBody, body) {
				t.Errorf("decoded %+v / %x", decodedHead, decodedBody)
			}
			if v.EchoHex != "" && v.EchoHex != v.FrameHex {
				t.Errorf("V1 echo answer differs from the request")
			}
		})
	}
}

func TestUnknownMethodReplyCarriesCodeMinus6(t *testing.T) {
	var v frameVector
	load(t, "v3-unknown-method-response.json", &v)
	head, body, err := DecodeFrame(unhex(t, v.FrameHex))
	if err != nil {
		t.Fatal(err)
	}
	if head.Err == nil || *head.Err != CodeInvalidMethodName || len(body) != 0 {
		t.Fatalf("head %+v body %x", head, body)
	}
	if ErrorText(*head.Err) != "invalid method name" {
		t.Fatalf("text %q", ErrorText(*head.Err))
	}
}

func TestCheckTable(t *testing.T) {
	var v struct {
		Check []struct {
			Name     string `json:"name"`
			InputHex string `json:"input_hex"`
			Check    int    `json:"check"`
		} `json:"check"`
		Unpack []struct {
			Name     string `json:"name"`
			InputHex string `json:"input_hex"`
			Unpack   int32  `json:"unpack"`
		} `json:"unpack"`
	}
	load(t, "v6-check-pkg.json", &v)
	if len(v.Check) == 0 || len(v.Unpack) == 0 {
		t.Fatal("empty table")
	}
	for _, c := range v.Check {
		if got := CheckFrame(unhex(t, c.InputHex)); got != c.Check {
			t.Errorf("check %q = %d, want %d", c.Name, got, c.Check)
		}
	}
	for _, c := range v.Unpack {
		_, _, err := DecodeFrame(unhex(t, c.InputHex))
		if got := CodeOf(err); got != c.Unpack {
			t.Errorf("unpack %q = %d (%v), want %d", c.Name, got, err, c.Unpack)
		}
	}
}

func TestColorIDsAndFlowIDs(t *testing.T) {
	var v struct {
		IDs []struct {
			Name    string `json:"name"`
			NameHex string `json:"name_utf8_hex"`
			Djb2    uint64 `json:"djb2"`
		} `json:"ids"`
		FlowIDs []struct {
			Method   string `json:"method"`
			Sequence string `json:"sequence"`
			FlowID   string `json:"flow_id"`
		} `json:"flow_ids"`
	}
	load(t, "v7-color-ids.json", &v)
	for _, id := range v.IDs {
		if string(unhex(t, id.NameHex)) != id.Name {
			t.Fatalf("%q: name and hex differ", id.Name)
		}
		if got := ColorID(id.Name); got != id.Djb2 {
			t.Errorf("ColorID(%q) = %d, want %d", id.Name, got, id.Djb2)
		}
	}
	for _, f := range v.FlowIDs {
		if got := DefaultFlowID(f.Method, *u64(t, &f.Sequence)); got != *u64(t, &f.FlowID) {
			t.Errorf("DefaultFlowID(%q, %s) = %d, want %s", f.Method, f.Sequence, got, f.FlowID)
		}
	}
}
