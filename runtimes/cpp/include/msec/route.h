// Routing: a service name becomes one address (spec §4, §7), the same way as
// the TypeScript runtime: literal addresses `ip:port[@tcp|@udp]` are used as
// written; `Group.Service` names go to the resolvers in order — those added
// with RegisterResolver, then etcd when configured ($MSEC_ETCD_ENDPOINTS or
// `[ROUTE] etcd`, see msec/etcd.h), then the routes file — and the process-wide
// NLB balancer (msec/balancer.h) picks among the instances the first resolver
// that knows the name lists.
//
// Routes file format (shared by every msec-gen runtime):
//
//     # <Group.Service> <ip:port[@tcp|@udp]> [weight=N]
//     VOA.Crawl     10.0.0.1:7963
//     VOA.Crawl     10.0.0.2:7963  weight=200
//
// One instance per line, `#` starts a comment, the default weight is 100.
// Located by $MSEC_ROUTES, else `[ROUTE] File` in etc/config.ini, else
// etc/routes.conf (relative to the working directory); re-read when its
// modification time or size changes.
#ifndef MSEC_ROUTE_H_
#define MSEC_ROUTE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "msec/status.h"

namespace msec {

/** Transport of a route; any literal suffix other than `udp` means TCP, as in MSEC. */
enum class Transport { kTcp, kUdp };

/** Where one call goes. */
struct Route {
  std::string ip;  // IPv6 without brackets
  std::uint16_t port = 0;
  Transport transport = Transport::kTcp;

  /** `ip:port` (IPv6 bracketed): the key of the connection pool. */
  std::string Address() const;
};

/** One instance of a service in the routes file. */
struct RouteInstance {
  Route route;
  std::uint64_t weight = 0;
};

/** Routes per service name, instances in file order. */
using RouteTable = std::map<std::string, std::vector<RouteInstance>, std::less<>>;

/** Weight of a routes-file line without `weight=`. */
constexpr std::uint64_t kDefaultRouteWeight = 100;
/** Largest weight accepted: 2^53 - 1, as in the TypeScript runtime (JSON-safe integers). */
constexpr std::uint64_t kMaxRouteWeight = 9007199254740991ull;
/** Environment variable naming the routes file. */
constexpr const char* kRoutesEnv = "MSEC_ROUTES";
/** Config file whose `[ROUTE] File` names the routes file when $MSEC_ROUTES is unset. */
constexpr const char* kDefaultConfigFile = "etc/config.ini";
/** Routes file used when neither the environment nor the config names one. */
constexpr const char* kDefaultRoutesFile = "etc/routes.conf";
/** The routes file is checked for changes at most this often. */
constexpr int kRoutesRecheckMs = 1000;

/** Parses `ip:port`, `ip:port@tcp`, `ip:port@udp`, `[v6]:port…`; nullopt when `text` is not a literal. */
std::optional<Route> ParseLiteral(std::string_view text);

/**
 * Parses routes-file text into `table`. On a bad line returns kGetRouteFailed
 * with "<filename>:<line>: <what is wrong>" and leaves `table` empty.
 */
Status ParseRoutes(std::string_view text, const std::string& filename, RouteTable* table);

/** $MSEC_ROUTES, else `[ROUTE] File` of etc/config.ini, else etc/routes.conf. */
std::string DefaultRoutesPath();

/** `[section] key` of an INI file with MSEC get_config semantics; empty when the file, section or key is absent. */
std::string ConfigValue(const std::string& path, std::string_view section, std::string_view key);

/** A source of instances for routing names (the routes file, etcd, a table assembled in code). */
class Resolver {
 public:
  virtual ~Resolver() = default;
  /**
   * Fills `instances` for `service` (left empty when this resolver does not
   * know it). A non-ok status (e.g. a malformed routes file) reaches the
   * caller as -15.
   */
  virtual Status Resolve(std::string_view service, std::vector<RouteInstance>* instances) = 0;
  /** Where it looks, for -15 messages (e.g. `routes file etc/routes.conf (missing)`). */
  virtual std::string Describe() = 0;
};

/** A resolver over a fixed table. */
std::shared_ptr<Resolver> MakeStaticResolver(RouteTable table);

/** Adds a resolver, consulted before etcd and the routes file (and after resolvers added earlier). Thread-safe. */
void RegisterResolver(std::shared_ptr<Resolver> resolver);

/** Removes a resolver added with RegisterResolver. */
void UnregisterResolver(const std::shared_ptr<Resolver>& resolver);

/**
 * Instances of a routing name from the first resolver that knows it
 * (registered ones, etcd when configured, the routes file). -15 naming the
 * service and every place looked in when none does.
 */
Status ResolveInstances(std::string_view name, std::vector<RouteInstance>* instances);

/**
 * The address for one call to `name`: a literal as written, else the
 * balancer's pick among the instances a resolver lists. kGetRouteFailed (-15)
 * naming the service and where it looked when there is none. Thread-safe.
 */
Status GetRoute(std::string_view name, Route* route);

/**
 * Reports a call's outcome to the balancer (MSEC's updateroute): `failed` ≥ 1
 * failures, 0 = a success taking `cost_ms`. `address` is `ip:port` (or a bare
 * ip). Ignored for literal names and names the balancer has not picked for.
 */
void UpdateRoute(std::string_view name, std::string_view address, std::uint64_t failed, std::uint64_t cost_ms);

/**
 * Reports that a connection to `address` was refused (nothing listens): the
 * balancer stops picking it at once for kRefusedHoldMs. Ignored for literals.
 */
void ReportRefused(std::string_view name, std::string_view address);

}  // namespace msec

#endif  // MSEC_ROUTE_H_
