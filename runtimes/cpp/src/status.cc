#include "msec/status.h"

namespace msec {

const char* ErrorText(int code) {
  switch (code) {
    case kSuccess: return "success";
    case kParaError: return "invalid parameter";
    case kSystemError: return "system error";
    case kInvalidPkg: return "invalid package";
    case kInvalidPkgHead: return "invalid package header";
    case kInvalidPkgBody: return "invalid package body";
    case kInvalidMethodName: return "invalid method name";
    case kHeaderUninit: return "package header uninitialized";
    case kBodyUninit: return "package body uninitialized";
    case kNoMemory: return "no memory";
    case kTimeout: return "timeout";
    case kNetwork: return "network error";
    case kRecvTimeout: return "recevice timeout";
    case kSendRecvFailed: return "network sendrecv failed";
    case kInvalidEndpoint: return "invalid endpoint";
    case kGetRouteFailed: return "get route failed";
    case kInvalidSequence: return "invalid sequence";
    case kNoBody: return "no package body";
    case kServiceImplFailed: return "service implement failed";
    case kBackend: return "backend process failed, use GetErrText get more information";
    case kPhpFailed: return "php error";
    case kPythonFailed: return "python error";
    default: return "unkown error";
  }
}

Status::Status(int code, const std::string& detail)
    : code_(code), message_(detail.empty() ? ErrorText(code) : std::string(ErrorText(code)) + ": " + detail) {}

std::string Status::ToString() const { return std::to_string(code_) + " " + message_; }

Status Status::FromServer(int code, const std::string& err_msg) {
  Status status(code, err_msg);
  status.from_server_ = true;
  return status;
}

}  // namespace msec
