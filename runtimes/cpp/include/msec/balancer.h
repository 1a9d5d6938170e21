// MSEC NLB load balancing (spec §7.3 selection, §7.4 weight adjustment) per
// routing name, with the defaults of `nlb/src/comm/commstruct.h` — the same
// rules, numbers and order of random draws as the TypeScript runtime's
// `Balancer` (runtimes/ts/src/route/balancer.ts), so scripted vectors give
// the same weights in every language.
//
// Pick: weighted random over alive servers by dynamic weight. When some
// servers are dead, the total weight gets a dead pool of
// `int(alive × kDeadRetryRatio + 1)`; a draw landing in it probes a random
// dead server, at most `max(1, int(requests of last period × 0.01))` times per
// period. A chosen server whose success ratio this period is below 0.6 with at
// least `shaping_request_min` requests is replaced by a uniformly random
// server. All dead (or zero alive weight) → uniformly random server.
//
// Every kBalancePeriodMs (checked on pick and update — no timer; tests drive
// it with the clock), each server's period results adjust its weight:
//  * normal mode while at most half the servers are below half their static
//    weight: base 0.98; otherwise protect mode: base = min(global success
//    ratio, 0.98) and no decreases;
//  * ratio ≥ base → a dead server revives at `max(1, int(static × 0.1))`, an
//    alive one grows by `max(1, int(static × 0.05))` up to static;
//  * ratio ≤ 0.00001 → dead (weight 0, moved to the tail);
//  * otherwise, normal mode only → `dynamic = int(dynamic × ratio²)`, 0 → dead;
//  * no requests → unchanged.
// Deviation, on purpose (as in TS and Python): an alive server with fewer than
// `shaping_request_min` requests keeps its counters for the next period — the
// original's intended rule (its periodic path read the threshold as 0, so one
// failure in a quiet period killed a server; pass shaping_request_min = 0 for
// that behaviour). msec-gen addition: a refused connection (MarkRefused) makes
// a server dead at once and holds it out of every pick for kRefusedHoldMs.
#ifndef MSEC_BALANCER_H_
#define MSEC_BALANCER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "msec/route.h"

namespace msec {

/** Weight adjustment period per service. */
constexpr std::int64_t kBalancePeriodMs = 5000;
/** Requests a server needs in a period before its success ratio is judged. */
constexpr std::uint64_t kShapingRequestMin = 10;
/** Success ratio at or above which weight grows (normal mode base). */
constexpr double kSuccessRatioBase = 0.98;
/** Per pick: below this success ratio the pick is replaced by a random server. */
constexpr double kSuccessRatioMin = 0.6;
/** A revived server restarts at this share of its static weight. */
constexpr double kResumeWeightRatio = 0.1;
/** Share of total weight (and of requests, as probe tokens) given to dead servers. */
constexpr double kDeadRetryRatio = 0.01;
/** A server below this share of its static weight counts as "low". */
constexpr double kWeightLowWatermark = 0.5;
/** More than this share of low servers switches to protect mode. */
constexpr double kWeightLowRatio = 0.5;
/** Weight grows by this share of static weight per good period. */
constexpr double kWeightIncrRatio = 0.05;
/** At or below this success ratio a server is dead. */
constexpr double kDeadSuccessRatio = 0.00001;
/** After a refused connection a server gets no picks at all (not even probes) for this long. */
constexpr std::int64_t kRefusedHoldMs = 5000;

/** Weight state of one server, as Balancer::Weights reports it. */
struct ServerWeight {
  std::string address;  // ip:port (IPv6 bracketed)
  std::uint64_t static_weight = 0;
  std::uint64_t dynamic_weight = 0;
  bool dead = false;
};

/** Clock, random source and thresholds of a Balancer. */
struct BalancerOptions {
  /** Clock in ms; default: steady clock. Only differences matter. */
  std::function<std::int64_t()> now;
  /** Random integer in [0, n) for n ≥ 1; default: a per-balancer mt19937_64. */
  std::function<std::uint64_t(std::uint64_t n)> random_int;
  /** See kShapingRequestMin. */
  std::uint64_t shaping_request_min = kShapingRequestMin;
};

/** Balancer state for every routing name it has seen. Thread-safe (one mutex). */
class Balancer {
 public:
  explicit Balancer(BalancerOptions options = BalancerOptions());
  Balancer(const Balancer&) = delete;
  Balancer& operator=(const Balancer&) = delete;

  /** Chooses one of `instances` for `name`; nullopt when the list is empty. */
  std::optional<Route> Pick(std::string_view name, const std::vector<RouteInstance>& instances);

  /**
   * A connection to `address` (`ip:port`) was refused: the server is dead now
   * and held out of picks for kRefusedHoldMs. False when the service or the
   * address is unknown to the balancer.
   */
  bool MarkRefused(std::string_view name, std::string_view address);

  /**
   * Reports one call's outcome: `failed` ≥ 1 failures, 0 = one success that
   * took `cost_ms`. `address` is `ip:port`, or a bare `ip` matching any port of
   * that host (MSEC reports by IP). False when the service or the address is
   * unknown to the balancer.
   */
  bool Update(std::string_view name, std::string_view address, std::uint64_t failed, std::uint64_t cost_ms);

  /** Adjusts `name`'s weights if a period has passed since the last adjustment. */
  void Tick(std::string_view name);

  /** Current weights of `name` in the balancer's order (alive first, dead last). */
  std::vector<ServerWeight> Weights(std::string_view name) const;

  std::uint64_t shaping_request_min() const { return shaping_request_min_; }

 private:
  struct Server {
    Route route;
    std::string address;
    std::uint64_t static_weight = 0;
    std::uint64_t dynamic = 0;
    bool dead = false;
    std::int64_t dead_since = 0;
    std::uint64_t success = 0;
    std::uint64_t failed = 0;
    std::uint64_t cost_ms = 0;
    std::int64_t held_until = 0;  // no picks before this time; 0 = none
  };
  struct Service {
    std::vector<std::shared_ptr<Server>> servers;
    std::int64_t adjusted_at = 0;
    std::uint64_t dead_retry_left = 1;
    std::string signature;
  };

  Service& ServiceFor(std::string_view name, const std::vector<RouteInstance>& instances);
  void TickLocked(Service& svc);
  void Adjust(Service& svc, std::int64_t now);
  std::uint64_t Random(std::uint64_t n);

  mutable std::mutex mutex_;
  std::map<std::string, Service, std::less<>> services_;
  std::function<std::int64_t()> now_;
  std::function<std::uint64_t(std::uint64_t)> random_int_;
  std::uint64_t shaping_request_min_;
};

/** Replaces the process-wide balancer used by CallMethod (tests inject a clock and random source this way). */
void SetBalancer(std::shared_ptr<Balancer> balancer);

/** The process-wide balancer. */
std::shared_ptr<Balancer> CurrentBalancer();

}  // namespace msec

#endif  // MSEC_BALANCER_H_
