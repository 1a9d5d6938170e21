#include "msec/balancer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

namespace msec {
namespace {

const char* TransportName(Transport t) { return t == Transport::kUdp ? "udp" : "tcp"; }

std::string SignatureOf(const std::vector<RouteInstance>& instances) {
  std::string signature;
  for (const RouteInstance& i : instances) {
    if (!signature.empty()) signature += ' ';
    signature += i.route.Address() + "@" + TransportName(i.route.transport) + "=" + std::to_string(i.weight);
  }
  return signature;
}

/** Keeps the order within alive and within dead servers; alive first (NLB's array order). */
template <typename T>
void AliveFirst(std::vector<std::shared_ptr<T>>* servers) {
  std::stable_partition(servers->begin(), servers->end(), [](const std::shared_ptr<T>& s) { return !s->dead; });
}

std::uint64_t FloorToU64(double v) { return v <= 0 ? 0 : static_cast<std::uint64_t>(std::floor(v)); }

}  // namespace

Balancer::Balancer(BalancerOptions options)
    : now_(std::move(options.now)), random_int_(std::move(options.random_int)), shaping_request_min_(options.shaping_request_min) {
  if (!now_) {
    now_ = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
    };
  }
  if (!random_int_) {
    auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
    random_int_ = [engine](std::uint64_t n) { return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(*engine); };
  }
}

std::uint64_t Balancer::Random(std::uint64_t n) { return random_int_(n); }

std::optional<Route> Balancer::Pick(std::string_view name, const std::vector<RouteInstance>& instances) {
  if (instances.empty()) return std::nullopt;
  std::lock_guard<std::mutex> lock(mutex_);
  Service& svc = ServiceFor(name, instances);
  TickLocked(svc);
  const std::int64_t now = now_();
  std::vector<Server*> candidates;
  for (const auto& s : svc.servers) {
    if (s->held_until <= now) candidates.push_back(s.get());
  }
  if (candidates.empty()) {
    for (const auto& s : svc.servers) candidates.push_back(s.get());
  }
  std::vector<Server*> alive;
  std::vector<Server*> dead;
  std::uint64_t alive_weight = 0;
  for (Server* s : candidates) {
    (s->dead ? dead : alive).push_back(s);
    if (!s->dead) alive_weight += s->dynamic;
  }
  if (alive.empty() || alive_weight == 0) return candidates[Random(candidates.size())]->route;
  const std::uint64_t total =
      alive_weight + (dead.empty() ? 0 : FloorToU64(static_cast<double>(alive_weight) * kDeadRetryRatio + 1));
  if (Random(total) >= alive_weight && svc.dead_retry_left > 0) {
    --svc.dead_retry_left;
    return dead[Random(dead.size())]->route;
  }
  std::uint64_t r = Random(alive_weight);
  Server* chosen = alive.back();
  for (Server* s : alive) {
    if (r < s->dynamic) {
      chosen = s;
      break;
    }
    r -= s->dynamic;
  }
  const std::uint64_t requests = chosen->success + chosen->failed;
  if (requests >= shaping_request_min_ && requests > 0 &&
      static_cast<double>(chosen->success) / static_cast<double>(requests) < kSuccessRatioMin) {
    chosen = candidates[Random(candidates.size())];
  }
  return chosen->route;
}

bool Balancer::MarkRefused(std::string_view name, std::string_view address) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto found = services_.find(name);
  if (found == services_.end()) return false;
  Service& svc = found->second;
  for (const auto& s : svc.servers) {
    if (s->address != address) continue;
    const std::int64_t now = now_();
    ++s->failed;
    s->dead = true;
    s->dynamic = 0;
    s->dead_since = now;
    s->held_until = now + kRefusedHoldMs;
    AliveFirst(&svc.servers);
    return true;
  }
  return false;
}

bool Balancer::Update(std::string_view name, std::string_view address, std::uint64_t failed, std::uint64_t cost_ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto found = services_.find(name);
  if (found == services_.end()) return false;
  Service& svc = found->second;
  for (const auto& s : svc.servers) {
    if (s->address != address && s->route.ip != address) continue;
    if (failed > 0) {
      s->failed += failed;
    } else {
      ++s->success;
      s->cost_ms += cost_ms;
    }
    TickLocked(svc);
    return true;
  }
  return false;
}

void Balancer::Tick(std::string_view name) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto found = services_.find(name);
  if (found != services_.end()) TickLocked(found->second);
}

void Balancer::TickLocked(Service& svc) {
  const std::int64_t now = now_();
  if (now - svc.adjusted_at < kBalancePeriodMs) return;
  svc.adjusted_at = now;
  Adjust(svc, now);
}

std::vector<ServerWeight> Balancer::Weights(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<ServerWeight> out;
  const auto found = services_.find(name);
  if (found == services_.end()) return out;
  for (const auto& s : found->second.servers) out.push_back(ServerWeight{s->address, s->static_weight, s->dynamic, s->dead});
  return out;
}

Balancer::Service& Balancer::ServiceFor(std::string_view name, const std::vector<RouteInstance>& instances) {
  const std::string signature = SignatureOf(instances);
  auto found = services_.find(name);
  if (found != services_.end() && found->second.signature == signature) return found->second;
  // Rebuilt when the instance list changed; servers whose address, transport and weight match keep their state.
  std::map<std::string, std::shared_ptr<Server>> old;
  if (found != services_.end()) {
    for (const auto& s : found->second.servers) old[s->address + "@" + TransportName(s->route.transport)] = s;
  }
  Service svc;
  for (const RouteInstance& i : instances) {
    const std::string address = i.route.Address();
    const auto prev = old.find(address + "@" + TransportName(i.route.transport));
    if (prev != old.end() && prev->second->static_weight == i.weight) {
      svc.servers.push_back(prev->second);
      continue;
    }
    auto s = std::make_shared<Server>();
    s->route = i.route;
    s->address = address;
    s->static_weight = i.weight;
    s->dynamic = i.weight;
    svc.servers.push_back(std::move(s));
  }
  svc.adjusted_at = now_();
  svc.dead_retry_left = 1;
  svc.signature = signature;
  Service& slot = services_[std::string(name)];
  slot = std::move(svc);
  return slot;
}

void Balancer::Adjust(Service& svc, std::int64_t now) {
  auto& servers = svc.servers;
  std::size_t low = 0;
  std::uint64_t total_success = 0;
  std::uint64_t total_requests = 0;
  for (const auto& s : servers) {
    if (static_cast<double>(s->dynamic) / static_cast<double>(s->static_weight) < kWeightLowWatermark) ++low;
    total_success += s->success;
    total_requests += s->success + s->failed;
  }
  const bool normal = static_cast<double>(low) / static_cast<double>(servers.size()) <= kWeightLowRatio;
  const double base =
      normal ? kSuccessRatioBase
             : std::min(total_requests > 0 ? static_cast<double>(total_success) / static_cast<double>(total_requests) : 1.0,
                        kSuccessRatioBase);
  for (const auto& s : servers) {
    const std::uint64_t requests = s->success + s->failed;
    if (requests == 0 || (!s->dead && requests < shaping_request_min_)) continue;
    const double ratio = static_cast<double>(s->success) / static_cast<double>(requests);
    if (ratio >= base) {
      if (s->dead) {
        s->dead = false;
        s->dynamic = std::max<std::uint64_t>(1, FloorToU64(static_cast<double>(s->static_weight) * kResumeWeightRatio));
      } else if (s->dynamic != s->static_weight) {
        s->dynamic = std::min(s->static_weight,
                              s->dynamic + std::max<std::uint64_t>(1, FloorToU64(static_cast<double>(s->static_weight) * kWeightIncrRatio)));
      }
    } else if (ratio <= kDeadSuccessRatio) {
      s->dead = true;
      s->dynamic = 0;
      s->dead_since = now;
    } else if (normal) {
      s->dynamic = FloorToU64(static_cast<double>(s->dynamic) * ratio * ratio);
      if (s->dynamic == 0) {
        s->dead = true;
        s->dead_since = now;
      }
    }
    s->success = 0;
    s->failed = 0;
    s->cost_ms = 0;
  }
  svc.dead_retry_left = std::max<std::uint64_t>(1, FloorToU64(static_cast<double>(total_requests) * kDeadRetryRatio));
  AliveFirst(&servers);
}

namespace {
std::mutex& BalancerMutex() {
  static std::mutex* mutex = new std::mutex;
  return *mutex;
}
std::shared_ptr<Balancer>& BalancerSlot() {
  static auto* slot = new std::shared_ptr<Balancer>(std::make_shared<Balancer>());
  return *slot;
}
}  // namespace

void SetBalancer(std::shared_ptr<Balancer> balancer) {
  std::lock_guard<std::mutex> lock(BalancerMutex());
  BalancerSlot() = balancer ? std::move(balancer) : std::make_shared<Balancer>();
}

std::shared_ptr<Balancer> CurrentBalancer() {
  std::lock_guard<std::mutex> lock(BalancerMutex());
  return BalancerSlot();
}

}  // namespace msec
