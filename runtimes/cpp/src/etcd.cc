#include "msec/etcd.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

#include <google/protobuf/util/json_util.h>

#include "msec/etcd_gateway.pb.h"

namespace msec {
namespace {

using Clock = std::chrono::steady_clock;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

int RemainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(left);
}

/** `http://host:port` split into host (IPv6 unbracketed) and port. */
bool SplitUrl(const std::string& endpoint, std::string* host, std::string* port) {
  const std::string_view rest = std::string_view(endpoint).substr(std::strlen("http://"));
  std::string_view h;
  std::string_view p;
  if (!rest.empty() && rest.front() == '[') {
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos) return false;
    h = rest.substr(1, close - 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':') p = rest.substr(close + 2);
  } else {
    const std::size_t colon = rest.rfind(':');
    h = colon == std::string_view::npos ? rest : rest.substr(0, colon);
    if (colon != std::string_view::npos) p = rest.substr(colon + 1);
  }
  if (h.empty()) return false;
  *host = std::string(h);
  *port = p.empty() ? "80" : std::string(p);
  for (char c : *port) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

/** Blocking-with-deadline TCP connect; false with `*why` on failure. */
bool ConnectTcp(const std::string& endpoint, Clock::time_point deadline, int* out_fd, std::string* why) {
  std::string host;
  std::string port;
  if (!SplitUrl(endpoint, &host, &port)) {
    *why = "invalid endpoint";
    return false;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0 || found == nullptr) {
    *why = ::gai_strerror(rc);
    return false;
  }
  const int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *why = std::strerror(errno);
    ::freeaddrinfo(found);
    return false;
  }
  int err = 0;
  if (::connect(fd, found->ai_addr, found->ai_addrlen) != 0) {
    err = errno;
    if (err == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int n;
      do {
        n = ::poll(&p, 1, RemainingMs(deadline));
      } while (n < 0 && errno == EINTR);
      if (n == 0) {
        err = ETIMEDOUT;
      } else {
        socklen_t len = sizeof err;
        if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      }
    }
  }
  ::freeaddrinfo(found);
  if (err != 0) {
    *why = err == ETIMEDOUT ? "no answer within " + std::to_string(kEtcdRequestTimeoutMs) + " ms" : std::strerror(err);
    ::close(fd);
    return false;
  }
  *out_fd = fd;
  return true;
}

bool SendAll(int fd, const std::string& data, Clock::time_point deadline, std::string* why) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, RemainingMs(deadline)) == 0) {
        *why = "no answer within " + std::to_string(kEtcdRequestTimeoutMs) + " ms";
        return false;
      }
      continue;
    }
    *why = std::strerror(errno);
    return false;
  }
  return true;
}

std::string PostRequest(const std::string& endpoint, const std::string& path, const std::string& body) {
  std::string host;
  std::string port;
  SplitUrl(endpoint, &host, &port);
  return "POST " + path + " HTTP/1.1\r\nHost: " + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

/** Incremental decoder of an HTTP/1.1 chunked body. */
class ChunkedDecoder {
 public:
  /** Appends decoded bytes to `out`; false on a malformed stream. `done()` after the last chunk. */
  bool Feed(std::string_view data, std::string* out) {
    pending_.append(data);
    for (;;) {
      if (remaining_ > 0) {
        const std::size_t take = std::min<std::size_t>(remaining_, pending_.size());
        out->append(pending_, 0, take);
        pending_.erase(0, take);
        remaining_ -= take;
        if (remaining_ > 0) return true;
        need_crlf_ = true;
      }
      if (need_crlf_) {
        if (pending_.size() < 2) return true;
        if (pending_.compare(0, 2, "\r\n") != 0) return false;
        pending_.erase(0, 2);
        need_crlf_ = false;
      }
      const std::size_t eol = pending_.find("\r\n");
      if (eol == std::string::npos) return pending_.size() < 64;
      const std::string size_text = pending_.substr(0, pending_.find_first_of(";\r"));
      pending_.erase(0, eol + 2);
      char* end = nullptr;
      const unsigned long long size = std::strtoull(size_text.c_str(), &end, 16);
      if (size_text.empty() || end == nullptr || *end != '\0') return false;
      if (size == 0) {
        done_ = true;
        return true;
      }
      remaining_ = size;
    }
  }
  bool done() const { return done_; }

 private:
  std::string pending_;
  std::uint64_t remaining_ = 0;
  bool need_crlf_ = false;
  bool done_ = false;
};

/** Status code, chunked flag and where the body starts, from the bytes read so far; false while incomplete. */
bool ParseResponseHead(const std::string& data, int* status, bool* chunked, std::size_t* body_at) {
  const std::size_t end = data.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  *body_at = end + 4;
  *status = 0;
  if (data.compare(0, 5, "HTTP/") == 0) {
    const std::size_t sp = data.find(' ');
    if (sp != std::string::npos && sp < end) *status = std::atoi(data.c_str() + sp + 1);
  }
  std::string head = data.substr(0, end);
  for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  *chunked = head.find("\r\ntransfer-encoding: chunked") != std::string::npos;
  return true;
}

/** `<prefix without trailing />/services/` */
std::string ServicesPrefix(const std::string& prefix) {
  std::string p = prefix;
  while (!p.empty() && p.back() == '/') p.pop_back();
  return p + "/services/";
}

/** etcd's range_end for every key starting with `prefix`. */
std::string PrefixRangeEnd(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    const unsigned char last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

bool FromJson(std::string_view json, google::protobuf::Message* message, std::string* why) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  const auto status = google::protobuf::util::JsonStringToMessage(std::string(json), message, options);
  if (status.ok()) return true;
  *why = status.ToString();
  return false;
}

/** What a failed unary request was: nobody answered, or etcd answered with an error. */
struct RequestFailure {
  bool unreachable = false;
  std::string text;
};

/**
 * POSTs `body` to `path` on the first endpoint that answers, starting at
 * `*current` (updated to the one that answered). Only network failures move
 * on to the next endpoint; an answer from etcd is final.
 */
bool Post(const std::vector<std::string>& endpoints, std::size_t* current, const std::string& path, const std::string& body,
          std::string* reply, RequestFailure* failure) {
  std::string causes;
  for (std::size_t tried = 0; tried < endpoints.size(); ++tried) {
    const std::size_t at = (*current + tried) % endpoints.size();
    const std::string& endpoint = endpoints[at];
    const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(kEtcdRequestTimeoutMs);
    std::string why;
    int fd = -1;
    std::string data;
    int status = 0;
    bool chunked = false;
    std::size_t body_at = 0;
    bool ok = ConnectTcp(endpoint, deadline, &fd, &why) && SendAll(fd, PostRequest(endpoint, path, body), deadline, &why);
    if (ok) {
      char buffer[16384];
      for (;;) {
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n > 0) {
          data.append(buffer, static_cast<std::size_t>(n));
          continue;
        }
        if (n == 0) break;
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          why = std::strerror(errno);
          ok = false;
          break;
        }
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, RemainingMs(deadline)) == 0) {
          why = "no answer within " + std::to_string(kEtcdRequestTimeoutMs) + " ms";
          ok = false;
          break;
        }
      }
    }
    if (fd >= 0) ::close(fd);
    if (ok && !ParseResponseHead(data, &status, &chunked, &body_at)) {
      why = "connection closed before an HTTP answer";
      ok = false;
    }
    if (!ok) {
      causes += (causes.empty() ? "" : "; ") + endpoint + ": " + why;
      continue;
    }
    *current = at;
    std::string content;
    if (chunked) {
      ChunkedDecoder decoder;
      if (!decoder.Feed(std::string_view(data).substr(body_at), &content)) {
        failure->text = "etcd answered a malformed chunked body";
        return false;
      }
    } else {
      content = data.substr(body_at);
    }
    if (status != 200) {
      etcdgw::ErrorReply error;
      std::string ignored;
      std::string message = content;
      if (FromJson(content, &error, &ignored) && !error.message().empty()) message = error.message();
      failure->text = "etcd answered " + std::to_string(status) + ": " + message;
      return false;
    }
    *reply = std::move(content);
    return true;
  }
  failure->unreachable = true;
  failure->text = "etcd unreachable (" + causes + ")";
  return false;
}

}  // namespace

Status ParseEtcdEndpoints(std::string_view text, std::vector<std::string>* endpoints) {
  endpoints->clear();
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    std::string e(Trim(text.substr(pos, comma - pos)));
    pos = comma + 1;
    while (!e.empty() && e.back() == '/') e.pop_back();
    if (e.empty()) continue;
    std::string host;
    std::string port;
    if (e.compare(0, 8, "https://") == 0) {
      return Status(kParaError, "etcd endpoint \"" + e + "\": https is not supported by the C++ runtime (use http://host:port)");
    }
    if (e.compare(0, 7, "http://") != 0 || e.find_first_of("/ \t", 7) != std::string::npos || !SplitUrl(e, &host, &port)) {
      return Status(kParaError, "invalid etcd endpoint \"" + e + "\" (expected http://host:port)");
    }
    endpoints->push_back(e);
  }
  if (endpoints->empty()) return Status(kParaError, "no etcd endpoints given");
  return Status();
}

Status EtcdSettingsFromEnvironment(EtcdSettings* settings, bool* configured, const std::string& config_file) {
  *configured = false;
  const char* env_endpoints = std::getenv(kEtcdEndpointsEnv);
  std::string text;
  std::string source;
  if (env_endpoints != nullptr && env_endpoints[0] != '\0') {
    text = env_endpoints;
    source = std::string("$") + kEtcdEndpointsEnv;
  } else {
    text = ConfigValue(config_file, "ROUTE", "etcd");
    source = "[ROUTE] etcd in " + config_file;
  }
  if (Trim(text).empty()) return Status();
  Status parsed = ParseEtcdEndpoints(text, &settings->endpoints);
  if (!parsed.ok()) return Status(kGetRouteFailed, source + ": " + parsed.message());
  const char* env_prefix = std::getenv(kEtcdPrefixEnv);
  std::string prefix = env_prefix != nullptr && env_prefix[0] != '\0' ? env_prefix : ConfigValue(config_file, "ROUTE", "etcd_prefix");
  settings->prefix = prefix.empty() ? kDefaultEtcdPrefix : prefix;
  *configured = true;
  return Status();
}

Status ParseEtcdInstanceValue(std::string_view json, RouteInstance* instance) {
  etcdgw::InstanceValue value;
  std::string why;
  if (!FromJson(json, &value, &why)) return Status(kParaError, "not a JSON instance value: " + why);
  if (!value.has_ip() || value.ip().empty()) return Status(kParaError, "ip must be a non-empty string");
  if (!value.has_port() || value.port() < 1 || value.port() > 65535) return Status(kParaError, "port must be 1..65535");
  const std::string protocol = value.has_protocol() ? value.protocol() : "tcp";
  if (protocol != "tcp" && protocol != "udp") return Status(kParaError, "protocol must be \"tcp\" or \"udp\"");
  if (value.has_weight() && value.weight() <= 0) return Status(kParaError, "weight must be an integer > 0");
  instance->route.ip = value.ip();
  instance->route.port = static_cast<std::uint16_t>(value.port());
  instance->route.transport = protocol == "udp" ? Transport::kUdp : Transport::kTcp;
  instance->weight = value.has_weight() ? static_cast<std::uint64_t>(value.weight()) : kDefaultEtcdWeight;
  return Status();
}

EtcdResolver::EtcdResolver(EtcdSettings settings, InvalidValueHandler on_invalid)
    : settings_(std::move(settings)), on_invalid_(std::move(on_invalid)) {}

std::shared_ptr<EtcdResolver> EtcdResolver::Start(EtcdSettings settings, InvalidValueHandler on_invalid) {
  std::shared_ptr<EtcdResolver> resolver(new EtcdResolver(std::move(settings), std::move(on_invalid)));
  resolver->thread_ = std::thread([r = resolver.get()] { r->Run(); });
  return resolver;
}

EtcdResolver::~EtcdResolver() { Close(); }

void EtcdResolver::Close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void EtcdResolver::Apply(bool is_delete, const std::string& key, const std::string& value) {
  const std::string root = ServicesPrefix(settings_.prefix);
  if (key.compare(0, root.size(), root) != 0) return;
  const std::string rest = key.substr(root.size());
  const std::size_t slash = rest.find('/');
  if (slash == std::string::npos || slash == 0 || slash == rest.size() - 1) return;
  const std::string service = rest.substr(0, slash);
  const std::string address = rest.substr(slash + 1);
  auto found = cache_.find(service);
  if (is_delete) {
    if (found != cache_.end()) {
      found->second.erase(address);
      if (found->second.empty()) cache_.erase(found);
    }
    return;
  }
  RouteInstance instance;
  Status parsed = ParseEtcdInstanceValue(value, &instance);
  if (!parsed.ok()) {
    if (on_invalid_) on_invalid_(key, parsed.message());
    if (found != cache_.end()) {
      found->second.erase(address);
      if (found->second.empty()) cache_.erase(found);
    }
    return;
  }
  cache_[service][address] = instance;
}

void EtcdResolver::Run() {
  const std::string root = ServicesPrefix(settings_.prefix);
  std::size_t current = 0;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stop_) return;
    }
    std::string failure;
    // 1. Read everything under the prefix.
    etcdgw::RangeRequest range;
    range.set_key(root);
    range.set_range_end(PrefixRangeEnd(root));
    std::string reply;
    RequestFailure request_failure;
    std::int64_t revision = 0;
    bool read = Post(settings_.endpoints, &current, "/v3/kv/range", ToJson(range), &reply, &request_failure);
    if (!read) failure = request_failure.text;
    etcdgw::RangeResponse response;
    if (read && !FromJson(reply, &response, &failure)) {
      failure = "etcd range reply does not parse: " + failure;
      read = false;
    }
    if (read) {
      revision = response.header().revision();
      {
        std::lock_guard<std::mutex> lock(mutex_);
        cache_.clear();
        for (const auto& kv : response.kvs()) Apply(false, kv.key(), kv.value());
        loaded_ = true;
        tried_ = true;
      }
      changed_.notify_all();
      // 2. Follow the prefix from the next revision.
      failure = Watch(root, revision + 1, &current);
    }
    bool was_watching;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      tried_ = true;
      was_watching = watching_;
      watching_ = false;
      if (stop_) return;
      // A watch that was working broke: reconnect at once (another endpoint may answer).
      error_ = was_watching ? "etcd watch stream broke: " + failure : failure;
    }
    changed_.notify_all();
    if (was_watching) continue;
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait_for(lock, std::chrono::milliseconds(kEtcdRetryMs), [this] { return stop_; });
  }
}

std::string EtcdResolver::Watch(const std::string& root, std::int64_t from_revision, std::size_t* current) {
  etcdgw::WatchRequest request;
  request.mutable_create_request()->set_key(root);
  request.mutable_create_request()->set_range_end(PrefixRangeEnd(root));
  request.mutable_create_request()->set_start_revision(from_revision);
  const std::string body = ToJson(request);
  std::string causes;
  for (std::size_t tried = 0; tried < settings_.endpoints.size(); ++tried) {
    const std::size_t at = (*current + tried) % settings_.endpoints.size();
    const std::string& endpoint = settings_.endpoints[at];
    const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(kEtcdRequestTimeoutMs);
    std::string why;
    int fd = -1;
    if (!ConnectTcp(endpoint, deadline, &fd, &why) || !SendAll(fd, PostRequest(endpoint, "/v3/watch", body), deadline, &why)) {
      if (fd >= 0) ::close(fd);
      causes += (causes.empty() ? "" : "; ") + endpoint + ": " + why;
      continue;
    }
    *current = at;
    const std::string result = ReadWatchStream(fd);
    ::close(fd);
    return result;
  }
  return "etcd unreachable (" + causes + ")";
}

std::string EtcdResolver::ReadWatchStream(int fd) {
  std::string data;
  bool head_done = false;
  bool chunked = false;
  ChunkedDecoder decoder;
  std::string lines;
  char buffer[16384];
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stop_) return "";
    }
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, 200);
    if (ready == 0 || (ready < 0 && errno == EINTR)) continue;
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n < 0) return std::string("etcd watch connection lost (") + std::strerror(errno) + ")";
    if (n == 0) return "etcd closed the watch stream";
    std::string_view incoming(buffer, static_cast<std::size_t>(n));
    if (!head_done) {
      data.append(incoming);
      int status = 0;
      std::size_t body_at = 0;
      if (!ParseResponseHead(data, &status, &chunked, &body_at)) continue;
      head_done = true;
      if (status != 200) return "etcd answered " + std::to_string(status) + " to the watch";
      incoming = std::string_view(data).substr(body_at);
    }
    if (chunked) {
      if (!decoder.Feed(incoming, &lines)) return "etcd watch stream is not valid chunked HTTP";
    } else {
      lines.append(incoming);
    }
    if (!data.empty() && head_done) data.clear();  // `incoming` pointed into it: already copied
    std::size_t nl;
    while ((nl = lines.find('\n')) != std::string::npos) {
      const std::string line(Trim(std::string_view(lines).substr(0, nl)));
      lines.erase(0, nl + 1);
      if (line.empty()) continue;
      etcdgw::WatchStreamLine message;
      std::string why;
      if (!FromJson(line, &message, &why)) return "etcd watch sent a line that does not parse: " + why;
      if (message.has_error()) return "etcd watch failed: " + message.error().message();
      if (!message.has_result()) continue;
      const etcdgw::WatchResponse& result = message.result();
      if (result.canceled()) {
        return "etcd canceled the watch: " +
               (result.cancel_reason().empty() ? "compacted at " + std::to_string(result.compact_revision()) : result.cancel_reason());
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (result.created()) {
          watching_ = true;
          error_.clear();
        }
        for (const auto& event : result.events()) {
          Apply(event.type() == etcdgw::Event::DELETE, event.kv().key(), event.kv().value());
        }
      }
      changed_.notify_all();
    }
    if (chunked && decoder.done()) return "etcd closed the watch stream";
  }
}

Status EtcdResolver::Resolve(std::string_view service, std::vector<RouteInstance>* instances) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!loaded_) {
    changed_.wait_for(lock, std::chrono::milliseconds(kEtcdFirstLoadWaitMs), [this] { return tried_ || stop_; });
  }
  const auto found = cache_.find(service);
  if (found == cache_.end()) return Status();
  for (const auto& entry : found->second) instances->push_back(entry.second);
  return Status();
}

std::string EtcdResolver::Describe() {
  std::string endpoints;
  for (const std::string& e : settings_.endpoints) endpoints += (endpoints.empty() ? "" : ",") + e;
  std::string where = "etcd " + endpoints + " prefix " + settings_.prefix;
  std::lock_guard<std::mutex> lock(mutex_);
  if (!error_.empty() && !watching_) {
    where += " (unreachable: " + error_ + (loaded_ ? "; serving cached routes)" : "; no routes cached)");
  }
  return where;
}

bool EtcdResolver::WaitReady(int timeout_ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [this] { return loaded_; });
}

bool EtcdResolver::Connected() {
  std::lock_guard<std::mutex> lock(mutex_);
  return watching_;
}

std::string EtcdResolver::LastError() {
  std::lock_guard<std::mutex> lock(mutex_);
  return watching_ ? "" : error_;
}

RouteTable EtcdResolver::Snapshot() {
  std::lock_guard<std::mutex> lock(mutex_);
  RouteTable table;
  for (const auto& service : cache_) {
    std::vector<RouteInstance>& list = table[service.first];
    for (const auto& entry : service.second) list.push_back(entry.second);
  }
  return table;
}

namespace {

/** Answers every name with the configuration error (so -15 says what is wrong and where). */
class MisconfiguredResolver : public Resolver {
 public:
  explicit MisconfiguredResolver(Status status) : status_(std::move(status)) {}
  Status Resolve(std::string_view, std::vector<RouteInstance>*) override { return status_; }
  std::string Describe() override { return "etcd (" + status_.message() + ")"; }

 private:
  const Status status_;
};

struct Configured {
  std::mutex mutex;
  bool checked = false;
  Clock::time_point checked_at;
  std::string key;  // endpoints + prefix of `resolver`
  std::shared_ptr<Resolver> resolver;
};

}  // namespace

std::shared_ptr<Resolver> ConfiguredEtcdResolver() {
  // Never destroyed: its watch thread may run until the process exits.
  static Configured* configured = new Configured;
  std::lock_guard<std::mutex> lock(configured->mutex);
  const Clock::time_point now = Clock::now();
  if (configured->checked && now - configured->checked_at < std::chrono::milliseconds(kRoutesRecheckMs)) return configured->resolver;
  configured->checked = true;
  configured->checked_at = now;
  EtcdSettings settings;
  bool on = false;
  Status status = EtcdSettingsFromEnvironment(&settings, &on);
  std::string key;
  if (!status.ok()) {
    key = "error " + status.message();
  } else if (on) {
    for (const std::string& e : settings.endpoints) key += e + ",";
    key += " " + settings.prefix;
  }
  if (key == configured->key) return configured->resolver;
  if (auto old = std::dynamic_pointer_cast<EtcdResolver>(configured->resolver)) old->Close();
  configured->key = key;
  if (!status.ok()) {
    configured->resolver = std::make_shared<MisconfiguredResolver>(status);
  } else if (on) {
    configured->resolver = EtcdResolver::Start(std::move(settings));
  } else {
    configured->resolver = nullptr;
  }
  return configured->resolver;
}

}  // namespace msec
