// Routing names resolved through etcd v3 (docs/routing-etcd.md), the same key
// layout and behaviour as the TypeScript and Python runtimes:
//
//     <prefix>/services/<Group.Service>/<ip:port>  →  {"ip":"10.0.0.2","port":7963,"protocol":"tcp","weight":100}
//
// The resolver reads everything under `<prefix>/services/` once, then keeps a
// local cache current with a prefix watch on a background thread: a call
// never waits for etcd. While etcd is unreachable the last known routes keep
// serving; the thread retries every kEtcdRetryMs, trying every endpoint in
// turn, and reads the prefix again after reconnecting.
//
// etcd is spoken through its JSON gateway (HTTP/1.1 POSTs to /v3/kv/range and
// /v3/watch over POSIX sockets), parsed with protobuf's JSON mapping — the
// gateway's own encoding — so the runtime needs no library beyond protobuf.
//
// Configuration, as users configure it (the environment wins):
//   $MSEC_ETCD_ENDPOINTS or `[ROUTE] etcd` in etc/config.ini — comma-separated
//   URLs (http://host:port); $MSEC_ETCD_PREFIX or `[ROUTE] etcd_prefix` —
//   default /msec. When set, GetRoute consults etcd after the resolvers added
//   with RegisterResolver and before the routes file.
#ifndef MSEC_ETCD_H_
#define MSEC_ETCD_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "msec/route.h"
#include "msec/status.h"

namespace msec {

/** Environment variable with the etcd endpoints (comma-separated URLs). */
constexpr const char* kEtcdEndpointsEnv = "MSEC_ETCD_ENDPOINTS";
/** Environment variable with the key prefix. */
constexpr const char* kEtcdPrefixEnv = "MSEC_ETCD_PREFIX";
/** Default key prefix of one msec instance. */
constexpr const char* kDefaultEtcdPrefix = "/msec";
/** Weight of an instance value without "weight". */
constexpr std::uint64_t kDefaultEtcdWeight = 100;
/** Pause before reconnecting after the watch broke or etcd was unreachable. */
constexpr int kEtcdRetryMs = 250;
/** How long the first Resolve waits for the first read of etcd (or its failure). */
constexpr int kEtcdFirstLoadWaitMs = 3000;
/** Budget of one unary request to one endpoint. */
constexpr int kEtcdRequestTimeoutMs = 2000;

/** Where etcd is and which prefix to read. */
struct EtcdSettings {
  std::vector<std::string> endpoints;
  std::string prefix = kDefaultEtcdPrefix;
};

/**
 * Parses `MSEC_ETCD_ENDPOINTS`-style text: comma-separated `http://host:port`
 * URLs (trailing `/` dropped). kParaError naming the bad entry otherwise
 * (`https://` is refused: no TLS in this client).
 */
Status ParseEtcdEndpoints(std::string_view text, std::vector<std::string>* endpoints);

/**
 * etcd settings from $MSEC_ETCD_ENDPOINTS / $MSEC_ETCD_PREFIX, else `[ROUTE]
 * etcd` / `etcd_prefix` of `config_file`. `*configured` is false when no
 * endpoints are given; a malformed value is a non-ok status naming its source.
 */
Status EtcdSettingsFromEnvironment(EtcdSettings* settings, bool* configured, const std::string& config_file = kDefaultConfigFile);

/** Parses one stored instance value; kParaError with the reason when it is not a valid instance. */
Status ParseEtcdInstanceValue(std::string_view json, RouteInstance* instance);

/** A Resolver fed by an etcd prefix watch. Thread-safe; Close() (or the destructor) stops the thread. */
class EtcdResolver : public Resolver, public std::enable_shared_from_this<EtcdResolver> {
 public:
  /** Receives malformed values found under the prefix (they are skipped). */
  using InvalidValueHandler = std::function<void(const std::string& key, const std::string& reason)>;

  /** Starts the watch thread. Endpoints must be valid (see ParseEtcdEndpoints). */
  static std::shared_ptr<EtcdResolver> Start(EtcdSettings settings, InvalidValueHandler on_invalid = nullptr);
  ~EtcdResolver() override;

  /** From the cache; the first call waits for the first read of etcd (at most kEtcdFirstLoadWaitMs). */
  Status Resolve(std::string_view service, std::vector<RouteInstance>* instances) override;
  /** `etcd <endpoints> prefix <prefix>`, plus `(unreachable: <why>; serving cached routes|no routes cached)` when down. */
  std::string Describe() override;

  /** Waits up to `timeout_ms` for the first successful read; true when it happened. */
  bool WaitReady(int timeout_ms);
  /** True while the watch is established. */
  bool Connected();
  /** The last connection error; empty while connected. */
  std::string LastError();
  /** Every service in the cache and its instances (by address). */
  RouteTable Snapshot();
  /** Stops the watch thread (within ~200 ms); the cache stays as it was. */
  void Close();

  const EtcdSettings& settings() const { return settings_; }

 private:
  EtcdResolver(EtcdSettings settings, InvalidValueHandler on_invalid);
  void Run();
  /** Watches `root` from `from_revision` until it breaks (returns why) or Close() (returns ""). */
  std::string Watch(const std::string& root, std::int64_t from_revision, std::size_t* current);
  std::string ReadWatchStream(int fd);
  void Apply(bool is_delete, const std::string& key, const std::string& value);

  const EtcdSettings settings_;
  const InvalidValueHandler on_invalid_;
  std::mutex mutex_;
  std::condition_variable changed_;
  /** service → address → instance */
  std::map<std::string, std::map<std::string, RouteInstance>, std::less<>> cache_;
  bool loaded_ = false;
  bool tried_ = false;
  bool watching_ = false;
  bool stop_ = false;
  std::string error_;
  std::thread thread_;
};

/**
 * The process-wide etcd resolver when etcd is configured (see
 * EtcdSettingsFromEnvironment, checked at most once a second), else null.
 * Started on first use; replaced when the settings change. GetRoute consults
 * it before the routes file.
 */
std::shared_ptr<Resolver> ConfiguredEtcdResolver();

}  // namespace msec

#endif  // MSEC_ETCD_H_
