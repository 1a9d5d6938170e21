// SRPC error codes (spec §2) and the result type every call returns.
#ifndef MSEC_STATUS_H_
#define MSEC_STATUS_H_

#include <string>
#include <utility>

namespace msec {

/** SRPC framework codes as they appear in CRpcHead.err and call results. */
enum SrpcCode : int {
  kSuccess = 0,
  kParaError = -1,
  kSystemError = -2,
  kInvalidPkg = -3,
  kInvalidPkgHead = -4,
  kInvalidPkgBody = -5,
  kInvalidMethodName = -6,
  kHeaderUninit = -7,
  kBodyUninit = -8,
  kNoMemory = -9,
  kTimeout = -10,
  kNetwork = -11,
  kRecvTimeout = -12,
  kSendRecvFailed = -13,
  kInvalidEndpoint = -14,
  kGetRouteFailed = -15,
  kInvalidSequence = -16,
  kNoBody = -17,
  kServiceImplFailed = -18,
  kBackend = -19,
  kPhpFailed = -20,
  kPythonFailed = -21,
};

/** MSEC's errmsg() text for a code, verbatim (typos included); "unkown error" for others. */
const char* ErrorText(int code);

/**
 * Outcome of a call: the SRPC code (0 = success; a server's non-zero
 * CRpcHead.err is passed through unchanged) and a message that starts with
 * the code's MSEC text and adds what went wrong where.
 */
class [[nodiscard]] Status {
 public:
  /** Success. */
  Status() = default;
  /** `code` with the message `ErrorText(code)`, or `ErrorText(code) + ": " + detail` when detail is non-empty. */
  Status(int code, const std::string& detail);

  bool ok() const { return code_ == kSuccess; }
  int code() const { return code_; }
  const std::string& message() const { return message_; }
  /** True when the code came from the server's reply head (CRpcHead.err), not from this side. */
  bool from_server() const { return from_server_; }
  /** The `ip:port` a call went to (empty when it never got that far, e.g. -15). */
  const std::string& address() const { return address_; }
  /**
   * False when the request certainly never reached a server (connection
   * refused, no route, deadline already passed): safe to retry elsewhere.
   */
  bool request_sent() const { return request_sent_; }
  /** Sets address() and request_sent(); returns *this. */
  Status& SetCall(std::string address, bool request_sent) {
    address_ = std::move(address);
    request_sent_ = request_sent;
    return *this;
  }
  /** "<code> <message>", e.g. "-6 invalid method name". */
  std::string ToString() const;

  /** A status for a server's CRpcHead.err and err_msg. */
  static Status FromServer(int code, const std::string& err_msg);

 private:
  int code_ = kSuccess;
  std::string message_ = ErrorText(kSuccess);
  bool from_server_ = false;
  std::string address_;
  bool request_sent_ = false;
};

}  // namespace msec

#endif  // MSEC_STATUS_H_
