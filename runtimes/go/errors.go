package msec

import (
	"errors"
	"fmt"
)

// SRPC error codes (spec §2). A call that fails returns an *Error whose Code
// is one of these, or the code a server put into CRpcHead.err.
const (
	CodeSuccess           int32 = 0
	CodeParaError         int32 = -1
	CodeSystemError       int32 = -2
	CodeInvalidPkg        int32 = -3
	CodeInvalidPkgHead    int32 = -4
	CodeInvalidPkgBody    int32 = -5
	CodeInvalidMethodName int32 = -6
	CodeHeaderUninit      int32 = -7
	CodeBodyUninit        int32 = -8
	CodeNoMemory          int32 = -9
	CodeTimeout           int32 = -10
	CodeNetwork           int32 = -11
	CodeRecvTimeout       int32 = -12
	CodeSendRecvFailed    int32 = -13
	CodeInvalidEndpoint   int32 = -14
	CodeGetRouteFailed    int32 = -15
	CodeInvalidSequence   int32 = -16
	CodeNoBody            int32 = -17
	CodeServiceImplFailed int32 = -18
	CodeBackend           int32 = -19
	CodePHPFailed         int32 = -20
	CodePythonFailed      int32 = -21
)

// errorTexts are MSEC's errmsg() texts, verbatim including their typos, so
// logs read the same as the original's.
var errorTexts = map[int32]string{
	0:   "success",
	-1:  "invalid parameter",
	-2:  "system error",
	-3:  "invalid package",
	-4:  "invalid package header",
	-5:  "invalid package body",
	-6:  "invalid method name",
	-7:  "package header uninitialized",
	-8:  "package body uninitialized",
	-9:  "no memory",
	-10: "timeout",
	-11: "network error",
	-12: "recevice timeout",
	-13: "network sendrecv failed",
	-14: "invalid endpoint",
	-15: "get route failed",
	-16: "invalid sequence",
	-17: "no package body",
	-18: "service implement failed",
	-19: "backend process failed, use GetErrText get more information",
	-20: "php error",
	-21: "python error",
}

// ErrorText is MSEC's text for an SRPC code ("unkown error" for codes it does not know).
func ErrorText(code int32) string {
	if text, ok := errorTexts[code]; ok {
		return text
	}
	return "unkown error"
}

// Error is the error of every failed call: the SRPC code, a detail, the
// address that was called, whether the request may have reached the server
// (a retry policy may resend a request that was never sent) and whether the
// code came from the server's reply.
type Error struct {
	Code int32
	// Detail says what happened; for server errors it is CRpcHead.err_msg (often empty).
	Detail string
	// Address is the ip:port called, or the service name when no address was chosen.
	Address string
	// RequestSent is false when the request certainly did not reach the server.
	RequestSent bool
	// FromServer is true when the server answered with Code in CRpcHead.err.
	FromServer bool
}

// Error formats the code, its MSEC text and the detail.
func (e *Error) Error() string {
	text := fmt.Sprintf("srpc %d %s", e.Code, ErrorText(e.Code))
	if e.Detail != "" {
		text += ": " + e.Detail
	}
	return text
}

// CodeOf is the SRPC code of err: 0 for nil, Error.Code for an *Error
// (also when wrapped), CodeSystemError for any other error.
func CodeOf(err error) int32 {
	if err == nil {
		return CodeSuccess
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeSystemError
}
